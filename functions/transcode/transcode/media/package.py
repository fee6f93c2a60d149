"""Joining chunks and packaging HLS (fMP4), in one pass for every rendition and the audio.

Chunks are joined per rendition with the concat demuxer and `-c copy` (no re-encode, so no
generation loss and no seams); ONE hlsenc run then cuts every rendition at the same IDR frames
(they sit on the segment grid by construction) and writes the master playlist with CODECS,
RESOLUTION, BANDWIDTH (measured peak of the real segments) and the audio group. Packaging the
chunks separately would need EXT-X-DISCONTINUITY between them: it is never done here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from transcode.media import ffmpeg
from transcode.models.errors import OutputMismatch

MASTER = "master.m3u8"
MEDIA_PLAYLIST = "index.m3u8"
AUDIO_NAME = "audio"

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
}


def concat(parts: Sequence[Path], out: Path, *, expected_frames: int | None = None) -> Path:
    """Stream-copy join; timestamps continue across files (each file's duration offsets the next)."""
    if not parts:
        raise OutputMismatch(f"no chunks to join for {out.name}")
    listing = out.with_suffix(".txt")
    # The concat demuxer's list syntax: single quotes escaped as '\'' .
    listing.write_text("".join("file '{}'\n".format(str(p).replace("'", "'\\''")) for p in parts))
    ffmpeg.run(["-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v:0",
                "-c", "copy", "-y", str(out)], what=f"concat {out.name}")
    listing.unlink(missing_ok=True)
    if expected_frames is not None:
        got = ffmpeg.frame_count(out)
        if got != expected_frames:
            raise OutputMismatch(f"{out.name}: {got} frames after joining, expected {expected_frames}")
    return out


def package_hls(
    videos: Sequence[tuple[str, Path]],
    audio: Path | None,
    out_dir: Path,
    *,
    segment_seconds: int,
) -> Path:
    """Write `out_dir/master.m3u8` and `out_dir/{name}/index.m3u8 + init_N.mp4 + seg_NNNNN.m4s`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    args: list[str] = ["-v", "error"]
    for _name, path in videos:
        args += ["-i", str(path)]
    if audio is not None:
        args += ["-i", str(audio)]
    for i in range(len(videos)):
        args += ["-map", f"{i}:v:0"]
    agroup = ",agroup:aud" if audio is not None else ""
    var_map = [f"v:{i}{agroup},name:{name}" for i, (name, _p) in enumerate(videos)]
    if audio is not None:
        args += ["-map", f"{len(videos)}:a:0"]
        var_map.append(f"a:0,agroup:aud,name:{AUDIO_NAME},default:yes")
    args += [
        "-c", "copy", "-f", "hls",
        "-hls_time", str(segment_seconds),
        "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4",
        "-hls_flags", "independent_segments",
        "-hls_fmp4_init_filename", "init.mp4",
        "-hls_segment_filename", str(out_dir / "%v" / "seg_%05d.m4s"),
        "-master_pl_name", MASTER,
        "-var_stream_map", " ".join(var_map),
        str(out_dir / "%v" / MEDIA_PLAYLIST),
    ]
    ffmpeg.run(args, what="package HLS")
    master = out_dir / MASTER
    if not master.exists():
        raise OutputMismatch("HLS packaging wrote no master playlist")
    return master


@dataclass(frozen=True)
class VariantInfo:
    uri: str  # relative to the master, e.g. "720p/index.m3u8"
    bandwidth: int
    width: int
    height: int
    codecs: str


@dataclass(frozen=True)
class SegmentInfo:
    uri: str  # relative to the media playlist
    duration_s: float


def parse_master(text: str) -> list[VariantInfo]:
    """Just the attributes we record (the runtime ships no m3u8 library; tests cross-check with one)."""
    variants: list[VariantInfo] = []
    lines = [ln.strip() for ln in text.splitlines()]
    for i, line in enumerate(lines):
        if not line.startswith("#EXT-X-STREAM-INF:"):
            continue
        attrs = line.split(":", 1)[1]
        uri = next((ln for ln in lines[i + 1:] if ln and not ln.startswith("#")), "")
        bw = re.search(r"(?<![-\w])BANDWIDTH=(\d+)", attrs)
        res = re.search(r"RESOLUTION=(\d+)x(\d+)", attrs)
        codecs = re.search(r'CODECS="([^"]*)"', attrs)
        variants.append(VariantInfo(uri=uri, bandwidth=int(bw.group(1)) if bw else 0,
                                    width=int(res.group(1)) if res else 0,
                                    height=int(res.group(2)) if res else 0,
                                    codecs=codecs.group(1) if codecs else ""))
    return variants


def parse_media(text: str) -> tuple[str | None, list[SegmentInfo]]:
    """(init segment URI, segments) of a media playlist."""
    init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', text)
    segments: list[SegmentInfo] = []
    duration: float | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append(SegmentInfo(uri=line, duration_s=duration))
            duration = None
    return (init.group(1) if init else None), segments


def content_type(path: Path | str) -> str:
    return CONTENT_TYPES.get(Path(path).suffix, "application/octet-stream")
