"""The local HTTP API and ALB edges over real HTTP, on free ports, with a fake Lambda invoke:
how they answer unknown methods, bad tokens and CORS, as API Gateway / ALB do."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from local.cloud import free_port
from local.edge import Alb, AlbRule, CorsConfig, HttpApi, HttpRoute, JwksCache, JwtAuthorizer, serve

POOL = "us-east-1_pool"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
CLIENT = "the-client"
FN = "arn:aws:lambda:us-east-1:123456789012:function:"


class FakeRuntime:
    """Echoes what the function received, as a proxy response."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, arn: str, event: dict[str, Any]) -> tuple[bool, Any]:
        self.events.append(event)
        return True, json.dumps({"statusCode": 200, "headers": {"content-type": "application/json"},
                                 "body": json.dumps({"fn": arn.rsplit(":", 1)[-1]})})


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def edges(key: rsa.RSAPrivateKey) -> Iterator[dict[str, Any]]:
    """A JWKS endpoint standing in for the local cloud's Cognito, and both edges."""
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks_doc = {"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 — http.server's naming
            body = json.dumps(jwks_doc).encode()
            self.send_response(200 if self.path == f"/{POOL}/.well-known/jwks.json" else 404)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    jwks_server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=jwks_server.serve_forever, daemon=True).start()
    aws = f"http://127.0.0.1:{jwks_server.server_address[1]}"

    auth = JwtAuthorizer(ISSUER, (CLIENT,))
    routes = [
        HttpRoute("api1", "GET /public", FN + "public"),
        HttpRoute("api1", "GET /private", FN + "private", auth),
        HttpRoute("api2", "GET /other", FN + "other"),
    ]
    rules = [AlbRule(10, [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/accounts*"]}}], FN + "alb")]
    cors = {
        "api1": CorsConfig(allow_origins=("https://one.example",), allow_methods=("GET",),
                           allow_headers=("authorization",)),
        "api2": CorsConfig.from_template({"AllowOrigins": ["https://two.example"], "AllowMethods": ["GET", "POST"],
                                          "MaxAge": 60}),
    }
    runtime = FakeRuntime()
    api = HttpApi(routes, cors, runtime.invoke, JwksCache(aws))
    api_port, alb_port = free_port(), free_port()
    servers = [serve(api.handle, "api", "127.0.0.1", api_port),
               serve(Alb(rules, runtime.invoke).handle, "alb", "127.0.0.1", alb_port)]
    yield {"api": f"http://127.0.0.1:{api_port}", "alb": f"http://127.0.0.1:{alb_port}", "runtime": runtime}
    for s in [*servers, jwks_server]:
        s.shutdown()
        s.server_close()


def _token(key: rsa.RSAPrivateKey, **over: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "client_id": CLIENT, "sub": "u1", "token_use": "access", "iat": now,
              "exp": now + 600, **over}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


# ------------------------------------------------------------------ unknown methods
@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "CONNECT"])
def test_http_api_answers_unknown_methods_in_json_like_an_unmatched_route(edges: dict[str, Any], method: str) -> None:
    r = requests.request(method, edges["api"] + "/public", timeout=5)
    assert r.status_code == 405, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    r = requests.request(method, edges["api"] + "/nowhere", timeout=5)
    assert r.status_code == 404
    assert r.json() == {"message": "Not Found",
                        "error": {"code": "NOT_FOUND", "message": f"No route for {method} /nowhere"}}


def test_alb_forwards_any_method_its_rules_match_and_answers_json_otherwise(edges: dict[str, Any]) -> None:
    # ALB accepts every method and routes on its listener rules; this rule has no method condition.
    r = requests.request("TRACE", edges["alb"] + "/accounts/me", timeout=5)
    assert r.status_code == 200 and r.json() == {"fn": "alb"}
    assert edges["runtime"].events[-1]["httpMethod"] == "TRACE"
    r = requests.request("TRACE", edges["alb"] + "/elsewhere", timeout=5)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"


# ------------------------------------------------------------------ JWT authorizer
def test_valid_token_reaches_the_function_with_its_claims(edges: dict[str, Any], key: rsa.RSAPrivateKey) -> None:
    r = requests.get(edges["api"] + "/private", headers={"authorization": f"Bearer {_token(key)}"}, timeout=5)
    assert r.status_code == 200 and r.json() == {"fn": "private"}
    assert edges["runtime"].events[-1]["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "u1"


def test_401_bodies_say_unauthorized_and_nothing_else(edges: dict[str, Any], key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    bad = {
        "none": None,
        "garbage": "not-a-jwt",
        "expired": _token(key, iat=now - 7200, exp=now - 3600),
        "wrong client": _token(key, client_id="someone-else"),
        "foreign issuer": _token(key, iss="https://cognito-idp.us-east-1.amazonaws.com/elsewhere"),
        "other key": jwt.encode({"iss": ISSUER, "client_id": CLIENT, "exp": now + 600}, other, algorithm="RS256",
                                headers={"kid": "k1"}),
        "unknown kid": jwt.encode({"iss": ISSUER, "client_id": CLIENT, "exp": now + 600}, key, algorithm="RS256",
                                  headers={"kid": "k9"}),
    }
    for why, token in bad.items():
        headers = {"authorization": f"Bearer {token}"} if token else {}
        r = requests.get(edges["api"] + "/private", headers=headers, timeout=5)
        assert r.status_code == 401, why
        # API Gateway's bare answer (plus the house error shape); the reason is logged, not sent.
        assert r.json() == {"message": "Unauthorized",
                            "error": {"code": "UNAUTHORIZED", "message": "Unauthorized"}}, why


def test_the_authorizers_401_carries_the_apis_cors_headers(edges: dict[str, Any], key: rsa.RSAPrivateKey) -> None:
    """A browser reads a 401 only with the CORS headers: without them an expired token looks like a
    network failure and the app cannot renew it."""
    expired = _token(key, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    r = requests.get(edges["api"] + "/private", timeout=5,
                     headers={"authorization": f"Bearer {expired}", "origin": "https://one.example"})
    assert r.status_code == 401 and r.headers.get("access-control-allow-origin") == "https://one.example"
    r = requests.get(edges["api"] + "/private", timeout=5, headers={"origin": "https://evil.example"})
    assert r.status_code == 401 and "access-control-allow-origin" not in r.headers


# ------------------------------------------------------------------ CORS, per API
def test_cors_settings_are_those_of_the_api_that_owns_the_route(edges: dict[str, Any]) -> None:
    r = requests.get(edges["api"] + "/other", headers={"origin": "https://two.example"}, timeout=5)
    assert r.headers.get("access-control-allow-origin") == "https://two.example"
    r = requests.get(edges["api"] + "/other", headers={"origin": "https://one.example"}, timeout=5)
    assert "access-control-allow-origin" not in r.headers
    r = requests.get(edges["api"] + "/public", headers={"origin": "https://one.example"}, timeout=5)
    assert r.headers.get("access-control-allow-origin") == "https://one.example"

    pre = requests.options(edges["api"] + "/other", timeout=5,
                           headers={"origin": "https://two.example", "access-control-request-method": "POST"})
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-methods"] == "GET,POST"
    assert pre.headers["access-control-max-age"] == "60"
    assert pre.headers["access-control-allow-origin"] == "https://two.example"


# ------------------------------------------------------------------ the API contract
def test_openapi_document_is_served_publicly_as_json_and_404_when_not_generated(tmp_path: Any) -> None:
    doc = tmp_path / "openapi.json"
    api = HttpApi([HttpRoute("api1", "ANY /{proxy+}", FN + "all", JwtAuthorizer(ISSUER, (CLIENT,)))], {},
                  FakeRuntime().invoke, JwksCache("http://127.0.0.1:9"), openapi=doc)
    port = free_port()
    server = serve(api.handle, "api", "127.0.0.1", port)
    try:
        r = requests.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5)
        assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
        doc.write_text(json.dumps({"openapi": "3.1.0", "paths": {}}))
        r = requests.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5)  # no token: public
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.json()["openapi"] == "3.1.0"
        # Other paths still go through the route and its authorizer.
        assert requests.get(f"http://127.0.0.1:{port}/openapi.yaml", timeout=5).status_code == 401
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ what http.server refuses itself
def test_malformed_requests_get_a_json_error_not_an_html_page(edges: dict[str, Any]) -> None:
    import socket

    host, port = edges["api"].removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"GET /public HTTP/9.9\r\n\r\n")
        raw = b"".join(iter(lambda: s.recv(65536), b"")).decode()  # the edge closes after an error
    head, _, body = raw.partition("\r\n\r\n")
    assert head.split()[1] == "505"
    assert "application/json" in head and json.loads(body)["error"]["code"] == "HTTP_VERSION_NOT_SUPPORTED"


def test_alb_forward_rule_without_a_target_answers_503() -> None:
    from local.edge.messages import Request

    reply = Alb([AlbRule(1, [], None)], FakeRuntime().invoke).handle(Request("GET", "/", {}))
    assert reply.status == 503 and json.loads(reply.body)["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_a_plain_return_value_is_a_200_on_the_http_api_and_a_502_on_the_alb() -> None:
    from local.edge.messages import Request

    def plain(_arn: str, _event: dict[str, Any]) -> tuple[bool, Any]:
        return True, json.dumps({"hello": "world"})

    api = HttpApi([HttpRoute("a", "GET /x", FN + "x")], {}, plain, JwksCache("http://127.0.0.1:9"))
    reply = api.handle(Request("GET", "/x", {}))
    assert reply.status == 200 and json.loads(reply.body) == {"hello": "world"}  # payload 2.0 infers it
    reply = Alb([AlbRule(1, [], FN + "x")], plain).handle(Request("GET", "/x", {}))
    assert reply.status == 502 and json.loads(reply.body)["error"]["code"] == "BAD_GATEWAY"


def test_an_api_with_cors_replaces_the_functions_own_cors_headers() -> None:
    """API Gateway: with a CorsConfiguration, CORS headers from the integration are ignored."""
    from local.edge.messages import Request

    def permissive(_arn: str, _event: dict[str, Any]) -> tuple[bool, Any]:
        return True, json.dumps({"statusCode": 200, "body": "{}",
                                 "headers": {"Access-Control-Allow-Origin": "*", "x-kept": "1"}})

    conf = CorsConfig(allow_origins=("https://one.example",))
    api = HttpApi([HttpRoute("a", "GET /x", FN + "x")], {"a": conf}, permissive, JwksCache("http://127.0.0.1:9"))
    reply = api.handle(Request("GET", "/x", {"origin": "https://evil.example"}))
    assert "access-control-allow-origin" not in reply.headers and reply.headers["x-kept"] == "1"
    reply = api.handle(Request("GET", "/x", {"origin": "https://one.example"}))
    assert reply.headers["access-control-allow-origin"] == "https://one.example"
    # Without a CorsConfiguration the function's headers pass as they are.
    bare = HttpApi([HttpRoute("a", "GET /x", FN + "x")], {}, permissive, JwksCache("http://127.0.0.1:9"))
    assert bare.handle(Request("GET", "/x", {"origin": "https://evil.example"})).headers[
        "access-control-allow-origin"] == "*"


def test_an_edge_answers_a_burst_of_concurrent_connections() -> None:
    """A client's burst (20 racers in test_local_fidelity, a browser opening many connections) must
    not be reset: http.server's listen backlog of 5 overflowed and some connections got
    ConnectionResetError under load. Every request of 10 bursts of 100 connections is answered."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from local.edge.messages import Reply, Request

    def slow(_: Request) -> Reply:
        time.sleep(0.05)  # a Lambda invoke takes time: the accept queue fills meanwhile
        return Reply(201, {"content-type": "application/json"}, b"{}")

    port = free_port()
    server = serve(slow, "api", "127.0.0.1", port)
    failures: list[object] = []
    try:
        for _ in range(10):
            session, barrier = requests.Session(), threading.Barrier(100)

            def post(_: int, session: requests.Session = session, barrier: threading.Barrier = barrier) -> object:
                barrier.wait()
                try:
                    return session.post(f"http://127.0.0.1:{port}/x", json={"a": 1}, timeout=30).status_code
                except requests.RequestException as exc:
                    return type(exc).__name__

            with ThreadPoolExecutor(100) as pool:
                failures += [r for r in pool.map(post, range(100)) if r != 201]
    finally:
        server.shutdown()
    assert failures == []
