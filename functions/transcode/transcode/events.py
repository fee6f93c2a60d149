"""Domain events on the EventBridge bus. boto3 only."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import boto3

from transcode.errors import TransientError

SOURCE = "reelstack.catalog"
TITLE_PUBLISHED = "TitlePublished"


@functools.cache
def _events() -> Any:
    return boto3.client("events")


def put_event(bus_name: str, detail_type: str, detail: Mapping[str, Any]) -> str:
    resp = _events().put_events(Entries=[{
        "EventBusName": bus_name,
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, sort_keys=True, default=str),
    }])
    entry = resp["Entries"][0]
    if resp.get("FailedEntryCount") or "EventId" not in entry:
        raise TransientError(f"EventBridge rejected {detail_type}: {entry.get('ErrorCode')} "
                             f"{entry.get('ErrorMessage')}")
    return str(entry["EventId"])
