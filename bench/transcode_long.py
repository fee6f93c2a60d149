"""Long-title mode of `python -m bench.transcode --long 600,1800,7200`: the shipped steps end to end
on generated sources of those lengths (small picture), with the assemble step measured alone.

The steps' logic runs as in Lambda (`encode_title_chunk`, `encode_title_audio`, `assemble`, with the
plan from `make_plan` and the probe from `probe.probe`), against local adapters: the media bucket
is a directory (each object's MD5 kept beside it, as S3 lists ETags), the title item, part index
and bus are in memory. Chunks run one after another (timed each, as if each ran in its own
Lambda); the audio step runs beside them, as the workflow's Parallel state does.

Assemble runs in a fresh interpreter (spawn), so its figures are its own: wall time, peak RSS
(VmHWM of that process), peak bytes under its TMPDIR (sampled every 10 ms) and bytes it read
from the bucket. In the issue-11 design all four depend on the number of segments only.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "functions" / "transcode") not in sys.path:
    sys.path.insert(0, str(REPO / "functions" / "transcode"))

from pydantic import BaseModel  # noqa: E402
from transcode.logic.ports import Dependencies, EventBus, ObjectStore, PartIndex, TitleStore  # noqa: E402
from transcode.models.domain import ObjectHead  # noqa: E402
from transcode.models.settings import Settings  # noqa: E402

WIDTH, HEIGHT, RATE = 128, 72, "12"  # the smallest picture the ladder keeps (a native "72p" rung)


class DirectoryStore(ObjectStore):
    """The media bucket as a directory; the ingest bucket is the source file itself."""

    def __init__(self, root: Path, source: Path) -> None:
        self.root, self.source = root, source
        self.bytes_read = 0

    def _path(self, key: str) -> Path:
        return self.root / key

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        return ObjectHead(size=self.source.stat().st_size, etag="source")

    def read_range(self, bucket: str, key: str, length: int) -> bytes:
        with self.source.open("rb") as f:
            return f.read(length)

    def presigned_url(self, bucket: str, key: str) -> str:
        return str(self.source)

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str,
                  cache_control: str | None = None) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.with_name(path.name + ".etag").write_text(hashlib.md5(data).hexdigest())  # noqa: S324

    def list_etags(self, bucket: str, prefix: str) -> dict[str, str]:
        out: dict[str, str] = {}
        base = self._path(prefix.rsplit("/", 1)[0])
        for etag in base.rglob("*.etag") if base.exists() else []:
            key = str(etag.relative_to(self.root))[: -len(".etag")]
            if key.startswith(prefix):
                out[key] = etag.read_text()
        return out

    def put_json(self, bucket: str, key: str, data: Any) -> None:
        import json

        self.put_bytes(bucket, key, json.dumps(data, sort_keys=True).encode(), "application/json")

    def get_json(self, bucket: str, key: str) -> Any | None:
        import json

        path = self._path(key)
        if not path.exists():
            return None
        raw = path.read_bytes()
        self.bytes_read += len(raw)
        return json.loads(raw)

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        return sorted(self.list_etags(bucket, prefix))

    def delete_keys(self, bucket: str, keys: Sequence[str]) -> int:
        for key in keys:
            self._path(key).unlink(missing_ok=True)
            self._path(key + ".etag").unlink(missing_ok=True)
        return len(keys)

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        return self.delete_keys(bucket, self.list_keys(bucket, prefix))


class MemoryTitles(TitleStore):
    def __init__(self) -> None:
        self.item: dict[str, Any] = {"status": "TRANSCODING", "transcode_job_id": "job", "version": 2}

    def claim(self, title_id: str, job_id: str, source_etag: str | None) -> str | None:
        return None

    def ownership(self, title_id: str) -> tuple[str | None, str | None]:
        return "TRANSCODING", "job"

    def record_outputs(self, title_id: str, job_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        previous = {k: self.item.get(k) for k in attrs}
        self.item.update(attrs)
        return previous

    def mark_ready(self, title_id: str, job_id: str) -> dict[str, Any]:
        self.item["status"] = "READY"
        return self.item

    def mark_failed(self, title_id: str, job_id: str | None, reason: str) -> int | None:
        return None


class MemoryParts(PartIndex):
    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], Mapping[str, Any]] = {}

    def put(self, title_id: str, rendition: str, parts: Sequence[Mapping[str, Any]]) -> int:
        self.rows.update({(rendition, int(p["part_num"])): p for p in parts})
        return len(parts)

    def delete(self, title_id: str, rendition: str, numbers: Sequence[int]) -> int:
        for n in numbers:
            self.rows.pop((rendition, n), None)
        return len(numbers)

    def truncate(self, title_id: str, rendition: str, count: int) -> int:
        return self.delete(title_id, rendition, [n for r, n in list(self.rows) if r == rendition and n >= count])

    def delete_rendition(self, title_id: str, rendition: str) -> int:
        return self.delete(title_id, rendition, [n for r, n in list(self.rows) if r == rendition])


class NullBus(EventBus):
    def publish(self, detail_type: str, detail: BaseModel) -> str:
        return "event"


def settings(preset: str) -> Settings:
    return Settings(ingest_bucket="ingest", media_bucket="media", catalog_table="-", parts_table="-",
                    event_bus_name="-", chunk_seconds=60, segment_seconds=2, x264_preset=preset,
                    max_duration_s=6 * 3600)


def dependencies(root: Path, source: Path, preset: str) -> Dependencies:
    return Dependencies(settings=settings(preset), objects=DirectoryStore(root, source), titles=MemoryTitles(),
                        parts=MemoryParts(), bus=NullBus())


def make_long_source(path: Path, seconds: int) -> Path:
    """testsrc2 at 128x72, 12 fps, with a mono 8 kHz PCM pink-noise soundtrack (cheap to generate;
    the audio step still encodes a full 48 kHz stereo AAC track from it)."""
    if path.exists():
        return path
    from transcode.media import ffmpeg

    tmp = path.with_suffix(".tmp.mkv")
    subprocess.run([ffmpeg.ffmpeg_exe(), "-nostdin", "-v", "error",
                    "-f", "lavfi", "-i", f"testsrc2=size={WIDTH}x{HEIGHT}:rate={RATE}:duration={seconds}",
                    "-f", "lavfi", "-i", f"anoisesrc=color=pink:sample_rate=8000:amplitude=0.3:duration={seconds}",
                    "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "120",
                    "-c:a", "pcm_s16le", "-y", str(tmp)], check=True)
    tmp.replace(path)
    return path


def _assemble_child(root: str, source: str, preset: str, job: dict[str, Any], tmpdir: str,
                    out: Any) -> None:
    """In a fresh interpreter: the assemble step alone, with TMPDIR pointed at `tmpdir`."""
    os.environ["TMPDIR"] = tmpdir
    tempfile.tempdir = tmpdir
    from transcode.logic.assembly import assemble
    from transcode.models.steps import AssembleInput

    deps = dependencies(Path(root), Path(source), preset)
    started = time.perf_counter()
    result = assemble(AssembleInput.model_validate(job), deps)
    wall = time.perf_counter() - started
    out.send({"wall_s": wall, "peak_rss_kib": _vm_hwm_kib(),
              "bytes_read": deps.objects.bytes_read,  # type: ignore[attr-defined]
              "segments": result.parts, "frames": result.frames})


def _vm_hwm_kib() -> int:
    """This process's peak RSS. Not ru_maxrss: Linux carries that across fork+exec, so a spawned
    child would report its parent's peak (the bench's, which grows with the source)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure_assemble(root: Path, source: Path, preset: str, job: dict[str, Any], work: Path) -> dict[str, Any]:
    tmpdir = work / "assemble-tmp"
    shutil.rmtree(tmpdir, ignore_errors=True)
    tmpdir.mkdir(parents=True)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _dir_bytes(tmpdir))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_assemble_child, args=(str(root), str(source), preset, job, str(tmpdir), send))
    sampler.start()
    child.start()
    figures = recv.recv()
    child.join()
    stop.set()
    sampler.join()
    figures["peak_tmp_bytes"] = peak[0]
    return dict(figures)


