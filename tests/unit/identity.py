"""The Cognito shape shared by the unit suites (mirrors infra/constructs/identity.py)."""

from __future__ import annotations

from typing import Any

import pytest
import requests


def create_identity(cognito: Any) -> tuple[str, str]:
    """A user pool (email sign-in, 8+ chars with upper/lower/digit), the web app client
    (USER_PASSWORD_AUTH + refresh, no secret) and the `admins` group. Returns (pool id, client id)."""
    pool_id = cognito.create_user_pool(
        PoolName="reelstack-test",
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 8,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": False,
            }
        },
    )["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="reelstack-web",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    cognito.create_group(GroupName="admins", UserPoolId=pool_id)
    return pool_id, client_id


def use_identity(cognito: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """``create_identity``, handed to the code under test as infra hands it over: USER_POOL_ID and
    USER_POOL_CLIENT_ID in the environment, and the JWKS fetched over HTTP from the URL auth
    computes. `requests` is intercepted by moto, which serves the pool's real key set there (a
    wrong URL fails the test). Call it inside ``mock_aws()``. Returns (pool id, client id)."""
    from reelstack_common import auth  # the layer is on sys.path once a conftest has run

    pool_id, client_id = create_identity(cognito)
    monkeypatch.setenv("USER_POOL_ID", pool_id)
    monkeypatch.setenv("USER_POOL_CLIENT_ID", client_id)
    monkeypatch.setattr(auth, "fetch_jwks", lambda url: requests.get(url, timeout=5).json())
    auth.jwks_cache.clear()  # keys of an earlier test's pool
    return pool_id, client_id
