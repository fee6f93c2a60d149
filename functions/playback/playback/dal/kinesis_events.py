"""Adapter of ``ViewEvents`` over the Kinesis view stream (``$VIEW_STREAM``), partition key = profile.

Decision (issue 13): when the stream is unavailable, events are DROPPED and counted, never retried
later. A view event is analytics; the watch-state items are the authoritative view history (home
trains on them too), so a lost sample costs little, while retrying would either hold the viewer's
request or need a durable buffer that is one more thing to fail. Kept cheap when Kinesis is down:
one attempt with short timeouts, then a breaker skips the stream for ``BREAKER_S`` seconds so a
heartbeat never waits for a dead endpoint again and again. Counted in the ``ViewEventsDropped``
metric (and ``ViewEventsPublished`` for the ones that made it).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import boto3
from botocore.config import Config

from playback.logic.ports import ViewEvents
from playback.models.domain import ViewEvent

log = logging.getLogger(__name__)

BREAKER_S = 10.0
MAX_RECORDS = 500  # PutRecords' limit per call
_CONFIG = Config(connect_timeout=0.5, read_timeout=1.0, retries={"max_attempts": 1, "mode": "standard"})

Counter = Callable[[str, int], None]


class KinesisViewEvents(ViewEvents):
    def __init__(
        self,
        stream_name: str,
        count: Counter,
        *,
        client: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream_name = stream_name
        self._count = count
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until = 0.0  # breaker: skip the stream until then

    def _kinesis(self) -> Any:
        if self._client is None:
            self._client = boto3.client("kinesis", config=_CONFIG)
        return self._client

    def publish(self, events: Sequence[ViewEvent]) -> None:
        if not events:
            return
        if not self.stream_name or self._clock() < self._open_until:
            self._count("ViewEventsDropped", len(events))
            return
        failed = 0
        try:
            for start in range(0, len(events), MAX_RECORDS):
                batch = events[start : start + MAX_RECORDS]
                out = self._kinesis().put_records(
                    StreamName=self.stream_name,
                    Records=[
                        {"Data": json.dumps(e, separators=(",", ":")).encode(), "PartitionKey": str(e["profile_id"])}
                        for e in batch
                    ],
                )
                failed += int(out.get("FailedRecordCount", 0))
        except Exception as exc:  # noqa: BLE001 - any failure of the stream must leave playback working
            with self._lock:
                self._open_until = self._clock() + BREAKER_S
            log.warning("view stream unavailable, dropping %d event(s): %s", len(events), type(exc).__name__)
            self._count("ViewEventsDropped", len(events))
            return
        if failed:
            self._count("ViewEventsDropped", failed)
        self._count("ViewEventsPublished", len(events) - failed)
