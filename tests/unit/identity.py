"""The Cognito shape shared by the unit suites (mirrors infra/constructs/identity.py)."""

from __future__ import annotations

from typing import Any


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
