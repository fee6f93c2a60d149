"""Encode steps: every rendition of one chunk in one ffmpeg run (a Map iteration), and the title's
audio once (the Parallel branch beside the Map).

A chunk writes work/{title_id}/chunks/{rendition}/{index:05d}.mp4 for each rendition, then
work/{title_id}/chunks/meta/{index:05d}.json (frames, bytes, PSNR/SSIM sums) last, so a meta file
means a complete chunk.
"""

from __future__ import annotations

import logging
import time

from transcode.logic import faults, keys
from transcode.logic.ports import Dependencies, ObjectStore
from transcode.logic.scratch import scratch_dir
from transcode.media import ffmpeg, quality
from transcode.media.encode import encode_audio, encode_chunk
from transcode.models.errors import FfmpegError, MediaRejected
from transcode.models.steps import (
    AudioTrack,
    ChunkMeta,
    EncodeAudioInput,
    EncodeChunkInput,
    EncodedChunk,
    SourceObject,
)

log = logging.getLogger(__name__)

AUDIO_OUTPUT_CHANNELS = 2  # encode_audio downmixes to stereo AAC


def ensure_source_unchanged(source: SourceObject, objects: ObjectStore) -> None:
    """After reading the source: it is still the object probe found.

    The title is claimed by the first upload only, but a second PUT to the same key (another URL
    issued for the same title) replaces the object this job reads: what was encoded may then mix
    two files. Checked after each read, a replacement is always caught by a read it affected.
    """
    head = objects.head(source.bucket, source.key)
    if head is None or head.etag != source.etag:
        raise MediaRejected("The uploaded file was replaced while it was being transcoded (a second "
                            "upload to the same title). Ask for a new upload URL and upload one file.")


def encode_title_chunk(job: EncodeChunkInput, deps: Dependencies, time_budget: float | None) -> EncodedChunk:
    settings, chunk, video, renditions = deps.settings, job.chunk, job.video, job.renditions
    faults.maybe_fail(settings.faults, "encode_chunk", attempt=job.attempt, index=chunk.index)
    source = deps.objects.presigned_url(job.source.bucket, job.source.key)
    started = time.monotonic()
    with scratch_dir(f"chunk{chunk.index:05d}") as workdir:
        reference = workdir / "reference.y4m"
        outputs = encode_chunk(source, video=video, renditions=renditions, chunk=chunk, workdir=workdir,
                               reference=reference, sample_every=job.quality_every, timeout=time_budget)
        encoded_s = time.monotonic() - started
        ensure_source_unchanged(job.source, deps.objects)
        # CFR sources give exactly the planned frames (encode_chunk checks); a resampled VFR
        # source's last chunk may come out a frame short, and assemble must expect what exists.
        frames = chunk.frames if video.exact else ffmpeg.frame_count(outputs[renditions[0].name])
        try:
            sums = quality.measure_reference(reference, [(r, outputs[r.name]) for r in renditions],
                                             start_frame=chunk.start_frame, frames=chunk.frames,
                                             every=job.quality_every, workdir=workdir, timeout=time_budget)
        except FfmpegError:
            # The report is a measurement, not an output: a title is not failed over it.
            log.exception("quality measurement of chunk %s of %s failed", chunk.index, job.title_id)
            sums = {}
        sizes: dict[str, int] = {}
        for r in renditions:
            sizes[r.name] = outputs[r.name].stat().st_size
            deps.objects.upload_file(outputs[r.name], settings.media_bucket,
                                     keys.chunk_key(job.title_id, r.name, chunk.index), "video/mp4")
    meta = ChunkMeta(index=chunk.index, start_frame=chunk.start_frame, frames=frames, job_id=job.job_id,
                     bytes=sizes, quality=sums, encode_s=round(encoded_s, 3),
                     total_s=round(time.monotonic() - started, 3))
    deps.objects.put_json(settings.media_bucket, keys.chunk_meta_key(job.title_id, chunk.index),
                          meta.model_dump(mode="json"))
    log.info("chunk %s of %s: %s frames in %.1f s", chunk.index, job.title_id, frames, encoded_s)
    return EncodedChunk(index=chunk.index, frames=frames)


def encode_title_audio(job: EncodeAudioInput, deps: Dependencies, time_budget: float | None) -> AudioTrack:
    settings, media = deps.settings, job.media
    faults.maybe_fail(settings.faults, "encode_audio", attempt=job.attempt)
    if not media.has_audio:
        # Assemble packages exactly the key returned here, so a stale track of an earlier upload
        # under the same key can never leak into this one.
        return AudioTrack(key=None, channels=0, source_channels=0)
    key = keys.audio_key(job.title_id)
    source = deps.objects.presigned_url(job.source.bucket, job.source.key)
    with scratch_dir("audio") as workdir:
        out = encode_audio(source, workdir / "audio.mp4", video_start_s=media.video_start_s,
                           duration_s=job.duration_s or media.duration_s, timeout=time_budget)
        ensure_source_unchanged(job.source, deps.objects)
        deps.objects.upload_file(out, settings.media_bucket, key, "audio/mp4")
    return AudioTrack(key=key, channels=AUDIO_OUTPUT_CHANNELS, source_channels=media.audio_channels)
