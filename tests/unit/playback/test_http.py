"""The playback routes through the HTTP handler: status codes, error bodies, response shapes."""

from __future__ import annotations

import pytest

from tests.unit.playback.conftest import Env, call


@pytest.fixture
def ready(env: Env) -> Env:
    env.account("u1", plan="standard")
    env.profile("u1", "p1")
    env.profile("u1", "kid", maturity="7+", kids=True)
    env.title("t1", duration=600)
    env.title("adult", rating="TV-MA")
    return env


def test_start_heartbeat_end(ready: Env) -> None:
    status, out = call("POST", "/playback/sessions", {"profile_id": "p1", "title_id": "t1"})
    assert status == 201, out
    assert set(out) == {"session_id", "manifest_url", "grant", "resume_position_s", "heartbeat_interval_s",
                        "lease_expires_at", "max_height"}
    assert set(out["grant"]) == {"resource", "expires_at", "cookies", "query"}
    sid = out["session_id"]
    status, beat = call("PUT", f"/playback/sessions/{sid}/heartbeat",
                        {"position_s": 12.5, "seq": 1, "state": "playing", "rendition": "720p", "buffer_s": 30})
    assert status == 200 and beat["stale"] is False and beat["position_s"] == 12.5
    status, stale = call("PUT", f"/playback/sessions/{sid}/heartbeat", {"position_s": 1, "seq": 0})
    assert status == 200 and stale["stale"] is True and stale["seq"] == 1
    status, cw = call("GET", "/profiles/p1/continue-watching")
    assert status == 200 and cw["items"][0]["title_id"] == "t1" and cw["items"][0]["part_number"] == 6
    assert call("DELETE", f"/playback/sessions/{sid}") == (204, None)
    status, gone = call("PUT", f"/playback/sessions/{sid}/heartbeat", {"position_s": 13, "seq": 2})
    assert status == 410 and gone["error"]["code"] == "SESSION_EXPIRED"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"profile_id": "p1", "title_id": "adult"}, 403, "MATURITY"),
    ({"profile_id": "kid", "title_id": "adult"}, 403, "MATURITY"),
    ({"profile_id": "nope", "title_id": "t1"}, 404, "NOT_FOUND"),
    ({"profile_id": "p1", "title_id": "nope"}, 404, "NOT_FOUND"),
    ({"profile_id": "p1"}, 400, "VALIDATION_ERROR"),
    ({"profile_id": "p1", "title_id": "t1", "extra": 1}, 400, "VALIDATION_ERROR"),
    ({"profile_id": "../x", "title_id": "t1"}, 400, "VALIDATION_ERROR"),
])
def test_start_errors(ready: Env, body: dict, status: int, code: str) -> None:
    if body.get("profile_id") == "p1" and body.get("title_id") == "adult":
        ready.profile("u1", "p1", maturity="13+")
    got, out = call("POST", "/playback/sessions", body)
    assert (got, out["error"]["code"]) == (status, code), out


@pytest.mark.parametrize("body", [
    {"position_s": -1, "seq": 1},
    {"position_s": "NaN", "seq": 1},
    {"position_s": 1, "seq": -1},
    {"position_s": 1, "seq": 2**60},
    {"position_s": 1, "seq": 1, "state": "rewinding"},
    {"position_s": 1},
    "not json",
])
def test_malformed_heartbeats_are_400(ready: Env, body: object) -> None:
    _, out = call("POST", "/playback/sessions", {"profile_id": "p1", "title_id": "t1"})
    status, err = call("PUT", f"/playback/sessions/{out['session_id']}/heartbeat", body)
    assert status == 400 and err["error"]["code"] in ("VALIDATION_ERROR", "BAD_REQUEST"), err


def test_another_accounts_session_is_404_and_unchanged(ready: Env) -> None:
    _, out = call("POST", "/playback/sessions", {"profile_id": "p1", "title_id": "t1"})
    sid = out["session_id"]
    call("PUT", f"/playback/sessions/{sid}/heartbeat", {"position_s": 10, "seq": 1})
    assert call("PUT", f"/playback/sessions/{sid}/heartbeat", {"position_s": 99, "seq": 9}, user="u2")[0] == 404
    assert call("DELETE", f"/playback/sessions/{sid}", user="u2")[0] == 404
    assert call("GET", "/profiles/p1/continue-watching", user="u2")[0] == 404
    status, beat = call("PUT", f"/playback/sessions/{sid}/heartbeat", {"position_s": 11, "seq": 2})
    assert status == 200 and beat["stale"] is False  # still live, seq 1 was the last


def test_no_token_is_401(ready: Env) -> None:
    status, out = call("POST", "/playback/sessions", {"profile_id": "p1", "title_id": "t1"}, user=None)
    assert status == 401 and out["error"]["code"] == "UNAUTHORIZED"
