"""HTTP API of the playback service (API Gateway HTTP API v2.0 and ALB, one router).

Each route: parse the pydantic model (Powertools validation) -> one call into ``playback.logic``
-> return a response model. Handler string: ``playback.handlers.http.lambda_handler``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from reelstack_common.auth import current_user
from reelstack_common.errors import ServiceUnavailable
from reelstack_common.http import Router, build_handler, errors

from playback.dal.outages import is_outage
from playback.handlers.observability import SERVICE, logger, metrics, tracer
from playback.logic import history, sessions
from playback.logic.sessions import Deps
from playback.models.domain import Grant, Heartbeat, PlayerState
from playback.models.errors import StreamLimit
from playback.models.input import HeartbeatRequest, StartSessionRequest
from playback.models.output import (
    ContinueWatching,
    ContinueWatchingItem,
    EpisodeOut,
    GrantOut,
    HeartbeatOut,
    SessionStarted,
)
from playback.wiring import dependencies

router = Router()

SessionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
ProfileId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _count(name: str, value: int) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def _deps() -> Deps:
    return dependencies(_count)


def _user_id() -> str:
    return current_user(router).user_id


@contextmanager
def _dependencies() -> Iterator[None]:
    """A dependency that does not answer (DynamoDB, Kinesis, Secrets Manager: refused, timed out,
    throttled, its own 5xx) is a 503 the player may retry, not a 500: the logic has already left
    nothing half-written behind (a failed start gives its stream slot back)."""
    try:
        yield
    except Exception as exc:
        if not is_outage(exc):
            raise
        logger.warning("dependency unavailable", exc_info=True)
        _count("DependencyUnavailable", 1)
        raise ServiceUnavailable("A service playback depends on did not answer; try again shortly",
                                 code="DEPENDENCY_UNAVAILABLE") from None


def _grant_out(g: Grant) -> GrantOut:
    return GrantOut(resource=g.resource, expires_at=g.expires_at, cookies=g.cookies, query=g.query)


@router.post(
    "/playback/sessions",
    summary="Start playing a title on one of the caller's profiles: a stream lease and a CDN grant",
    responses={201: {"description": "Created"}, **errors(402, 403, 404, 409, 503)},
)
def start_session(body: Annotated[StartSessionRequest, Body()]) -> Response[SessionStarted]:
    try:
        with _dependencies():
            started = sessions.start(_user_id(), body.profile_id, body.title_id, _deps())
    except StreamLimit:
        _count("StreamLimitRefusals", 1)
        raise
    _count("SessionsStarted", 1)
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=SessionStarted(
            session_id=started.session.session_id,
            manifest_url=started.manifest_url,
            grant=_grant_out(started.grant),
            resume_position_s=started.resume_position_s,
            heartbeat_interval_s=started.heartbeat_interval_s,
            lease_expires_at=started.session.lease_expires_at,
            max_height=started.max_height,
        ),
    )


@router.put(
    "/playback/sessions/<session_id>/heartbeat",
    summary="Save the player's position and renew the stream lease (last writer wins by seq)",
    responses=errors(404, 410, 503),
)
def heartbeat(session_id: SessionId, body: Annotated[HeartbeatRequest, Body()]) -> HeartbeatOut:
    beat = Heartbeat(
        position_s=body.position_s,
        seq=body.seq,
        state=PlayerState(body.state),
        rendition=body.rendition,
        buffer_s=body.buffer_s,
    )
    with _dependencies():
        answer = sessions.heartbeat(_user_id(), session_id, beat, _deps())
    _count("HeartbeatsStale" if answer.stale else "HeartbeatsApplied", 1)
    return HeartbeatOut(
        stale=answer.stale,
        position_s=answer.position_s,
        seq=answer.seq,
        lease_expires_at=answer.lease_expires_at,
        grant=_grant_out(answer.grant) if answer.grant else None,
    )


@router.delete(
    "/playback/sessions/<session_id>",
    summary="Stop playing: the stream lease is freed at once",
    responses={204: {"description": "Ended"}, **errors(404, 503)},
)
def end_session(session_id: SessionId) -> Response[None]:
    with _dependencies():
        sessions.end(_user_id(), session_id, _deps())
    return Response(status_code=204, content_type=None, body=None)


@router.get(
    "/profiles/<profile_id>/continue-watching",
    summary="Titles in progress on the profile, newest first (for a series: its current or next episode)",
    responses=errors(404, 503),
)
def continue_watching(profile_id: ProfileId, limit: Annotated[int, Query(ge=1, le=50)] = 20) -> ContinueWatching:
    with _dependencies():
        rows = history.continue_watching(_user_id(), profile_id, limit, _deps())
    items = []
    for row in rows:
        t, s = row.title, row.state
        items.append(
            ContinueWatchingItem(
                title_id=t.title_id,
                title=t.name,
                kind=t.kind,
                series_id=t.series_id,
                episode=EpisodeOut(**t.episode) if t.episode else None,
                position_s=s.position_s if s else 0.0,
                duration_s=s.duration_s if s else float(t.duration_s or 0.0),
                percent=s.percent if s else 0.0,
                part_number=s.part_number if s else 0,
                updated_at=row.updated_at,
                reason=row.reason,
            )
        )
    return ContinueWatching(items=items)


lambda_handler = build_handler(router, service=SERVICE, logger=logger, tracer=tracer, metrics=metrics)
