"""Local stand-ins for API Gateway HTTP API (payload 2.0 + JWT authorizer) and an ALB (Lambda
targets), serving exactly the routes and listener rules of the synthesized template.

Deliberate differences from AWS, for a friendlier contract: an unknown path is 404 and a known
path with another method is 405 (HTTP API answers 404 to both); gateway-made errors carry both
API Gateway's `{"message": ...}` and Reelstack's `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jwt
import requests

from local.lambda_runtime import LambdaRuntime
from local.provision import AlbRule, HttpRoute
from local.resolve import ACCOUNT

log = logging.getLogger("reelstack.local")

HTTP_API_MAX_BODY = 10 * 1024 * 1024  # API Gateway HTTP API payload quota
ALB_LAMBDA_MAX_BODY = 1024 * 1024  # ALB → Lambda request body limit


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] | None = None


def _error(status: int, code: str, message: str, aws_message: str) -> Reply:
    body = {"message": aws_message, "error": {"code": code, "message": message}}
    return Reply(status, {"content-type": "application/json"}, json.dumps(body).encode())


# ------------------------------------------------------------------ JWT authorizer
class JwksCache:
    """Fetches a Cognito pool's JWKS from the local cloud, as API Gateway does from Cognito."""

    def __init__(self, aws_endpoint: str) -> None:
        self.aws_endpoint = aws_endpoint
        self._keys: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def keys(self, issuer: str) -> dict[str, Any]:
        with self._lock:
            if issuer not in self._keys:
                pool = issuer.rstrip("/").rsplit("/", 1)[-1]
                doc = requests.get(f"{self.aws_endpoint}/{pool}/.well-known/jwks.json", timeout=5).json()
                self._keys[issuer] = {k["kid"]: k for k in doc.get("keys", [])}
            return self._keys[issuer]


def _stringify_claim(value: Any) -> str:
    # HTTP API hands claims to the integration as strings; arrays as "[a b]".
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def verify_jwt(token: str, auth: dict[str, Any], jwks: JwksCache) -> dict[str, Any]:
    """The HTTP API JWT authorizer's checks: signature (kid in the issuer's JWKS), iss, exp/nbf,
    aud or client_id in the configured audience, and scopes when the route requires them."""
    header = jwt.get_unverified_header(token)
    key_data = jwks.keys(auth["issuer"]).get(header.get("kid", ""))
    if key_data is None:
        raise jwt.InvalidTokenError("unknown signing key")
    key = jwt.PyJWK(key_data).key
    claims = jwt.decode(
        token,
        key=key,
        algorithms=["RS256"],
        issuer=auth["issuer"],
        options={"verify_aud": False, "require": ["exp", "iss"]},
        leeway=0,
    )
    audience = set(auth.get("audience") or [])
    aud = claims.get("aud")
    auds = set(aud if isinstance(aud, list) else [aud]) if aud else set()
    if audience and not (auds & audience or claims.get("client_id") in audience):
        raise jwt.InvalidAudienceError("audience not allowed")
    required = set(auth.get("scopes") or [])
    if required and not required & set(str(claims.get("scope", "")).split()):
        raise jwt.InvalidTokenError("insufficient scope")
    return claims


# ------------------------------------------------------------------ HTTP API
class HttpApiRouter:
    def __init__(self, routes: list[HttpRoute]) -> None:
        self.routes: list[tuple[HttpRoute, str | None, re.Pattern[str] | None, int]] = []
        for r in routes:
            if r.route_key == "$default":
                self.routes.append((r, None, None, -1))
                continue
            method, path = r.route_key.split(" ", 1)
            pattern, static = _compile_route(path)
            self.routes.append((r, method, pattern, static))

    def match(self, method: str, path: str) -> tuple[HttpRoute | None, dict[str, str], bool]:
        """Returns (route, path params, path_known)."""
        best: tuple[int, HttpRoute, dict[str, str]] | None = None
        path_known = False
        default = None
        for route, m, pattern, static in self.routes:
            if pattern is None:
                default = route
                continue
            mo = pattern.fullmatch(path)
            if not mo:
                continue
            path_known = True
            if m not in (method, "ANY"):
                continue
            score = static * 2 + (1 if m == method else 0)
            if best is None or score > best[0]:
                # API Gateway hands path parameters over URL-decoded; rawPath stays as sent.
                best = (score, route, {k: unquote(v) for k, v in mo.groupdict().items()})
        if best:
            return best[1], best[2], True
        if default is not None and not path_known:
            return default, {}, True
        return None, {}, path_known


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


