"""Composition root: settings and the AWS adapters the handlers hand to the logic, built from the
environment once per cold start (a changed environment means a new execution environment)."""

from __future__ import annotations

import threading

from transcode.logic.ports import Dependencies
from transcode.models.settings import Settings

# Adaptive retries absorb S3 503 SlowDown when many chunks upload at once.
S3_RETRIES = {"max_attempts": 8, "mode": "adaptive"}


_lock = threading.Lock()
_settings: Settings | None = None
_deps: Dependencies | None = None


def settings() -> Settings:
    """The settings alone, for steps that make no AWS call (plan)."""
    global _settings
    with _lock:
        if _settings is None:
            _settings = Settings.from_env()
        return _settings


def dependencies() -> Dependencies:
    # Imported here, not at the top: plan makes no AWS call, and boto3 would add ~0.5 s to its
    # cold start.
    import boto3
    from botocore.config import Config

    from transcode.dal.event_bus import EventBridgeBus
    from transcode.dal.parts import DynamoPartIndex
    from transcode.dal.s3_objects import S3ObjectStore
    from transcode.dal.titles import DynamoTitleStore

    global _deps
    config = settings()
    with _lock:
        if _deps is None:
            dynamodb = boto3.resource("dynamodb")
            _deps = Dependencies(
                settings=config,
                objects=S3ObjectStore(boto3.client("s3", config=Config(retries=S3_RETRIES))),
                titles=DynamoTitleStore(dynamodb.Table(config.catalog_table)),
                parts=DynamoPartIndex(dynamodb.Table(config.parts_table)) if config.parts_table else None,
                bus=EventBridgeBus(boto3.client("events"), config.event_bus_name),
            )
        return _deps


def reset() -> None:
    """Forget settings and adapters (tests change the environment between cases)."""
    global _settings, _deps
    with _lock:
        _settings = _deps = None
