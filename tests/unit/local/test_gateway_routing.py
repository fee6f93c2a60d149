"""Route matching of the HTTP API and ALB stand-ins, and the claim format API Gateway hands over."""

from __future__ import annotations

from local.edge.alb import AlbRule
from local.edge.http_api import HttpApiRouter, HttpRoute
from local.edge.jwt_authorizer import stringify_claim
from local.edge.messages import Request


def route(key: str) -> HttpRoute:
    return HttpRoute("api", key, f"arn:aws:lambda:us-east-1:123456789012:function:{key}")


def test_most_specific_route_wins_and_method_mismatch_is_reported() -> None:
    router = HttpApiRouter([route("GET /profiles/{profile_id}"), route("GET /profiles/me"),
                            route("ANY /files/{proxy+}"), route("POST /profiles")])
    r, params, _ = router.match("GET", "/profiles/me")
    assert r is not None and r.route_key == "GET /profiles/me" and params == {}
    r, params, _ = router.match("GET", "/profiles/p-1")
    assert r is not None and params == {"profile_id": "p-1"}
    r, params, _ = router.match("GET", "/profiles/a%20b")
    assert r is not None and params == {"profile_id": "a b"}
    r, params, _ = router.match("DELETE", "/files/a/b/c.txt")
    assert r is not None and params == {"proxy": "a/b/c.txt"}
    r, _, known = router.match("DELETE", "/profiles/p-1")
    assert r is None and known  # -> 405
    r, _, known = router.match("GET", "/nothing")
    assert r is None and not known  # -> 404


def test_default_route_catches_unknown_paths() -> None:
    router = HttpApiRouter([route("GET /a"), route("$default")])
    r, _, _ = router.match("GET", "/zzz")
    assert r is not None and r.route_key == "$default"


def test_alb_conditions() -> None:
    rule = AlbRule(10, [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/accounts*", "/billing*"]}},
                        {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET", "POST"]}}],
                   "arn")
    assert rule.matches(Request("GET", "/accounts/me", {}))
    assert rule.matches(Request("POST", "/billing/plans?x=1", {}))
    assert not rule.matches(Request("DELETE", "/accounts/me", {}))
    assert not rule.matches(Request("GET", "/profiles", {}))


def test_claims_are_stringified_like_api_gateway() -> None:
    assert stringify_claim(["admins", "editors"]) == "[admins editors]"
    assert stringify_claim(1700000000) == "1700000000"
    assert stringify_claim(True) == "true"
