"""CMAF (fragmented MP4) segments cut from a chunk's encode, placed on the title's timeline.

A chunk's renditions are muxed by ffmpeg as fragmented MP4 with one fragment per keyframe (the
keyframes ARE the segment grid), negative composition offsets (the first frame of every
fragment is presented at its decode time: no edit list, no gap before the first frame) and a
fixed timescale. Every chunk's `ftyp`+`moov` (the init segment) is then byte-identical: it holds
only the encoder's parameter sets and the track's constant fields, never a timestamp. Each
`moof`+`mdat` pair becomes one segment; ffmpeg numbers its timestamps from 0 in each chunk, so
this module rewrites two fields in place, without changing any size: the track fragment's
`baseMediaDecodeTime` (tfdt, to the chunk's start on the title's timeline) and the fragment's
`sequence_number` (mfhd, to the title-wide segment number + 1). Concatenating the init segment
and every chunk's segments then gives one continuous stream (what an HLS player sees).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from transcode.models.errors import OutputMismatch

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"moof", b"traf", b"mvex", b"dinf", b"edts"}


@dataclass(frozen=True)
class Box:
    kind: bytes
    start: int  # offset of the box header
    size: int
    header: int  # 8, or 16 with a 64-bit size

    @property
    def body(self) -> int:
        return self.start + self.header

    @property
    def end(self) -> int:
        return self.start + self.size


def boxes(data: bytes | bytearray, start: int = 0, end: int | None = None) -> Iterator[Box]:
    end = len(data) if end is None else end
    pos = start
    while pos < end:
        if end - pos < 8:
            raise OutputMismatch(f"truncated box header at {pos}")
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise OutputMismatch(f"box {kind!r} at {pos} overruns its parent ({size} bytes)")
        yield Box(kind, pos, size, header)
        pos += size


def find(data: bytes | bytearray, path: list[bytes], start: int = 0, end: int | None = None) -> Box | None:
    """The first box at `path` (e.g. [b"moov", b"trak", b"mdia", b"mdhd"]) under [start, end)."""
    for box in boxes(data, start, end):
        if box.kind == path[0]:
            if len(path) == 1:
                return box
            found = find(data, path[1:], box.body, box.end)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class Fragment:
    data: bytes  # moof + mdat, rebased
    samples: int
    duration: int  # in the track's timescale
    base_time: int  # baseMediaDecodeTime after rebasing


@dataclass(frozen=True)
class Track:
    init: bytes  # ftyp + moov
    timescale: int
    codec: str  # RFC 6381 codecs string, e.g. "avc1.64001f" or "mp4a.40.2"
    fragments: list[Fragment]


def split(data: bytes, *, base_time: int | None = 0, first_sequence: int = 1) -> Track:
    """Init segment and fragments of a fragmented MP4 (one track), rebased to start at
    `base_time` (timescale units) with sequence numbers from `first_sequence`; with
    base_time=None, read as they are (nothing patched)."""
    top = list(boxes(data))
    moov = next((b for b in top if b.kind == b"moov"), None)
    first_moof = next((i for i, b in enumerate(top) if b.kind == b"moof"), None)
    if moov is None or first_moof is None:
        raise OutputMismatch("not a fragmented MP4 (no moov or no moof)")
    init = data[: top[first_moof].start]
    timescale = _timescale(data, moov)
    default_duration = _trex_default_duration(data, moov)
    fragments: list[Fragment] = []
    local_start: int | None = None
    presentation_shift = 0
    i = first_moof
    while i < len(top):
        box = top[i]
        if box.kind == b"mfra":  # the random-access trailer: not part of any segment
            break
        if box.kind not in (b"moof", b"styp"):
            raise OutputMismatch(f"unexpected top-level box {box.kind!r} among fragments")
        begin = box.start
        while top[i].kind != b"moof":
            i += 1
        moof = top[i]
        if i + 1 >= len(top) or top[i + 1].kind != b"mdat":
            raise OutputMismatch("a moof without its mdat")
        mdat = top[i + 1]
        piece = bytearray(data[begin:mdat.end])
        shift = begin
        tfdt_value, samples, duration, first_offset = _read_traf(piece, moof.start - shift, moof.end - shift,
                                                                 default_duration)
        if local_start is None:
            local_start, presentation_shift = tfdt_value, first_offset
        if base_time is None:
            rebased = tfdt_value
        else:
            rebased = base_time + (tfdt_value - local_start)
            _patch(piece, moof.start - shift, moof.end - shift, rebased, first_sequence + len(fragments),
                   presentation_shift)
        fragments.append(Fragment(bytes(piece), samples, duration, rebased))
        i += 2
    return Track(init=init, timescale=timescale, codec=codec_string(data, moov), fragments=fragments)


def _timescale(data: bytes, moov: Box) -> int:
    mdhd = find(data, [b"trak", b"mdia", b"mdhd"], moov.body, moov.end)
    if mdhd is None:
        raise OutputMismatch("no mdhd in moov")
    version = data[mdhd.body]
    offset = mdhd.body + (20 if version == 1 else 12)
    return int(struct.unpack_from(">I", data, offset)[0])


def _trex_default_duration(data: bytes, moov: Box) -> int:
    trex = find(data, [b"mvex", b"trex"], moov.body, moov.end)
    # version/flags(4) track_ID(4) default_sample_description_index(4) default_sample_duration(4)
    return int(struct.unpack_from(">I", data, trex.body + 12)[0]) if trex else 0


def _read_traf(piece: bytearray, start: int, end: int, default_duration: int) -> tuple[int, int, int, int]:
    """(baseMediaDecodeTime, samples, duration, composition offset of the first sample)."""
    traf = find(piece, [b"traf"], start + 8, end)
    if traf is None:
        raise OutputMismatch("a moof without a traf")
    tfhd = find(piece, [b"tfhd"], traf.body, traf.end)
    tfdt = find(piece, [b"tfdt"], traf.body, traf.end)
    if tfhd is None or tfdt is None:
        raise OutputMismatch("a traf without tfhd or tfdt")
    flags = int.from_bytes(piece[tfhd.body + 1:tfhd.body + 4], "big")
    pos = tfhd.body + 8  # version/flags, track_ID
    pos += 8 if flags & 0x01 else 0  # base_data_offset
    pos += 4 if flags & 0x02 else 0  # sample_description_index
    if flags & 0x08:
        default_duration = int(struct.unpack_from(">I", piece, pos)[0])
    version = piece[tfdt.body]
    base = struct.unpack_from(">Q" if version == 1 else ">I", piece, tfdt.body + 4)[0]
    samples = duration = 0
    first_offset: int | None = None
    for trun, offsets in _truns(piece, traf):
        tflags = int.from_bytes(piece[trun.body + 1:trun.body + 4], "big")
        (count,) = struct.unpack_from(">I", piece, trun.body + 4)
        pos = trun.body + 8 + (4 if tflags & 0x001 else 0) + (4 if tflags & 0x004 else 0)
        per_sample = sum(4 for bit in (0x100, 0x200, 0x400, 0x800) if tflags & bit)
        for _ in range(count):
            duration += struct.unpack_from(">I", piece, pos)[0] if tflags & 0x100 else default_duration
            pos += per_sample
        if first_offset is None and offsets:
            first_offset = struct.unpack_from(">i" if piece[trun.body] == 1 else ">I", piece, offsets[0])[0]
        samples += count
    return int(base), samples, duration, int(first_offset or 0)


def _truns(piece: bytearray, traf: Box) -> Iterator[tuple[Box, list[int]]]:
    """Each trun of a traf with the byte offsets of its samples' composition offsets."""
    for trun in (b for b in boxes(piece, traf.body, traf.end) if b.kind == b"trun"):
        tflags = int.from_bytes(piece[trun.body + 1:trun.body + 4], "big")
        (count,) = struct.unpack_from(">I", piece, trun.body + 4)
        pos = trun.body + 8 + (4 if tflags & 0x001 else 0) + (4 if tflags & 0x004 else 0)
        per_sample = sum(4 for bit in (0x100, 0x200, 0x400, 0x800) if tflags & bit)
        before = sum(4 for bit in (0x100, 0x200, 0x400) if tflags & bit)
        offsets = [pos + i * per_sample + before for i in range(count)] if tflags & 0x800 else []
        yield trun, offsets


