"""Probe step: claim the title (TRANSCODING) and check the upload is a usable video.

Input: the EventBridge "Object Created" event (the execution input).
Output: {"title_id", "job_id", "source": {"bucket", "key", "size", "etag"}, "media": MediaInfo dict}.
Raises MediaRejected (reason for a person), InvalidEvent or TitleNotFound; none is retried.
"""

from __future__ import annotations

import logging
from typing import Any

from transcode import storage
from transcode.catalog import Titles
from transcode.config import Settings
from transcode.errors import MediaRejected
from transcode.handlers import time_budget
from transcode.job import parse_upload_event
from transcode.media import probe

log = logging.getLogger(__name__)


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    settings = Settings.from_env()
    upload = parse_upload_event(event, settings.ingest_bucket)
    refused_by = Titles(settings.catalog_table).claim(upload.title_id, upload.job_id, upload.etag)
    if refused_by is not None:
        log.warning("upload %s of title %s ignored: the title is %s, not waiting for its source",
                    upload.job_id, upload.title_id, refused_by)
        return {"claimed": False, "title_id": upload.title_id, "job_id": upload.job_id,
                "title_status": refused_by}

    head = storage.head(upload.bucket, upload.key)
    if head is None:
        raise MediaRejected("The uploaded file is no longer in the upload bucket (it was deleted or "
                            "replaced before processing started). Upload it again.")
    size = int(head["ContentLength"])
    if size == 0:
        raise MediaRejected("The uploaded file is empty (0 bytes). Upload the video file again.")
    if size > settings.max_source_bytes:
        raise MediaRejected(f"The file is {probe.format_bytes(size)}, over the "
                            f"{probe.format_bytes(settings.max_source_bytes)} upload limit. Export it "
                            "with a lower bitrate or split it into parts.")
    first_bytes = storage.read_range(upload.bucket, upload.key, 512)
    info = probe.probe(storage.presigned_url(upload.bucket, upload.key), first_bytes=first_bytes,
                       timeout=time_budget(context) or 840)
    probe.validate(info, max_duration_s=settings.max_duration_s)
    log.info("probed %s: %s", upload.title_id, info)
    return {
        "claimed": True,
        "title_id": upload.title_id,
        "job_id": upload.job_id,
        "source": {"bucket": upload.bucket, "key": upload.key, "size": size,
                   "etag": str(head.get("ETag", upload.etag or "")).strip('"')},
        "media": info.to_dict(),
    }
