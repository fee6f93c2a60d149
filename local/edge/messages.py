"""What both edges exchange with clients and functions: the request and reply, the JSON error shape
an edge answers with, and the proxy encodings of bodies."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# How an edge calls a function: (function ARN, event) -> (ok, payload). LambdaRuntime.invoke.
Invoke = Callable[[str, dict[str, Any]], tuple[bool, Any]]


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query string as sent ("/titles?limit=5")
    headers: dict[str, str]  # lower-case names; repeated headers joined with ","
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    cookies: list[str] = field(default_factory=list)


def error(status: int, code: str, message: str, aws_message: str) -> Reply:
    """An edge's own error: AWS's `{"message"}` plus the house `{"error": {"code", "message"}}`."""
    body = {"message": aws_message, "error": {"code": code, "message": message}}
    return Reply(status, {"content-type": "application/json"}, json.dumps(body).encode())


def encode_body(body: bytes, content_type: str) -> tuple[str, bool]:
    """The event's body and isBase64Encoded: text types pass as text, anything else as base64."""
    textual = any(t in content_type for t in ("json", "text", "xml", "x-www-form-urlencoded", "javascript"))
    if textual or not content_type:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


def function_result(payload: Any) -> Any:
    """What a function returned: its JSON payload decoded, or the payload as it came."""
    try:
        return json.loads(payload)
    except (TypeError, json.JSONDecodeError):
        return payload


def is_proxy_result(result: Any) -> bool:
    return isinstance(result, dict) and "statusCode" in result


def proxy_reply(result: dict[str, Any]) -> Reply:
    """The proxy response shape both API Gateway and ALB accept from a function."""
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for k, vs in (result.get("multiValueHeaders") or {}).items():
        headers[k.lower()] = ",".join(str(v) for v in vs)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return Reply(int(result["statusCode"]), headers, raw, list(result.get("cookies") or []))
