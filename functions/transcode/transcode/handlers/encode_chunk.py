"""Encode-chunk step (one Map iteration): every rendition of one chunk in one ffmpeg run.

Input: {"title_id", "job_id", "source": {"bucket", "key"}, "video", "renditions", "chunk",
"quality_every", "attempt" ($$.State.RetryCount)}.
Writes work/{title_id}/chunks/{rendition}/{index:05d}.mp4 for each rendition, then
work/{title_id}/chunks/meta/{index:05d}.json (frames, bytes, PSNR/SSIM sums) last, so a meta file
means a complete chunk. Output: {"index", "frames"}.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from transcode import faults, ffmpeg, storage
from transcode.config import Settings
from transcode.errors import FfmpegError
from transcode.handlers import time_budget
from transcode.media import quality
from transcode.media.chunks import Chunk
from transcode.media.encode import VideoParams, encode_chunk
from transcode.media.ladder import Rendition

log = logging.getLogger(__name__)


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    settings = Settings.from_env()
    chunk = Chunk.from_dict(event["chunk"])
    faults.maybe_fail(settings.faults, "encode_chunk", attempt=int(event.get("attempt") or 0),
                      index=chunk.index)
    title_id = event["title_id"]
    video = VideoParams.from_dict(event["video"])
    renditions = [Rendition.from_dict(r) for r in event["renditions"]]
    source = storage.presigned_url(event["source"]["bucket"], event["source"]["key"])
    started = time.monotonic()
    with storage.scratch_dir(f"chunk{chunk.index:05d}") as workdir:
        every = int(event.get("quality_every") or 1)
        reference = workdir / "reference.y4m"
        outputs = encode_chunk(source, video=video, renditions=renditions, chunk=chunk, workdir=workdir,
                               reference=reference, sample_every=every, timeout=time_budget(context))
        encoded_s = time.monotonic() - started
        # CFR sources give exactly the planned frames (encode_chunk checks); a resampled VFR
        # source's last chunk may come out a frame short, and assemble must expect what exists.
        frames = chunk.frames if video.exact else ffmpeg.frame_count(outputs[renditions[0].name])
        try:
            sums = quality.measure_reference(reference, [(r, outputs[r.name]) for r in renditions],
                                             start_frame=chunk.start_frame, frames=chunk.frames,
                                             every=every, workdir=workdir, timeout=time_budget(context))
        except FfmpegError:
            # The report is a measurement, not an output: a title is not failed over it.
            log.exception("quality measurement of chunk %s of %s failed", chunk.index, title_id)
            sums = {}
        sizes: dict[str, int] = {}
        for r in renditions:
            sizes[r.name] = outputs[r.name].stat().st_size
            storage.upload_file(outputs[r.name], settings.media_bucket,
                                storage.chunk_key(title_id, r.name, chunk.index), "video/mp4")
    storage.put_json(settings.media_bucket, storage.chunk_meta_key(title_id, chunk.index), {
        "index": chunk.index, "start_frame": chunk.start_frame, "frames": frames,
        "job_id": event.get("job_id"), "bytes": sizes,
        "quality": {name: s.to_dict() for name, s in sums.items()},
        "encode_s": round(encoded_s, 3), "total_s": round(time.monotonic() - started, 3),
    })
    log.info("chunk %s of %s: %s frames in %.1f s", chunk.index, title_id, frames, encoded_s)
    return {"index": chunk.index, "frames": frames}
