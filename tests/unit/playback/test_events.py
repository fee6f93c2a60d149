"""View events: what goes on the stream, the heartbeat sampling, and playback without the stream."""

from __future__ import annotations

from typing import Any

import pytest
from playback.dal.kinesis_events import BREAKER_S, KinesisViewEvents
from playback.logic import sessions
from playback.models.domain import Heartbeat, PlayerState

from tests.unit.playback.conftest import Clock, Env


@pytest.fixture
def playing(env: Env, deps: Any, clock: Clock) -> str:
    env.account("u1")
    env.profile("u1", "p1")
    env.title("t1", duration=100)
    return sessions.start("u1", "p1", "t1", deps).session.session_id


def test_transitions_always_and_heartbeats_sampled(env: Env, deps: Any, clock: Clock, playing: str) -> None:
    states = ["playing"] * 7 + ["paused", "paused", "playing", "seeking", "playing"]
    for seq, state in enumerate(states):
        sessions.heartbeat("u1", playing, Heartbeat(position_s=seq, seq=seq, state=PlayerState(state)), deps)
    sessions.heartbeat("u1", playing, Heartbeat(position_s=5, seq=3, state=PlayerState.PLAYING), deps)  # stale
    sessions.heartbeat("u1", playing, Heartbeat(position_s=96, seq=50, state=PlayerState.PLAYING), deps)
    sessions.end("u1", playing, deps)
    kinds = [(e["event"], e["seq"]) for e in env.view_events()]
    # every 6th applied heartbeat is sampled (applied #6 = seq 5, #12 = seq 11); pause and seek once each.
    assert kinds == [("start", -1), ("heartbeat", 5), ("pause", 7), ("seek", 10), ("heartbeat", 11),
                     ("complete", 50), ("stop", 50)]
    event = env.view_events()[1]
    assert {"session_id", "profile_id", "account_id", "title_id", "position_s", "duration_s", "ts"} <= set(event)
    assert event["account_id"] == "u1" and event["duration_s"] == 100


class _DeadKinesis:
    def __init__(self) -> None:
        self.calls = 0

    def put_records(self, **_: Any) -> Any:
        self.calls += 1
        raise ConnectionError("stream unreachable")


def test_stream_down_drops_with_a_metric_and_a_breaker() -> None:
    counts: dict[str, int] = {}
    t = [0.0]
    dead = _DeadKinesis()
    events = KinesisViewEvents("views", lambda n, v: counts.__setitem__(n, counts.get(n, 0) + v),
                               client=dead, clock=lambda: t[0])
    event = {"profile_id": "p", "event": "heartbeat"}
    events.publish([event, event])
    events.publish([event])  # the breaker is open: no call at all
    assert dead.calls == 1 and counts == {"ViewEventsDropped": 3}
    t[0] += BREAKER_S + 0.1
    events.publish([event])
    assert dead.calls == 2 and counts["ViewEventsDropped"] == 4


def test_playback_works_while_the_stream_is_down(env: Env, deps: Any, clock: Clock, playing: str) -> None:
    dead = _DeadKinesis()
    deps.events._client = dead  # type: ignore[attr-defined]
    for seq in range(1, 8):
        answer = sessions.heartbeat("u1", playing, Heartbeat(position_s=seq, seq=seq, state=PlayerState.PAUSED), deps)
        assert not answer.stale
    sessions.end("u1", playing, deps)
    assert deps.store.get_state("p1", "t1").position_s == 7
    assert env.counts["ViewEventsDropped"] >= 2 and dead.calls == 1
