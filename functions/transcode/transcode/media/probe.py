"""Probing a source without ffprobe (and without PyAV: it would not fit the layer beside ffmpeg).

One ffmpeg run does it: `ffmpeg -i SRC -map 0:V:0 -map 0:a:0? -c copy -f framecrc -`.
- stderr holds the human-readable header (`Input #0`, `Duration`, `Stream #0:0: Video ...`, the
  display matrix): container, declared duration, rotation, field order, pixel format;
- stdout holds one line per *packet* with exact integer timestamps plus `#tb`, `#dimensions`,
  `#sar`, `#codec_id`, `#channel_layout_name` headers: exact frame count, exact frame rate
  (30000/1001 is 1001 ticks of 1/30000, not the "29.97" stderr prints), start offset, CFR or not,
  and where the data really ends (a truncated MP4 whose index survived declares 10 s but its
  packets stop at 4 s).
Nothing is decoded, so this is an I/O-bound read of the file (~1 GB/s locally).

That read is the whole source (9 GB, ~2 min from S3, for a two-hour 1080p film), so MP4/MOV
sources are first probed from their index (`mp4index`): the same packet list built from the
`moov` box's sample tables, and the same ffmpeg run stopped after a few packets for the header.
Whatever the index path cannot vouch for falls back to the full read (`probe_full`).
"""

from __future__ import annotations

import logging
import re
import statistics
import struct
from dataclasses import dataclass as plain_dataclass
from fractions import Fraction

from pydantic import computed_field
from pydantic.dataclasses import dataclass

from transcode.media import ffmpeg, mp4index
from transcode.media.ladder import display_size
from transcode.models.errors import MediaRejected, TransientError

log = logging.getLogger(__name__)

MIN_DURATION_S = 0.5
MIN_SIDE = 32
MAX_SIDE = 8192
MAX_FPS = 240

# Broadcast rates are printed rounded ("29.97") and measured with timebase jitter (33/34 ms ticks
# in Matroska); snapping to the nominal fraction keeps chunk boundaries exact.
STANDARD_RATES = [Fraction(r) for r in
                  ("24000/1001", "24", "25", "30000/1001", "30", "48", "50", "60000/1001", "60",
                   "15", "12", "12.5", "100", "120000/1001", "120")]

CHANNELS_BY_LAYOUT = {"mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "3.0(back)": 3, "4.0": 4, "quad": 4,
                      "quad(side)": 4, "3.1": 4, "4.1": 5, "5.0": 5, "5.0(side)": 5, "5.1": 6,
                      "5.1(side)": 6, "6.0": 6, "6.1": 7, "7.0": 7, "7.1": 8, "7.1(wide)": 8}

INDEXED_FORMATS = ("mov", "mp4", "matroska", "webm")
IMAGE_FORMATS_RE = re.compile(r"(_pipe$|^image2|^apng$|^webp)")


@dataclass(frozen=True)
class MediaInfo:
    container: str
    video_codec: str
    pix_fmt: str
    width: int  # coded (storage) size
    height: int
    sar_num: int
    sar_den: int
    rotation: int  # 0, 90, 180 or 270 (display matrix)
    fps_num: int
    fps_den: int
    cfr: bool  # packet timestamps are evenly spaced (±1 tick)
    frames: int
    video_start_s: float  # first video frame, relative to the file start that `-ss` counts from
    duration_s: float  # video duration: frames are [video_start_s, video_start_s + duration_s)
    interlaced: bool
    has_audio: bool
    audio_codec: str | None
    audio_channels: int
    audio_sample_rate: int | None
    declared_duration_s: float | None

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    @property
    def display_size(self) -> tuple[float, float]:
        """Width and height as shown: SAR applied to the width, then rotation."""
        return display_size(self.width, self.height, Fraction(self.sar_num, self.sar_den), self.rotation)

    # Serialised beside the fields for people reading an execution's history; ignored on input.
    @computed_field(alias="fps")  # type: ignore[prop-decorator]
    @property
    def fps_text(self) -> str:
        return f"{self.fps_num}/{self.fps_den}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display_width(self) -> int:
        return round(self.display_size[0])

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display_height(self) -> int:
        return round(self.display_size[1])


