"""Encode steps: every rendition of one chunk in one ffmpeg run (a Map iteration), and the title's
audio once (the Parallel branch beside the Map). Each writes its FINAL output: CMAF segments and
init segments under titles/{id}/hls/<tier>/<rendition>/ (names fixed by the title-wide segment
number, so a retry or a re-run overwrites the same objects with the same bytes), the part index
rows of those segments, and last a small JSON record under work/{id}/ (`ChunkMeta`, `AudioMeta`):
its presence means everything it lists was written. Assemble then only writes playlists.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from transcode.logic import faults, keys
from transcode.logic.ports import Dependencies, ObjectStore
from transcode.logic.scratch import scratch_dir
from transcode.media import cmaf, hls, quality
from transcode.media.encode import chunk_segments, encode_audio, encode_chunk, segment_audio
from transcode.models.domain import TitleStatus
from transcode.models.errors import FfmpegError, MediaRejected, Superseded
from transcode.models.steps import (
    AudioMeta,
    AudioTrack,
    ChunkMeta,
    EncodeAudioInput,
    EncodeChunkInput,
    EncodedChunk,
    SegmentMeta,
    SourceObject,
    TrackSegments,
)

log = logging.getLogger(__name__)

AUDIO_OUTPUT_CHANNELS = 2  # encode_audio downmixes to stereo AAC
# Segment PUTs in flight per step: a 60 s chunk writes 30 segments per rendition, and one PUT is
# mostly round-trip time.
UPLOAD_THREADS = 8


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


def write_track(deps: Dependencies, title_id: str, name: str, init: bytes,
                fragments: Sequence[tuple[int, cmaf.Fragment]], timescale: int, codec: str) -> TrackSegments:
    """PUT a track's init segment and its segments (title-wide numbers), then index them."""
    settings = deps.settings
    caps = settings.plan_height_caps
    init_key = keys.init_key(title_id, name, caps)
    puts = [(init_key, init, hls.content_type(hls.INIT))]
    puts += [(keys.segment_key(title_id, name, caps, index), frag.data, hls.content_type(".m4s"))
             for index, frag in fragments]
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        list(pool.map(lambda p: deps.objects.put_bytes(settings.media_bucket, p[0], p[1], p[2],
                                                       cache_control=hls.SEGMENT_CACHE), puts))
    segments = [SegmentMeta(index=index, duration_s=round(frag.duration / timescale, 6), bytes=len(frag.data),
                            md5=hashlib.md5(frag.data).hexdigest())  # noqa: S324 - the S3 ETag, not security
                for index, frag in fragments]
    if deps.parts is not None:
        deps.parts.put(title_id, name, [
            {"title_id": title_id, "rendition": name, "part_num": s.index, "s3_key": key,
             "duration_s": s.duration_s, "bytes": s.bytes, "init_key": init_key}
            for s, (key, _data, _ct) in zip(segments, puts[1:], strict=True)])
    return TrackSegments(init_md5=hashlib.md5(init).hexdigest(), codec=codec,  # noqa: S324
                         segments=segments)


def ensure_still_owned(deps: Dependencies, title_id: str, job_id: str | None,
                       written: dict[str, TrackSegments]) -> None:
    """After writing under titles/{id}/: the title is still this job's, TRANSCODING.

    A Map iteration still running when its title failed (another chunk's error) must not leave
    segments behind the fail step's cleanup: the fail step marks FAILED before it deletes, so a
    write that lands after that deletion sees FAILED here and removes itself. A title taken over
    by a newer upload is left alone (its segments have the same names; assemble checks every
    segment's bytes against the chunk records of ITS job)."""
    if job_id is None:
        return
    status, owner = deps.titles.ownership(title_id)
    if status == TitleStatus.TRANSCODING and owner == job_id:
        return
    if owner == job_id:
        caps = deps.settings.plan_height_caps
        for name, track in written.items():
            doomed = [keys.init_key(title_id, name, caps)]
            doomed += [keys.segment_key(title_id, name, caps, s.index) for s in track.segments]
            deps.objects.delete_keys(deps.settings.media_bucket, doomed)
            if deps.parts is not None:
                deps.parts.delete(title_id, name, [s.index for s in track.segments])
    raise Superseded(f"title {title_id} is {status} and owned by {owner!r}, no longer by run {job_id}")


