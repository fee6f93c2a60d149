"""EventBridge adapter of the outbox relay's ``EventPublisher``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from catalog.logic.outbox import EVENT_SOURCE, Announcement


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._events = client
        self._bus = bus_name

    def publish(self, announcements: Sequence[Announcement]) -> list[bool]:
        if not announcements:
            return []
        entries = [
            {
                "EventBusName": self._bus,
                "Source": EVENT_SOURCE,
                "DetailType": a.detail_type,
                "Detail": json.dumps(a.detail, separators=(",", ":")),
            }
            for a in announcements
        ]
        try:
            response = self._events.put_events(Entries=entries)
        except (ClientError, BotoCoreError):
            return [False] * len(announcements)  # nothing taken: the stream delivers them again
        # Entries answer in request order; a failed one has ErrorCode and no EventId.
        return ["EventId" in entry for entry in response.get("Entries", [])] + [False] * (
            len(announcements) - len(response.get("Entries", []))
        )
