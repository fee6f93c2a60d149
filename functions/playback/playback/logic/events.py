"""View events (contract E): what goes on the view stream, and which heartbeats are sampled.

Sampling: transitions always produce an event (start, pause, seek, stop, complete); a plain
heartbeat produces one every ``heartbeat_event_every`` applied heartbeats of a session (~30 s of
viewing at the default 5 s interval). Stale heartbeats produce none. The per-(profile, title)
state items remain the complete view history; the stream is the sampled activity log.
"""

from __future__ import annotations

from playback.models.domain import Heartbeat, PlayerState, Session, ViewEvent


def view_event(kind: str, session: Session, *, position_s: float, seq: int, ts: float) -> ViewEvent:
    event: ViewEvent = {
        "event": kind,
        "session_id": session.session_id,
        "profile_id": session.profile_id,
        "account_id": session.account_id,
        "title_id": session.title_id,
        "position_s": round(position_s, 3),
        "duration_s": session.duration_s,
        "seq": seq,
        "ts": round(ts, 3),
    }
    if session.series_id:
        event["series_id"] = session.series_id
    if session.episode:
        event["episode"] = session.episode
    if session.language:
        event["language"] = session.language
    return event


def heartbeat_events(
    before: Session, beat: Heartbeat, *, finished_now: bool, finished_before: bool, every: int, ts: float
) -> list[ViewEvent]:
    """The events one applied heartbeat produces, given the session as it was before it."""
    kinds: list[str] = []
    if beat.state == PlayerState.PAUSED and before.state != PlayerState.PAUSED:
        kinds.append("pause")
    elif beat.state == PlayerState.SEEKING and before.state != PlayerState.SEEKING:
        kinds.append("seek")
    if finished_now and not finished_before:
        kinds.append("complete")
    applied = before.applied + 1
    if not kinds and every > 0 and applied % every == 0:
        kinds.append("heartbeat")
    return [view_event(k, before, position_s=beat.position_s, seq=beat.seq, ts=ts) for k in kinds]