def _patch(piece: bytearray, start: int, end: int, base_time: int, sequence: int, shift: int) -> None:
    """Sequence number, baseMediaDecodeTime, and composition offsets less `shift` (signed, trun
    version 1): the chunk's first frame (an IDR, first in decode order too) is then presented at
    its decode time, i.e. exactly at the segment boundary -- no gap before the first frame."""
    mfhd = find(piece, [b"mfhd"], start + 8, end)
    traf = find(piece, [b"traf"], start + 8, end)
    tfdt = find(piece, [b"traf", b"tfdt"], start + 8, end)
    assert mfhd is not None and traf is not None and tfdt is not None  # _read_traf found them
    struct.pack_into(">I", piece, mfhd.body + 4, sequence)
    if shift:
        for trun, offsets in _truns(piece, traf):
            signed = piece[trun.body] == 1
            for pos in offsets:
                value = struct.unpack_from(">i" if signed else ">I", piece, pos)[0] - shift
                struct.pack_into(">i", piece, pos, value)
            piece[trun.body] = 1
    if piece[tfdt.body] == 1:
        struct.pack_into(">Q", piece, tfdt.body + 4, base_time)
    elif base_time < 2**32:
        struct.pack_into(">I", piece, tfdt.body + 4, base_time)
    else:
        raise OutputMismatch("a 32-bit tfdt cannot hold the title's timeline")