def _http_api_event(
    route: HttpRoute, method: str, url: str, headers: dict[str, str], body: bytes, params: dict[str, str],
    claims: dict[str, Any] | None, source_ip: str, domain: str,
) -> dict[str, Any]:
    parts = urlsplit(url)
    query: dict[str, list[str]] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(k, []).append(v)
    cookies = [c.strip() for c in headers.get("cookie", "").split(";") if c.strip()]
    now = dt.datetime.now(dt.UTC)
    text, is_b64 = _encode_body(body, headers.get("content-type", ""))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {k: v for k, v in headers.items() if k != "cookie"},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": route.api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
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
    if body:
        event["body"] = text
    if claims is not None:
        event["requestContext"]["authorizer"] = {
            "jwt": {
                "claims": {k: _stringify_claim(v) for k, v in claims.items()},
                "scopes": str(claims.get("scope", "")).split() or None,
            }
        }
    return event


def _encode_body(body: bytes, content_type: str) -> tuple[str, bool]:
    textual = any(t in content_type for t in ("json", "text", "xml", "x-www-form-urlencoded", "javascript"))
    if textual or not content_type:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


def _http_api_reply(ok: bool, payload: Any) -> Reply:
    if not ok:
        log.warning("function error: %s", payload)
        return _error(500, "INTERNAL", "Internal Server Error", "Internal Server Error")
    try:
        result = json.loads(payload)
    except (TypeError, json.JSONDecodeError):
        result = payload
    if isinstance(result, dict) and "statusCode" in result:
        return _proxy_reply(result)
    # Payload 2.0 infers a 200 JSON response from any other return value.
    return Reply(200, {"content-type": "application/json"}, json.dumps(result).encode())


# ------------------------------------------------------------------ ALB
def _alb_matches(rule: AlbRule, method: str, path: str, host: str, headers: dict[str, str]) -> bool:
    for cond in rule.conditions:
        field = cond.get("Field")
        if field == "path-pattern":
            values = cond.get("PathPatternConfig", {}).get("Values") or cond.get("Values", [])
            if not any(fnmatch.fnmatchcase(path, v) for v in values):
                return False
        elif field == "http-request-method":
            values = cond.get("HttpRequestMethodConfig", {}).get("Values") or cond.get("Values", [])
            if method not in values:
                return False
        elif field == "host-header":
            values = cond.get("HostHeaderConfig", {}).get("Values") or cond.get("Values", [])
            if not any(fnmatch.fnmatch(host.split(":")[0], v) for v in values):
                return False
        elif field == "http-header":
            conf = cond.get("HttpHeaderConfig", {})
            val = headers.get(conf.get("HttpHeaderName", "").lower())
            if val is None or not any(fnmatch.fnmatch(val, v) for v in conf.get("Values", [])):
                return False
    return True


def _alb_event(rule: AlbRule, method: str, url: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    text, is_b64 = _encode_body(body, headers.get("content-type", ""))
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {"targetGroupArn": f"arn:aws:elasticloadbalancing:local:{ACCOUNT}:targetgroup/local"}
        },
        "httpMethod": method,
        "path": parts.path,
        "body": text,
        "isBase64Encoded": is_b64,
    }
    if rule.multi_value_headers:
        mq: dict[str, list[str]] = {}
        for k, v in pairs:
            mq.setdefault(k, []).append(v)
        event["multiValueQueryStringParameters"] = mq
        event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    else:
        event["queryStringParameters"] = dict(pairs)
        event["headers"] = headers
    return event


def _alb_reply(ok: bool, payload: Any) -> Reply:
    if not ok:
        log.warning("function error: %s", payload)
        return _error(502, "BAD_GATEWAY", "The target returned an error", "Bad Gateway")
    try:
        result = json.loads(payload)
    except (TypeError, json.JSONDecodeError):
        return _error(502, "BAD_GATEWAY", "The target returned an invalid response", "Bad Gateway")
    if not isinstance(result, dict) or "statusCode" not in result:
        return _error(502, "BAD_GATEWAY", "The target returned an invalid response", "Bad Gateway")
    return _proxy_reply(result)


def _proxy_reply(result: dict[str, Any]) -> Reply:
    """The proxy response shape both API Gateway and ALB accept from a function."""
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for k, vs in (result.get("multiValueHeaders") or {}).items():
        headers[k.lower()] = ",".join(str(v) for v in vs)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return Reply(int(result["statusCode"]), headers, raw, result.get("cookies"))


