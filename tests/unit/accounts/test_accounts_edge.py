"""Bad input and bad tokens at the edge: 4xx in the error shape, nothing written."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt

from tests.unit.accounts.conftest import PASSWORD, Cloud
from tests.unit.events import LambdaContext, alb_event, http_api_event, response_header, response_json


def assert_error(status: int, body: Any, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert "Traceback" not in body["error"]["message"]


def raw_invoke(event: dict[str, Any]) -> dict[str, Any]:
    from accounts.handlers.http import lambda_handler

    return lambda_handler(event, LambdaContext())


def build(edge: str, method: str, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
    return (http_api_event if edge == "http" else alb_event)(method, path, body, **kwargs)


BAD_SIGN_UP_BODIES: list[tuple[str, int, str]] = [
    ('{"email": "x@example.com", "password": ', 400, "BAD_REQUEST"),  # malformed JSON
    ("not json at all", 400, "BAD_REQUEST"),
    ("", 400, "VALIDATION_ERROR"),  # no body
    ("[]", 400, "VALIDATION_ERROR"),
    ('"a string"', 400, "VALIDATION_ERROR"),
    ('{"email": "x@example.com"}', 400, "VALIDATION_ERROR"),  # missing password
    ('{"password": "Corr3ct-Horse"}', 400, "VALIDATION_ERROR"),  # missing email
    ('{"email": 42, "password": "Corr3ct-Horse"}', 400, "VALIDATION_ERROR"),  # wrong type
    ('{"email": "x@example.com", "password": ["Corr3ct-Horse"]}', 400, "VALIDATION_ERROR"),
    ('{"email": "x@example.com", "password": "Corr3ct-Horse", "admin": true}', 400, "VALIDATION_ERROR"),
]


def test_bad_sign_up_bodies(cloud: Cloud, edge: str) -> None:
    # One moto world for all cases (cheaper than one per case); each case is labelled on failure.
    for body, status, code in BAD_SIGN_UP_BODIES:
        response = raw_invoke(build(edge, "POST", "/accounts", body))
        try:
            assert_error(int(response["statusCode"]), response_json(response), status, code)
            assert response_header(response, "content-type") == "application/json"
        except AssertionError as failure:
            raise AssertionError(f"body {body!r}: {failure}") from None
    assert cloud.items() == [] and cloud.cognito_usernames() == []


def test_validation_message_names_fields_without_echoing_values(cloud: Cloud) -> None:
    response = raw_invoke(http_api_event("POST", "/accounts", {"email": "nope", "password": "secret"}))
    message = response_json(response)["error"]["message"]
    assert "email" in message and "password" in message
    assert "secret" not in message and "nope" not in message


def test_oversize_body_is_413(cloud: Cloud, edge: str) -> None:
    big = {"email": "big@example.com", "password": PASSWORD, "padding": "x" * 70_000}
    response = raw_invoke(build(edge, "POST", "/accounts", big))
    assert_error(int(response["statusCode"]), response_json(response), 413, "PAYLOAD_TOO_LARGE")
    response = raw_invoke(build(edge, "POST", "/accounts", big, base64_encoded=True))
    assert_error(int(response["statusCode"]), response_json(response), 413, "PAYLOAD_TOO_LARGE")
    if edge == "alb":
        assert response["statusDescription"].startswith("413 ")
    assert cloud.items() == [] and cloud.cognito_usernames() == []


def test_base64_body_is_decoded(cloud: Cloud, edge: str) -> None:
    body = {"email": "b64@example.com", "password": PASSWORD}
    response = raw_invoke(build(edge, "POST", "/accounts", body, base64_encoded=True))
    assert response["statusCode"] == 202, response
    assert cloud.cognito_usernames() == ["b64@example.com"]


def test_invalid_base64_is_400(cloud: Cloud) -> None:
    event = alb_event("POST", "/accounts", "x")
    event.update(body="%%%not-base64%%%", isBase64Encoded=True)
    response = raw_invoke(event)
    assert_error(response["statusCode"], response_json(response), 400, "BAD_REQUEST")
    event.update(body=base64.b64encode(b"\xff\xfe{}").decode())
    response = raw_invoke(event)
    assert_error(response["statusCode"], response_json(response), 400, "BAD_REQUEST")


def test_non_json_content_type_is_415(cloud: Cloud) -> None:
    event = http_api_event("POST", "/accounts", "email=a@b.com", headers={"content-type": "application/xml"})
    response = raw_invoke(event)
    assert_error(response["statusCode"], response_json(response), 415, "UNSUPPORTED_MEDIA_TYPE")


def test_unknown_route_is_404_json(cloud: Cloud, edge: str) -> None:
    response = raw_invoke(build(edge, "GET", "/nothing/here"))
    assert_error(int(response["statusCode"]), response_json(response), 404, "NOT_FOUND")


def test_alb_multi_value_headers(cloud: Cloud) -> None:
    response = raw_invoke(alb_event("GET", "/billing/plans", multi_value=True))
    assert response["statusCode"] == 200
    assert "multiValueHeaders" in response
    assert len(response_json(response)["plans"]) == 3
    response = raw_invoke(alb_event("GET", "/accounts/me", multi_value=True))
    assert_error(response["statusCode"], response_json(response), 401, "UNAUTHORIZED")


# --- tokens on the ALB path (the handler verifies them itself) --------------------------------


def moto_pool(cloud: Cloud) -> Any:
    from moto.cognitoidp.models import cognitoidp_backends

    return cognitoidp_backends["123456789012"]["us-east-1"].user_pools[cloud.pool_id]


def test_alb_valid_token_works_and_bad_tokens_are_401(cloud: Cloud) -> None:
    user = cloud.user("tok@example.com")
    assert cloud.invoke("GET", "/accounts/me", token=user.access_token, edge="alb")[0] == 200

    claims = jwt.decode(user.access_token, options={"verify_signature": False})
    header, payload, signature = user.access_token.split(".")
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps({**claims, "sub": "someone-else"}).encode()).rstrip(b"=").decode()
    )
    # moto's own signing key, to build tokens that are correctly signed but otherwise wrong.
    signing_key = moto_pool(cloud).json_web_key.as_pem(private=True)
    bad_tokens = {
        "garbage": "not-a-jwt",
        "tampered": f"{header}.{forged_payload}.{signature}",
        "alg none": jwt.encode({**claims}, None, algorithm="none"),  # type: ignore[arg-type]
        "hs256": jwt.encode({**claims}, "secret", algorithm="HS256", headers={"kid": "dummy"}),
        "expired": moto_pool(cloud).create_jwt(cloud.client_id, user.email, "access", expires_in=-300)[0],
        "unknown kid": jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": "other"}),
        "wrong token_use": jwt.encode(
            {**claims, "token_use": "refresh"}, signing_key, algorithm="RS256", headers={"kid": "dummy"}
        ),
        "no exp": jwt.encode(
            {k: v for k, v in claims.items() if k != "exp"},
            signing_key,
            algorithm="RS256",
            headers={"kid": "dummy"},
        ),
    }
    for name, token in bad_tokens.items():
        status, body = cloud.invoke("GET", "/accounts/me", token=token, edge="alb")
        assert status == 401, name
        assert body["error"]["code"] == "UNAUTHORIZED", name
    # Not a bearer scheme.
    event = alb_event("GET", "/accounts/me", headers={"authorization": f"Basic {user.access_token}"})
    assert raw_invoke(event)["statusCode"] == 401


def test_alb_token_of_another_pool_or_client_is_401(cloud: Cloud) -> None:
    # Same signing key as ours (moto uses one), so only issuer/audience checks can reject these.
    other_pool = cloud.cognito.create_user_pool(PoolName="foreign", UsernameAttributes=["email"])["UserPool"][
        "Id"
    ]
    other_client = cloud.cognito.create_user_pool_client(
        UserPoolId=other_pool, ClientName="foreign", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    our_other_client = cloud.cognito.create_user_pool_client(
        UserPoolId=cloud.pool_id, ClientName="other-app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    user = cloud.user("mine@example.com")
    cloud.cognito.admin_create_user(
        UserPoolId=other_pool, Username="mine@example.com", MessageAction="SUPPRESS"
    )
    cloud.cognito.admin_set_user_password(
        UserPoolId=other_pool, Username="mine@example.com", Password=PASSWORD, Permanent=True
    )

    def login(client_id: str) -> dict[str, str]:
        return dict(
            cloud.cognito.initiate_auth(
                AuthFlow="USER_PASSWORD_AUTH",
                ClientId=client_id,
                AuthParameters={"USERNAME": "mine@example.com", "PASSWORD": PASSWORD},
            )["AuthenticationResult"]
        )

    for tokens in (login(other_client), login(our_other_client)):
        for token in (tokens["AccessToken"], tokens["IdToken"]):
            status, body = cloud.invoke("GET", "/accounts/me", token=token, edge="alb")
            assert status == 401 and body["error"]["code"] == "UNAUTHORIZED"
    assert cloud.invoke("GET", "/accounts/me", token=user.id_token, edge="alb")[0] == 200


def test_http_api_event_without_authorizer_claims_verifies_the_bearer_token(cloud: Cloud) -> None:
    user = cloud.user("noauthz@example.com")
    good = http_api_event("GET", "/accounts/me", headers={"authorization": f"Bearer {user.access_token}"})
    assert raw_invoke(good)["statusCode"] == 200
    expired = moto_pool(cloud).create_jwt(cloud.client_id, user.email, "access", expires_in=-300)[0]
    bad = http_api_event("GET", "/accounts/me", headers={"authorization": f"Bearer {expired}"})
    assert raw_invoke(bad)["statusCode"] == 401


def test_token_just_issued_is_accepted_and_expiry_is_enforced(cloud: Cloud) -> None:
    user = cloud.user("clock@example.com")
    token = moto_pool(cloud).create_jwt(cloud.client_id, user.email, "access", expires_in=60)[0]
    assert cloud.invoke("GET", "/accounts/me", token=token, edge="alb")[0] == 200
    assert jwt.decode(token, options={"verify_signature": False})["exp"] > time.time()