@plain_dataclass
class _Stream:
    tb: Fraction = Fraction(1, 1)
    media_type: str = ""
    codec: str = ""
    width: int = 0
    height: int = 0
    sar: Fraction | None = None
    sample_rate: int | None = None
    layout: str | None = None


@plain_dataclass
class ProbeStats:
    """How a probe read its source (for the bench and the logs)."""

    method: str = ""  # "index" or "full"
    index_bytes: int = 0  # our ranged reads (box headers + moov)
    ffmpeg_bytes: int = 0  # what ffmpeg read (its AVIOContext statistics)
    fallback_reason: str = ""


def probe(source: str, *, first_bytes: bytes = b"", timeout: float = 840,
          stats: ProbeStats | None = None) -> MediaInfo:
    """Probe a path or URL; raise MediaRejected with an actionable reason if it cannot be used."""
    stats = stats if stats is not None else ProbeStats()
    if not first_bytes or sniff(first_bytes) == "mp4":  # other containers go straight to the full read
        try:
            return probe_index(source, timeout=timeout, stats=stats)
        except (mp4index.NotIndexable, OSError, ValueError, struct.error) as exc:
            stats.fallback_reason = ffmpeg.redact_urls(str(exc))[:200]
            log.info("probing the whole source: %s", stats.fallback_reason)
    return probe_full(source, first_bytes=first_bytes, timeout=timeout, stats=stats)


def probe_full(source: str, *, first_bytes: bytes = b"", timeout: float = 840,
               stats: ProbeStats | None = None) -> MediaInfo:
    """Every packet listed by stream copy: a read of the whole source. Works for any container."""
    proc = ffmpeg.run(
        ["-nostats", "-v", _level(stats), *ffmpeg.input_args(source),
         "-map", "0:V:0", "-map", "0:a:0?", "-c", "copy", "-f", "framecrc", "-"],
        check=False, timeout=timeout, what="probe",
    )
    stderr = proc.stderr.decode("utf-8", "replace")
    if stats is not None:
        stats.method, stats.ffmpeg_bytes = "full", _bytes_read(stderr)
    stderr = _info_lines(stderr)
    return parse_probe(stderr, proc.stdout.decode("utf-8", "replace"),
                       returncode=proc.returncode, first_bytes=first_bytes)


def probe_index(source: str, *, timeout: float = 840, stats: ProbeStats | None = None) -> MediaInfo:
    """An MP4/MOV probed from its `moov` box; raises mp4index.NotIndexable when it cannot vouch."""
    reader = mp4index.RangeReader(source, timeout=min(timeout, 60))
    try:
        index = mp4index.read_index(reader)
    finally:
        if stats is not None:
            stats.index_bytes = reader.bytes_read
    # The header facts and the first packets: ffmpeg opens the source (seeking to a trailing moov
    # by itself) and stops after a few video packets.
    proc = ffmpeg.run(
        ["-nostats", "-v", _level(stats), *ffmpeg.input_args(source),
         "-map", "0:V:0", "-map", "0:a:0?", "-c", "copy",
         "-frames:v", str(mp4index.CALIBRATION_PACKETS), "-f", "framecrc", "-"],
        check=False, timeout=min(timeout, 120), what="probe",
    )
    stderr, stdout = proc.stderr.decode("utf-8", "replace"), proc.stdout.decode("utf-8", "replace")
    if stats is not None:
        stats.method, stats.ffmpeg_bytes = "index", _bytes_read(stderr)
    stderr = _info_lines(stderr)
    if proc.returncode != 0 or "Input #0" not in stderr:
        raise mp4index.NotIndexable("ffmpeg could not open the source's header")
    container = _search(r"Input #0, (.+?), from ", stderr) or ""
    if "mov" not in container and "mp4" not in container:
        raise mp4index.NotIndexable(f"not an MP4/MOV ({container})")
    streams, _ = _parse_framecrc(stdout)
    first = _raw_packets(stdout)
    packets = {0: _calibrated(index, "vide", streams.get(0), first.get(0, []), strict=True)}
    audio_tracks = [t for t in index.tracks if t.handler == "soun" and t.sample_count]
    if 1 in streams:
        packets[1] = _calibrated(index, "soun", streams.get(1), first.get(1, []), strict=False)
    elif audio_tracks:
        raise mp4index.NotIndexable("ffmpeg maps no audio where the index has a sound track")
    return info_from(stderr, streams, packets)


