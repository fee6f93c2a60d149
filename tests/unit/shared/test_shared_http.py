"""reelstack_common.http: one router served to HTTP API v2.0 and ALB events, one error shape."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, ConfigDict
from reelstack_common.auth import current_user
from reelstack_common.errors import ApiError, Conflict
from reelstack_common.http import DeclaredRoute, Router, build_handler, declared_routes, event_kind, public

from tests.unit.events import LambdaContext, alb_event, http_api_event, response_header, response_json


class Echo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int


router = Router()
# The edge behaviours below are the same for public and private routes; these are public so the
# requests need no token. /whoami and /private-echo are private (the default).
OPEN = public("test route")


@router.get("/ok", openapi_extensions=OPEN)
def ok() -> dict[str, Any]:
    return {"ok": True}


@router.post("/echo", openapi_extensions=OPEN)
def echo(body: Annotated[Echo, Body()]) -> Echo:
    return body


@router.get("/items/<item_id>", openapi_extensions=OPEN)
def item(item_id: str) -> dict[str, str]:
    return {"item_id": item_id}


@router.get("/boom", openapi_extensions=OPEN)
def boom() -> None:
    raise RuntimeError("db password is hunter2")


@router.get("/conflict", openapi_extensions=OPEN)
def conflict() -> None:
    raise Conflict("ALREADY_THERE", "It exists")


@router.get("/teapot", openapi_extensions=OPEN)
def teapot() -> None:
    raise ApiError(418, "TEAPOT", "Short and stout")


@router.get("/whoami")
def whoami() -> dict[str, str]:
    return {"user_id": current_user(router).user_id}


@router.post("/private-echo")
def private_echo(body: Annotated[Echo, Body()]) -> Echo:
    current_user(router)
    return body


handler = build_handler(router, service="shared-test", max_body_bytes=1024)


def call(event: dict[str, Any]) -> tuple[int, Any, dict[str, Any]]:
    response = handler(event, LambdaContext())
    return int(response["statusCode"]), response_json(response), response


def make(edge: str, method: str, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
    return (http_api_event if edge == "http" else alb_event)(method, path, body, **kwargs)


@pytest.fixture(params=["http", "alb"])
def edge(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_event_kind() -> None:
    assert event_kind(http_api_event("GET", "/")) == "http_api"
    assert event_kind(alb_event("GET", "/")) == "alb"
    with pytest.raises(ValueError):
        event_kind({"httpMethod": "GET", "requestContext": {"stage": "prod"}})  # REST API v1


def test_routes_and_shapes(edge: str) -> None:
    status, body, response = call(make(edge, "GET", "/ok"))
    assert (status, body) == (200, {"ok": True})
    assert response_header(response, "content-type") == "application/json"
    assert call(make(edge, "GET", "/items/42"))[:2] == (200, {"item_id": "42"})
    assert call(make(edge, "POST", "/echo", {"name": "a", "count": 2}))[:2] == (
        200,
        {"name": "a", "count": 2},
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/nope", None, 404, "NOT_FOUND"),
        ("DELETE", "/ok", None, 404, "NOT_FOUND"),
        ("POST", "/echo", "{bad json", 400, "BAD_REQUEST"),
        ("POST", "/echo", None, 400, "VALIDATION_ERROR"),
        ("POST", "/echo", {"name": "a"}, 400, "VALIDATION_ERROR"),
        ("POST", "/echo", {"name": "a", "count": "many"}, 400, "VALIDATION_ERROR"),
        ("POST", "/echo", {"name": "a", "count": 1, "extra": 1}, 400, "VALIDATION_ERROR"),
        ("POST", "/echo", {"name": "a" * 2000, "count": 1}, 413, "PAYLOAD_TOO_LARGE"),
        ("GET", "/conflict", None, 409, "ALREADY_THERE"),
        ("GET", "/teapot", None, 418, "TEAPOT"),
        ("GET", "/whoami", None, 401, "UNAUTHORIZED"),
    ],
)
def test_errors_have_one_shape(edge: str, method: str, path: str, body: Any, status: int, code: str) -> None:
    got_status, got_body, response = call(make(edge, method, path, body))
    assert got_status == status
    assert got_body["error"]["code"] == code and isinstance(got_body["error"]["message"], str)
    assert set(got_body) == {"error"}
    assert response_header(response, "content-type") == "application/json"


def test_validation_message_is_readable() -> None:
    _, body, _ = call(http_api_event("POST", "/echo", {"count": "many", "extra": 1}))
    message = body["error"]["message"]
    assert "name: Field required" in message
    assert "count:" in message and "extra: Extra inputs are not permitted" in message
    assert "many" not in message
    _, body, _ = call(http_api_event("POST", "/echo"))
    assert body["error"]["message"] == "request body is required"


def test_unexpected_exception_is_a_generic_logged_500(edge: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        status, body, _ = call(make(edge, "GET", "/boom"))
    assert (status, body) == (500, {"error": {"code": "INTERNAL", "message": "Internal server error"}})
    assert any("unhandled error" in r.getMessage() and r.exc_info for r in caplog.records)


def test_base64_bodies(edge: str) -> None:
    status, body, _ = call(make(edge, "POST", "/echo", {"name": "ü", "count": 1}, base64_encoded=True))
    assert (status, body) == (200, {"name": "ü", "count": 1})


def test_size_limit_counts_bytes_not_characters() -> None:
    # 600 two-byte characters = 1200 bytes > 1024 although only 600 characters.
    status, body, _ = call(http_api_event("POST", "/echo", {"name": "é" * 600, "count": 1}))
    assert status == 413 and body["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_json_sent_as_curls_default_form_type_is_accepted(edge: str) -> None:
    # `curl -d '{...}'` labels JSON as a form; every Reelstack API takes JSON.
    form = {"content-type": "application/x-www-form-urlencoded"}
    status, body, _ = call(make(edge, "POST", "/echo", '{"name": "a", "count": 2}', headers=form))
    assert (status, body) == (200, {"name": "a", "count": 2})
    status, body, _ = call(make(edge, "POST", "/echo", '{"name": "a", "count": 2}', headers={"content-type": ""}))
    assert (status, body) == (200, {"name": "a", "count": 2})


def test_a_real_form_body_is_415_and_never_echoed(edge: str) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    status, body, _ = call(make(edge, "POST", "/echo", "name=a&password=hunter2", headers=form))
    assert status == 415 and body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "hunter2" not in str(body)


def test_unexpected_keys_are_not_echoed_in_validation_messages() -> None:
    secret_key = '{"password": "hunter2"} pasted as a key'
    _, body, _ = call(http_api_event("POST", "/echo", {"name": "a", "count": 1, secret_key: 1}))
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert "hunter2" not in body["error"]["message"]
    assert "<unexpected field>: Extra inputs are not permitted" in body["error"]["message"]


def test_hostile_json_is_a_400_not_a_500(edge: str) -> None:
    roomy = build_handler(router, service="shared-test")  # the default 64 KiB limit
    for raw in ("[" * 30000 + "]" * 30000, '{"name": "\\ud800", "count": 1}'):
        response = roomy(make(edge, "POST", "/echo", raw), LambdaContext())
        assert response["statusCode"] == 400, raw[:20]
        assert response_json(response)["error"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("body", [None, {"name": 1}, "{bad json", {"name": "a" * 2000, "count": 1}])
def test_a_private_route_authenticates_before_it_reads_the_body(edge: str, body: Any, issuer: Any) -> None:
    # API Gateway's authorizer answers 401 before the function sees the body; the ALB must too.
    status, payload, _ = call(make(edge, "POST", "/private-echo", body))
    assert (status, payload["error"]["code"]) == (401, "UNAUTHORIZED")
    bad_token = {"authorization": "Bearer not-a-jwt"}
    status, payload, _ = call(make(edge, "POST", "/private-echo", body, headers=bad_token))
    assert (status, payload["error"]["code"]) == (401, "UNAUTHORIZED")
    # Signed in, the body rules apply as before.
    signed_in = {"authorization": f"Bearer {issuer.token()}"}
    status, payload, _ = call(make(edge, "POST", "/private-echo", body, headers=signed_in))
    assert status in (400, 413) and payload["error"]["code"] != "UNAUTHORIZED"
    status, payload, _ = call(make(edge, "POST", "/private-echo", {"name": "a", "count": 1}, headers=signed_in))
    assert (status, payload) == (200, {"name": "a", "count": 1})


def test_declared_routes_read_method_path_and_privacy_from_the_decorators() -> None:
    routes = {r.route_key: r for r in declared_routes(router)}
    assert routes["GET /items/{item_id}"] == DeclaredRoute("GET", "/items/{item_id}", "test route")
    assert routes["POST /private-echo"].private and not routes["GET /ok"].private
    assert routes["GET /items/{item_id}"].pattern.match("/items/42")
    assert not routes["GET /items/{item_id}"].pattern.match("/items/42/more")
    with pytest.raises(ValueError, match="say why"):
        public(" ")
