"""Catalog HTTP routes (HTTP API v2.0 and ALB): parse -> authorize -> one logic call -> respond.

Writes are for the ``admins`` group; reads are for every signed-in user, who only ever sees READY
titles (admins see every status).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Annotated

import boto3
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config
from reelstack_common.auth import current_user, require_group
from reelstack_common.errors import Forbidden
from reelstack_common.http import Router, build_handler

from catalog.dal.dynamo_titles import DynamoTitleStore
from catalog.dal.s3_uploads import S3UploadStore
from catalog.logic.titles import CatalogService, CatalogSettings
from catalog.models.titles import (
    CompleteUploadRequest,
    CompleteUploadResponse,
    CreateTitleRequest,
    CreateTitleResponse,
    MultipartUploadResponse,
    TitlePage,
    TitleStatus,
    TitleView,
    UploadRequest,
    UploadResponse,
)

SERVICE = "catalog"
router = Router()
metrics = Metrics(service=SERVICE, namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Reelstack")


@lru_cache(maxsize=1)
def catalog_service() -> CatalogService:
    """Built on first use (not at import) so tests can set the environment first; cached for the
    life of the execution environment so clients are reused across invocations."""
    table = boto3.resource("dynamodb").Table(os.environ["CATALOG_TABLE"])
    # SigV4 so the presigned URL signs the Content-Type header; virtual-hosted URLs on AWS (path
    # style is being retired), path style against a local endpoint (no per-bucket host names).
    addressing = "path" if os.environ.get("AWS_ENDPOINT_URL") else "virtual"
    s3 = boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": addressing}))
    return CatalogService(
        DynamoTitleStore(table),
        S3UploadStore(s3, os.environ["INGEST_BUCKET"]),
        CatalogSettings(
            upload_ttl_s=int(os.environ.get("UPLOAD_URL_TTL_S") or 900),
            max_source_bytes=int(os.environ.get("MAX_SOURCE_BYTES") or CatalogSettings.max_source_bytes),
        ),
    )


def _is_admin() -> bool:
    """Whether the signed-in caller is an admin (401 when nobody is signed in)."""
    return current_user(router).in_group(os.environ.get("ADMINS_GROUP") or "admins")


@router.post("/titles", summary="Create a title (admins)", responses={201: {"description": "Created"}})
def create_title(body: CreateTitleRequest) -> Response[CreateTitleResponse]:
    caller = require_group(router)
    created = catalog_service().create_title(body, created_by=caller.user_id)
    metrics.add_metric(name="TitlesCreated", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=created)


@router.get("/titles", summary="List titles, newest first (READY only for non-admins)")
def list_titles(
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    status: Annotated[TitleStatus | None, Query()] = None,
) -> TitlePage:
    is_admin = _is_admin()
    wanted = status or TitleStatus.READY
    if wanted is not TitleStatus.READY and not is_admin:
        raise Forbidden("Only admins can list titles that are not READY")
    return catalog_service().list_titles(status=wanted, limit=limit, cursor=cursor)


@router.get("/titles/<title_id>", summary="A title (non-admins: READY titles only)")
def get_title(title_id: str) -> TitleView:
    return catalog_service().get_title(title_id, is_admin=_is_admin())


@router.post("/titles/<title_id>/upload", summary="Presigned upload of a title's source (admins)")
def request_upload(
    title_id: str, body: Annotated[UploadRequest | None, Body()] = None
) -> UploadResponse | MultipartUploadResponse:
    require_group(router)
    upload = catalog_service().request_upload(title_id, body or UploadRequest())
    metrics.add_metric(name="UploadUrlsIssued", unit=MetricUnit.Count, value=1)
    return upload


@router.post("/titles/<title_id>/upload/complete", summary="Complete a multipart source upload (admins)")
def complete_upload(title_id: str, body: CompleteUploadRequest) -> CompleteUploadResponse:
    require_group(router)
    return catalog_service().complete_upload(title_id, body)


lambda_handler = build_handler(router, service=SERVICE, metrics=metrics)