def codec_string(data: bytes, moov: Box) -> str:
    """`avc1.PPCCLL` from the avcC record, `mp4a.40.<aot>` for AAC."""
    stsd = find(data, [b"trak", b"mdia", b"minf", b"stbl", b"stsd"], moov.body, moov.end)
    if stsd is None:
        raise OutputMismatch("no stsd in moov")
    entry = next(boxes(data, stsd.body + 8, stsd.end))  # version/flags, entry_count
    if entry.kind in (b"avc1", b"avc3"):
        # VisualSampleEntry: 8 (SampleEntry) + 70 bytes of fixed fields before child boxes.
        avcc = find(data, [b"avcC"], entry.body + 78, entry.end)
        if avcc is None:
            raise OutputMismatch("avc1 without avcC")
        profile, constraints, level = data[avcc.body + 1], data[avcc.body + 2], data[avcc.body + 3]
        return f"{entry.kind.decode()}.{profile:02x}{constraints:02x}{level:02x}"
    if entry.kind == b"mp4a":
        esds = find(data, [b"esds"], entry.body + 28, entry.end)
        aot = _aac_object_type(data, esds) if esds else 2
        return f"mp4a.40.{aot}"
    return entry.kind.decode("latin1")


def _aac_object_type(data: bytes, esds: Box) -> int:
    """The audio object type from the DecoderSpecificInfo (tag 5) inside the ES descriptor."""
    blob = data[esds.body + 4:esds.end]
    i = 0
    while i < len(blob):
        tag = blob[i]
        i += 1
        length = 0
        for _ in range(4):
            byte = blob[i]
            i += 1
            length = (length << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        if tag == 0x03:
            i += 3  # ES_ID, flags (no optional fields in ffmpeg's output)
        elif tag == 0x04:
            i += 13  # objectTypeIndication .. avgBitrate
        elif tag == 0x05:
            return blob[i] >> 3 if length else 2
        else:
            i += length
    return 2
