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


@pytest.mark.parametrize("first_lease_set", [True, False], ids=["first-start", "set-exists"])
def test_a_start_whose_commit_botocore_replays_is_created(
    basic: Env, monkeypatch: pytest.MonkeyPatch, first_lease_set: bool
) -> None:
    """botocore's own retry of a transaction that committed but whose reply was lost (the real
    call, sent twice with the same parameters): the start is 201 with the slot held, not a 500
    "session id collision". moto ignores ClientRequestToken, so the replay really runs again and
    fails on the item its first try put: the path taken when DynamoDB's idempotency window does
    not cover the replay."""
    if not first_lease_set:
        _slot_is_free(basic)  # a lease set exists now: the lease op is an Update, not a Put
    store = _store(basic)
    real = store.table.transact_write
    tokens: list[str] = []

    def replayed(items: Any, **kwargs: Any) -> Any:
        tokens.append(kwargs["ClientRequestToken"])
        real(items, **kwargs)  # commits; its reply is lost...
        tokens.append(kwargs["ClientRequestToken"])
        return real(items, **kwargs)  # ...and botocore sends the same request again

    monkeypatch.setattr(store.table, "transact_write", replayed)
    status, out = call("POST", "/playback/sessions", START)
    monkeypatch.undo()
    assert status == 201, out
    sid = out["session_id"]
    leases = basic.tables[PLAYBACK].get_item(Key={"pk": "ACCOUNT#u1", "sk": "LEASES"})["Item"]["leases"]
    assert set(leases) == {sid}  # it holds the one slot of the basic plan
    # The replay carried the first try's token (DynamoDB then answers it with success itself).
    assert len(tokens) == 2 and tokens[0] == tokens[1] and len(tokens[0]) == 36
    assert call("PUT", f"/playback/sessions/{sid}/heartbeat", {"position_s": 1.0, "seq": 1})[0] == 200
    status, out = call("POST", "/playback/sessions", START)
    assert status == 409 and out["error"]["code"] == "STREAM_LIMIT"


def test_each_attempt_of_a_start_has_its_own_token(basic: Env) -> None:
    """A token names one request: an attempt that re-reads the set sends a different transaction,
    so it must not reuse the previous attempt's token (DynamoDB: IdempotentParameterMismatch)."""
    from playback.dal.dynamo_playback import _request_token
    from playback.models.domain import Session

    def session(sid: str) -> Session:
        return Session(session_id=sid, account_id="u1", profile_id="p1", title_id="t1", duration_s=1.0,
                       segment_seconds=2.0, lease_expires_at=0, created_at="2026-01-01T00:00:00.000Z")

    tokens = {_request_token(session(s), a) for s in ("a", "b") for a in range(8)}
    assert len(tokens) == 16 and _request_token(session("a"), 0) == _request_token(session("a"), 0)


def test_a_session_id_collision_is_still_refused(basic: Env) -> None:
    """The committed-replay check is the same start's item (account + created_at), not any item."""
    from playback.models.domain import Session

    store = _store(basic)
    basic.tables[PLAYBACK].put_item(Item={"pk": "SESSION#fixed", "sk": "SESSION", "account_id": "u2",
                                          "created_at": "2020-01-01T00:00:00.000Z"})
    started = Session(session_id="fixed", account_id="u1", profile_id="p1", title_id="t1",
                               duration_s=600.0, segment_seconds=2.0, lease_expires_at=2**40,
                               created_at="2026-01-01T00:00:00.000Z")
    with pytest.raises(RuntimeError, match="collision"):
        store.open_session(started, limit=1, now=0)


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


def test_a_retried_heartbeat_never_overwrites_another_sessions_newer_state(env: Env) -> None:
    """A duplicate of session A's last beat (a stale beat from the TV) after session B (the phone)
    saved the title's state: B's position stays (the resume point does not go back, continue-
    watching keeps B's order)."""
    env.account("u1", plan="standard")  # two streams: both devices play
    env.profile("u1", "p1")
    env.title("t1", duration=600)
    store = _store(env)
    _, a = call("POST", "/playback/sessions", START)
    assert call("PUT", f"/playback/sessions/{a['session_id']}/heartbeat", {"position_s": 42.0, "seq": 7})[0] == 200
    _, b = call("POST", "/playback/sessions", START)
    assert call("PUT", f"/playback/sessions/{b['session_id']}/heartbeat", {"position_s": 300.0, "seq": 1})[0] == 200
    before = store.get_state("p1", "t1")
    status, beat = call("PUT", f"/playback/sessions/{a['session_id']}/heartbeat", {"position_s": 42.0, "seq": 7})
    assert status == 200 and beat["stale"] is True
    state = store.get_state("p1", "t1")
    assert state is not None and (state.session_id, state.position_s) == (b["session_id"], 300.0)
    assert state.updated_at == before.updated_at


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
