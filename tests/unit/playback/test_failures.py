"""A failed request leaves no half-written state (review fix): a start that fails once its stream
slot may be taken gives the slot back, a dependency outage is a 503 with the error shape (never a
500), a retried heartbeat completes the watch state its first attempt did not write, and a stop
whose lease-set bookkeeping fails still stops (the slot is free, the stop event sent)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.unit.playback.conftest import PLAYBACK, Env, call

START = {"profile_id": "p1", "title_id": "t1"}


def _throttled(op: str = "UpdateItem") -> ClientError:
    return ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}, op)


def _timeout() -> ReadTimeoutError:
    return ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


@pytest.fixture
def basic(env: Env) -> Env:
    env.account("u1", plan="basic")  # ONE stream: a slot left behind locks the viewer out
    env.profile("u1", "p1")
    env.title("t1", duration=600)
    return env


@pytest.fixture
def patch_deps(env: Env, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """Replace parts of the handler's dependencies (the cached Deps of playback.wiring)."""
    from playback import wiring

    def patch(**parts: Any) -> Any:
        deps = dataclasses.replace(wiring.dependencies(env.count), **parts)
        monkeypatch.setattr(wiring, "_deps", deps)
        return deps

    yield patch


def _store(env: Env) -> Any:
    from playback import wiring

    return wiring.dependencies(env.count).store


def _slot_is_free(env: Env) -> None:
    status, out = call("POST", "/playback/sessions", START)
    assert status == 201, out
    assert call("DELETE", f"/playback/sessions/{out['session_id']}") == (204, None)


def test_a_start_whose_reply_is_lost_after_the_commit_gives_the_slot_back(
    basic: Env, patch_deps: Callable[..., Any]
) -> None:
    real = _store(basic)

    class CommitsThenTimesOut:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def open_session(self, session: Any, *, limit: int, now: int) -> bool:
            assert real.open_session(session, limit=limit, now=now)  # the transaction commits...
            raise _timeout()  # ...and its reply is lost

    patch_deps(store=CommitsThenTimesOut())
    status, out = call("POST", "/playback/sessions", START)
    assert status == 503 and out["error"]["code"] == "DEPENDENCY_UNAVAILABLE", out
    leases = basic.tables[PLAYBACK].get_item(Key={"pk": "ACCOUNT#u1", "sk": "LEASES"})["Item"]["leases"]
    assert leases == {}
    patch_deps(store=real)
    _slot_is_free(basic)  # at once, not after the 30-s lease


def test_a_failure_after_the_slot_is_taken_gives_it_back(basic: Env, patch_deps: Callable[..., Any]) -> None:
    class BrokenEvents:
        def publish(self, events: Any) -> None:
            raise RuntimeError("a bug after the slot was taken")

    real_events = patch_deps().events
    patch_deps(events=BrokenEvents())
    status, out = call("POST", "/playback/sessions", START)
    assert status == 500 and out["error"]["code"] == "INTERNAL", out  # a bug stays a 500, with the shape
    patch_deps(events=real_events)
    _slot_is_free(basic)


def test_a_store_outage_before_the_slot_writes_nothing_and_is_503(
    basic: Env, patch_deps: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(basic)

    def down(**kwargs: Any) -> Any:
        raise _throttled("GetItem")

    monkeypatch.setattr(store.table, "get_item", down)
    status, out = call("POST", "/playback/sessions", START)
    assert status == 503 and set(out) == {"error"} and out["error"]["code"] == "DEPENDENCY_UNAVAILABLE", out
    monkeypatch.undo()
    assert basic.tables[PLAYBACK].scan()["Items"] == []  # no session, no lease set
    assert basic.view_events() == []


def test_a_heartbeat_retried_after_an_outage_completes_the_watch_state(
    basic: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out = call("POST", "/playback/sessions", START)
    sid = out["session_id"]
    store = _store(basic)
    real_update = store.table.update_item

    def state_write_fails(**kwargs: Any) -> Any:
        if str(kwargs["Key"]["pk"]).startswith("PROFILE#"):
            raise _throttled()
        return real_update(**kwargs)

    monkeypatch.setattr(store.table, "update_item", state_write_fails)
    status, err = call("PUT", f"/playback/sessions/{sid}/heartbeat", {"position_s": 42.0, "seq": 7})
    assert status == 503 and err["error"]["code"] == "DEPENDENCY_UNAVAILABLE"
    assert store.get_state("p1", "t1") is None  # the session took seq 7, the history did not
    monkeypatch.undo()
    status, beat = call("PUT", f"/playback/sessions/{sid}/heartbeat", {"position_s": 42.0, "seq": 7})  # the retry
    assert status == 200 and beat["stale"] is True and beat["seq"] == 7
    state = store.get_state("p1", "t1")
    assert state is not None and state.position_s == 42.0 and state.seq == 7 and state.session_id == sid
    status, cw = call("GET", "/profiles/p1/continue-watching")
    assert status == 200 and [i["position_s"] for i in cw["items"]] == [42.0]


def test_an_outage_on_the_heartbeat_itself_is_503(basic: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    _, out = call("POST", "/playback/sessions", START)
    store = _store(basic)

    def down(**kwargs: Any) -> Any:
        raise _timeout()

    monkeypatch.setattr(store.table, "update_item", down)
    status, err = call("PUT", f"/playback/sessions/{out['session_id']}/heartbeat", {"position_s": 1.0, "seq": 1})
    assert status == 503 and err["error"]["code"] == "DEPENDENCY_UNAVAILABLE"


def test_a_stop_whose_lease_set_update_fails_still_stops(basic: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    _, out = call("POST", "/playback/sessions", START)
    sid = out["session_id"]
    store = _store(basic)
    real_update = store.table.update_item

    def lease_set_fails(**kwargs: Any) -> Any:
        if kwargs["Key"]["sk"] == "LEASES":
            raise _throttled()
        return real_update(**kwargs)

    monkeypatch.setattr(store.table, "update_item", lease_set_fails)
    assert call("DELETE", f"/playback/sessions/{sid}") == (204, None)
    monkeypatch.undo()
    assert [e["event"] for e in basic.view_events()] == ["start", "stop"]
    status, again = call("POST", "/playback/sessions", START)  # the ended session's slot is free
    assert status == 201, again
    leases = basic.tables[PLAYBACK].get_item(Key={"pk": "ACCOUNT#u1", "sk": "LEASES"})["Item"]["leases"]
    assert set(leases) == {again["session_id"]}  # the stale entry went with that start


def test_abandoning_touches_only_the_same_start(basic: Env) -> None:
    """A start that never committed abandons nothing, even under an id that exists."""
    _, out = call("POST", "/playback/sessions", START)
    store = _store(basic)
    item = basic.tables[PLAYBACK].get_item(Key={"pk": f"SESSION#{out['session_id']}", "sk": "SESSION"})["Item"]
    from playback.dal.dynamo_playback import _session

    other = dataclasses.replace(_session(item), created_at="2000-01-01T00:00:00.000Z")
    store.abandon_session(other, now=1)
    status, beat = call("PUT", f"/playback/sessions/{out['session_id']}/heartbeat", {"position_s": 1.0, "seq": 1})
    assert status == 200 and beat["stale"] is False