def _calibrated(index: mp4index.Index, handler: str, stream: _Stream | None,
                first: list[tuple[int, int, int]], *, strict: bool) -> list[tuple[int, int]]:
    """The index's packets of the first `handler` track, shifted onto ffmpeg's timeline.

    ffmpeg subtracts the file's start time from every timestamp; the shift is read off its first
    packet (dts) instead of re-derived, and the next packets must then match exactly."""
    tracks = [t for t in index.tracks if t.handler == handler and t.sample_count]
    if stream is None or not tracks or not first:
        raise mp4index.NotIndexable(f"no {handler} packets to calibrate on")
    timeline, first_dts = mp4index.track_timeline(tracks[0], index.movie_timescale, strict=strict)
    if stream.tb != Fraction(1, timeline.timescale):
        raise mp4index.NotIndexable(f"ffmpeg's time base {stream.tb} is not the track's")
    offset = first[0][0] - first_dts
    got = [(pts, dur) for _, pts, dur in first]
    want = [(pts + offset, dur) for pts, dur in timeline.packets[:len(first)]]
    if strict and got != want or not strict and got[:1] != want[:1]:
        raise mp4index.NotIndexable("ffmpeg's first packets do not match the index")
    return [(pts + offset, dur) for pts, dur in timeline.packets]


def _raw_packets(stdout: str) -> dict[int, list[tuple[int, int, int]]]:
    """(dts, pts, duration) of every packet line, discarded pre-roll included."""
    out: dict[int, list[tuple[int, int, int]]] = {}
    for line in stdout.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        try:
            out.setdefault(int(fields[0]), []).append((int(fields[1]), int(fields[2]), int(fields[3])))
        except (ValueError, IndexError):
            continue
    return out


def _bytes_read(stderr: str) -> int:
    """ffmpeg's input statistics (verbose level): 'Statistics: N bytes read, M seeks'."""
    return sum(int(n) for n in re.findall(r"Statistics: (\d+) bytes read", stderr))


def _level(stats: ProbeStats | None) -> str:
    # Verbose only when asked for figures: it also changes the stream lines ("1 reference frame").
    return "level+info" if stats is None else "level+verbose"


def _info_lines(stderr: str) -> str:
    """stderr as `-v level+info` prints it: verbose is asked for its read statistics only."""
    return "\n".join(line for line in stderr.splitlines() if "[verbose]" not in line)


def parse_probe(stderr: str, stdout: str, *, returncode: int = 0, first_bytes: bytes = b"") -> MediaInfo:
    if "Error opening input" in stderr or "Input #0" not in stderr:
        raise _open_failure(stderr, first_bytes)
    container = _search(r"Input #0, (.+?), from ", stderr) or "unknown"
    stream_lines = re.findall(r"Stream #0:\d+\S*: (\w+): (.*)", stderr)
    video_lines = [rest for kind, rest in stream_lines if kind == "Video"]
    if "matches no streams" in stderr or not video_lines:
        kinds = sorted({kind.lower() for kind, _ in stream_lines})
        found = f" (it contains only {' and '.join(kinds)})" if kinds else ""
        raise MediaRejected(f"The file has no video stream{found}. Upload a video file.")
    if IMAGE_FORMATS_RE.search(container):
        raise MediaRejected(f"The file is a still image ({container.removesuffix('_pipe')}), not a video. "
                            "Upload a video file (MP4, MOV, MKV or WebM).")
    if returncode != 0:
        if _is_transport_error(stderr):
            raise TransientError(f"could not read the source: {_error_lines(stderr)}")
        raise MediaRejected("The file could not be read to the end "
                            f"({_error_lines(stderr) or 'ffmpeg failed'}); it is probably damaged or "
                            "truncated. Upload the complete file again.")

    streams, packets = _parse_framecrc(stdout)
    return info_from(stderr, streams, packets)


