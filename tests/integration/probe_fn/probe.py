"""A Lambda used only by tests: records every event it receives, keyed by where it came from."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import boto3


def _origin(event: dict[str, Any]) -> str:
    records = event.get("Records") or []
    if records:
        return str(records[0].get("eventSource") or records[0].get("EventSource") or "records")
    return str(event.get("source", "direct"))


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    origin = _origin(event)
    boto3.client("dynamodb").put_item(
        TableName=os.environ["PROBE_TABLE"],
        Item={"probe_id": {"S": f"{origin}#{uuid.uuid4()}"}, "event": {"S": json.dumps(event, default=str)}},
    )
    return {"origin": origin}
