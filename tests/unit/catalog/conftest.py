"""Fixtures of the catalog unit tests: moto table, ingest bucket and Cognito pool (admin + viewer)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

# The root tests/unit/conftest.py puts every functions/* directory on sys.path; a catalog-only
# run from this folder gets the same paths here (idempotent).
_REPO = Path(__file__).resolve().parents[3]
for _path in (_REPO / "layers" / "shared" / "python", _REPO / "functions" / "catalog", _REPO):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from tests.unit.catalog.catalog_support import BUCKET, PASSWORD, TABLE, Catalog  # noqa: E402
from tests.unit.identity import use_identity  # noqa: E402
from tests.unit.tables import create_single_table  # noqa: E402


@functools.cache
def _aws(kind: str, service: str) -> Any:
    """boto3 clients/resources are slow to build (~0.3-0.6 s each on a shared 2-core box) and
    moto's stubber intercepts them whenever a mock is active, so build each once per session."""
    return getattr(boto3, kind)(service, region_name="us-east-1")


def _table(dynamodb: object) -> object:
    """Same keys and GSI as the catalog table infra builds (single_table: pk/sk, gsi1)."""
    return create_single_table(dynamodb, TABLE)


def _sign_in(cognito: object, pool_id: str, client_id: str, email: str, groups: list[str]) -> tuple[str, str]:
    c = cognito
    user = c.admin_create_user(  # type: ignore[attr-defined]
        UserPoolId=pool_id,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )["User"]
    c.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)  # type: ignore[attr-defined]
    for group in groups:
        c.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)  # type: ignore[attr-defined]
    tokens = c.initiate_auth(  # type: ignore[attr-defined]
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    sub = next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")
    return tokens["AccessToken"], sub


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Catalog]:
    from reelstack_common import auth

    for name, value in {
        "CATALOG_TABLE": TABLE,
        "INGEST_BUCKET": BUCKET,
        "ADMINS_GROUP": "admins",
        "UPLOAD_URL_TTL_S": "600",
        "POWERTOOLS_SERVICE_NAME": "catalog",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        table = _table(_aws("resource", "dynamodb"))
        s3 = _aws("client", "s3")
        s3.create_bucket(Bucket=BUCKET)
        cognito = _aws("client", "cognito-idp")
        pool_id, client_id = use_identity(cognito, monkeypatch)
        admin_token, admin_sub = _sign_in(cognito, pool_id, client_id, "admin@example.com", ["admins"])
        viewer_token, viewer_sub = _sign_in(cognito, pool_id, client_id, "viewer@example.com", [])
        try:
            yield Catalog(
                table=table,
                s3=s3,
                tokens={"admin": admin_token, "viewer": viewer_token},
                subs={"admin": admin_sub, "viewer": viewer_sub},
            )
        finally:
            auth.jwks_cache.clear()


@pytest.fixture(params=["http", "alb"])
def edge(request: pytest.FixtureRequest) -> str:
    """Run a test once behind API Gateway HTTP API and once behind the ALB."""
    return str(request.param)
