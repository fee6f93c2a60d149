"""Constants and event builders shared by the catalog unit tests (imported by conftest and tests)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TABLE = "catalog-test"
BUCKET = "ingest-test"
POOL_ID = "us-east-1_TestPool"
CLIENT_ID = "test-client"
ADMIN = {"sub": "admin-1", "cognito:groups": "[admins]", "token_use": "access", "client_id": CLIENT_ID}
VIEWER = {"sub": "viewer-1", "token_use": "access", "client_id": CLIENT_ID}


@dataclass
class LambdaContext:
    function_name: str = "catalog"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:catalog"
    aws_request_id: str = "req-1"


Invoke = Callable[..., tuple[int, Any]]


def http_api_event(
    method: str,
    path: str,
    *,
    claims: dict[str, Any] | None,
    body: Any = None,
    query: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event as the JWT authorizer delivers it."""
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "api",
        "domainName": "api.example.com",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "1.2.3.4",
            "userAgent": "t",
        },
        "requestId": "req-1",
        "routeKey": "$default",
        "stage": "$default",
        "time": "25/Nov/2026:16:00:00 +0000",
        "timeEpoch": 1795622400000,
    }
    if claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {"content-type": "application/json", "host": "api.example.com"},
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    return event
