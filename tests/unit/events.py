"""Builders of realistic Lambda events for HTTP handlers: API Gateway HTTP API v2.0 and ALB."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt

TARGET_GROUP_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/reelstack/0123456789abcdef"
)


@dataclass
class LambdaContext:
    """The attributes Powertools' Logger reads from the real context object."""

    function_name: str = "reelstack-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:reelstack-test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _body(body: Any, base64_encoded: bool) -> tuple[str | None, bool]:
    if body is None:
        return None, False
    text = body if isinstance(body, str) else json.dumps(body)
    if base64_encoded:
        return base64.b64encode(text.encode()).decode(), True
    return text, False


def _headers(host: str, edge: dict[str, str], caller: dict[str, str] | None) -> dict[str, str]:
    """What a JSON client's request carries at ``host``, then what the edge adds (``edge``), then
    the test's own ``caller`` headers, which win. Names are lower-cased, as both edges pass them."""
    return {
        "accept": "application/json",
        "content-type": "application/json",
        "host": host,
        "user-agent": "pytest",
        "x-amzn-trace-id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
        **edge,
        **{k.lower(): v for k, v in (caller or {}).items()},
    }


def http_claims(token: str) -> dict[str, str]:
    """The ``requestContext.authorizer.jwt.claims`` HTTP API's JWT authorizer would pass for ``token``.

    API Gateway hands claims over as strings; arrays become "[a b]".
    """
    claims = jwt.decode(token, options={"verify_signature": False})
    out: dict[str, str] = {}
    for key, value in claims.items():
        if isinstance(value, list):
            out[key] = "[" + " ".join(str(v) for v in value) + "]"
        else:
            out[key] = str(value)
    return out


def http_api_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    claims: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    base64_encoded: bool = False,
    route_key: str | None = None,
) -> dict[str, Any]:
    raw_body, is_b64 = _body(body, base64_encoded)
    all_headers = _headers("abc123.execute-api.us-east-1.amazonaws.com", {}, headers)
    now = time.time()
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "abc123",
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "abc123",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.10",
            "userAgent": "pytest",
        },
        "requestId": uuid.uuid4().hex[:16] + "=",
        "routeKey": route_key or f"{method} {path}",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": request_context["routeKey"],
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": all_headers,
        "requestContext": request_context,
        "isBase64Encoded": is_b64,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if raw_body is not None:
        event["body"] = raw_body
    return event


def alb_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    base64_encoded: bool = False,
    multi_value: bool = False,
) -> dict[str, Any]:
    raw_body, is_b64 = _body(body, base64_encoded)
    forwarded = {"x-forwarded-for": "203.0.113.10", "x-forwarded-port": "443", "x-forwarded-proto": "https"}
    all_headers = _headers("reelstack-alb-123.us-east-1.elb.amazonaws.com", forwarded, headers)
    if token is not None:
        all_headers["authorization"] = f"Bearer {token}"
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": TARGET_GROUP_ARN}},
        "httpMethod": method,
        "path": path,
        "body": raw_body if raw_body is not None else "",
        "isBase64Encoded": is_b64,
    }
    if multi_value:
        event["multiValueHeaders"] = {k: [v] for k, v in all_headers.items()}
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in (query or {}).items()}
    else:
        event["headers"] = all_headers
        event["queryStringParameters"] = dict(query or {})
    return event


def invoke_edge(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None,
    edge: str,
    **kwargs: Any,
) -> tuple[int, Any]:
    """Call an HTTP ``handler`` the way API Gateway's JWT authorizer (``edge="http"``: the token's
    claims, no header) or the ALB (``edge="alb"``: the bearer header as sent) would; ``kwargs`` go to
    the event builder. Returns the status and the JSON body."""
    if edge == "http":
        claims = http_claims(token) if token else None
        event = http_api_event(method, path, body, claims=claims, **kwargs)
    else:
        event = alb_event(method, path, body, token=token, **kwargs)
    response = handler(event, LambdaContext())
    return int(response["statusCode"]), response_json(response)


def response_json(response: dict[str, Any]) -> Any:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body) if body else None


def response_header(response: dict[str, Any], name: str) -> str | None:
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower() and values:
            return str(values[-1])
    return None


def scheduled_event(time_iso: str, rule: str = "reelstack-billing") -> dict[str, Any]:
    """An EventBridge scheduled-rule event firing at ``time_iso`` (e.g. "2026-12-01T02:00:00Z")."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time_iso,
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{rule}"],
        "detail": {},
    }
