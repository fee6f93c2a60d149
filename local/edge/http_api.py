"""The API Gateway HTTP API stand-in: routes from the template's AWS::ApiGatewayV2::Route resources,
the JWT authorizer on private routes, payload 2.0 events, CORS per API, and the published API
contract at GET /openapi.json."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.edge.cors import CorsConfig
from local.edge.jwt_authorizer import JwksCache, JwtAuthorizer, Unauthorized, bearer_token, stringify_claim, verify
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

MAX_BODY = 10 * 1024 * 1024  # API Gateway HTTP API payload quota
OPENAPI_PATH = "/openapi.json"


@dataclass(frozen=True)
class HttpRoute:
    api_id: str
    route_key: str  # "GET /profiles/{profile_id}" or "$default"
    function_arn: str
    authorizer: JwtAuthorizer | None = None


@dataclass(frozen=True)
class _Compiled:
    route: HttpRoute
    method: str
    pattern: re.Pattern[str]
    static_segments: int


class HttpApiRouter:
    """Route selection as HTTP API does it: the most specific path wins, then the exact method over
    ANY; `$default` takes what no route's path matches."""

    def __init__(self, routes: list[HttpRoute]) -> None:
        self.default: HttpRoute | None = None
        self.routes: list[_Compiled] = []
        for r in routes:
            if r.route_key == "$default":
                self.default = r
                continue
            method, path = r.route_key.split(" ", 1)
            pattern, static = _compile_route(path)
            self.routes.append(_Compiled(r, method, pattern, static))

    def match(self, method: str, path: str) -> tuple[HttpRoute | None, dict[str, str], bool]:
        """Returns (route, path params, path_known)."""
        best: tuple[int, HttpRoute, dict[str, str]] | None = None
        path_known = False
        for c in self.routes:
            mo = c.pattern.fullmatch(path)
            if not mo:
                continue
            path_known = True
            if c.method not in (method, "ANY"):
                continue
            score = c.static_segments * 2 + (1 if c.method == method else 0)
            if best is None or score > best[0]:
                # API Gateway hands path parameters over URL-decoded; rawPath stays as sent.
                best = (score, c.route, {k: unquote(v) for k, v in mo.groupdict().items()})
        if best:
            return best[1], best[2], True
        if self.default is not None and not path_known:
            return self.default, {}, True
        return None, {}, path_known

    def api_of(self, path: str, method: str | None) -> str | None:
        """The API a path belongs to (for a preflight, which names the method it will use)."""
        if method:
            route, _, _ = self.match(method, path)
            if route is not None:
                return route.api_id
        known = next((c.route.api_id for c in self.routes if c.pattern.fullmatch(path)), None)
        return known or (self.default.api_id if self.default else None)


def _compile_route(path: str) -> tuple[re.Pattern[str], int]:
    parts = []
    static = 0
    for seg in path.strip("/").split("/"):
        if seg.startswith("{") and seg.endswith("+}"):
            parts.append(f"(?P<{seg[1:-2]}>.+)")
        elif seg.startswith("{") and seg.endswith("}"):
            parts.append(f"(?P<{seg[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(seg))
            static += 1
    return re.compile("/" + "/".join(parts)), static


class HttpApi:
    """Every HTTP API of the app, served on one port (route keys do not collide across APIs)."""

    def __init__(self, routes: list[HttpRoute], cors: dict[str, CorsConfig], invoke: Invoke, jwks: JwksCache,
                 openapi: Path | None = None) -> None:
        self.router = HttpApiRouter(routes)
        self.cors = cors  # api id -> that API's CorsConfiguration
        self.invoke = invoke
        self.jwks = jwks
        self.openapi = openapi

    def handle(self, req: Request) -> Reply:
        origin = req.headers.get("origin")
        if req.method == "OPTIONS":
            conf = self.cors.get(self.router.api_of(req.path, req.headers.get("access-control-request-method")) or "")
            if conf is not None:
                return conf.preflight(origin)
        if req.method in ("GET", "HEAD") and req.path == OPENAPI_PATH and self.openapi is not None:
            return self._openapi()
        if len(req.body) > MAX_BODY:
            return error(413, "PAYLOAD_TOO_LARGE", "Request body too large", "Request Entity Too Large")
        route, params, known = self.router.match(req.method, req.path)
        if route is None:
            if known:
                return error(405, "METHOD_NOT_ALLOWED", f"{req.method} is not allowed on {req.path}",
                             "Method Not Allowed")
            return error(404, "NOT_FOUND", f"No route for {req.method} {req.path}", "Not Found")
        claims = None
        if route.authorizer is not None:
            try:
                claims = verify(bearer_token(req.headers.get("authorization", "")), route.authorizer, self.jwks)
            except Unauthorized as exc:
                log.info("401 %s %s: %s", req.method, req.path, exc)
                refused = error(401, "UNAUTHORIZED", "Unauthorized", "Unauthorized")
                # The API's CORS headers on the authorizer's 401 too, so a browser can read it (without
                # them it sees a network error). AWS documents CORS headers on integration responses
                # and does not say either way for a JWT authorizer's 401: assumed, not verified on a
                # deployed stack. The web app does not depend on it: it renews ahead of the expiry.
                conf = self.cors.get(route.api_id)
                if conf is not None:
                    conf.decorate(refused, origin)
                return refused
        ok, payload = self.invoke(route.function_arn, _event(route, req, params, claims))
        reply = _reply(ok, payload)
        conf = self.cors.get(route.api_id)
        if conf is not None:
            conf.decorate(reply, origin)
        return reply

    def _openapi(self) -> Reply:
        if self.openapi is None or not self.openapi.is_file():
            return error(404, "NOT_FOUND", "No API document has been generated (make openapi)", "Not Found")
        return Reply(200, {"content-type": "application/json"}, self.openapi.read_bytes())


def _event(route: HttpRoute, req: Request, params: dict[str, str], claims: dict[str, Any] | None) -> dict[str, Any]:
    """The payload 2.0 event API Gateway hands to a Lambda integration."""
    query: dict[str, list[str]] = {}
    for k, v in parse_qsl(req.query, keep_blank_values=True):
        query.setdefault(k, []).append(v)
    headers = req.headers
    cookies = [c.strip() for c in headers.get("cookie", "").split(";") if c.strip()]
    domain = headers.get("host", "localhost")
    now = dt.datetime.now(dt.UTC)
    text, is_b64 = encode_body(req.body, headers.get("content-type", ""))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": req.path,
        "rawQueryString": req.query,
        "headers": {k: v for k, v in headers.items() if k != "cookie"},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": route.api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": req.method,
                "path": req.path,
                "protocol": "HTTP/1.1",
                "sourceIp": req.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
    if params:
        event["pathParameters"] = params
    if req.body:
        event["body"] = text
    if claims is not None:
        event["requestContext"]["authorizer"] = {
            "jwt": {
                "claims": {k: stringify_claim(v) for k, v in claims.items()},
                "scopes": str(claims.get("scope", "")).split() or None,
            }
        }
    return event


def _reply(ok: bool, payload: Any) -> Reply:
    if not ok:
        log.warning("function error: %s", payload)
        return error(500, "INTERNAL", "Internal Server Error", "Internal Server Error")
    result = function_result(payload)
    if is_proxy_result(result):
        return proxy_reply(result)
    # Payload 2.0 infers a 200 JSON response from any other return value.
    return Reply(200, {"content-type": "application/json"}, json.dumps(result).encode())
