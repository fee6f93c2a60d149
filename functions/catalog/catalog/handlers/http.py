"""Catalog HTTP routes (HTTP API v2.0 and ALB): parse -> authorize -> one logic call -> respond.

Writes are for the ``admins`` group; who may list or read which title is decided in
``catalog.logic.titles`` from the caller's admin flag.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.metrics import MetricUnit
from reelstack_common.auth import is_admin, require_group
from reelstack_common.http import Router, build_handler, errors

from catalog.handlers.observability import SERVICE, logger, metrics, tracer
from catalog.models.titles import (
    MAX_SEASON,
    CompleteUploadRequest,
    CompleteUploadResponse,
    CreateTitleRequest,
    CreateTitleResponse,
    EpisodePage,
    MultipartUploadResponse,
    TitlePage,
    TitleStatus,
    TitleView,
    UpdateTitleRequest,
    UploadRequest,
    UploadResponse,
)
from catalog.wiring import catalog_service

router = Router()


def _is_admin() -> bool:
    return is_admin(router)


@router.post(
    "/titles",
    summary="Create a movie, a series or an episode of a series (admins)",
    responses={201: {"description": "Created"}, **errors(403, 404, 409)},
)
def create_title(body: CreateTitleRequest) -> Response[CreateTitleResponse]:
    caller = require_group(router)
    created = catalog_service().create_title(body, created_by=caller.user_id)
    metrics.add_metric(name="TitlesCreated", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=created)


@router.get("/titles", summary="List titles, newest first (READY only for non-admins)", responses=errors(403))
def list_titles(
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    status: Annotated[TitleStatus | None, Query()] = None,
) -> TitlePage:
    return catalog_service().list_titles(is_admin=_is_admin(), status=status, limit=limit, cursor=cursor)


@router.get("/titles/<title_id>", summary="A title (non-admins: READY titles only)", responses=errors(404))
def get_title(title_id: str) -> TitleView:
    return catalog_service().get_title(title_id, is_admin=_is_admin())


@router.patch(
    "/titles/<title_id>",
    summary="Edit a title's metadata (admins); version +1, announces TitleUpdated",
    responses=errors(403, 404, 409),
)
def update_title(title_id: str, body: UpdateTitleRequest) -> TitleView:
    require_group(router)
    updated = catalog_service().update_title(title_id, body)
    metrics.add_metric(name="TitlesUpdated", unit=MetricUnit.Count, value=1)
    return updated


# POST, not DELETE: the title is not deleted -- its item, renditions and episode history stay for
# admins and for the consumers that must learn of the withdrawal -- it changes state, for good.
@router.post(
    "/titles/<title_id>/withdraw",
    summary="Withdraw a title from viewers for good (admins); announces TitleWithdrawn",
    responses=errors(403, 404, 409),
)
def withdraw_title(title_id: str) -> TitleView:
    require_group(router)
    withdrawn = catalog_service().withdraw_title(title_id)
    metrics.add_metric(name="TitlesWithdrawn", unit=MetricUnit.Count, value=1)
    return withdrawn


@router.get(
    "/titles/<title_id>/episodes",
    summary="A series' episodes in (season, number) order (non-admins: READY ones of a READY series)",
    responses=errors(400, 404),
)
def list_episodes(
    title_id: str,
    season: Annotated[int | None, Query(ge=1, le=MAX_SEASON)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> EpisodePage:
    return catalog_service().list_episodes(title_id, is_admin=_is_admin(), season=season, limit=limit, cursor=cursor)


@router.post(
    "/titles/<title_id>/upload",
    summary="Presigned upload of a title's source (admins)",
    responses=errors(403, 404, 409, 413),
)
def request_upload(title_id: str, body: Annotated[UploadRequest, Body()]) -> UploadResponse | MultipartUploadResponse:
    require_group(router)
    upload = catalog_service().request_upload(title_id, body)
    metrics.add_metric(name="UploadUrlsIssued", unit=MetricUnit.Count, value=1)
    return upload


@router.post(
    "/titles/<title_id>/upload/complete",
    summary="Complete a multipart source upload (admins)",
    responses=errors(403, 404, 409),
)
def complete_upload(title_id: str, body: CompleteUploadRequest) -> CompleteUploadResponse:
    require_group(router)
    return catalog_service().complete_upload(title_id, body)


lambda_handler = build_handler(router, service=SERVICE, logger=logger, tracer=tracer, metrics=metrics)
