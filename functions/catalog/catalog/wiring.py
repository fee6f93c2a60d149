"""Composition root: the catalog service and its adapters, built from the environment once per
execution environment (warm invocations reuse the clients)."""

from __future__ import annotations

import os
import threading

import boto3
from botocore.config import Config

from catalog.dal.dynamo_titles import DynamoTitleStore
from catalog.dal.event_bus import EventBridgePublisher
from catalog.dal.s3_uploads import S3UploadStore
from catalog.logic.outbox import OutboxRelay
from catalog.logic.titles import CatalogService, CatalogSettings

_lock = threading.Lock()
_service: CatalogService | None = None
_relay: OutboxRelay | None = None


def settings_from_env() -> CatalogSettings:
    defaults = CatalogSettings()
    return CatalogSettings(
        upload_ttl_s=int(os.environ.get("UPLOAD_URL_TTL_S") or defaults.upload_ttl_s),
        max_source_bytes=int(os.environ.get("MAX_SOURCE_BYTES") or defaults.max_source_bytes),
    )


def _s3_client() -> object:
    # SigV4 so the presigned URL signs the Content-Type and Content-Length headers; virtual-hosted
    # URLs on AWS (path style is being retired), path style against a local endpoint (no
    # per-bucket host names there).
    addressing = "path" if os.environ.get("AWS_ENDPOINT_URL") else "virtual"
    return boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": addressing}))


def catalog_service() -> CatalogService:
    """Built on first use, not at import, so tests can set the environment first."""
    global _service
    with _lock:
        if _service is None:
            _service = CatalogService(
                DynamoTitleStore(boto3.resource("dynamodb").Table(os.environ["CATALOG_TABLE"])),
                S3UploadStore(_s3_client(), os.environ["INGEST_BUCKET"]),
                settings_from_env(),
            )
        return _service


def outbox_relay() -> OutboxRelay:
    """The stream -> event bus relay (the outbox function's only dependency)."""
    global _relay
    with _lock:
        if _relay is None:
            # A short connect/read budget and few retries: a record the bus did not take is retried
            # by the stream mapping, so waiting long here only delays the records behind it.
            client = boto3.client(
                "events", config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3})
            )
            _relay = OutboxRelay(EventBridgePublisher(client, os.environ["EVENT_BUS_NAME"]))
        return _relay


def reset() -> None:
    """Drop the cached service and relay (tests change the environment between cases)."""
    global _service, _relay
    with _lock:
        _service = None
        _relay = None