def info_from(stderr: str, streams: dict[int, _Stream], packets: dict[int, list[tuple[int, int]]]) -> MediaInfo:
    """MediaInfo from the header (stderr) and the packet timeline, however the timeline was read."""
    container = _search(r"Input #0, (.+?), from ", stderr) or "unknown"
    video_lines = [rest for kind, rest in re.findall(r"Stream #0:\d+\S*: (\w+): (.*)", stderr)
                   if kind == "Video"]
    video = streams.get(0)
    if video is None or video.media_type != "video" or not packets.get(0):
        raise MediaRejected("The video stream contains no frames. Upload a video file with picture content.")
    vpts = sorted(pts for pts, _ in packets[0])
    frames = len(vpts)
    durations = [d for _, d in packets[0] if d > 0]
    fps, cfr = _frame_rate(vpts, durations, video.tb, stderr)
    start = vpts[0] * video.tb
    last_dur = Fraction(statistics.median(durations)) if durations else 1 / fps
    duration = float((vpts[-1] - vpts[0]) * video.tb + last_dur * video.tb) if frames > 1 else float(1 / fps)
    if cfr:
        duration = float(frames / fps)

    audio = streams.get(1)
    has_audio = audio is not None and audio.media_type == "audio" and bool(packets.get(1))
    declared = _declared_duration(stderr)
    _check_truncation(container, declared, streams, packets)

    sar = video.sar if video.sar and video.sar > 0 else Fraction(1)
    return MediaInfo(
        container=container,
        video_codec=video.codec,
        pix_fmt=_search(r"^[^,]*, ([a-z0-9_]+)", re.sub(r", \d+ reference frames?", "", video_lines[0]))
        or "unknown",
        width=video.width,
        height=video.height,
        sar_num=sar.numerator,
        sar_den=sar.denominator,
        rotation=_rotation(stderr),
        fps_num=fps.numerator,
        fps_den=fps.denominator,
        cfr=cfr,
        frames=frames,
        video_start_s=float(start),
        duration_s=round(duration, 6),
        interlaced=bool(re.search(r"(top|bottom) (coded )?first", video_lines[0])),
        has_audio=has_audio,
        audio_codec=audio.codec if has_audio and audio else None,
        audio_channels=_channels(audio.layout) if has_audio and audio else 0,
        audio_sample_rate=audio.sample_rate if has_audio and audio else None,
        declared_duration_s=declared,
    )


def validate(info: MediaInfo, *, max_duration_s: float) -> None:
    """Limits a person can act on; raised before any encoding starts."""
    if info.frames < 2 or info.duration_s < MIN_DURATION_S:
        raise MediaRejected(f"The video is too short ({info.frames} frame(s), {info.duration_s:.2f} s); "
                            f"a title needs at least {MIN_DURATION_S} s of video.")
    if info.duration_s > max_duration_s:
        raise MediaRejected(f"The video is {format_duration(info.duration_s)} long, over the "
                            f"{format_duration(max_duration_s)} limit. Split it into parts or ask an "
                            "administrator to raise MAX_DURATION_S.")
    w, h = info.width, info.height
    if min(w, h) < MIN_SIDE or max(w, h) > MAX_SIDE:
        raise MediaRejected(f"The video is {w}x{h}; supported sizes are {MIN_SIDE} to {MAX_SIDE} pixels "
                            "per side. Re-export it at a standard resolution.")
    if not 1 <= info.fps <= MAX_FPS:
        raise MediaRejected(f"The frame rate {float(info.fps):.3f} fps is outside 1-{MAX_FPS} fps. "
                            "Re-export it at a standard frame rate.")


