"""Playback sessions: entitlement checks in the contract's order, a stream lease per session,
heartbeats that save the viewer's state (last writer wins by seq), and ending a session."""

from __future__ import annotations

import logging
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
    ConcurrentUpdate,
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

log = logging.getLogger(__name__)

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
    # stream limit (409). Nothing is written before every check passed, and everything that can
    # fail is done before the stream slot is taken; if the taking itself fails without a clear
    # answer, or anything after it fails, the slot is given back (a viewer on a 1-stream plan is
    # never locked out by a failed start).
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
    # Read and signed before the lease is taken: a store or signer failure leaves no session
    # holding a slot.
    saved = deps.store.get_state(viewer.profile_id, title.title_id)
    resume = saved.position_s if saved is not None and not saved.finished else 0.0
    grant = deps.signer.grant(tier.prefix, settings.grant_ttl(session.duration_s))
    session.grant_prefix, session.grant_expires_at = tier.prefix, grant.expires_at
    manifest_url = f"{deps.signer.cdn_url.rstrip('/')}/{tier.master}"
    try:
        opened = deps.store.open_session(session, limit=viewer.max_streams, now=int(moment))
    except ConcurrentUpdate:
        raise  # every attempt was cancelled: nothing was written
    except Exception:
        # A timeout or lost reply may hide a committed transaction: take the session back out.
        _abandon(session, deps, moment)
        raise
    if not opened:
        raise StreamLimit(viewer.max_streams)
    try:
        deps.events.publish([view_events.view_event("start", session, position_s=resume, seq=-1, ts=moment)])
        return Started(
            session=session,
            manifest_url=manifest_url,
            grant=grant,
            resume_position_s=resume,
            heartbeat_interval_s=settings.heartbeat_interval_s,
            max_height=viewer.max_height,
        )
    except Exception:
        _abandon(session, deps, moment)
        raise


def _abandon(session: Session, deps: Deps, moment: float) -> None:
    """Give back the slot of a session whose start failed (best effort: if the store cannot be
    reached either, the lease lapses by itself after LEASE_SECONDS with no heartbeat)."""
    try:
        deps.store.abandon_session(session, now=int(moment))
    except Exception:
        log.warning("could not give back the stream slot of failed start %s; it lapses with its lease",
                    session.session_id, exc_info=True)


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
        if before.last_seq == beat.seq:
            # A retry of the beat the session applied last: its first attempt may have failed after
            # the session was updated and before the watch state was, so write the state again from
            # what the session stored: only if it is missing or an older seq of this session (a no-op
            # when it is there; another session's newer state, e.g. on another device, stays).
            deps.store.save_state(
                _watch_state(session_id, before, before.position_s, before.last_seq, moment), fill_only=True
            )
        return BeatAnswer(
            stale=True, position_s=before.position_s, seq=before.last_seq, lease_expires_at=before.lease_expires_at
        )

    position = min(beat.position_s, before.duration_s)  # within the tolerance past the end
    finished = _finished(position, before.duration_s)
    deps.store.save_state(_watch_state(session_id, before, position, beat.seq, moment))
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
    grant: Grant | None = None
    if _renewal_due(before, moment, settings):
        # The grant is the only thing that lets the CDN serve the title: before signing another,
        # check again what the start checked, so a withdrawn title or a lapsed subscription stops
        # at the latest when the grant in hand lapses (<= GRANT_MAX_S), not never. Once per grant,
        # not per heartbeat: the other beats stay one write.
        if not _may_still_play(user_id, before, deps):
            _close(session_id, user_id, deps, moment)
            raise SessionExpired("The title can no longer be played on this session: start a new one")
        grant = _renewed_grant(session_id, before, deps)
    return BeatAnswer(
        stale=False,
        position_s=position,
        seq=beat.seq,
        lease_expires_at=lease_until,
        grant=grant,
    )


def _watch_state(session_id: str, session: Session, position_s: float, seq: int, moment: float) -> WatchState:
    position = min(position_s, session.duration_s)  # within the tolerance past the end
    return WatchState(
        profile_id=session.profile_id,
        account_id=session.account_id,
        title_id=session.title_id,
        position_s=position,
        duration_s=session.duration_s,
        percent=round(100.0 * position / session.duration_s, 2) if session.duration_s else 0.0,
        finished=_finished(position, session.duration_s),
        part_number=part_number(position, session.segment_seconds),
        updated_at=iso_ms(moment),
        session_id=session_id,
        seq=seq,
        kind=session.kind,
        series_id=session.series_id,
        season=session.season,
        number=session.number,
    )


def _renewal_due(before: Session, moment: float, settings: Settings) -> bool:
    return bool(before.grant_prefix) and before.grant_expires_at - moment <= settings.grant_renew_before_s


def _may_still_play(user_id: str, before: Session, deps: Deps) -> bool:
    """The start's checks again (profile, title, maturity, subscription) for a running session."""
    try:
        viewer = deps.viewers.load(user_id, before.profile_id)
        title = playable_title(deps.titles.get(before.title_id))
    except (ProfileNotFound, TitleNotFound, TitleNotReady):
        return False
    return allows(viewer.maturity_rating, title.maturity_rating) and viewer.subscription_status == ACTIVE


def _renewed_grant(session_id: str, before: Session, deps: Deps) -> Grant:
    """A fresh grant for the session's tier. The tier is the one chosen at start: a plan change
    takes effect with the next session."""
    grant = deps.signer.grant(before.grant_prefix, deps.settings.grant_ttl(before.duration_s))
    deps.store.extend_grant(session_id, grant.expires_at)
    return grant


def _close(session_id: str, user_id: str, deps: Deps, moment: float) -> Session | None:
    """End the session (its lease freed at once) and send its one stop event; None when it is not
    the caller's."""
    session = deps.store.end_session(session_id, user_id, now=int(moment))
    if session is not None and not session.ended:  # the first end of the session: one stop event
        deps.events.publish(
            [view_events.view_event("stop", session, position_s=session.position_s, seq=session.last_seq, ts=moment)]
        )
    return session


def end(user_id: str, session_id: str, deps: Deps) -> None:
    if _close(session_id, user_id, deps, now()) is None:
        raise SessionNotFound()
