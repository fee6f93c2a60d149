"""Fail step (every Catch leads here): FAILED with a reason a person can act on, nothing partial kept.

Only a title this job claimed is failed and cleaned up: a failure before the claim, or in a run
that lost the title, leaves the title and its outputs to whoever owns them (NOT_OWNED).
"""

from __future__ import annotations

import json
import logging

from transcode.logic import keys
from transcode.logic.ports import Dependencies, PartIndex
from transcode.logic.upload import job_id_of, title_id_of
from transcode.media.hls import AUDIO_NAME
from transcode.media.ladder import LADDER_NAMES
from transcode.models.domain import TITLE_FAILED, TitleFailedDetail
from transcode.models.errors import PERMANENT_ERRORS, TransientError
from transcode.models.steps import Failed, FailInput, StepError

log = logging.getLogger(__name__)


def failure_reason(error: StepError | None) -> str:
    error = error or StepError()
    name = error.error or "Unknown"
    cause = error.cause or ""
    message = cause
    if cause:
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


def fail(state: FailInput, deps: Dependencies) -> Failed:
    settings = deps.settings
    reason = failure_reason(state.error)
    title_id = title_id_of(state)
    if not title_id:
        log.warning("failure without a title (%s)", reason)
        return Failed(title_id=None, status="IGNORED", failure_reason=reason, deleted=0)
    version = deps.titles.mark_failed(title_id, job_id_of(state), reason)
    if version is None:
        # Missing title, a job that never claimed it (or lost it), or a title already published:
        # its outputs are not ours to delete.
        log.warning("title %s not marked FAILED (missing, not owned by this job, or READY): %s", title_id, reason)
        return Failed(title_id=title_id, status="NOT_OWNED", failure_reason=reason, deleted=0)
    deleted = deps.objects.delete_prefix(settings.media_bucket, keys.title_prefix(title_id))
    deleted += deps.objects.delete_prefix(settings.media_bucket, keys.work_prefix(title_id))
    deleted += _delete_parts(deps.parts, title_id, state)
    try:
        deps.bus.publish(TITLE_FAILED, TitleFailedDetail(title_id=title_id, failure_reason=reason,
                                                         version=version or None))
    except TransientError:
        log.exception("could not announce the failure of %s", title_id)  # the title item is the record
    log.info("title %s FAILED: %s (%s objects/rows deleted)", title_id, reason, deleted)
    return Failed(title_id=title_id, status="FAILED", failure_reason=reason, deleted=deleted)


def _delete_parts(parts: PartIndex | None, title_id: str, state: FailInput) -> int:
    """Part rows exist only if assemble finished (then publish failed); remove them too."""
    if parts is None:
        return 0
    names = {*LADDER_NAMES, AUDIO_NAME}
    names |= {r.name for r in (state.plan.renditions if state.plan else []) if r.name}
    try:
        return sum(parts.delete_rendition(title_id, n) for n in sorted(names))
    except TransientError:
        # The title is already FAILED and its media gone; orphan rows point at nothing playable.
        log.exception("could not delete the part rows of %s", title_id)
        return 0
