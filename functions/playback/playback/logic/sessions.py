"""Playback sessions: entitlement checks in the contract's order, a stream lease per session,
heartbeats that save the viewer's state (last writer wins by seq), and ending a session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from reelstack_common.maturity import allows  # contract A: one maturity scale for every service

from playback.logic import events as view_events
from playback.logic.clock import iso_ms, now
from playback.logic.ports import PlaybackStore, Signer, Titles, Viewers, ViewEvents
from playback.logic.settings import FINISHED_FRACTION, POSITION_TOLERANCE_S, Settings
from playback.logic.tiers import part_number, pick_tier
from playback.models.domain import (
    Grant,
    Heartbeat,
    HeartbeatResult,
    Session,
    Title,
    Viewer,
    WatchState,
)
from playback.models.errors import (
    MaturityRestricted,
    PaymentRequired,
    PositionOutOfRange,
    SessionExpired,
    SessionNotFound,
    StreamLimit,
    TitleNotFound,
    TitleNotReady,
)

READY = "READY"
PLAYABLE_KINDS = ("movie", "episode")
# Contract A: the statuses that may play; past_due and canceled answer 402.
ACTIVE = "active"


@dataclass(frozen=True)
class Deps:
    viewers: Viewers
    titles: Titles
    store: PlaybackStore
    signer: Signer
    events: ViewEvents
    settings: Settings


@dataclass(frozen=True)
class Started:
    session: Session
    manifest_url: str
    grant: Grant
    resume_position_s: float
    heartbeat_interval_s: int
    max_height: int


@dataclass(frozen=True)
class BeatAnswer:
    stale: bool
    position_s: float
    seq: int
    lease_expires_at: int
    grant: Grant | None = None  # a renewed grant, when the session's was about to lapse


def playable_title(title: Title | None) -> Title:
    """The title, if it exists and can be played now: else 404 / 409."""
    if title is None:
        raise TitleNotFound()
    if title.status != READY:
        raise TitleNotReady()
    if title.kind not in PLAYABLE_KINDS:
        raise TitleNotReady("A series is not playable itself: start one of its episodes")
    if not title.tiers or not title.duration_s:
        # Published before per-plan tiers existed: no URL could hold the plan's resolution cap.
        raise TitleNotReady("The title has no per-plan media yet: it must be published again")
    return title


def start(user_id: str, profile_id: str, title_id: str, deps: Deps) -> Started:
    # The contract's order: profile (404), title (404/409), maturity (403), subscription (402),
    # stream limit (409). Nothing is written before every check passed.
    viewer: Viewer = deps.viewers.load(user_id, profile_id)
    title = playable_title(deps.titles.get(title_id))
    if not allows(viewer.maturity_rating, title.maturity_rating):
        raise MaturityRestricted()
    if viewer.subscription_status != ACTIVE:
        raise PaymentRequired(viewer.subscription_status)
    tier = pick_tier(title.tiers, viewer.max_height)
    assert tier is not None and title.duration_s  # playable_title checked both

    moment = now()
    settings = deps.settings
    session = Session(
        session_id=uuid.uuid4().hex,
        account_id=viewer.account_id,
        profile_id=viewer.profile_id,
        title_id=title.title_id,
        duration_s=float(title.duration_s),
        segment_seconds=float(title.segment_seconds or settings.segment_seconds),
        lease_expires_at=int(moment) + settings.lease_s,
        kind=title.kind,
        series_id=title.series_id,
        season=title.season,
        number=title.number,
        language=viewer.language,
        created_at=iso_ms(moment),
    )
    # Signed before the lease is taken: a signer failure leaves no session holding a slot.
    grant = deps.signer.grant(tier.prefix, settings.grant_ttl(session.duration_s))
    session.grant_prefix, session.grant_expires_at = tier.prefix, grant.expires_at
    if not deps.store.open_session(session, limit=viewer.max_streams, now=int(moment)):
        raise StreamLimit(viewer.max_streams)

    saved = deps.store.get_state(viewer.profile_id, title.title_id)
    resume = saved.position_s if saved is not None and not saved.finished else 0.0
    deps.events.publish([view_events.view_event("start", session, position_s=resume, seq=-1, ts=moment)])
    return Started(
        session=session,
        manifest_url=f"{deps.signer.cdn_url.rstrip('/')}/{tier.master}",
        grant=grant,
        resume_position_s=resume,
        heartbeat_interval_s=settings.heartbeat_interval_s,
        max_height=viewer.max_height,
    )


def _finished(position_s: float, duration_s: float) -> bool:
    return duration_s > 0 and position_s >= FINISHED_FRACTION * duration_s


def heartbeat(user_id: str, session_id: str, beat: Heartbeat, deps: Deps) -> BeatAnswer:
    moment = now()
    settings = deps.settings
    lease_until = int(moment) + settings.lease_s
    outcome = deps.store.renew(
        session_id,
        user_id,
        beat,
        now=int(moment),
        lease_until=lease_until,
        min_duration_s=beat.position_s - POSITION_TOLERANCE_S,
    )
    before = outcome.before
    if outcome.result == HeartbeatResult.NOT_FOUND:
        raise SessionNotFound()
    if outcome.result == HeartbeatResult.EXPIRED:
        raise SessionExpired()
    if outcome.result == HeartbeatResult.OUT_OF_RANGE:
        raise PositionOutOfRange(before.duration_s if before else None)
    assert before is not None
    if outcome.result == HeartbeatResult.STALE:
        return BeatAnswer(
            stale=True, position_s=before.position_s, seq=before.last_seq, lease_expires_at=before.lease_expires_at
        )

    position = min(beat.position_s, before.duration_s)  # within the tolerance past the end
    finished = _finished(position, before.duration_s)
    deps.store.save_state(
        WatchState(
            profile_id=before.profile_id,
            account_id=before.account_id,
            title_id=before.title_id,
            position_s=position,
            duration_s=before.duration_s,
            percent=round(100.0 * position / before.duration_s, 2) if before.duration_s else 0.0,
            finished=finished,
            part_number=part_number(position, before.segment_seconds),
            updated_at=iso_ms(moment),
            session_id=session_id,
            seq=beat.seq,
            kind=before.kind,
            series_id=before.series_id,
            season=before.season,
            number=before.number,
        )
    )
    deps.events.publish(
        view_events.heartbeat_events(
            before,
            beat,
            finished_now=finished,
            finished_before=_finished(before.position_s, before.duration_s),
            every=settings.heartbeat_event_every,
            ts=moment,
        )
    )
    return BeatAnswer(
        stale=False,
        position_s=position,
        seq=beat.seq,
        lease_expires_at=lease_until,
        grant=_renewed_grant(session_id, before, moment, deps),
    )


def _renewed_grant(session_id: str, before: Session, moment: float, deps: Deps) -> Grant | None:
    """A fresh grant for the session's tier once its current one is close to lapsing. The tier
    is the one chosen at start: a plan change takes effect with the next session."""
    settings = deps.settings
    if not before.grant_prefix or before.grant_expires_at - moment > settings.grant_renew_before_s:
        return None
    grant = deps.signer.grant(before.grant_prefix, settings.grant_ttl(before.duration_s))
    deps.store.extend_grant(session_id, grant.expires_at)
    return grant


def end(user_id: str, session_id: str, deps: Deps) -> None:
    moment = now()
    session = deps.store.end_session(session_id, user_id, now=int(moment))
    if session is None:
        raise SessionNotFound()
    if not session.ended:  # the first DELETE of the session: one stop event
        deps.events.publish(
            [view_events.view_event("stop", session, position_s=session.position_s, seq=session.last_seq, ts=moment)]
        )
