"""The HTTP handler end to end in-process: API Gateway v2.0 events -> handler -> local.search_engine, the
viewer's profile from a moto accounts table (the layout reelstack_common.viewer reads)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from search import wiring

from tests.unit.events import LambdaContext, http_api_event, response_json
from tests.unit.search.conftest import Engine
from tests.unit.tables import create_single_table

USER, OTHER = "user-1", "user-2"


@pytest.fixture
def handler(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from reelstack_common import dynamo

    monkeypatch.setenv("ACCOUNTS_TABLE", "accounts")
    with mock_aws():
        dynamo.reset()
        table = create_single_table(boto3.resource("dynamodb", region_name="us-east-1"), "accounts")
        for user in (USER, OTHER):
            table.put_item(Item={"pk": f"ACCOUNT#{user}", "sk": "ACCOUNT", "plan": "premium",
                                 "subscription_status": "active"})  # fmt: skip
        table.put_item(Item={"pk": f"ACCOUNT#{USER}", "sk": "PROFILE#adult", "name": "A", "kids": False,
                             "maturity_rating": "18+"})  # fmt: skip
        table.put_item(Item={"pk": f"ACCOUNT#{USER}", "sk": "PROFILE#kid", "name": "K", "kids": True,
                             "maturity_rating": "7+"})  # fmt: skip
        table.put_item(Item={"pk": f"ACCOUNT#{OTHER}", "sk": "PROFILE#theirs", "name": "T", "kids": False,
                             "maturity_rating": "18+"})  # fmt: skip
        engine.publish("heat", "Heat", maturity_rating="R", genres=["Crime"], refresh=False)
        engine.publish("cars", "Cars", maturity_rating="G", genres=["Animation"], refresh=False)
        engine.refresh()
        from search.handlers.http import lambda_handler

        yield lambda_handler
        dynamo.reset()


def _call(handler: Any, path: str, query: dict[str, str], user: str | None = USER) -> tuple[int, Any]:
    claims = {"sub": user, "token_use": "access"} if user else None
    response = handler(http_api_event("GET", path, claims=claims, query=query), LambdaContext())
    return int(response["statusCode"]), response_json(response)


def test_search_answers_ranked_hits_with_facets(handler: Any) -> None:
    status, body = _call(handler, "/search", {"q": "haet", "profile_id": "adult"})
    assert status == 200, body
    assert [h["title"] for h in body["items"]] == ["Heat"]
    assert body["facets"]["genre"] == [{"value": "Crime", "count": 1}]
    assert body["next_cursor"] is None


def test_the_kids_profile_filter_applies(handler: Any) -> None:
    status, body = _call(handler, "/search/suggest", {"q": "hea", "profile_id": "kid"})
    assert (status, body) == (200, {"suggestions": []})
    status, body = _call(handler, "/search/suggest", {"q": "car", "profile_id": "kid"})
    assert [s["title"] for s in body["suggestions"]] == ["Cars"]


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"q": " ", "profile_id": "adult"}, 400, "VALIDATION_ERROR"),
        ({"q": "y" * 201, "profile_id": "adult"}, 400, "VALIDATION_ERROR"),
        ({"q": "heat", "profile_id": "adult", "sort": "year"}, 400, "VALIDATION_ERROR"),
        ({"q": "heat", "profile_id": "adult", "year_from": "2001", "year_to": "2000"}, 400, "VALIDATION_ERROR"),
        ({"q": "heat", "profile_id": "adult", "limit": "many"}, 400, "VALIDATION_ERROR"),
        ({"q": "heat", "profile_id": "adult", "cursor": "nope"}, 400, "INVALID_CURSOR"),
        ({"q": "heat"}, 400, "VALIDATION_ERROR"),
        ({"q": "heat", "profile_id": "theirs"}, 404, "NOT_FOUND"),
        ({"q": "heat", "profile_id": "nobody"}, 404, "NOT_FOUND"),
    ],
)
def test_bad_input_is_a_4xx_with_the_error_shape(handler: Any, query: dict[str, str], status: int, code: str) -> None:
    got, body = _call(handler, "/search", query)
    assert (got, body["error"]["code"]) == (status, code)


def test_no_token_is_a_401(handler: Any) -> None:
    assert _call(handler, "/search", {"q": "heat", "profile_id": "adult"}, user=None)[0] == 401


def test_engine_down_is_a_503_search_unavailable(handler: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCH_ENDPOINT", "http://127.0.0.1:9")
    wiring.reset()
    status, body = _call(handler, "/search", {"q": "heat", "profile_id": "adult"})
    assert (status, body["error"]["code"]) == (503, "SEARCH_UNAVAILABLE")
    monkeypatch.setenv("SEARCH_ENDPOINT", "")
    wiring.reset()
    assert _call(handler, "/search/suggest", {"q": "heat", "profile_id": "adult"})[0] == 503


def test_a_profile_switched_to_kids_stops_finding_adult_titles_within_the_cache_ttl(
    handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The profile's level is cached in the warm function for VIEWER_CACHE_TTL_S seconds, no longer;
    the cache never answers another account's profile, and a 404 is never cached."""
    from search.dal import viewers

    now = [100.0]
    monkeypatch.setattr(viewers, "_levels", viewers.TtlCache(5.0, clock=lambda: now[0]))
    table = boto3.resource("dynamodb", region_name="us-east-1").Table("accounts")
    assert [h["title"] for h in _call(handler, "/search", {"q": "heat", "profile_id": "adult"})[1]["items"]] == ["Heat"]
    table.update_item(Key={"pk": f"ACCOUNT#{USER}", "sk": "PROFILE#adult"},
                      UpdateExpression="SET kids = :k, maturity_rating = :r",
                      ExpressionAttributeValues={":k": True, ":r": "7+"})  # fmt: skip
    now[0] += 4.9  # within the TTL: the cached level (the bound this cache promises)
    assert len(_call(handler, "/search", {"q": "heat", "profile_id": "adult"})[1]["items"]) == 1
    now[0] += 0.1  # past it: the profile as it is now
    assert _call(handler, "/search", {"q": "heat", "profile_id": "adult"})[1]["items"] == []
    # Another account asking for the same profile id is not served from this account's entry.
    assert _call(handler, "/search", {"q": "heat", "profile_id": "adult"}, user=OTHER)[0] == 404
    # A 404 is not cached: a profile created a moment later is found.
    assert _call(handler, "/search", {"q": "heat", "profile_id": "new"})[0] == 404
    table.put_item(Item={"pk": f"ACCOUNT#{USER}", "sk": "PROFILE#new", "name": "N", "kids": False,
                         "maturity_rating": "18+"})  # fmt: skip
    assert _call(handler, "/search", {"q": "heat", "profile_id": "new"})[0] == 200
