"""The packet timeline of an MP4/MOV source read from its index (the `moov` box), not its data.

The full probe (`probe.probe`) stream-copies every packet of the source to list its timestamps: a
read of the whole file (9 GB for a two-hour 1080p film, ~2 min from S3). An MP4/MOV carries the
same timestamps in its sample tables, so this module reads only the box headers of the top level
(a 16-byte ranged read per box), the `moov` box wherever it sits (start or end), and lets ffmpeg
open the source for the header facts (codec, pixel format, SAR, rotation, field order, channel
layout) and its first few packets, which calibrate the timeline: ffmpeg shifts every timestamp
by the file's start time, and we take that shift from what it printed rather than re-deriving it.

Only the plain case is handled; anything else returns None and the caller falls back to the full
read: fragmented MP4 (`mvex`/`moof`), more than one edit, an edit that cuts video samples at
either end, a sample table that points past the end of the file (a truncated upload), a track
layout ffmpeg numbers differently from us, or first packets that do not match the index.
"""

from __future__ import annotations

import logging
import os
import struct
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import accumulate

log = logging.getLogger(__name__)

MAX_TOP_LEVEL_BOXES = 64  # ftyp, free, mdat, moov, udta...; a fragmented file has thousands
MAX_MOOV_BYTES = 256 << 20  # a 4-hour film's tables are ~15 MB; more is not a file we understand
MAX_SAMPLES = 8_000_000  # 4 h at 240 fps is 3.5 M; a few bytes of stts may claim billions (hostile input)
CALIBRATION_PACKETS = 8  # video packets ffmpeg lists to anchor the timeline
HEAD_BYTES = 16
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}


class NotIndexable(Exception):
    """The source is not a plain, complete MP4/MOV index; use the full probe."""


class RangeReader:
    """Ranged reads of a local path or an http(s) URL (a presigned GET), counting bytes read."""

    def __init__(self, source: str, timeout: float = 30) -> None:
        self.source = source
        self.timeout = timeout
        self.bytes_read = 0
        self.requests = 0
        self.size = self._size()

    def _is_url(self) -> bool:
        return self.source.startswith(("http://", "https://"))

    def _size(self) -> int:
        if not self._is_url():
            return os.path.getsize(self.source)
        req = urllib.request.Request(self.source, headers={"Range": "bytes=0-0"})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - presigned https/http
            self.requests += 1
            self.bytes_read += len(resp.read())
            total = (resp.headers.get("Content-Range") or "").rpartition("/")[2]
            if resp.status != 206 or not total.isdigit():
                raise NotIndexable("the source does not answer ranged reads")
            return int(total)

    def read(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self.size - offset))
        if length == 0:
            return b""
        self.requests += 1
        if not self._is_url():
            with open(self.source, "rb") as fh:
                fh.seek(offset)
                data = fh.read(length)
        else:
            req = urllib.request.Request(self.source,
                                         headers={"Range": f"bytes={offset}-{offset + length - 1}"})
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                data = resp.read()
        self.bytes_read += len(data)
        return data


@dataclass
class Track:
    handler: str = ""
    timescale: int = 0
    sample_count: int = 0
    deltas: list[int] = field(default_factory=list)  # stts, expanded: one per sample
    cts: list[int] = field(default_factory=list)  # ctts, expanded (empty: all 0)
    edits: list[tuple[int, int, float]] = field(default_factory=list)  # (segment duration, media time, rate)
    max_chunk_offset: int = 0


@dataclass
class Index:
    movie_timescale: int
    tracks: list[Track]
    moov_bytes: int