def format_duration(seconds: float) -> str:
    seconds = float(seconds)
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}" if m else f"{seconds:.1f} s"


def format_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


# --- helpers -------------------------------------------------------------------------------------

def _search(pattern: str, text: str) -> str | None:
    m = re.search(pattern, text)
    return m.group(1) if m else None


def _error_lines(stderr: str) -> str:
    lines = [ln.split("[error]", 1)[-1].split("[fatal]", 1)[-1].strip()
             for ln in ffmpeg.redact_urls(stderr).splitlines() if "[error]" in ln or "[fatal]" in ln]
    return "; ".join(dict.fromkeys(lines))[:300]


def _is_transport_error(stderr: str) -> bool:
    return bool(re.search(r"Server returned|Connection (refused|reset|timed out)|HTTP error|"
                          r"Failed to resolve|I/O error|Input/output error", stderr))


def _open_failure(stderr: str, first_bytes: bytes) -> Exception:
    if _is_transport_error(stderr) and "Invalid data" not in stderr:
        return TransientError(f"could not open the source: {_error_lines(stderr)}")
    if not first_bytes:
        return MediaRejected("The uploaded file is empty (0 bytes). Upload the video file again.")
    kind = sniff(first_bytes)
    if kind == "text":
        preview = first_bytes[:40].decode("utf-8", "replace").splitlines()[0].strip()
        return MediaRejected(f"The uploaded file is text, not a video (it starts with \"{preview}\"). "
                             "Upload the video file itself (MP4, MOV, MKV or WebM).")
    if kind == "mp4" and "moov atom not found" in stderr:
        return MediaRejected("The MP4/MOV file is incomplete: its index (the 'moov' box) is missing, "
                             "which happens when an upload or a recording is interrupted. Upload the "
                             "complete file again, or re-export it from your editor.")
    if kind in ("mp4", "matroska", "avi", "mpegts"):
        return MediaRejected(f"The file looks like {kind.upper()} but cannot be opened "
                             f"({_error_lines(stderr) or 'invalid data'}); it is probably damaged or "
                             "truncated. Upload the complete file again.")
    return MediaRejected("The uploaded file is not a video format we can read "
                         f"({_error_lines(stderr) or 'unrecognised data'}). "
                         "Upload an MP4, MOV, MKV or WebM file.")


def sniff(head: bytes) -> str:
    """Container family from magic bytes (only used to word rejection reasons)."""
    if len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head[:1] == b"\x47" and (len(head) < 189 or head[188:189] == b"\x47"):
        return "mpegts"
    sample = head[:512]
    if sample and all(b in b"\t\n\r\f" or 32 <= b < 127 or b >= 0x80 for b in sample):
        try:
            sample.decode("utf-8")
            return "text"
        except UnicodeDecodeError:
            # A multi-byte character cut at the end of the sample is still text.
            if sample[:-3].decode("utf-8", "ignore") and b"\x00" not in sample:
                return "text"
    return "binary"


def _parse_framecrc(stdout: str) -> tuple[dict[int, _Stream], dict[int, list[tuple[int, int]]]]:
    streams: dict[int, _Stream] = {}
    packets: dict[int, list[tuple[int, int]]] = {}
    header = re.compile(r"#(\w+) (\d+): (.*)")
    for line in stdout.splitlines():
        if not line:
            continue
        if line.startswith("#"):
            m = header.match(line)
            if not m:
                continue
            key, idx, value = m.group(1), int(m.group(2)), m.group(3).strip()
            s = streams.setdefault(idx, _Stream())
            if key == "tb":
                s.tb = Fraction(value)
            elif key == "media_type":
                s.media_type = value
            elif key == "codec_id":
                s.codec = value
            elif key == "dimensions":
                s.width, s.height = (int(v) for v in value.split("x"))
            elif key == "sar":
                num, _, den = value.partition("/")
                s.sar = Fraction(int(num), int(den)) if den and int(den) and int(num) else None
            elif key == "sample_rate":
                s.sample_rate = int(value)
            elif key == "channel_layout_name":
                s.layout = value
            continue
        fields = [f.strip() for f in line.split(",")]
        try:
            idx, pts, dur = int(fields[0]), int(fields[2]), int(fields[3])
        except (ValueError, IndexError):
            continue  # NOPTS or a line we do not understand: not worth failing the probe
        flags = next((int(f[2:], 16) for f in fields[5:] if f.startswith("F=")), 0)
        if flags & 0x4:
            continue  # AV_PKT_FLAG_DISCARD: pre-roll an edit list hides; decoders never output it
        packets.setdefault(idx, []).append((pts, dur))
    return streams, packets


