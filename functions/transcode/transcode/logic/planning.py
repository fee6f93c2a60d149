"""Plan step: the ladder and the chunk list (pure computation on the probe result)."""

from __future__ import annotations

from fractions import Fraction

from transcode.media.chunks import plan_chunks
from transcode.media.encode import VideoParams
from transcode.media.ladder import build_ladder
from transcode.media.probe import MediaInfo
from transcode.media.quality import sample_every
from transcode.models.settings import Settings
from transcode.models.steps import Plan

MAX_OUTPUT_FPS = 60


def output_fps(fps: Fraction) -> Fraction:
    """Keep the source rate; halve 100/120 fps sources (players and the ladder stop at 60)."""
    while fps > MAX_OUTPUT_FPS:
        fps /= 2
    return fps


def make_plan(info: MediaInfo, settings: Settings) -> Plan:
    fps = output_fps(info.fps)
    exact = info.cfr and fps == info.fps
    # CFR: the output has exactly the source's frames. Otherwise the fps filter resamples onto
    # the grid and the count follows from the duration.
    total = info.frames if exact else max(1, round(info.duration_s * fps))
    video = VideoParams(fps_num=fps.numerator, fps_den=fps.denominator, video_start_s=info.video_start_s,
                        segment_seconds=settings.segment_seconds, deinterlace=info.interlaced,
                        exact=exact, preset=settings.x264_preset)
    renditions = build_ladder(*info.display_size, fps)
    chunks = plan_chunks(total, fps, settings.chunk_seconds, settings.segment_seconds)
    return Plan(
        fps=f"{fps.numerator}/{fps.denominator}",
        total_frames=total,
        duration_s=round(float(total / fps), 6),
        chunk_seconds=settings.chunk_seconds,
        segment_seconds=settings.segment_seconds,
        quality_every=sample_every(float(fps)),
        video=video,
        renditions=renditions,
        chunks=chunks,
    )
