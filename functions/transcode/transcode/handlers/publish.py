"""Publish step: the title goes READY (conditional) and TitlePublished goes on the bus.

Input: {"title_id", "job_id", "assembled": assemble's output}.
Output: {"title_id", "status": "READY", "manifest_path", "event_id"}.
"""

from __future__ import annotations

import logging
from typing import Any

from transcode import events, storage
from transcode.catalog import READY, Titles
from transcode.config import Settings

log = logging.getLogger(__name__)


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    settings = Settings.from_env()
    title_id, job_id, assembled = event["title_id"], event["job_id"], event["assembled"]
    Titles(settings.catalog_table).mark_ready(title_id, job_id)
    renditions = [{k: r[k] for k in ("name", "width", "height", "bandwidth")}
                  for r in assembled["renditions"]]
    event_id = events.put_event(settings.event_bus_name, events.TITLE_PUBLISHED, {
        "title_id": title_id,
        "manifest_path": assembled["manifest_path"],
        "renditions": renditions,
        "duration_s": assembled["duration_s"],
    })
    try:
        # Intermediate chunks are worthless once published; a lifecycle rule is the backstop.
        storage.delete_prefix(settings.media_bucket, storage.work_prefix(title_id))
    except Exception:  # noqa: BLE001 - never fail a published title over leftover scratch files
        log.exception("could not delete work files of %s", title_id)
    return {"title_id": title_id, "status": READY, "manifest_path": assembled["manifest_path"],
            "event_id": event_id}
