"""EventBridge adapter of `EventBus`."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from transcode.logic.ports import EventBus
from transcode.models.domain import EVENT_SOURCE
from transcode.models.errors import TransientError


class EventBridgeBus(EventBus):
    def __init__(self, client: Any, bus_name: str) -> None:
        self.events = client
        self.bus_name = bus_name

    def publish(self, detail_type: str, detail: BaseModel) -> str:
        try:
            resp = self.events.put_events(Entries=[{
                "EventBusName": self.bus_name,
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": detail.model_dump_json(exclude_none=True),
            }])
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"EventBridge did not take {detail_type}: {exc}") from exc
        entry = resp["Entries"][0]
        if resp.get("FailedEntryCount") or "EventId" not in entry:
            raise TransientError(f"EventBridge rejected {detail_type}: {entry.get('ErrorCode')} "
                                 f"{entry.get('ErrorMessage')}")
        return str(entry["EventId"])
