"""reelstack_common.auth: token verification, claims from the HTTP API authorizer, groups."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from reelstack_common import auth
from reelstack_common.errors import Forbidden, Unauthorized

from tests.unit.events import alb_event, http_api_event
from tests.unit.shared.conftest import CLIENT_ID, ISSUER, POOL_ID, Issuer


def app_for(event: dict[str, Any]) -> Any:
    return SimpleNamespace(current_event=event)


def test_issuer_and_jwks_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert auth.issuer(POOL_ID) == ISSUER
    assert auth.jwks_url(POOL_ID) == f"{ISSUER}/.well-known/jwks.json"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/")
    assert auth.jwks_url(POOL_ID) == f"http://127.0.0.1:5000/{POOL_ID}/.well-known/jwks.json"
    assert auth.issuer(POOL_ID) == ISSUER  # the issuer never changes with the endpoint


def test_access_and_id_tokens_verify(issuer: Issuer) -> None:
    claims = auth.verify_token(issuer.token("access", **{"cognito:groups": ["admins"]}))
    assert claims["sub"] == "user-1" and claims["client_id"] == CLIENT_ID
    principal = auth.principal_from_claims(auth.verify_token(issuer.token("id", email="a@example.com")))
    assert principal.user_id == "user-1" and principal.email == "a@example.com" and principal.groups == ()
    assert issuer.fetched == [f"{ISSUER}/.well-known/jwks.json"]  # fetched once, then cached


@pytest.mark.parametrize(
    "make",
    [
        lambda i: i.token(exp=int(time.time()) - 60),
        lambda i: i.token(iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"),
        lambda i: i.token(client_id="someone-else"),
        lambda i: i.token("id", aud="someone-else"),
        lambda i: i.token("refresh"),
        lambda i: i.token(sub=None),
        lambda i: i.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        lambda i: i.token(kid="rotated-away"),
        lambda i: "a.b.c",
        lambda i: "",
    ],
    ids=[
        "expired",
        "issuer",
        "client_id",
        "aud",
        "token_use",
        "no sub",
        "wrong key",
        "unknown kid",
        "junk",
        "empty",
    ],
)
def test_bad_tokens_are_unauthorized(issuer: Issuer, make: Any) -> None:
    with pytest.raises(Unauthorized):
        auth.principal_from_claims(auth.verify_token(make(issuer)))


def test_unknown_kids_do_not_hammer_the_jwks_endpoint(issuer: Issuer) -> None:
    auth.verify_token(issuer.token())
    for _ in range(5):
        with pytest.raises(Unauthorized):
            auth.verify_token(issuer.token(kid="forged"))
    assert len(issuer.fetched) == 1


def test_jwks_outage_is_401_not_500(issuer: Issuer, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(url: str) -> dict[str, Any]:
        raise OSError("connection refused")

    monkeypatch.setattr(auth, "fetch_jwks", down)
    with pytest.raises(Unauthorized):
        auth.verify_token(issuer.token())


def test_http_api_claims_are_trusted_and_groups_parsed(issuer: Issuer) -> None:
    claims = {"sub": "u-9", "email": "x@example.com", "cognito:groups": "[admins editors]", "token_use": "id"}
    principal = auth.current_user(app_for(http_api_event("GET", "/x", claims=claims)))
    assert principal.user_id == "u-9" and principal.groups == ("admins", "editors")
    assert issuer.fetched == []  # API Gateway validated it; no JWKS needed


def test_http_api_without_claims_falls_back_to_the_bearer_token(issuer: Issuer) -> None:
    event = http_api_event("GET", "/x", headers={"Authorization": f"Bearer {issuer.token()}"})
    assert auth.current_user(app_for(event)).user_id == "user-1"
    with pytest.raises(Unauthorized):
        auth.current_user(app_for(http_api_event("GET", "/x")))


def test_alb_verifies_the_bearer_token_even_with_injected_claims(issuer: Issuer, cognito: Cognito) -> None:
    cognito.users["user-1"] = auth.Standing(exists=True, enabled=True, groups=("admins",))
    event = alb_event("GET", "/x", token=issuer.token(**{"cognito:groups": ["admins"]}))
    assert auth.require_group(app_for(event), "admins").user_id == "user-1"
    # A client cannot smuggle claims into an ALB event: only the token counts.
    forged = alb_event("GET", "/x")
    forged["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": "admin"}}}
    with pytest.raises(Unauthorized):
        auth.current_user(app_for(forged))
    multi = alb_event("GET", "/x", token=issuer.token(), multi_value=True)
    assert auth.current_user(app_for(multi)).user_id == "user-1"


class Cognito:
    """What Cognito answers about users now, with a hand-driven clock for the standing cache."""

    def __init__(self) -> None:
        self.users: dict[str, auth.Standing] = {}
        self.calls = 0
        self.now = 100.0

    def standing(self, pool: str, username: str) -> auth.Standing:
        assert pool == POOL_ID
        self.calls += 1
        return self.users.get(username, auth.Standing(exists=False))


@pytest.fixture
def cognito(monkeypatch: pytest.MonkeyPatch) -> Any:
    fake = Cognito()
    monkeypatch.setattr(auth, "fetch_standing", fake.standing)
    monkeypatch.setattr(auth.standing_cache, "clock", lambda: fake.now)
    auth.standing_cache.clear()
    yield fake
    auth.standing_cache.clear()


def test_require_group(issuer: Issuer, cognito: Cognito, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMINS_GROUP", "admins")
    cognito.users["a"] = auth.Standing(exists=True, enabled=True, groups=("admins",))
    viewer = app_for(alb_event("GET", "/x", token=issuer.token()))
    with pytest.raises(Forbidden) as info:
        auth.require_group(viewer)
    assert info.value.status == 403 and info.value.code == "FORBIDDEN"
    assert cognito.calls == 0  # the token already says no: Cognito is not asked
    admin = app_for(http_api_event("GET", "/x", claims={"sub": "a", "cognito:groups": "[admins]"}))
    assert auth.require_group(admin).user_id == "a"


def test_a_disabled_demoted_or_deleted_admin_loses_power_after_the_cache_window(
    issuer: Issuer, cognito: Cognito
) -> None:
    """Issue 10 item 4: the token still says "admins", Cognito no longer does."""
    token = issuer.token(**{"cognito:groups": ["admins"], "username": "user-1"})
    admin = app_for(alb_event("POST", "/titles", token=token))
    cognito.users["user-1"] = auth.Standing(exists=True, enabled=True, groups=("admins",))
    for _ in range(5):
        auth.require_group(admin, "admins")
    assert cognito.calls == 1  # cached: one look-up per window, not one per request

    cognito.users["user-1"] = auth.Standing(exists=True, enabled=False, groups=("admins",))
    auth.require_group(admin, "admins")  # within the window the old answer stands
    cognito.now += auth.STANDING_TTL_SECONDS
    with pytest.raises(Unauthorized):
        auth.require_group(admin, "admins")
    with pytest.raises(Unauthorized):
        auth.require_active(admin)

    cognito.users["user-1"] = auth.Standing(exists=True, enabled=True, groups=())  # re-enabled, demoted
    cognito.now += auth.STANDING_TTL_SECONDS
    with pytest.raises(Forbidden):
        auth.require_group(admin, "admins")
    assert auth.require_active(admin).user_id == "user-1"

    del cognito.users["user-1"]  # deleted
    cognito.now += auth.STANDING_TTL_SECONDS
    with pytest.raises(Unauthorized):
        auth.require_active(admin)


def test_cognito_outage_fails_privileged_routes_closed(issuer: Issuer, monkeypatch: pytest.MonkeyPatch) -> None:
    from reelstack_common.errors import ServiceUnavailable

    def down(pool: str, username: str) -> auth.Standing:
        raise OSError("connection refused")

    monkeypatch.setattr(auth, "fetch_standing", down)
    auth.standing_cache.clear()
    admin = app_for(alb_event("POST", "/titles", token=issuer.token(**{"cognito:groups": ["admins"]})))
    with pytest.raises(ServiceUnavailable):
        auth.require_group(admin, "admins")


def test_standing_comes_from_cognito(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default transport against moto's Cognito: AdminGetUser + AdminListGroupsForUser."""
    import boto3
    from moto import mock_aws

    from tests.unit.identity import create_identity

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    auth._standing_clients.clear()
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name="us-east-1")
        pool, _ = create_identity(idp)
        user = idp.admin_create_user(UserPoolId=pool, Username="ops@example.com", MessageAction="SUPPRESS")["User"]
        username = user["Username"]  # the sub: the pool signs in by email
        idp.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName="admins")
        assert auth._cognito_standing(pool, username) == auth.Standing(True, True, ("admins",))
        idp.admin_disable_user(UserPoolId=pool, Username=username)
        assert auth._cognito_standing(pool, username).enabled is False
        idp.admin_delete_user(UserPoolId=pool, Username=username)
        assert auth._cognito_standing(pool, username) == auth.Standing(exists=False)
    auth._standing_clients.clear()