def _frame_rate(pts: list[int], durations: list[int], tb: Fraction, stderr: str) -> tuple[Fraction, bool]:
    if len(pts) >= 2:
        deltas = [b - a for a, b in zip(pts, pts[1:], strict=False)]
        median = statistics.median(deltas)
        cfr = median > 0 and all(abs(d - median) <= 1 for d in deltas)
        if cfr:
            raw = Fraction(len(pts) - 1) / ((pts[-1] - pts[0]) * tb) if pts[-1] > pts[0] else None
        else:
            # VFR (phones drop frames in low light): the nominal rate is the typical spacing,
            # not the average, which dropped frames pull down to odd values like 27.3 fps.
            raw = 1 / (Fraction(median) * tb) if median > 0 else None
    else:
        cfr, raw = True, None
    if raw is None and durations:
        raw = 1 / (Fraction(statistics.median(durations)) * tb)
    if raw is None:
        printed = _search(r"([\d.]+) fps", stderr)
        raw = Fraction(printed) if printed else Fraction(25)
    # A millisecond timebase rounds a VFR clip's typical spacing (33 ms -> 30.3 fps): snap looser.
    return snap_rate(raw, Fraction(2, 1000) if cfr else Fraction(3, 100)), cfr


def snap_rate(raw: Fraction, tolerance: Fraction = Fraction(2, 1000)) -> Fraction:
    """The nearest standard rate within `tolerance` (relative), else `raw` simplified."""
    if raw <= 0:
        return Fraction(25)
    nearest = min(STANDARD_RATES, key=lambda std: abs(raw - std) / std)
    if abs(raw - nearest) / nearest < tolerance:
        return nearest
    return raw.limit_denominator(100)


def _declared_duration(stderr: str) -> float | None:
    m = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", stderr)
    if not m:
        return None
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def _check_truncation(container: str, declared: float | None,
                      streams: dict[int, _Stream], packets: dict[int, list[tuple[int, int]]]) -> None:
    """An indexed container whose packets stop well before its declared duration was cut short."""
    if not declared or not any(f in container for f in INDEXED_FORMATS):
        return
    end = 0.0
    for idx, plist in packets.items():
        tb = streams[idx].tb if idx in streams else Fraction(1)
        last = max(pts + dur for pts, dur in plist)
        end = max(end, float(last * tb))
    if end < declared - max(0.5, 0.02 * declared):
        raise MediaRejected(f"The file is truncated: it declares {format_duration(declared)} but its data "
                            f"ends at {format_duration(end)}. The upload was probably interrupted; upload "
                            "the complete file again.")


def _rotation(stderr: str) -> int:
    m = re.search(r"rotation of (-?\d+(?:\.\d+)?) degrees", stderr, re.IGNORECASE)
    if not m:
        return 0
    return int(round(float(m.group(1)) / 90.0)) * 90 % 360


def _channels(layout: str | None) -> int:
    if not layout:
        return 2
    if layout in CHANNELS_BY_LAYOUT:
        return CHANNELS_BY_LAYOUT[layout]
    m = re.match(r"(\d+) channels", layout)
    return int(m.group(1)) if m else 2
