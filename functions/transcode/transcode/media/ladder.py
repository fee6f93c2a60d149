"""The bitrate ladder, derived from the source and never upscaling.

Each rung is a bounding box (long side x short side), so orientation does not matter: a portrait
1080x1920 phone video gets a 1080x1920 "1080p" rung, a 2.39:1 film at 1920x804 gets a 1920x804
"1080p" rung (by width, as viewers expect), and an anamorphic DVD (720x576, SAR 16:15) is first
turned into its 768x576 display size. Outputs have square pixels and even dimensions (4:2:0 chroma
needs even sizes). Rate control is capped CRF: constant quality, with a VBV cap so the HLS
BANDWIDTH a player budgets for is honoured; it needs no global state, so a chunk encodes exactly
as it would inside a single pass.
"""

from __future__ import annotations

import math
from fractions import Fraction

from pydantic.dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    name: str
    long_side: int
    short_side: int
    maxrate_kbps: int
    profile: str


LADDER: tuple[Rung, ...] = (
    Rung("1080p", 1920, 1080, 6000, "high"),
    Rung("720p", 1280, 720, 3500, "high"),
    Rung("480p", 854, 480, 1400, "main"),
    Rung("240p", 426, 240, 400, "main"),
)
LADDER_NAMES = tuple(r.name for r in LADDER)

CRF = 21
# A source this many times larger (in pixels) than the best standard rung that fits also gets a
# native-resolution top rung, so 1600x900 is not capped at 720p.
NATIVE_RUNG_PIXEL_RATIO = 1.5
REFERENCE_PIXELS = 1920 * 1080
# Extreme aspect ratios (a 3840x97 banner) would give rungs a few pixels high: not worth encoding.
MIN_RUNG_SHORT_SIDE = 64


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    maxrate_kbps: int
    bufsize_kbps: int
    crf: int
    profile: str


def even_floor(x: float) -> int:
    return max(2, int(math.floor(x + 1e-9)) // 2 * 2)


def even_round(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


def display_size(width: int, height: int, sar: Fraction = Fraction(1),
                 rotation: int = 0) -> tuple[float, float]:
    """The size a player shows: storage width stretched by the sample aspect ratio, then rotated."""
    w, h = width * float(sar), float(height)
    return (h, w) if rotation % 180 == 90 else (w, h)


def build_ladder(display_w: float, display_h: float, fps: Fraction | float = 30) -> list[Rendition]:
    if display_w <= 0 or display_h <= 0:
        raise ValueError("display size must be positive")
    portrait = display_h > display_w
    long_src, short_src = max(display_w, display_h), min(display_w, display_h)
    max_long, max_short = even_floor(long_src), even_floor(short_src)
    fps_factor = max(1.0, math.sqrt(float(fps) / 30.0))  # 50/60 fps needs more bits per second

    rungs: list[Rendition] = []
    for rung in LADDER:
        scale = min(rung.long_side / long_src, rung.short_side / short_src)
        if scale > 1.0 + 1e-9:
            continue  # the source is smaller than this box: that would be upscaling
        out_long = min(even_round(long_src * scale), max_long)
        out_short = min(even_round(short_src * scale), max_short)
        if out_short < MIN_RUNG_SHORT_SIDE:
            continue
        rungs.append(_rendition(rung.name, out_long, out_short, portrait,
                                round(rung.maxrate_kbps * fps_factor), rung.profile))

    native_pixels = max_long * max_short
    best = rungs[0].width * rungs[0].height if rungs else 0
    if not rungs or native_pixels >= NATIVE_RUNG_PIXEL_RATIO * best:
        name = f"{max_short}p"
        if all(r.name != name for r in rungs):
            rate = round(6000 * (native_pixels / REFERENCE_PIXELS) ** 0.75 * fps_factor)
            rungs.insert(0, _rendition(name, max_long, max_short, portrait, max(rate, 200), "high"))
    return rungs


def _rendition(name: str, long_side: int, short_side: int, portrait: bool, maxrate: int,
               profile: str) -> Rendition:
    w, h = (short_side, long_side) if portrait else (long_side, short_side)
    return Rendition(name=name, width=w, height=h, maxrate_kbps=maxrate, bufsize_kbps=2 * maxrate,
                     crf=CRF, profile=profile)
