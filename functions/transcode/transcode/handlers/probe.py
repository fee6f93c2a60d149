"""Probe step: claim the title if it waits for its source, and check the upload is a usable video.

Input: the EventBridge "Object Created" event (the execution input, `UploadEvent`).
Output: `Job` (claimed=true), or `NotAwaitingSource` (claimed=false: the ASL ends the execution).
Raises MediaRejected (reason for a person), InvalidEvent or TitleNotFound; none is retried.
"""

from __future__ import annotations

from typing import Any

from transcode.handlers import time_budget
from transcode.logic.ingest import ingest
from transcode.models.steps import UploadEvent, step_output
from transcode.wiring import dependencies


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return step_output(ingest(UploadEvent.parse(event), dependencies(), time_budget(context)))
