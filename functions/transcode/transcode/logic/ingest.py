"""Probe step: claim the title (UPLOADING -> TRANSCODING) and check the upload is a usable video.

Only a title waiting for its source may be claimed. A presigned PUT URL stays valid for its
lifetime, so an upload can arrive for a READY title (a reused URL), a TRANSCODING one (a second
concurrent upload) or a FAILED one: those end the execution at NotAwaitingSource, touching
nothing. The size limit is checked before any media work (the catalog refuses a declared size
over it before issuing the URL; a single PUT cannot be held to it, so probe checks what landed).
"""

from __future__ import annotations

import logging

from transcode.logic.ports import Dependencies
from transcode.logic.upload import parse_upload
from transcode.media import probe
from transcode.models.errors import MediaRejected
from transcode.models.steps import Job, NotAwaitingSource, SourceObject, UploadEvent

log = logging.getLogger(__name__)

DEFAULT_PROBE_TIMEOUT_S = 840
SNIFF_BYTES = 512


def ingest(event: UploadEvent, deps: Dependencies, time_budget: float | None) -> Job | NotAwaitingSource:
    settings = deps.settings
    upload = parse_upload(event, settings.ingest_bucket)
    refused_by = deps.titles.claim(upload.title_id, upload.job_id, upload.etag)
    if refused_by is not None:
        log.warning("upload %s of title %s ignored: the title is %s, not waiting for its source",
                    upload.job_id, upload.title_id, refused_by)
        return NotAwaitingSource(title_id=upload.title_id, job_id=upload.job_id, title_status=refused_by)

    head = deps.objects.head(upload.bucket, upload.key)
    if head is None:
        raise MediaRejected("The uploaded file is no longer in the upload bucket (it was deleted or "
                            "replaced before processing started). Upload it again.")
    if head.size == 0:
        raise MediaRejected("The uploaded file is empty (0 bytes). Upload the video file again.")
    if head.size > settings.max_source_bytes:
        raise MediaRejected(f"The file is {probe.format_bytes(head.size)}, over the "
                            f"{probe.format_bytes(settings.max_source_bytes)} upload limit. Export it "
                            "with a lower bitrate or split it into parts.")
    first_bytes = deps.objects.read_range(upload.bucket, upload.key, SNIFF_BYTES)
    info = probe.probe(deps.objects.presigned_url(upload.bucket, upload.key), first_bytes=first_bytes,
                       timeout=time_budget or DEFAULT_PROBE_TIMEOUT_S)
    probe.validate(info, max_duration_s=settings.max_duration_s)
    log.info("probed %s: %s", upload.title_id, info)
    return Job(title_id=upload.title_id, job_id=upload.job_id,
               source=SourceObject(bucket=upload.bucket, key=upload.key, size=head.size,
                                   etag=head.etag or upload.etag or ""),
               media=info)