def encode_title_chunk(job: EncodeChunkInput, deps: Dependencies, time_budget: float | None) -> EncodedChunk:
    settings, chunk, video, renditions = deps.settings, job.chunk, job.video, job.renditions
    faults.maybe_fail(settings.faults, "encode_chunk", attempt=job.attempt, index=chunk.index)
    source = deps.objects.presigned_url(job.source.bucket, job.source.key)
    started = time.monotonic()
    written: dict[str, TrackSegments] = {}
    with scratch_dir(f"chunk{chunk.index:05d}") as workdir:
        reference = workdir / "reference.y4m"
        outputs = encode_chunk(source, video=video, renditions=renditions, chunk=chunk, workdir=workdir,
                               reference=reference, sample_every=job.quality_every, timeout=time_budget)
        encoded_s = time.monotonic() - started
        ensure_source_unchanged(job.source, deps.objects)
        try:
            sums = quality.measure_reference(reference, [(r, outputs[r.name]) for r in renditions],
                                             start_frame=chunk.start_frame, frames=chunk.frames,
                                             every=job.quality_every, workdir=workdir, timeout=time_budget)
        except FfmpegError:
            # The report is a measurement, not an output: a title is not failed over it.
            log.exception("quality measurement of chunk %s of %s failed", chunk.index, job.title_id)
            sums = {}
        frames = chunk.frames
        for r in renditions:  # one rendition's segments in memory at a time
            track = chunk_segments(outputs[r.name], video=video, chunk=chunk, name=r.name)
            # CFR sources give exactly the planned frames (checked); a resampled VFR source's last
            # chunk may come out a frame short, and assemble must expect what exists.
            frames = sum(f.samples for f in track.fragments)
            numbered = list(enumerate(track.fragments, start=chunk.first_segment))
            written[r.name] = write_track(deps, job.title_id, r.name, track.init, numbered, track.timescale,
                                          track.codec)
    ensure_still_owned(deps, job.title_id, job.job_id, written)
    meta = ChunkMeta(index=chunk.index, start_frame=chunk.start_frame, frames=frames, job_id=job.job_id,
                     bytes={name: sum(s.bytes for s in t.segments) for name, t in written.items()},
                     tracks=written, quality=sums, encode_s=round(encoded_s, 3),
                     total_s=round(time.monotonic() - started, 3))
    deps.objects.put_json(settings.media_bucket, keys.chunk_meta_key(job.title_id, chunk.index),
                          meta.model_dump(mode="json"))
    log.info("chunk %s of %s: %s frames in %.1f s", chunk.index, job.title_id, frames, encoded_s)
    return EncodedChunk(index=chunk.index, frames=frames)


def encode_title_audio(job: EncodeAudioInput, deps: Dependencies, time_budget: float | None) -> AudioTrack:
    settings, media = deps.settings, job.media
    faults.maybe_fail(settings.faults, "encode_audio", attempt=job.attempt)
    if not media.has_audio:
        # Assemble lists exactly the track returned here, so a stale audio track of an earlier
        # upload can never leak into this one (it is deleted as stale output).
        return AudioTrack(key=None, channels=0, source_channels=0)
    source = deps.objects.presigned_url(job.source.bucket, job.source.key)
    segment_seconds = job.segment_seconds or settings.segment_seconds
    with scratch_dir("audio") as workdir:
        out = encode_audio(source, workdir / "audio.mp4", video_start_s=media.video_start_s,
                           duration_s=job.duration_s or media.duration_s, timeout=time_budget)
        ensure_source_unchanged(job.source, deps.objects)
        init_path, paths = segment_audio(out, workdir / "hls", segment_seconds=segment_seconds,
                                         timeout=time_budget)
        init = init_path.read_bytes()
        fragments: list[tuple[int, cmaf.Fragment]] = []
        timescale, codec = 0, ""
        for index, path in enumerate(paths):
            # The muxer numbered and timed the segments on one timeline already: read, not rebase.
            parsed = cmaf.split(init + path.read_bytes(), base_time=None)
            timescale, codec = parsed.timescale, parsed.codec
            fragments += [(index, frag) for frag in parsed.fragments]
        track = write_track(deps, job.title_id, hls.AUDIO_NAME, init, fragments, timescale, codec)
    ensure_still_owned(deps, job.title_id, job.job_id, {hls.AUDIO_NAME: track})
    key = keys.audio_meta_key(job.title_id)
    meta = AudioMeta(job_id=job.job_id, channels=AUDIO_OUTPUT_CHANNELS, source_channels=media.audio_channels,
                     track=track)
    deps.objects.put_json(settings.media_bucket, key, meta.model_dump(mode="json"))
    return AudioTrack(key=key, channels=AUDIO_OUTPUT_CHANNELS, source_channels=media.audio_channels)
