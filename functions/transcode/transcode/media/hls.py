"""HLS playlists and the plan-tier layout of a title's renditions (contract B, docs/architecture.md).

Renditions are nested by plan height cap so that ONE wildcard grant per plan covers exactly what the
plan may play: with caps 720 < 1080 < 2160, a rendition of nominal height h lives under
`cap2160/` (1080 < h <= 2160), `cap2160/cap1080/` (720 < h <= 1080), `cap2160/cap1080/cap720/`
(h <= 720, and the audio), or directly under `hls/` (h above every cap). Each tier directory has a
master playlist listing the renditions inside it; `hls/master.m3u8` lists all of them.

Playlists are text built from segment metadata the encode steps recorded: no media is read here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

MASTER = "master.m3u8"
MEDIA_PLAYLIST = "index.m3u8"
INIT = "init.mp4"
AUDIO_NAME = "audio"
AUDIO_GROUP = "aud"
HLS_VERSION = 7  # fMP4 segments (EXT-X-MAP) need version 6+; 7 for the VOD CMAF profile

# Segments and init segments never change once written (deterministic names, same bytes on every
# run); playlists may (a re-upload of a failed title), so the CDN keeps them briefly.
SEGMENT_CACHE = "public, max-age=31536000, immutable"
PLAYLIST_CACHE = "public, max-age=60"

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".json": "application/json",
}


def segment_name(index: int) -> str:
    """Title-wide segment number: the same name for the same segment on every run and retry."""
    return f"seg_{index:05d}.m4s"


def nominal_height(rendition: str) -> int:
    """"720p" -> 720 (the number in the rendition's name, as the plans name resolutions)."""
    m = re.fullmatch(r"(\d+)p", rendition)
    if not m:
        raise ValueError(f"not a rendition name like '720p': {rendition!r}")
    return int(m.group(1))


def tier_path(height: int, caps: Sequence[int]) -> str:
    """The directory (relative to hls/, '' or ending in '/') of a rendition of nominal `height`."""
    path = ""
    for cap in sorted(set(caps), reverse=True):
        if height <= cap:
            path += f"cap{cap}/"
    return path


def innermost_tier(caps: Sequence[int]) -> str:
    """Where the audio lives: inside every tier."""
    return "".join(f"cap{c}/" for c in sorted(set(caps), reverse=True))


def rendition_dir(name: str, caps: Sequence[int]) -> str:
    """`<tier path><name>/` relative to hls/."""
    if name == AUDIO_NAME:
        return f"{innermost_tier(caps)}{AUDIO_NAME}/"
    return f"{tier_path(nominal_height(name), caps)}{name}/"


@dataclass(frozen=True)
class Segment:
    index: int
    duration_s: float
    bytes: int


@dataclass(frozen=True)
class Variant:
    """One video rendition as a master playlist lists it."""

    name: str
    dir: str  # relative to hls/, e.g. "cap2160/cap1080/720p/"
    width: int
    height: int
    codecs: str
    bandwidth: int  # peak segment bit rate (bits/s), audio included
    average_bandwidth: int
    frame_rate: Fraction


def media_playlist(segments: Sequence[Segment]) -> str:
    """A VOD media playlist: init segment map, every segment, ENDLIST. Durations are exact (from the
    fragments' sample durations), so their sum is the track's duration."""
    # "Rounded to the nearest integer" as the HLS spec means it (2.5 -> 3), not Python's banker's
    # rounding (round(2.5) == 2, which would make a 2.5 s segment exceed the target duration).
    target = max(1, max((math.floor(s.duration_s + 0.5) for s in segments), default=1))
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", f"#EXT-X-TARGETDURATION:{target}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS",
             f'#EXT-X-MAP:URI="{INIT}"']
    for seg in segments:
        lines += [f"#EXTINF:{seg.duration_s:.6f},", segment_name(seg.index)]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def peak_bandwidth(segments: Sequence[Segment]) -> int:
    return max((math.ceil(s.bytes * 8 / s.duration_s) for s in segments if s.duration_s > 0), default=0)


def average_bandwidth(segments: Sequence[Segment]) -> int:
    seconds = sum(s.duration_s for s in segments)
    return math.ceil(sum(s.bytes for s in segments) * 8 / seconds) if seconds > 0 else 0


def master_playlist(variants: Sequence[Variant], *, base: str, audio_dir: str | None, audio_codec: str = "",
                    audio_channels: int = 2) -> str:
    """A master playlist in directory `base` (relative to hls/), listing `variants` by URIs relative
    to it, highest first, with the audio group when the title has audio."""
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio_dir is not None:
        uri = _relative(audio_dir, base) + MEDIA_PLAYLIST
        lines.append(f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="{AUDIO_NAME}",DEFAULT=YES,'
                     f'AUTOSELECT=YES,CHANNELS="{audio_channels}",URI="{uri}"')
    for v in sorted(variants, key=lambda v: (v.bandwidth, v.height), reverse=True):
        codecs = f"{v.codecs},{audio_codec}" if audio_dir is not None and audio_codec else v.codecs
        attrs = [f"BANDWIDTH={v.bandwidth}", f"AVERAGE-BANDWIDTH={v.average_bandwidth}",
                 f"RESOLUTION={v.width}x{v.height}", f"FRAME-RATE={float(v.frame_rate):.3f}",
                 f'CODECS="{codecs}"']
        if audio_dir is not None:
            attrs.append(f'AUDIO="{AUDIO_GROUP}"')
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), _relative(v.dir, base) + MEDIA_PLAYLIST]
    return "\n".join(lines) + "\n"


def _relative(path: str, base: str) -> str:
    if not path.startswith(base):
        raise ValueError(f"{path!r} is not inside {base!r}")
    return path[len(base):]


def content_type(name: str) -> str:
    suffix = name[name.rfind("."):] if "." in name else ""
    return CONTENT_TYPES.get(suffix, "application/octet-stream")
