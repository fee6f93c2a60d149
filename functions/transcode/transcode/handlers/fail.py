"""Fail step (every Catch leads here): FAILED with a reason a person can act on, nothing partial kept.

Input: the state at the failing step plus "error": {"Error", "Cause"} (Catch ResultPath $.error);
that state is the raw S3 event when the probe failed, the job otherwise.
Output: {"title_id", "status": "FAILED" | "NOT_OWNED" | "IGNORED", "failure_reason", "deleted"}.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from transcode import events, storage
from transcode.catalog import Parts, Titles
from transcode.config import Settings
from transcode.errors import PERMANENT_ERRORS
from transcode.job import job_id_of, title_id_of
from transcode.media.ladder import LADDER_NAMES
from transcode.media.package import AUDIO_NAME

log = logging.getLogger(__name__)

TITLE_FAILED = "TitleFailed"


def failure_reason(error: dict[str, Any] | None) -> str:
    error = error or {}
    name = str(error.get("Error") or "Unknown")
    cause = error.get("Cause") or ""
    message = cause
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
            if isinstance(parsed, dict):
                message = str(parsed.get("errorMessage") or cause)
        except json.JSONDecodeError:
            pass
    message = str(message).strip()
    if name in PERMANENT_ERRORS and message:
        return message
    detail = f"{name}: {message[:300]}" if message else name
    return (f"Transcoding failed after retries ({detail}). This is not a known problem with the file; "
            "upload it again, and contact support if it keeps failing.")


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    settings = Settings.from_env()
    reason = failure_reason(event.get("error"))
    title_id = title_id_of(event)
    if not title_id:
        log.warning("failure without a title (%s)", reason)
        return {"title_id": None, "status": "IGNORED", "failure_reason": reason, "deleted": 0}
    if not Titles(settings.catalog_table).mark_failed(title_id, job_id_of(event), reason):
        # Missing title, or a newer upload owns it: its outputs are not ours to delete.
        log.warning("title %s not marked FAILED (missing or owned by another run): %s", title_id, reason)
        return {"title_id": title_id, "status": "NOT_OWNED", "failure_reason": reason, "deleted": 0}
    deleted = storage.delete_prefix(settings.media_bucket, storage.title_prefix(title_id))
    deleted += storage.delete_prefix(settings.media_bucket, storage.work_prefix(title_id))
    deleted += _delete_parts(settings, title_id, event)
    try:
        events.put_event(settings.event_bus_name, TITLE_FAILED,
                         {"title_id": title_id, "failure_reason": reason})
    except (ClientError, BotoCoreError, events.TransientError):
        log.exception("could not announce the failure of %s", title_id)  # the title item is the record
    log.info("title %s FAILED: %s (%s objects/rows deleted)", title_id, reason, deleted)
    return {"title_id": title_id, "status": "FAILED", "failure_reason": reason, "deleted": deleted}


def _delete_parts(settings: Settings, title_id: str, event: dict[str, Any]) -> int:
    """Part rows exist only if assemble finished (then publish failed); remove them too."""
    if not settings.parts_table:
        return 0
    names = {*LADDER_NAMES, AUDIO_NAME}
    names |= {str(r["name"]) for r in (event.get("plan") or {}).get("renditions", []) if "name" in r}
    parts = Parts(settings.parts_table)
    try:
        return sum(parts.delete_rendition(title_id, n) for n in sorted(names))
    except ClientError:
        # The title is already FAILED and its media gone; orphan rows point at nothing playable.
        log.exception("could not delete the part rows of %s", title_id)
        return 0
