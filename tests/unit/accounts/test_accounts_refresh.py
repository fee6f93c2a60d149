"""POST /accounts/refresh: a refresh token buys new access and id tokens, so a viewer stays signed
in past the access token's 15 minutes (a film is longer); anything else is one 401."""

from __future__ import annotations

from collections.abc import Iterator

import jwt
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.unit.accounts.conftest import PASSWORD, Cloud


def _login(cloud: Cloud, email: str) -> dict[str, str]:
    cloud.sign_up(email)
    status, tokens = cloud.invoke("POST", "/accounts/login", {"email": email, "password": PASSWORD})
    assert status == 200, tokens
    return dict(tokens)


def test_refresh_returns_new_tokens_for_the_same_user(cloud: Cloud, edge: str) -> None:
    tokens = _login(cloud, "ref@example.com")
    status, body = cloud.invoke("POST", "/accounts/refresh", {"refresh_token": tokens["refresh_token"]}, edge=edge)
    assert status == 200, body
    assert set(body) == {"access_token", "id_token", "refresh_token", "expires_in"}
    assert body["refresh_token"] == tokens["refresh_token"]  # no rotation: the client keeps its own
    assert body["access_token"] != tokens["access_token"]
    old = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    new = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert new["sub"] == old["sub"] and new["token_use"] == "access"
    # The new token is accepted by the API.
    status, me = cloud.invoke("GET", "/accounts/me", token=body["access_token"], edge=edge)
    assert status == 200 and me["email"] == "ref@example.com"


@pytest.mark.parametrize("token", ["not-a-token", "x" * 8192, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"])
def test_an_unknown_refresh_token_is_401_session_expired(cloud: Cloud, edge: str, token: str) -> None:
    status, body = cloud.invoke("POST", "/accounts/refresh", {"refresh_token": token}, edge=edge)
    assert (status, body["error"]["code"]) == (401, "SESSION_EXPIRED")


@pytest.mark.parametrize(
    "body",
    [{}, {"refresh_token": ""}, {"refresh_token": "x" * 8193}, {"refresh_token": 7}, {"refresh_token": "a", "x": 1}],
)
def test_a_malformed_refresh_request_is_400(cloud: Cloud, body: dict[str, object]) -> None:
    status, out = cloud.invoke("POST", "/accounts/refresh", body)
    assert status == 400 and set(out["error"]) == {"code", "message"}


def test_cognito_throttling_is_429_and_an_outage_is_not_a_401(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    from accounts.dal import cognito_identity

    tokens = _login(cloud, "busy@example.com")

    def fail(code: str):  # noqa: ANN202
        def initiate_auth(**_: object) -> None:
            raise ClientError({"Error": {"Code": code, "Message": code}}, "InitiateAuth")

        return initiate_auth

    client = cognito_identity._cognito_client()
    monkeypatch.setattr(client, "initiate_auth", fail("TooManyRequestsException"))
    status, body = cloud.invoke("POST", "/accounts/refresh", {"refresh_token": tokens["refresh_token"]})
    assert (status, body["error"]["code"]) == (429, "TOO_MANY_REQUESTS")
    monkeypatch.setattr(client, "initiate_auth", fail("InternalErrorException"))
    status, body = cloud.invoke("POST", "/accounts/refresh", {"refresh_token": tokens["refresh_token"]})
    assert (status, body["error"]["code"]) == (503, "UNAVAILABLE")  # an outage signs nobody out

    def unreachable(**_: object) -> None:
        raise EndpointConnectionError(endpoint_url="https://cognito-idp.us-east-1.amazonaws.com")

    monkeypatch.setattr(client, "initiate_auth", unreachable)
    status, body = cloud.invoke("POST", "/accounts/refresh", {"refresh_token": tokens["refresh_token"]})
    assert (status, body["error"]["code"]) == (503, "UNAVAILABLE")
    # This deployment's own fault (the flow not enabled for the client) is a 500 to alarm on, not a
    # 401 that would sign every viewer out.
    monkeypatch.setattr(client, "initiate_auth", fail("InvalidParameterException"))
    status, body = cloud.invoke("POST", "/accounts/refresh", {"refresh_token": tokens["refresh_token"]})
    assert status == 500


@pytest.fixture
def cognito_fidelity() -> Iterator[None]:
    """What the local cloud installs over moto (local/cognito_refresh.py)."""
    from local import cognito_refresh

    uninstall = cognito_refresh.install()
    yield
    uninstall()


@pytest.mark.usefixtures("cognito_fidelity")
def test_a_disabled_or_deleted_users_refresh_is_401(cloud: Cloud) -> None:
    disabled = _login(cloud, "off@example.com")
    cloud.cognito.admin_disable_user(UserPoolId=cloud.pool_id, Username="off@example.com")
    status, body = cloud.invoke("POST", "/accounts/refresh", {"refresh_token": disabled["refresh_token"]})
    assert (status, body["error"]["code"]) == (401, "SESSION_EXPIRED")

    deleted = _login(cloud, "gone@example.com")
    cloud.cognito.admin_delete_user(UserPoolId=cloud.pool_id, Username="gone@example.com")
    status, body = cloud.invoke("POST", "/accounts/refresh", {"refresh_token": deleted["refresh_token"]})
    assert (status, body["error"]["code"]) == (401, "SESSION_EXPIRED")
