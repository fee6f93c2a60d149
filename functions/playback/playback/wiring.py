"""Composition root: the adapters the handlers hand to the logic, built once per warm Lambda."""

from __future__ import annotations

import os
import threading

from playback.dal.catalog_titles import CatalogTitles
from playback.dal.cdn_signer import CdnGrantSigner
from playback.dal.dynamo_playback import DynamoPlaybackStore
from playback.dal.kinesis_events import Counter, KinesisViewEvents
from playback.dal.viewers import AccountsViewers
from playback.logic.sessions import Deps
from playback.logic.settings import Settings

_lock = threading.Lock()
_deps: Deps | None = None


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def settings_from_env() -> Settings:
    defaults = Settings()
    return Settings(
        heartbeat_interval_s=_int("HEARTBEAT_INTERVAL_S", defaults.heartbeat_interval_s),
        lease_s=_int("LEASE_SECONDS", defaults.lease_s),
        heartbeat_event_every=_int("HEARTBEAT_EVENT_EVERY", defaults.heartbeat_event_every),
        segment_seconds=float(os.environ.get("SEGMENT_SECONDS", "").strip() or defaults.segment_seconds),
    )


def dependencies(count: Counter) -> Deps:
    global _deps
    with _lock:
        if _deps is None:
            _deps = Deps(
                viewers=AccountsViewers(os.environ["ACCOUNTS_TABLE"]),
                titles=CatalogTitles(os.environ["CATALOG_TABLE"]),
                store=DynamoPlaybackStore(os.environ["PLAYBACK_TABLE"]),
                signer=CdnGrantSigner(),
                events=KinesisViewEvents(os.environ.get("VIEW_STREAM", ""), count),
                settings=settings_from_env(),
            )
        return _deps


def reset() -> None:
    """Drop the cached adapters (tests change the environment between cases)."""
    global _deps
    with _lock:
        _deps = None
