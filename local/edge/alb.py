"""The Application Load Balancer stand-in: the template's listener rules in priority order, Lambda
targets (single- or multi-value headers as the target group says) and fixed responses."""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from local.edge.messages import (
    Invoke,
    Reply,
    Request,
    encode_body,
    error,
    function_result,
    is_proxy_result,
    proxy_reply,
)
from local.resolve import ACCOUNT

log = logging.getLogger("reelstack.local")

MAX_BODY = 1024 * 1024  # ALB → Lambda request body limit
DEFAULT_ACTION_PRIORITY = 10**9  # a listener's default action comes after every rule


@dataclass(frozen=True)
class AlbRule:
    priority: int
    conditions: list[dict[str, Any]] = field(default_factory=list)
    function_arn: str | None = None  # forward to this function...
    fixed_response: dict[str, Any] | None = None  # ...or answer this FixedResponseConfig
    multi_value_headers: bool = False

    def matches(self, req: Request) -> bool:
        """Every condition holds (ALB accepts any method; only a method condition restricts it)."""
        host = req.headers.get("host", "").split(":")[0]
        for cond in self.conditions:
            kind = cond.get("Field")
            if kind == "path-pattern":
                values = cond.get("PathPatternConfig", {}).get("Values") or cond.get("Values", [])
                if not any(fnmatch.fnmatchcase(req.path, v) for v in values):
                    return False
            elif kind == "http-request-method":
                values = cond.get("HttpRequestMethodConfig", {}).get("Values") or cond.get("Values", [])
                if req.method not in values:
                    return False
            elif kind == "host-header":
                values = cond.get("HostHeaderConfig", {}).get("Values") or cond.get("Values", [])
                if not any(fnmatch.fnmatch(host, v) for v in values):
                    return False
            elif kind == "http-header":
                conf = cond.get("HttpHeaderConfig", {})
                val = req.headers.get(conf.get("HttpHeaderName", "").lower())
                if val is None or not any(fnmatch.fnmatch(val, v) for v in conf.get("Values", [])):
                    return False
        return True


class Alb:
    def __init__(self, rules: list[AlbRule], invoke: Invoke) -> None:
        self.rules = sorted(rules, key=lambda r: r.priority)
        self.invoke = invoke

    def handle(self, req: Request) -> Reply:
        rule = next((r for r in self.rules if r.matches(req)), None)
        if rule is None:
            return error(404, "NOT_FOUND", f"No listener rule for {req.method} {req.path}", "Not Found")
        if rule.fixed_response is not None:
            fr = rule.fixed_response
            return Reply(int(fr.get("StatusCode", 200)), {"content-type": fr.get("ContentType", "text/plain")},
                         str(fr.get("MessageBody", "")).encode())
        if rule.function_arn is None:
            # What ALB answers when the target group has no registered target.
            return error(503, "SERVICE_UNAVAILABLE", "The target group has no registered target",
                         "Service Unavailable")
        if len(req.body) > MAX_BODY:
            return error(413, "PAYLOAD_TOO_LARGE", "Request body too large", "Request Entity Too Large")
        ok, payload = self.invoke(rule.function_arn, _event(rule, req))
        return _reply(ok, payload)


def _event(rule: AlbRule, req: Request) -> dict[str, Any]:
    pairs = parse_qsl(req.query, keep_blank_values=True)
    text, is_b64 = encode_body(req.body, req.headers.get("content-type", ""))
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {"targetGroupArn": f"arn:aws:elasticloadbalancing:local:{ACCOUNT}:targetgroup/local"}
        },
        "httpMethod": req.method,
        "path": req.path,
        "body": text,
        "isBase64Encoded": is_b64,
    }
    if rule.multi_value_headers:
        mq: dict[str, list[str]] = {}
        for k, v in pairs:
            mq.setdefault(k, []).append(v)
        event["multiValueQueryStringParameters"] = mq
        event["multiValueHeaders"] = {k: [v] for k, v in req.headers.items()}
    else:
        event["queryStringParameters"] = dict(pairs)
        event["headers"] = req.headers
    return event


def _reply(ok: bool, payload: Any) -> Reply:
    if not ok:
        log.warning("function error: %s", payload)
        return error(502, "BAD_GATEWAY", "The target returned an error", "Bad Gateway")
    result = function_result(payload)
    if not is_proxy_result(result):  # ALB, unlike HTTP API, infers nothing
        return error(502, "BAD_GATEWAY", "The target returned an invalid response", "Bad Gateway")
    return proxy_reply(result)
