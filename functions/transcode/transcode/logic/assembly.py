"""Assemble step: join chunks, package HLS once, upload, record the part index and the title.

Order matters for re-runs and retries: upload (segments, then playlists, master last), delete
objects of an earlier, longer upload, write the parts, record the title, and only then delete
the chunks under work/ (a retry before that point still finds them).
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import Any

from transcode.logic import keys
from transcode.logic.ports import Dependencies, ObjectStore
from transcode.logic.scratch import scratch_dir
from transcode.media import package
from transcode.media.ladder import LADDER_NAMES
from transcode.media.quality import QualitySums, summarize
from transcode.models.errors import ConfigError, OutputMismatch
from transcode.models.steps import Assembled, AssembleInput, ChunkMeta, RenditionSummary

log = logging.getLogger(__name__)

PLAYLIST_CACHE = "public, max-age=60"
SEGMENT_CACHE = "public, max-age=86400"


def assemble(job: AssembleInput, deps: Dependencies) -> Assembled:
    settings, plan, title_id = deps.settings, job.plan, job.title_id
    if deps.parts is None:
        raise ConfigError("PARTS_TABLE is not set: assemble indexes every segment")
    objects, parts_index, bucket = deps.objects, deps.parts, settings.media_bucket
    names = [r.name for r in plan.renditions]
    indices = [c.index for c in plan.chunks]
    audio_key = job.audio.key if job.audio else None

    metas = [_chunk_meta(objects, bucket, title_id, i) for i in indices]
    for meta, planned in zip(metas, plan.chunks, strict=True):
        if plan.video.exact and meta.frames != planned.frames:
            raise OutputMismatch(f"chunk {meta.index} has {meta.frames} frames, planned {planned.frames}")
    total_frames = sum(m.frames for m in metas)

    with scratch_dir("assemble") as workdir:
        joined = [(r.name, _join(objects, bucket, title_id, r.name, indices, workdir, total_frames))
                  for r in plan.renditions]
        audio = objects.download_file(bucket, audio_key, workdir / "audio.mp4") if audio_key else None
        hls_dir = workdir / "hls"
        master = package.package_hls(joined, audio, hls_dir, segment_seconds=plan.segment_seconds)
        for _name, path in joined:
            path.unlink(missing_ok=True)

        prefix = keys.hls_prefix(title_id)
        uploaded = _upload_tree(objects, hls_dir, bucket, prefix, master)
        # Segments of an earlier, longer upload of this title would otherwise linger.
        objects.delete_keys(bucket, sorted(set(objects.list_keys(bucket, prefix)) - set(uploaded)))
        variants = {v.uri.split("/", 1)[0]: v for v in package.parse_master(master.read_text())}
        current = [*names, package.AUDIO_NAME] if audio is not None else list(names)
        parts_count = sum(parts_index.replace(title_id, name, _part_rows(title_id, hls_dir, prefix, name))
                          for name in current)

    summary = [RenditionSummary(name=r.name, width=r.width, height=r.height,
                                bandwidth=variants[r.name].bandwidth if r.name in variants else 0,
                                codecs=variants[r.name].codecs if r.name in variants else "")
               for r in plan.renditions]
    result = Assembled(
        manifest_path=keys.manifest_key(title_id),
        renditions=summary,
        duration_s=round(float(total_frames / Fraction(plan.fps)), 3),
        frames=total_frames,
        parts=parts_count,
        has_audio=audio is not None,
        quality=_quality(metas, names),
    )
    previous = deps.titles.record_outputs(title_id, job.job_id, {
        "renditions": [s.model_dump(exclude={"codecs"}) for s in summary],
        "duration_s": result.duration_s,
        "manifest_path": result.manifest_path,
        "quality": result.quality,
        "has_audio": result.has_audio,
    })
    # Renditions an earlier upload had and this one does not (e.g. a lower-resolution re-upload).
    earlier = {str(r.get("name")) for r in previous.get("renditions") or [] if isinstance(r, dict)}
    for name in ({*LADDER_NAMES, package.AUDIO_NAME} | earlier) - set(current):
        parts_index.delete_rendition(title_id, name)
    objects.delete_prefix(bucket, keys.work_prefix(title_id))
    return result


def _chunk_meta(objects: ObjectStore, bucket: str, title_id: str, index: int) -> ChunkMeta:
    key = keys.chunk_meta_key(title_id, index)
    # One GET per chunk: a missing object comes back as None, so no HEAD beforehand.
    data = objects.get_json(bucket, key)
    if data is None:
        raise OutputMismatch(f"chunk {index} of {title_id} was never completed ({key} missing)")
    return ChunkMeta.model_validate(data)


def _join(objects: ObjectStore, bucket: str, title_id: str, name: str, indices: list[int], workdir: Path,
          frames: int) -> Path:
    parts = [objects.download_file(bucket, keys.chunk_key(title_id, name, i),
                                   workdir / "chunks" / name / f"{i:05d}.mp4") for i in indices]
    out = package.concat(parts, workdir / f"{name}.mp4", expected_frames=frames)
    for p in parts:  # keep /tmp at about one copy of the title
        p.unlink()
    return out


def _upload_tree(objects: ObjectStore, root: Path, bucket: str, prefix: str, master: Path) -> list[str]:
    """Everything under root; media playlists after their segments, the master last, so a
    playlist never references an object that is not there yet."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    order = sorted(files, key=lambda p: (p == master, p.suffix == ".m3u8", str(p)))
    keys: list[str] = []
    for path in order:
        key = prefix + path.relative_to(root).as_posix()
        cache = PLAYLIST_CACHE if path.suffix == ".m3u8" else SEGMENT_CACHE
        objects.upload_file(path, bucket, key, package.content_type(path), cache_control=cache)
        keys.append(key)
    return keys


def _part_rows(title_id: str, hls_dir: Path, prefix: str, name: str) -> list[dict[str, Any]]:
    init, segments = package.parse_media((hls_dir / name / package.MEDIA_PLAYLIST).read_text())
    return [{"title_id": title_id, "rendition": name, "s3_key": f"{prefix}{name}/{seg.uri}",
             "duration_s": seg.duration_s, "bytes": (hls_dir / name / seg.uri).stat().st_size,
             "init_key": f"{prefix}{name}/{init}" if init else None}
            for seg in segments]


def _quality(metas: list[ChunkMeta], names: list[str]) -> dict[str, dict[str, Any]]:
    totals = {name: QualitySums() for name in names}
    for meta in metas:
        for name, sums in meta.quality.items():
            if name in totals:
                totals[name] = totals[name].add(sums)
    return summarize(totals)