def top_level_boxes(reader: RangeReader) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, size) of each top-level box, from 16-byte header reads."""
    offset = 0
    for _ in range(MAX_TOP_LEVEL_BOXES):
        if offset >= reader.size:
            return
        head = reader.read(offset, HEAD_BYTES)
        if len(head) < 8:
            raise NotIndexable("a box header is cut short")
        size, kind = struct.unpack(">I4s", head[:8])
        if size == 1:
            if len(head) < 16:
                raise NotIndexable("a 64-bit box header is cut short")
            size = struct.unpack(">Q", head[8:16])[0]
        elif size == 0:
            size = reader.size - offset
        if size < 8 or offset + size > reader.size:
            raise NotIndexable(f"box {kind!r} runs past the end of the file")
        yield kind, offset, size
        offset += size
    raise NotIndexable("too many top-level boxes (fragmented MP4?)")


def read_index(reader: RangeReader) -> Index:
    moov: tuple[int, int] | None = None
    for kind, offset, size in top_level_boxes(reader):
        if kind == b"moof":
            raise NotIndexable("fragmented MP4")
        if kind == b"moov":
            moov = (offset, size)
    if moov is None:
        raise NotIndexable("no moov box")
    if moov[1] > MAX_MOOV_BYTES:
        raise NotIndexable("moov box too large")
    data = reader.read(*moov)
    index = parse_moov(memoryview(data)[_header_len(data):])
    for track in index.tracks:
        if track.max_chunk_offset >= reader.size:
            raise NotIndexable("the sample table points past the end of the file")
    index.moov_bytes = moov[1]
    return index


def _header_len(data: bytes) -> int:
    return 16 if struct.unpack(">I", data[:4])[0] == 1 else 8


def _children(buf: memoryview) -> Iterator[tuple[bytes, memoryview]]:
    pos = 0
    while pos + 8 <= len(buf):
        size, kind = struct.unpack(">I4s", buf[pos:pos + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", buf[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = len(buf) - pos
        if size < head or pos + size > len(buf):
            raise NotIndexable(f"box {kind!r} is malformed")
        yield kind, buf[pos + head:pos + size]
        pos += size


def parse_moov(body: memoryview) -> Index:
    index = Index(movie_timescale=0, tracks=[], moov_bytes=0)
    for kind, child in _children(body):
        if kind == b"mvhd":
            version = child[0]
            index.movie_timescale = struct.unpack(">I", child[20:24] if version == 1 else child[12:16])[0]
        elif kind == b"mvex":
            raise NotIndexable("fragmented MP4 (mvex)")
        elif kind == b"trak":
            track = Track()
            _walk(child, track)
            index.tracks.append(track)
    return index


def _walk(buf: memoryview, track: Track) -> None:
    for kind, body in _children(buf):
        if kind in _CONTAINERS:
            _walk(body, track)
        elif kind == b"mdhd":
            track.timescale = struct.unpack(">I", body[20:24] if body[0] == 1 else body[12:16])[0]
        elif kind == b"hdlr" and not track.handler:  # mdia's; a MOV's minf has a data-handler one after it
            track.handler = bytes(body[8:12]).decode("latin-1")
        elif kind == b"elst":
            version, count = body[0], struct.unpack(">I", body[4:8])[0]
            fmt, step = (">QqhH", 20) if version == 1 else (">IihH", 12)
            for i in range(count):
                dur, media_time, rate_int, rate_frac = struct.unpack(fmt, body[8 + i * step:8 + (i + 1) * step])
                track.edits.append((dur, media_time, rate_int + rate_frac / 65536))
        elif kind == b"stts":
            track.deltas = _runs(body, signed=False)
        elif kind == b"ctts":
            track.cts = _runs(body, signed=True)  # as ffmpeg reads it: version-0 negatives exist
        elif kind == b"stsz":
            track.sample_count = struct.unpack(">I", body[8:12])[0]
        elif kind in (b"stco", b"co64"):
            count = struct.unpack(">I", body[4:8])[0]
            if count:
                width = 8 if kind == b"co64" else 4
                offsets = struct.unpack(f">{count}{'Q' if width == 8 else 'I'}", body[8:8 + count * width])
                track.max_chunk_offset = max(offsets)


def _runs(body: memoryview, *, signed: bool) -> list[int]:
    count = struct.unpack(">I", body[4:8])[0]
    pairs = struct.unpack(f">{2 * count}{'i' if signed else 'I'}", body[8:8 + 8 * count])
    if sum(pairs[0::2]) > MAX_SAMPLES:
        raise NotIndexable("more samples than any title we accept")
    out: list[int] = []
    for i in range(count):
        n, value = pairs[2 * i], pairs[2 * i + 1]
        out.extend([value] * n)
    return out


@dataclass
class Timeline:
    """Per-packet (pts, duration) in the stream's time base, as ffmpeg's framecrc would list them."""

    timescale: int
    packets: list[tuple[int, int]]


def track_timeline(track: Track, movie_timescale: int, *, strict: bool) -> tuple[Timeline, int]:
    """The track's packets before ffmpeg's start-time shift, and the first packet's dts.

    strict (video): only no edit, or one edit at rate 1 that starts at a sample's presentation
    time and cuts nothing at the end; anything else raises NotIndexable. Not strict (audio, used
    only for "has audio" and where the data ends): the edit's start shift alone.
    """
    n = track.sample_count
    if not track.timescale or n == 0 or len(track.deltas) != n or (track.cts and len(track.cts) != n):
        raise NotIndexable("sample tables disagree on the sample count")
    dts = [0, *accumulate(track.deltas[:-1])]
    cts = track.cts or [0] * n
    pts = [d + c for d, c in zip(dts, cts, strict=True)]
    shift = 0
    edits = [e for e in track.edits if e[1] != -1]
    if len(edits) != len(track.edits) or len(edits) > 1:
        raise NotIndexable("empty or multiple edits")
    if edits:
        seg_dur, media_time, rate = edits[0]
        if strict:
            if rate != 1 or media_time < 0 or min(pts) != media_time:
                raise NotIndexable("an edit that does not start at the first frame")
            end = max(p + d for p, d in zip(pts, track.deltas, strict=True))
            if seg_dur and movie_timescale and \
                    Fraction(seg_dur, movie_timescale) < Fraction(end - media_time, track.timescale) - \
                    Fraction(track.deltas[-1], track.timescale):
                raise NotIndexable("an edit that cuts frames at the end")
        shift = media_time
    return (Timeline(track.timescale, [(p - shift, d) for p, d in zip(pts, track.deltas, strict=True)]),
            dts[0] - shift)
