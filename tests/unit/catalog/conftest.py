"""Fixtures of the catalog unit tests: moto-backed table + bucket, HTTP API / ALB event builders."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
# The root tests/unit/conftest.py sets these paths up too; repeating it keeps this folder runnable
# on its own (idempotent).
for _path in (REPO_ROOT / "layers" / "shared" / "python", REPO_ROOT / "functions" / "catalog"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from catalog_support import ADMIN, BUCKET, CLIENT_ID, POOL_ID, TABLE, Invoke, LambdaContext, http_api_event  # noqa: E402


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "CATALOG_TABLE": TABLE,
        "INGEST_BUCKET": BUCKET,
        "ADMINS_GROUP": "admins",
        "USER_POOL_ID": POOL_ID,
        "USER_POOL_CLIENT_ID": CLIENT_ID,
        "UPLOAD_URL_TTL_S": "600",
        "POWERTOOLS_SERVICE_NAME": "catalog",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "ReelstackTest",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws(aws_env: None) -> Iterator[Any]:
    """moto-backed catalog table (same keys/GSI as infra/constructs/media_pipeline.py) and bucket."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        table = dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
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
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        from catalog.handlers import http

        http.catalog_service.cache_clear()
        yield table
        http.catalog_service.cache_clear()


@pytest.fixture
def invoke(aws: Any) -> Invoke:
    """Call the catalog handler with an HTTP API event; returns (status, decoded JSON body)."""
    from catalog.handlers.http import lambda_handler

    def _invoke(
        method: str, path: str, *, claims: dict[str, Any] | None = ADMIN, **kwargs: Any
    ) -> tuple[int, Any]:
        response = lambda_handler(http_api_event(method, path, claims=claims, **kwargs), LambdaContext())
        body = response.get("body")
        return response["statusCode"], json.loads(body) if body else None

    return _invoke
