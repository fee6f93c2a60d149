"""Starting, renewing and ending sessions: the entitlement checks in the contract's order, the
stream leases, last-writer-wins by seq, and the saved state (moto-backed tables)."""

from __future__ import annotations

from typing import Any

import pytest
from playback.logic import sessions
from playback.models.domain import Heartbeat, PlayerState
from playback.models.errors import (
    MaturityRestricted,
    PaymentRequired,
    PositionOutOfRange,
    ProfileNotFound,
    SessionExpired,
    SessionNotFound,
    StreamLimit,
    TitleNotFound,
    TitleNotReady,
)

from tests.unit.playback.conftest import CDN_URL, PLAYBACK, Clock, Env


def beat(position: float, seq: int, state: PlayerState = PlayerState.PLAYING) -> Heartbeat:
    return Heartbeat(position_s=position, seq=seq, state=state)


@pytest.fixture
def viewer(env: Env) -> Env:
    env.account("u1", plan="standard")  # 2 streams, 1080p
    env.profile("u1", "p1")
    env.title("t1", duration=600)
    return env


def test_start_grants_the_plan_tier_and_a_lease(viewer: Env, deps: Any, clock: Clock) -> None:
    started = sessions.start("u1", "p1", "t1", deps)
    assert started.manifest_url == f"{CDN_URL}/titles/t1/hls/cap2160/cap1080/master.m3u8"
    assert started.grant.resource == f"{CDN_URL}/titles/t1/hls/cap2160/cap1080/*"
    assert set(started.grant.cookies) == {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    assert started.max_height == 1080 and started.resume_position_s == 0
    assert started.session.lease_expires_at == int(clock.t) + deps.settings.lease_s
    # The grant outlives the viewing (duration + slack), the lease does not.
    assert started.grant.expires_at >= int(clock.t) + 600


@pytest.mark.parametrize(("plan", "master"), [
    ("basic", "titles/t1/hls/cap2160/cap1080/cap720/master.m3u8"),
    ("premium", "titles/t1/hls/cap2160/master.m3u8"),
])
def test_each_plan_gets_its_own_cap(env: Env, deps: Any, clock: Clock, plan: str, master: str) -> None:
    env.account("u1", plan=plan)
    env.profile("u1", "p1")
    env.title("t1")
    assert sessions.start("u1", "p1", "t1", deps).manifest_url == f"{CDN_URL}/{master}"


def _scan(env: Env) -> list[dict[str, Any]]:
    return list(env.tables[PLAYBACK].scan()["Items"])


@pytest.mark.parametrize(("setup", "error"), [
    (lambda e: e.profile("u2", "p1"), ProfileNotFound),  # p1 is not u1's
    (lambda e: e.profile("u1", "p1"), TitleNotFound),  # no title
    (lambda e: (e.profile("u1", "p1"), e.title("t1", status="TRANSCODING")), TitleNotReady),
    (lambda e: (e.profile("u1", "p1"), e.title("t1", status="WITHDRAWN")), TitleNotReady),
    (lambda e: (e.profile("u1", "p1"), e.title("t1", kind="series")), TitleNotReady),
    (lambda e: (e.profile("u1", "p1"), e.title("t1", with_tiers=False)), TitleNotReady),
    (lambda e: (e.profile("u1", "p1", maturity="7+", kids=True), e.title("t1", rating="R")), MaturityRestricted),
])
def test_start_refusals_write_nothing(env: Env, deps: Any, clock: Clock, setup: Any, error: type) -> None:
    env.account("u1")
    setup(env)
    with pytest.raises(error):
        sessions.start("u1", "p1", "t1", deps)
    assert _scan(env) == []


@pytest.mark.parametrize("status", ["past_due", "canceled"])
def test_unpaid_subscription_is_402_after_maturity(env: Env, deps: Any, clock: Clock, status: str) -> None:
    env.account("u1", status=status)
    env.profile("u1", "kid", maturity="7+", kids=True)
    env.profile("u1", "p1")
    env.title("adult", rating="TV-MA")
    env.title("t1")
    with pytest.raises(MaturityRestricted):  # the order: maturity (403) before payment (402)
        sessions.start("u1", "kid", "adult", deps)
    with pytest.raises(PaymentRequired) as refused:
        sessions.start("u1", "p1", "t1", deps)
    assert refused.value.status == 402 and refused.value.code == "PAYMENT_REQUIRED"
    assert _scan(env) == []


def test_stream_limit_counts_live_leases_per_account(viewer: Env, deps: Any, clock: Clock) -> None:
    viewer.profile("u1", "p2")
    first = sessions.start("u1", "p1", "t1", deps)
    sessions.start("u1", "p2", "t1", deps)
    with pytest.raises(StreamLimit) as refused:
        sessions.start("u1", "p1", "t1", deps)
    assert refused.value.code == "STREAM_LIMIT" and refused.value.status == 409
    # Another account is not affected.
    viewer.account("u2", plan="basic")
    viewer.profile("u2", "q1")
    sessions.start("u2", "q1", "t1", deps)
    # DELETE frees a slot at once.
    sessions.end("u1", first.session.session_id, deps)
    sessions.start("u1", "p1", "t1", deps)


def test_a_lapsed_lease_frees_its_slot_and_cannot_be_renewed(viewer: Env, deps: Any, clock: Clock) -> None:
    a = sessions.start("u1", "p1", "t1", deps)
    b = sessions.start("u1", "p1", "t1", deps)
    clock.advance(deps.settings.lease_s - 1)
    sessions.heartbeat("u1", b.session.session_id, beat(10, 1), deps)  # b renewed, a not
    clock.advance(2)  # a lapsed now
    c = sessions.start("u1", "p1", "t1", deps)  # takes a's slot
    with pytest.raises(SessionExpired):
        sessions.heartbeat("u1", a.session.session_id, beat(12, 2), deps)
    with pytest.raises(StreamLimit):
        sessions.start("u1", "p1", "t1", deps)
    leases = viewer.tables[PLAYBACK].get_item(Key={"pk": "ACCOUNT#u1", "sk": "LEASES"})["Item"]["leases"]
    assert set(leases) == {b.session.session_id, c.session.session_id}  # the lapsed one was reclaimed


def test_a_plan_downgrade_lowers_the_limit_for_new_sessions(viewer: Env, deps: Any, clock: Clock) -> None:
    sessions.start("u1", "p1", "t1", deps)
    viewer.account("u1", plan="basic")  # 1 stream
    with pytest.raises(StreamLimit):
        sessions.start("u1", "p1", "t1", deps)


def test_heartbeats_last_writer_wins_by_seq(viewer: Env, deps: Any, clock: Clock) -> None:
    sid = sessions.start("u1", "p1", "t1", deps).session.session_id
    assert not sessions.heartbeat("u1", sid, beat(100, 5), deps).stale
    stale = sessions.heartbeat("u1", sid, beat(50, 3), deps)  # older, arrives later
    assert stale.stale and stale.position_s == 100 and stale.seq == 5
    assert sessions.heartbeat("u1", sid, beat(100, 5), deps).stale  # a duplicate is stale too
    assert not sessions.heartbeat("u1", sid, beat(105, 6), deps).stale
    item = viewer.tables[PLAYBACK].get_item(Key={"pk": f"SESSION#{sid}", "sk": "SESSION"})["Item"]
    assert (item["last_seq"], item["applied"], float(item["position_s"])) == (6, 2, 105.0)
    state = deps.store.get_state("p1", "t1")
    assert (state.position_s, state.seq, state.part_number, state.percent) == (105.0, 6, 52, 17.5)


def test_heartbeat_renews_the_lease(viewer: Env, deps: Any, clock: Clock) -> None:
    sid = sessions.start("u1", "p1", "t1", deps).session.session_id
    for i in range(5):  # far longer than one lease, never lapsing
        clock.advance(deps.settings.lease_s - 5)
        assert sessions.heartbeat("u1", sid, beat(i * 20, i), deps).lease_expires_at == int(clock.t) + 30


def test_heartbeat_refusals(viewer: Env, deps: Any, clock: Clock) -> None:
    sid = sessions.start("u1", "p1", "t1", deps).session.session_id
    with pytest.raises(SessionNotFound):
        sessions.heartbeat("u2", sid, beat(1, 1), deps)  # another account's session
    with pytest.raises(SessionNotFound):
        sessions.heartbeat("u1", "nope", beat(1, 1), deps)
    with pytest.raises(PositionOutOfRange):
        sessions.heartbeat("u1", sid, beat(600 + 3600, 1), deps)  # a skewed clock, far past the end
    assert not sessions.heartbeat("u1", sid, beat(600.5, 2), deps).stale  # within the end's tolerance
    assert deps.store.get_state("p1", "t1").position_s == 600  # clamped to the title
    sessions.end("u1", sid, deps)
    with pytest.raises(SessionExpired):
        sessions.heartbeat("u1", sid, beat(10, 3), deps)
    item = viewer.tables[PLAYBACK].get_item(Key={"pk": f"SESSION#{sid}", "sk": "SESSION"})["Item"]
    assert item["applied"] == 1  # nothing refused was counted


def test_end_is_the_callers_and_idempotent(viewer: Env, deps: Any, clock: Clock) -> None:
    sid = sessions.start("u1", "p1", "t1", deps).session.session_id
    with pytest.raises(SessionNotFound):
        sessions.end("u2", sid, deps)
    sessions.end("u1", sid, deps)
    sessions.end("u1", sid, deps)
    stops = [e for e in viewer.view_events() if e["event"] == "stop"]
    assert len(stops) == 1


def test_resume_from_the_saved_state_unless_finished(viewer: Env, deps: Any, clock: Clock) -> None:
    sid = sessions.start("u1", "p1", "t1", deps).session.session_id
    sessions.heartbeat("u1", sid, beat(321.5, 1), deps)
    sessions.end("u1", sid, deps)
    again = sessions.start("u1", "p1", "t1", deps)
    assert again.resume_position_s == 321.5
    sessions.heartbeat("u1", again.session.session_id, beat(590, 1), deps)  # 98 %: finished
    sessions.end("u1", again.session.session_id, deps)
    assert sessions.start("u1", "p1", "t1", deps).resume_position_s == 0


def test_episode_state_carries_the_episode(env: Env, deps: Any, clock: Clock) -> None:
    env.account("u1")
    env.profile("u1", "p1")
    env.title("s1", kind="series")
    env.title("e2", kind="episode", series_id="s1", season=1, number=2, duration=1200)
    sid = sessions.start("u1", "p1", "e2", deps).session.session_id
    sessions.heartbeat("u1", sid, beat(61, 1), deps)
    state = deps.store.get_state("p1", "e2")
    assert (state.series_id, state.episode, state.part_number) == ("s1", {"season": 1, "number": 2}, 30)
    events = env.view_events()
    assert events[0]["event"] == "start" and events[0]["episode"] == {"season": 1, "number": 2}
    assert events[0]["series_id"] == "s1" and events[0]["language"] == "en"


def test_heartbeats_renew_the_grant_before_it_lapses(viewer: Env, deps: Any, clock: Clock) -> None:
    import dataclasses

    from playback.logic.settings import Settings

    # A 600 s title: its first grant lasts 600 s (no slack here); renewed within its last 100 s.
    short = dataclasses.replace(deps, settings=Settings(grant_slack_s=0, grant_min_s=60, grant_renew_before_s=100))
    started = sessions.start("u1", "p1", "t1", short)
    first_expiry = started.grant.expires_at
    renewed = []
    for seq in range(1, 25):  # 24 x 25 s = 600 s of (fake) viewing, the lease renewed all along
        clock.advance(25)
        answer = sessions.heartbeat("u1", started.session.session_id, beat(seq * 20, seq), short)
        if answer.grant is not None:
            renewed.append((clock.t, answer.grant))
    assert renewed, "no heartbeat renewed the grant"
    moment, grant = renewed[0]
    assert first_expiry - moment <= 100  # not before its last 100 s
    assert grant.resource == started.grant.resource  # the same tier
    item = viewer.tables[PLAYBACK].get_item(
        Key={"pk": f"SESSION#{started.session.session_id}", "sk": "SESSION"}
    )["Item"]
    assert item["grant_expires_at"] >= grant.expires_at > first_expiry - 1


def test_a_fresh_grant_is_not_renewed(viewer: Env, deps: Any, clock: Clock) -> None:
    sid = sessions.start("u1", "p1", "t1", deps).session.session_id
    assert sessions.heartbeat("u1", sid, beat(1, 1), deps).grant is None


def _renewing(deps: Any) -> Any:
    """Deps whose first grant (600-s title, no slack) is due for renewal within its last 100 s."""
    import dataclasses

    from playback.logic.settings import Settings

    return dataclasses.replace(deps, settings=Settings(grant_slack_s=0, grant_min_s=60, grant_renew_before_s=100))


def _beats_until_renewal(sid: str, deps: Any, clock: Clock, first_seq: int = 1) -> tuple[int, Any]:
    """Heartbeats every 25 s (lease renewed) until one is in the renew window: (its seq, its answer
    or the error it raised)."""
    for seq in range(first_seq, first_seq + 30):
        clock.advance(25)
        try:
            answer = sessions.heartbeat("u1", sid, beat(seq * 20 % 590, seq), deps)
        except SessionExpired as error:
            return seq, error
        if answer.grant is not None:
            return seq, answer
    raise AssertionError("no heartbeat reached the renew window")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda e: e.title("t1", duration=600, status="WITHDRAWN"), id="withdrawn"),
        pytest.param(lambda e: e.title("t1", duration=600, status="TRANSCODING"), id="not-ready"),
        pytest.param(lambda e: e.tables["catalog-test"].delete_item(Key={"pk": "TITLE#t1", "sk": "META"}),
                     id="deleted"),
        pytest.param(lambda e: e.account("u1", plan="standard", status="past_due"), id="past-due"),
        pytest.param(lambda e: e.account("u1", plan="standard", status="canceled"), id="canceled"),
        pytest.param(lambda e: e.profile("u1", "p1", maturity="7+"), id="maturity-lowered"),
    ],
)
def test_a_renewal_rechecks_the_title_and_subscription_and_ends_the_session(
    viewer: Env, deps: Any, clock: Clock, change: Any
) -> None:
    deps = _renewing(deps)
    started = sessions.start("u1", "p1", "t1", deps)
    sid = started.session.session_id
    clock.advance(25)
    sessions.heartbeat("u1", sid, beat(20, 1), deps)  # before the change and the window: applied
    change(viewer)
    # Heartbeats outside the renew window stay one write: nothing is re-read, they are applied.
    seq, outcome = _beats_until_renewal(sid, deps, clock, first_seq=2)
    assert isinstance(outcome, SessionExpired), f"a grant was renewed after the change: {outcome}"
    assert outcome.status == 410 and seq > 2
    # No grant past the one in hand: the session is ended (slot freed, stop event sent) ...
    item = viewer.tables[PLAYBACK].get_item(Key={"pk": f"SESSION#{sid}", "sk": "SESSION"})["Item"]
    assert item["ended"] is True and item["grant_expires_at"] == started.grant.expires_at
    assert [e["event"] for e in viewer.view_events()].count("stop") == 1
    # ... the next beat is the ordinary 410, and the player's new start gets the start's refusal.
    with pytest.raises(SessionExpired):
        sessions.heartbeat("u1", sid, beat(20, seq + 1), deps)
    with pytest.raises((TitleNotFound, TitleNotReady, PaymentRequired, MaturityRestricted)):
        sessions.start("u1", "p1", "t1", deps)


def test_a_renewal_for_a_viewer_who_may_still_play_reads_once_per_grant(
    viewer: Env, deps: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    deps = _renewing(deps)
    reads: list[str] = []
    real_get, real_load = deps.titles.get, deps.viewers.load
    monkeypatch.setattr(deps.titles, "get", lambda t: reads.append("title") or real_get(t))
    monkeypatch.setattr(deps.viewers, "load", lambda u, p: reads.append("viewer") or real_load(u, p))
    sid = sessions.start("u1", "p1", "t1", deps).session.session_id
    reads.clear()
    seq, outcome = _beats_until_renewal(sid, deps, clock)
    assert not isinstance(outcome, Exception) and outcome.grant is not None
    assert reads == ["viewer", "title"]  # the renewing beat only, not the beats before it
