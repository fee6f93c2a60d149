"""PSNR/SSIM of renditions against the source, on sampled frames.

The reference is the source on the same frame grid, scaled to the rendition's size: the numbers
measure what the encoder lost at that rung, not the (intended) loss of downscaling. Sums, not
averages, are returned so per-chunk measurements add up to exactly the per-title number
(PSNR = 10*log10(255^2 / mean MSE), the same definition as ffmpeg's "average:").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic.dataclasses import dataclass

from transcode.media import ffmpeg
from transcode.media.chunks import sample_offset, sample_select, seek_seconds
from transcode.media.encode import VideoParams, scale_chain, source_chain
from transcode.media.ladder import Rendition

PSNR_CAP_DB = 100.0  # identical frames have infinite PSNR; JSON and DynamoDB need a number


@dataclass
class QualitySums:
    frames: int = 0
    mse_sum: float = 0.0
    ssim_sum: float = 0.0
    psnr_min_db: float = PSNR_CAP_DB

    def add(self, other: QualitySums) -> QualitySums:
        return QualitySums(self.frames + other.frames, self.mse_sum + other.mse_sum,
                           self.ssim_sum + other.ssim_sum, min(self.psnr_min_db, other.psnr_min_db))

    @property
    def psnr_db(self) -> float:
        if not self.frames:
            return 0.0
        mse = self.mse_sum / self.frames
        return PSNR_CAP_DB if mse <= 0 else min(PSNR_CAP_DB, 10 * math.log10(255.0**2 / mse))

    @property
    def ssim(self) -> float:
        return self.ssim_sum / self.frames if self.frames else 0.0

    def summary(self) -> dict[str, Any]:
        return {"psnr_db": round(self.psnr_db, 2), "ssim": round(self.ssim, 5),
                "psnr_min_db": round(self.psnr_min_db, 2), "frames_sampled": self.frames}


def sample_every(fps_value: float, per_second: float = 2.0) -> int:
    return max(1, round(fps_value / per_second))



def _compare_outputs(
    graph: list[str], outputs: Sequence[tuple[Rendition, Path]], frames: int, select: str, workdir: Path
) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Append, per output i (ffmpeg input i + 1), the filters comparing it with reference branch
    [r{i}] (scaled to the rendition): PSNR and SSIM stats files. Returns (stats files, -map args)."""
    stats: list[tuple[Path, Path]] = []
    maps: list[str] = []
    for i, (r, _path) in enumerate(outputs):
        p_log, s_log = workdir / f"psnr_{i}.log", workdir / f"ssim_{i}.log"
        stats.append((p_log, s_log))
        graph.append(f"[r{i}]{scale_chain(r)},split[ra{i}][rb{i}]")
        graph.append(f"[{i + 1}:v:0]trim=end_frame={frames},{select},setsar=1,format=yuv420p,"
                     f"split[da{i}][db{i}]")
        graph.append(f"[da{i}][ra{i}]psnr=stats_file={p_log}:shortest=1[qa{i}]")
        graph.append(f"[db{i}][rb{i}]ssim=stats_file={s_log}:shortest=1[qb{i}]")
        maps += ["-map", f"[qa{i}]", "-f", "null", "-", "-map", f"[qb{i}]", "-f", "null", "-"]
    return stats, maps

def measure(
    source: str,
    outputs: Sequence[tuple[Rendition, Path]],
    *,
    video: VideoParams,
    start_frame: int,
    frames: int,
    every: int,
    workdir: Path,
    timeout: float | None = None,
) -> dict[str, QualitySums]:
    """Compare `frames` output frames (source frames start_frame..) of each rendition with the source.

    Frames whose title-wide index is a multiple of `every` are compared, so chunked and single-pass
    measurements sample the same frames.
    """
    n = len(outputs)
    select = sample_select(start_frame, every)
    ref = f"[0:v:0]{source_chain(video)},trim=end_frame={frames},{select}"
    graph = [f"{ref},split={n}" + "".join(f"[r{i}]" for i in range(n)) if n > 1 else f"{ref}[r0]"]
    stats, maps = _compare_outputs(graph, outputs, frames, select, workdir)
    args: list[str] = ["-v", "error"]
    seek = seek_seconds(start_frame, video.fps, video.video_start_s)
    if seek is not None:
        args += ["-ss", f"{seek:.6f}"]
    args += ffmpeg.input_args(source)
    for _r, path in outputs:
        args += ["-i", str(path)]
    args += ["-filter_complex", ";".join(graph), *maps]
    ffmpeg.run(args, what="quality", timeout=timeout)

    result: dict[str, QualitySums] = {}
    for (r, _path), (p_log, s_log) in zip(outputs, stats, strict=True):
        result[r.name] = _read_stats(p_log, s_log)
    return result


def measure_reference(
    reference: Path,
    outputs: Sequence[tuple[Rendition, Path]],
    *,
    start_frame: int,
    frames: int,
    every: int,
    workdir: Path,
    timeout: float | None = None,
) -> dict[str, QualitySums]:
    """Like `measure`, against the sampled source frames `encode_chunk(reference=...)` wrote.

    The reference holds only the sampled frames, in order; they get back the timestamps they had
    in the chunk (frame offset + N*every), so the comparison filters pair them with the same
    frames selected from each output exactly as in `measure`.
    """
    n = len(outputs)
    select = sample_select(start_frame, every)
    offset = sample_offset(start_frame, max(every, 1))
    ref = f"[0:v:0]setpts=({offset}+N*{max(every, 1)})/FRAME_RATE/TB"
    graph = [f"{ref},split={n}" + "".join(f"[r{i}]" for i in range(n)) if n > 1 else f"{ref}[r0]"]
    stats, maps = _compare_outputs(graph, outputs, frames, select, workdir)
    args: list[str] = ["-v", "error", "-i", str(reference)]
    for _r, path in outputs:
        args += ["-i", str(path)]
    args += ["-filter_complex", ";".join(graph), *maps]
    ffmpeg.run(args, what="quality", timeout=timeout)
    pairs = zip(outputs, stats, strict=True)
    return {r.name: _read_stats(p_log, s_log) for (r, _path), (p_log, s_log) in pairs}


def _read_stats(psnr_log: Path, ssim_log: Path) -> QualitySums:
    mses = [float(m) for m in re.findall(r"mse_avg:([\d.]+)", psnr_log.read_text())]
    ssims = [float(m) for m in re.findall(r"All:([\d.]+)", ssim_log.read_text())]
    count = min(len(mses), len(ssims))
    mses, ssims = mses[:count], ssims[:count]
    worst = max(mses, default=0.0)
    psnr_min = PSNR_CAP_DB if worst <= 0 else min(PSNR_CAP_DB, 10 * math.log10(255.0**2 / worst))
    return QualitySums(frames=count, mse_sum=sum(mses), ssim_sum=sum(ssims), psnr_min_db=psnr_min)


def summarize(sums: Mapping[str, QualitySums]) -> dict[str, dict[str, Any]]:
    return {name: s.summary() for name, s in sums.items()}