# ------------------------------------------------------------------ servers
class Gateway:
    def __init__(self, runtime: LambdaRuntime, aws_endpoint: str) -> None:
        self.runtime = runtime
        self.jwks = JwksCache(aws_endpoint)
        self.http_router = HttpApiRouter([])
        self.alb_rules: list[AlbRule] = []
        self.cors: dict[str, dict[str, Any]] = {}

    def configure(self, routes: list[HttpRoute], alb_rules: list[AlbRule], cors: dict[str, dict[str, Any]]) -> None:
        self.http_router = HttpApiRouter(routes)
        self.alb_rules = sorted(alb_rules, key=lambda r: r.priority)
        self.cors = cors

    # --- HTTP API
    def handle_http_api(self, method: str, url: str, headers: dict[str, str], body: bytes, ip: str,
                        domain: str) -> Reply:
        path = urlsplit(url).path
        if method == "OPTIONS" and self.cors:
            return self._preflight(headers)
        if len(body) > HTTP_API_MAX_BODY:
            return _error(413, "PAYLOAD_TOO_LARGE", "Request body too large", "Request Entity Too Large")
        route, params, known = self.http_router.match(method, path)
        if route is None:
            if known:
                return _error(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed on {path}", "Method Not Allowed")
            return _error(404, "NOT_FOUND", f"No route for {method} {path}", "Not Found")
        claims = None
        if route.authorizer is not None:
            auth = headers.get("authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else auth.strip()
            if not token:
                return _error(401, "UNAUTHORIZED", "Missing bearer token", "Unauthorized")
            try:
                claims = verify_jwt(token, route.authorizer, self.jwks)
            except (jwt.PyJWTError, ValueError) as exc:
                return _error(401, "UNAUTHORIZED", f"Invalid token: {exc}", "Unauthorized")
        event = _http_api_event(route, method, url, headers, body, params, claims, ip, domain)
        ok, payload = self.runtime.invoke(route.function_arn, event)
        reply = _http_api_reply(ok, payload)
        self._add_cors(reply, headers)
        return reply

    def _preflight(self, headers: dict[str, str]) -> Reply:
        reply = Reply(204, {}, b"")
        conf = next(iter(self.cors.values()))
        reply.headers["access-control-allow-methods"] = ",".join(conf.get("AllowMethods", ["*"]))
        reply.headers["access-control-allow-headers"] = ",".join(conf.get("AllowHeaders", ["*"]))
        if conf.get("MaxAge") is not None:
            reply.headers["access-control-max-age"] = str(conf["MaxAge"])
        self._add_cors(reply, headers)
        return reply

    def _add_cors(self, reply: Reply, headers: dict[str, str]) -> None:
        if not self.cors or "origin" not in headers:
            return
        conf = next(iter(self.cors.values()))
        origins = conf.get("AllowOrigins", [])
        origin = headers["origin"]
        if "*" in origins or origin in origins:
            reply.headers["access-control-allow-origin"] = "*" if "*" in origins else origin
            if conf.get("ExposeHeaders"):
                reply.headers["access-control-expose-headers"] = ",".join(conf["ExposeHeaders"])

    # --- ALB
    def handle_alb(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        path = urlsplit(url).path
        host = headers.get("host", "")
        for rule in self.alb_rules:
            if not _alb_matches(rule, method, path, host, headers):
                continue
            if rule.fixed_response is not None:
                fr = rule.fixed_response
                return Reply(int(fr.get("StatusCode", 200)),
                             {"content-type": fr.get("ContentType", "text/plain")},
                             str(fr.get("MessageBody", "")).encode())
            if len(body) > ALB_LAMBDA_MAX_BODY:
                return _error(413, "PAYLOAD_TOO_LARGE", "Request body too large", "Request Entity Too Large")
            assert rule.function_arn is not None
            ok, payload = self.runtime.invoke(rule.function_arn, _alb_event(rule, method, url, headers, body))
            return _alb_reply(ok, payload)
        return _error(404, "NOT_FOUND", f"No listener rule for {method} {path}", "Not Found")


def serve(gateway: Gateway, kind: str, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s %s", kind, fmt % args)

        def _handle(self) -> None:
            started = time.perf_counter()
            body = self._read_body()
            headers: dict[str, str] = {}
            for k, v in self.headers.items():
                k = k.lower()
                headers[k] = f"{headers[k]},{v}" if k in headers else v
            try:
                if kind == "api":
                    reply = gateway.handle_http_api(
                        self.command, self.path, headers, body, self.client_address[0],
                        headers.get("host", "localhost"),
                    )
                else:
                    reply = gateway.handle_alb(self.command, self.path, headers, body)
            except Exception:  # the gateway itself must never hang up on a client
                log.exception("gateway failure")
                reply = _error(500, "INTERNAL", "Internal Server Error", "Internal Server Error")
            self.send_response(reply.status)
            for k, v in reply.headers.items():
                if k not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(k, v)
            for c in reply.cookies or []:
                self.send_header("set-cookie", c)
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
            log.info("%s %s %s -> %d (%.0f ms)", kind, self.command, self.path, reply.status,
                     (time.perf_counter() - started) * 1000)

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("transfer-encoding", "").lower():
                parts: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()  # the blank line after the last chunk
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("content-length") or 0)
            return self.rfile.read(length) if length else b""

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name=f"gateway-{kind}").start()
    return server
