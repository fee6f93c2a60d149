"""Every profile, for the job (``$ACCOUNTS_TABLE``, read contract in reelstack_common.viewer:
``pk = ACCOUNT#<user_id>``, ``sk = PROFILE#<profile_id>``; name, kids, maturity_rating, language).
A Scan with a filter: the job runs daily, reads only these attributes, and needs every profile."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reelstack_common import dynamo

from recommendations.logic.ports import ProfileFacts


class DynamoProfileDirectory:
    def __init__(self, table_name: str) -> None:
        self.table = dynamo.table(table_name)

    def all_profiles(self) -> Iterator[ProfileFacts]:
        kwargs: dict[str, Any] = {
            "FilterExpression": "begins_with(sk, :p)",
            "ProjectionExpression": "pk, sk, #l, maturity_rating, kids",
            "ExpressionAttributeNames": {"#l": "language"},
            "ExpressionAttributeValues": {":p": "PROFILE#"},
        }
        while True:
            page = self.table.scan(**kwargs)
            for item in page.get("Items", []):
                kids = bool(item.get("kids", False))
                yield ProfileFacts(
                    account_id=str(item["pk"]).removeprefix("ACCOUNT#"),
                    profile_id=str(item["sk"]).removeprefix("PROFILE#"),
                    language=str(item.get("language") or "en"),
                    maturity_rating=str(item.get("maturity_rating") or ("7+" if kids else "ALL")),
                    kids=kids,
                )
            if not page.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