def run_length(seconds: int, out_dir: Path, preset: str) -> dict[str, Any]:
    from transcode.logic.encoding import encode_title_audio, encode_title_chunk
    from transcode.logic.planning import make_plan
    from transcode.media import probe
    from transcode.models.steps import EncodeAudioInput, EncodeChunkInput, SourceObject

    source = make_long_source(out_dir / f"long-{seconds}s-{HEIGHT}p.mkv", seconds)
    work = out_dir / f"long-{seconds}"
    shutil.rmtree(work, ignore_errors=True)
    root = work / "bucket"
    root.mkdir(parents=True)
    deps = dependencies(root, source, preset)
    with source.open("rb") as f:
        info = probe.probe(str(source), first_bytes=f.read(512))
    plan = make_plan(info, deps.settings)
    src = SourceObject(bucket="ingest", key="uploads/t/source", size=source.stat().st_size, etag="source")
    audio_result: dict[str, Any] = {}

    def audio() -> None:
        started = time.perf_counter()
        track = encode_title_audio(EncodeAudioInput(title_id="t", job_id="job", source=src, media=info,
                                                    duration_s=plan.duration_s,
                                                    segment_seconds=plan.segment_seconds), deps, None)
        audio_result.update(track=track, wall_s=time.perf_counter() - started)

    audio_thread = threading.Thread(target=audio)
    audio_thread.start()
    chunk_walls: list[float] = []
    for chunk in plan.chunks:
        started = time.perf_counter()
        encode_title_chunk(EncodeChunkInput(title_id="t", job_id="job", source=src, video=plan.video,
                                            renditions=plan.renditions, chunk=chunk,
                                            quality_every=plan.quality_every), deps, None)
        chunk_walls.append(time.perf_counter() - started)
    audio_thread.join()
    job = {"title_id": "t", "job_id": "job", "plan": plan.model_dump(mode="json"),
           "audio": audio_result["track"].model_dump(mode="json")}
    media_bytes = _dir_bytes(root / "titles")
    figures = measure_assemble(root, source, preset, job, work)
    shutil.rmtree(work, ignore_errors=True)
    return {
        "seconds": seconds,
        "chunks": len(plan.chunks),
        "frames": figures["frames"],
        "segments": figures["segments"],
        "media_bytes": media_bytes,
        "chunk_wall_s_mean": round(sum(chunk_walls) / len(chunk_walls), 2),
        "chunk_wall_s_max": round(max(chunk_walls), 2),
        "audio_wall_s": round(audio_result["wall_s"], 2),
        "assemble_wall_s": round(figures["wall_s"], 3),
        "assemble_peak_rss_mib": round(figures["peak_rss_kib"] / 1024, 1),
        "assemble_peak_tmp_bytes": figures["peak_tmp_bytes"],
        "assemble_bytes_read": figures["bytes_read"],
    }
