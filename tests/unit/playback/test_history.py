"""Continue watching: newest first, finished movies drop out, a series offers the episode in
progress or the next one, titles the profile may no longer see are left out."""

from __future__ import annotations

from typing import Any

import pytest
from playback.logic import history, sessions
from playback.models.domain import Heartbeat, PlayerState
from playback.models.errors import ProfileNotFound

from tests.unit.playback.conftest import Clock, Env


def watch(deps: Any, title_id: str, position: float, clock: Clock, profile: str = "p1") -> None:
    sid = sessions.start("u1", profile, title_id, deps).session.session_id
    clock.advance(1)  # distinct updated_at
    sessions.heartbeat("u1", sid, Heartbeat(position_s=position, seq=1, state=PlayerState.PLAYING), deps)
    sessions.end("u1", sid, deps)


@pytest.fixture
def library(env: Env) -> Env:
    env.account("u1", plan="premium")
    env.profile("u1", "p1")
    for t in ("m1", "m2", "m3"):
        env.title(t, duration=1000)
    env.title("s1", kind="series")
    for n in (1, 2, 3):
        env.title(f"s1e{n}", kind="episode", series_id="s1", season=1, number=n, duration=1000)
    env.title("s1e4", kind="episode", series_id="s1", season=2, number=1, duration=1000)
    return env


def rows(deps: Any, profile: str = "p1") -> list[tuple[str, str, float]]:
    return [(r.title.title_id, r.reason, r.state.position_s if r.state else 0.0)
            for r in history.continue_watching("u1", profile, 20, deps)]


def test_newest_first_and_finished_movies_drop_out(library: Env, deps: Any, clock: Clock) -> None:
    watch(deps, "m1", 100, clock)
    watch(deps, "m2", 200, clock)
    watch(deps, "m3", 960, clock)  # 96 %: finished
    assert rows(deps) == [("m2", "in_progress", 200), ("m1", "in_progress", 100)]
    watch(deps, "m1", 150, clock)
    assert rows(deps)[0] == ("m1", "in_progress", 150)
    item = history.continue_watching("u1", "p1", 20, deps)[0]
    assert item.state is not None and item.state.percent == 15.0


def test_series_offers_the_episode_in_progress_then_the_next(library: Env, deps: Any, clock: Clock) -> None:
    watch(deps, "s1e1", 990, clock)  # finished
    assert rows(deps) == [("s1e2", "next_episode", 0.0)]
    watch(deps, "s1e2", 300, clock)
    assert rows(deps) == [("s1e2", "in_progress", 300)]
    watch(deps, "s1e2", 999, clock)
    watch(deps, "s1e3", 999, clock)
    assert rows(deps) == [("s1e4", "next_episode", 0.0)]  # the first episode of the next season
    watch(deps, "s1e4", 999, clock)
    assert rows(deps) == []  # the last episode: nothing to offer


def test_titles_the_profile_may_not_see_are_left_out(library: Env, deps: Any, clock: Clock) -> None:
    library.title("r1", rating="R")
    watch(deps, "r1", 10, clock)
    watch(deps, "m1", 10, clock)
    library.profile("u1", "p1", maturity="13+")  # the setting was lowered since
    library.title("m1", status="WITHDRAWN", duration=1000)
    assert rows(deps) == []


def test_another_accounts_profile_is_not_found(library: Env, deps: Any) -> None:
    library.profile("u2", "theirs")
    with pytest.raises(ProfileNotFound):
        history.continue_watching("u1", "theirs", 20, deps)
