"""Assemble step: playlists from what the encode steps recorded -- no media is read or written.

The chunks and the audio step already wrote every segment, init segment and part row (their
records under work/ say which, with sizes, durations and MD5s). Assemble reads those records,
lists the title's hls/ prefix once and checks that every expected segment is there with the
expected bytes (its ETag), then writes the media playlists, the master playlist of every plan
tier and of the whole title (last), and the quality report; it deletes objects and part rows an
earlier, longer upload left, records the title's outputs, and drops work/. Memory, time and
/tmp are proportional to the number of segments (a few hundred bytes of JSON each), not to bytes
of media: nothing goes to /tmp at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any

from transcode.logic import keys
from transcode.logic.ports import Dependencies, ObjectStore
from transcode.media import hls
from transcode.media.ladder import LADDER_NAMES, Rendition
from transcode.media.quality import QualitySums, summarize
from transcode.models.errors import ConfigError, OutputMismatch
from transcode.models.steps import (
    Assembled,
    AssembleInput,
    AudioMeta,
    ChunkMeta,
    PlaybackTier,
    RenditionSummary,
    TrackSegments,
)

log = logging.getLogger(__name__)

READ_THREADS = 16  # chunk records fetched in parallel (120 for a two-hour film)


def assemble(job: AssembleInput, deps: Dependencies) -> Assembled:
    settings, plan, title_id = deps.settings, job.plan, job.title_id
    if deps.parts is None:
        raise ConfigError("PARTS_TABLE is not set: assemble checks every segment's index rows")
    objects, bucket, caps = deps.objects, settings.media_bucket, settings.plan_height_caps

    metas = _chunk_metas(objects, bucket, title_id, [c.index for c in plan.chunks])
    for meta, planned in zip(metas, plan.chunks, strict=True):
        if meta.job_id is not None and meta.job_id != job.job_id:
            raise OutputMismatch(f"chunk {meta.index} was written by run {meta.job_id}, not {job.job_id}")
        if plan.video.exact and meta.frames != planned.frames:
            raise OutputMismatch(f"chunk {meta.index} has {meta.frames} frames, planned {planned.frames}")
    total_frames = sum(m.frames for m in metas)
    tracks = {r.name: _join_tracks(r.name, metas) for r in plan.renditions}
    audio: AudioMeta | None = None
    if job.audio is not None and job.audio.key:
        data = objects.get_json(bucket, job.audio.key)
        if data is None:
            raise OutputMismatch(f"the audio of {title_id} was never completed ({job.audio.key} missing)")
        audio = AudioMeta.model_validate(data)
        tracks[hls.AUDIO_NAME] = audio.track

    prefix = keys.hls_prefix(title_id)
    listed = objects.list_etags(bucket, prefix)
    expected = _check_present(listed, tracks, title_id, caps)

    fps = Fraction(plan.fps)
    variants = [_variant(r, tracks[r.name], audio, fps, caps) for r in plan.renditions]
    playlists: dict[str, str] = {
        keys.rendition_prefix(title_id, name, caps) + hls.MEDIA_PLAYLIST: hls.media_playlist(_segments(track))
        for name, track in tracks.items()}
    tiers = _tiers(title_id, variants, caps)
    audio_dir = hls.rendition_dir(hls.AUDIO_NAME, caps) if audio else None
    audio_codec = audio.track.codec if audio else ""
    channels = audio.channels if audio else 0
    for tier in tiers:
        base = tier.prefix[len(prefix):]
        inside = [v for v in variants if v.name in tier.renditions]
        playlists[tier.master] = hls.master_playlist(inside, base=base, audio_dir=audio_dir,
                                                     audio_codec=audio_codec, audio_channels=channels)
    manifest = keys.manifest_key(title_id)
    # The whole-title master last: a playlist never names an object that is not there yet.
    playlists.pop(manifest, None)
    playlists[manifest] = hls.master_playlist(variants, base="", audio_dir=audio_dir, audio_codec=audio_codec,
                                              audio_channels=channels)
    for key, text in playlists.items():
        objects.put_bytes(bucket, key, text.encode(), hls.content_type(key), cache_control=hls.PLAYLIST_CACHE)

    # An earlier, longer (or differently laid out) upload of this title left these.
    stale = sorted(set(listed) - expected - set(playlists))
    objects.delete_keys(bucket, stale)
    parts_index = deps.parts
    for name, track in tracks.items():
        parts_index.truncate(title_id, name, len(track.segments))

    quality = _quality(metas, [r.name for r in plan.renditions])
    report = {"title_id": title_id, "job_id": job.job_id, "summary": quality,
              "chunks": [{"index": m.index, "frames": m.frames, "encode_s": m.encode_s, "total_s": m.total_s,
                          "bytes": m.bytes, "quality": summarize(m.quality)} for m in metas]}
    objects.put_bytes(bucket, keys.quality_report_key(title_id), json.dumps(report, sort_keys=True).encode(),
                      "application/json")

    summary = [RenditionSummary(name=v.name, width=v.width, height=v.height, bandwidth=v.bandwidth,
                                codecs=v.codecs) for v in variants]
    result = Assembled(
        manifest_path=manifest,
        renditions=summary,
        duration_s=round(float(total_frames / fps), 3),
        playback_tiers=tiers,
        frames=total_frames,
        parts=sum(len(t.segments) for t in tracks.values()),
        has_audio=audio is not None,
        quality=quality,
    )
    previous = deps.titles.record_outputs(title_id, job.job_id, {
        "renditions": [s.model_dump(exclude={"codecs"}) for s in summary],
        "duration_s": result.duration_s,
        "manifest_path": result.manifest_path,
        "playback_tiers": [t.model_dump() for t in tiers],
        "quality": result.quality,
        "has_audio": result.has_audio,
    })
    # Part rows of renditions an earlier upload had and this one does not (a lower-resolution
    # re-upload, or a re-upload without sound).
    earlier = {str(r.get("name")) for r in previous.get("renditions") or [] if isinstance(r, dict)}
    for name in ({*LADDER_NAMES, hls.AUDIO_NAME} | earlier) - set(tracks):
        parts_index.delete_rendition(title_id, name)
    objects.delete_prefix(bucket, keys.work_prefix(title_id))
    log.info("assembled %s: %s segments in %s tracks, %s stale objects removed", title_id, result.parts,
             len(tracks), len(stale))
    return result


def _chunk_metas(objects: ObjectStore, bucket: str, title_id: str, indices: Sequence[int]) -> list[ChunkMeta]:
    with ThreadPoolExecutor(READ_THREADS) as pool:
        return list(pool.map(lambda i: _chunk_meta(objects, bucket, title_id, i), indices))


def _chunk_meta(objects: ObjectStore, bucket: str, title_id: str, index: int) -> ChunkMeta:
    key = keys.chunk_meta_key(title_id, index)
    # One GET per chunk: a missing object comes back as None, so no HEAD beforehand.
    data = objects.get_json(bucket, key)
    if data is None:
        raise OutputMismatch(f"chunk {index} of {title_id} was never completed ({key} missing)")
    return ChunkMeta.model_validate(data)


def _join_tracks(name: str, metas: Sequence[ChunkMeta]) -> TrackSegments:
    """One rendition's segments from every chunk, in order; every chunk must have produced the
    same init segment (it is ONE object that all of them wrote) and consecutive segment numbers."""
    parts = []
    for meta in metas:
        if name not in meta.tracks:
            raise OutputMismatch(f"chunk {meta.index} recorded no segments of {name}")
        parts.append(meta.tracks[name])
    inits = {p.init_md5 for p in parts}
    if len(inits) != 1:
        raise OutputMismatch(f"{name}: chunks produced {len(inits)} different init segments")
    segments = [s for p in parts for s in p.segments]
    if [s.index for s in segments] != list(range(len(segments))):
        raise OutputMismatch(f"{name}: segment numbers are not 0..{len(segments) - 1} in order")
    return TrackSegments(init_md5=parts[0].init_md5, codec=parts[0].codec, segments=segments)


def _check_present(listed: dict[str, str], tracks: dict[str, TrackSegments], title_id: str,
                   caps: Sequence[int]) -> set[str]:
    """Every init segment and segment is stored with the bytes its writer recorded. Returns their
    keys."""
    expected: dict[str, str] = {}
    for name, track in tracks.items():
        expected[keys.init_key(title_id, name, caps)] = track.init_md5
        for seg in track.segments:
            expected[keys.segment_key(title_id, name, caps, seg.index)] = seg.md5
    missing = [k for k in expected if k not in listed]
    wrong = [k for k, md5 in expected.items() if k in listed and listed[k] != md5]
    if missing or wrong:
        raise OutputMismatch(f"{len(missing)} segments missing ({missing[:3]}), {len(wrong)} with other bytes "
                             f"than recorded ({wrong[:3]})")
    return set(expected)


def _segments(track: TrackSegments) -> list[hls.Segment]:
    return [hls.Segment(index=s.index, duration_s=s.duration_s, bytes=s.bytes) for s in track.segments]


def _variant(r: Rendition, track: TrackSegments, audio: AudioMeta | None, fps: Fraction,
             caps: Sequence[int]) -> hls.Variant:
    video = _segments(track)
    peak, average = hls.peak_bandwidth(video), hls.average_bandwidth(video)
    if audio is not None:
        sound = _segments(audio.track)
        peak, average = peak + hls.peak_bandwidth(sound), average + hls.average_bandwidth(sound)
    return hls.Variant(name=r.name, dir=hls.rendition_dir(r.name, caps), width=r.width, height=r.height,
                       codecs=track.codec, bandwidth=peak, average_bandwidth=average, frame_rate=fps)


def _tiers(title_id: str, variants: Sequence[hls.Variant], caps: Sequence[int]) -> list[PlaybackTier]:
    """Contract B: one tier per plan cap (ascending) that holds at least one rendition."""
    tiers: list[PlaybackTier] = []
    for cap in sorted(set(caps)):
        base = hls.tier_path(cap, caps)
        inside = [v.name for v in variants if v.dir.startswith(base)]
        if not inside:
            continue
        prefix = keys.hls_prefix(title_id) + base
        tiers.append(PlaybackTier(max_height=cap, prefix=prefix, master=prefix + hls.MASTER, renditions=inside))
    return tiers


def _quality(metas: Sequence[ChunkMeta], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    totals = {name: QualitySums() for name in names}
    for meta in metas:
        for name, sums in meta.quality.items():
            if name in totals:
                totals[name] = totals[name].add(sums)
    return summarize(totals)

