"""Publish step: the title goes READY (conditional on this job owning it, moving its version) and
TitlePublished goes on the bus with that version; then the job's work files are dropped."""

from __future__ import annotations

import logging

from transcode.logic import keys
from transcode.logic.ports import Dependencies
from transcode.models.domain import TITLE_PUBLISHED, PublishedRendition, PublishedTier, TitlePublishedDetail
from transcode.models.steps import Published, PublishInput

log = logging.getLogger(__name__)


def publish(job: PublishInput, deps: Dependencies) -> Published:
    title_id, assembled = job.title_id, job.assembled
    item = deps.titles.mark_ready(title_id, job.job_id)
    version = int(item["version"]) if item.get("version") is not None else None
    kind = item.get("kind")
    event_id = deps.bus.publish(TITLE_PUBLISHED, TitlePublishedDetail(
        title_id=title_id,
        version=version,
        manifest_path=assembled.manifest_path,
        renditions=[PublishedRendition(name=r.name, width=r.width, height=r.height, bandwidth=r.bandwidth)
                    for r in assembled.renditions],
        duration_s=assembled.duration_s,
        playback_tiers=[PublishedTier(**t.model_dump()) for t in assembled.playback_tiers],
        kind=str(kind) if kind else None,
    ))
    try:
        # Chunk and audio records are worthless once published; a lifecycle rule is the backstop.
        deps.objects.delete_prefix(deps.settings.media_bucket, keys.work_prefix(title_id))
    except Exception:  # noqa: BLE001 - never fail a published title over leftover scratch files
        log.exception("could not delete work files of %s", title_id)
    return Published(title_id=title_id, manifest_path=assembled.manifest_path, event_id=event_id,
                     version=version)
