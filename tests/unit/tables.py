"""Table shapes shared by the unit suites (they mirror infra/constructs: same keys, same GSI)."""

from __future__ import annotations

from typing import Any


def create_single_table(dynamodb: Any, name: str) -> Any:
    """The services' single-table layout: `pk`/`sk` strings plus GSI `gsi1` (`gsi1pk`/`gsi1sk`,
    projection ALL), on-demand — the accounts table (infra/constructs/data.py) and the catalog
    table (infra/constructs/media_pipeline.py) both have it. `dynamodb` is a boto3 resource."""
    return dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
