"""The plan-tier layout, playlists and the segment grid (pure), and CMAF cutting on a real encode."""

from __future__ import annotations

import struct
from fractions import Fraction

import m3u8
import pytest
from transcode.media import cmaf, hls
from transcode.media.chunks import plan_chunks, segment_frames
from transcode.media.encode import VideoParams
from transcode.models.errors import OutputMismatch

CAPS = (720, 1080, 2160)


@pytest.mark.parametrize("name,path", [
    ("240p", "cap2160/cap1080/cap720/240p/"),
    ("720p", "cap2160/cap1080/cap720/720p/"),
    ("721p", "cap2160/cap1080/721p/"),
    ("1080p", "cap2160/cap1080/1080p/"),
    ("1440p", "cap2160/1440p/"),
    ("2160p", "cap2160/2160p/"),
    ("4320p", "4320p/"),
    ("audio", "cap2160/cap1080/cap720/audio/"),
])
def test_renditions_nest_by_plan_cap(name, path):
    assert hls.rendition_dir(name, CAPS) == path
    assert hls.rendition_dir(name, (2160, 720, 1080, 720)) == path  # order and duplicates do not matter


def test_a_rendition_name_must_carry_its_height():
    with pytest.raises(ValueError):
        hls.rendition_dir("hd", CAPS)


def test_segments_follow_the_title_grid_across_chunks():
    fps = Fraction(30000, 1001)
    chunks = plan_chunks(total_frames=900, fps=fps, chunk_seconds=6, segment_seconds=2)
    assert [c.first_segment for c in chunks] == [0, 3, 6, 9, 12]
    per_chunk = [segment_frames(c, fps, 2) for c in chunks]
    flat = [n for seg in per_chunk for n in seg]
    assert sum(flat) == 900
    # segment m starts at ceil(m * 2 * 29.97): 0, 60, 120, 180 (59.94 * 3 = 179.82) ...
    starts = [sum(flat[:m]) for m in range(len(flat))]
    assert starts == [-(-m * 2 * 30000 // 1001) for m in range(len(flat))]


def test_timescale_holds_every_frame_in_whole_ticks():
    for num, den in [(24000, 1001), (25, 1), (30000, 1001), (60000, 1001), (12, 1), (50, 1)]:
        video = VideoParams(fps_num=num, fps_den=den, video_start_s=0, segment_seconds=2)
        assert video.timescale % num == 0 and video.timescale >= 90000
        assert Fraction(video.frame_ticks, video.timescale) == Fraction(den, num)


def test_media_playlist_is_exact_and_parses():
    segments = [hls.Segment(0, 2.002, 1000), hls.Segment(1, 2.002, 3000), hls.Segment(2, 1.001, 500)]
    text = hls.media_playlist(segments)
    parsed = m3u8.loads(text)
    assert parsed.is_endlist and parsed.playlist_type == "vod" and parsed.target_duration == 2
    assert parsed.segment_map[0].uri == "init.mp4"
    assert [s.uri for s in parsed.segments] == ["seg_00000.m4s", "seg_00001.m4s", "seg_00002.m4s"]
    assert sum(s.duration for s in parsed.segments) == pytest.approx(5.005)
    assert hls.peak_bandwidth(segments) == -(-3000 * 8 * 1000 // 2002)
    assert hls.average_bandwidth(segments) == -(-4500 * 8 * 1000 // 5005)


def test_target_duration_rounds_half_up_as_the_spec_reads():
    # 1.2 fps puts 3 frames (2.5 s) in some segments: TARGETDURATION 2 would be a spec violation
    assert m3u8.loads(hls.media_playlist([hls.Segment(0, 2.5, 10)])).target_duration == 3
    assert m3u8.loads(hls.media_playlist([hls.Segment(0, 2.044, 10)])).target_duration == 2


def test_tier_master_lists_its_renditions_by_relative_uri():
    variants = [hls.Variant("1080p", "cap2160/cap1080/1080p/", 1920, 1080, "avc1.640028", 7_000_000, 5_000_000,
                            Fraction(24)),
                hls.Variant("480p", "cap2160/cap1080/cap720/480p/", 854, 480, "avc1.4d401f", 1_500_000, 1_000_000,
                            Fraction(24))]
    text = hls.master_playlist(variants, base="cap2160/cap1080/", audio_dir="cap2160/cap1080/cap720/audio/",
                               audio_codec="mp4a.40.2", audio_channels=2)
    parsed = m3u8.loads(text)
    assert [p.uri for p in parsed.playlists] == ["1080p/index.m3u8", "cap720/480p/index.m3u8"]
    assert parsed.playlists[0].stream_info.codecs == "avc1.640028,mp4a.40.2"
    assert parsed.playlists[0].stream_info.average_bandwidth == 5_000_000
    assert [(m.uri, m.group_id, m.channels) for m in parsed.media] == [("cap720/audio/index.m3u8", "aud", "2")]
    with pytest.raises(ValueError):  # a tier master can only name what is inside its directory
        hls.master_playlist(variants, base="cap2160/cap1080/cap720/", audio_dir=None)


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _fragment(sequence: int, base: int, offsets: list[int], duration: int) -> bytes:
    mfhd = _box(b"mfhd", struct.pack(">II", 0, sequence))
    tfhd = _box(b"tfhd", struct.pack(">II", 0x020008, 1) + struct.pack(">I", duration))  # default duration
    tfdt = _box(b"tfdt", struct.pack(">BxxxQ", 1, base))
    trun = _box(b"trun", struct.pack(">II", (1 << 24) | 0x800, len(offsets))
                + b"".join(struct.pack(">i", o) for o in offsets))
    return _box(b"moof", mfhd + _box(b"traf", tfhd + tfdt + trun)) + _box(b"mdat", b"\0" * 16)


def _init(timescale: int) -> bytes:
    mdhd = _box(b"mdhd", struct.pack(">IIIII", 0, 0, 0, timescale, 0) + b"\0" * 4)
    stsd = _box(b"stsd", struct.pack(">II", 0, 1) + _box(b"mp4a", b"\0" * 28))
    trak = _box(b"trak", _box(b"mdia", mdhd + _box(b"minf", _box(b"stbl", stsd))))
    return _box(b"ftyp", b"cmfc\0\0\0\0") + _box(b"moov", trak)


def test_split_rebases_and_renumbers_in_place():
    data = _init(90000) + _fragment(1, 0, [3600, 0, -3600], 3600) + _fragment(2, 10800, [0, 0], 3600)
    track = cmaf.split(data, base_time=900000, first_sequence=31)
    assert track.init == _init(90000) and track.timescale == 90000 and track.codec == "mp4a.40.2"
    assert [(f.samples, f.duration, f.base_time) for f in track.fragments] == [(3, 10800, 900000), (2, 7200, 910800)]
    for f, seq in zip(track.fragments, (31, 32), strict=True):
        moof = next(cmaf.boxes(f.data))
        assert struct.unpack_from(">I", f.data, cmaf.find(f.data, [b"mfhd"], moof.body, moof.end).body + 4)[0] == seq
    sizes = [len(_fragment(1, 0, [3600, 0, -3600], 3600)), len(_fragment(2, 10800, [0, 0], 3600))]
    assert [len(f.data) for f in track.fragments] == sizes  # patched in place: no size changes
    # the first sample was presented 3600 ticks after its decode time: shifted so it is at tfdt
    first = bytearray(track.fragments[0].data)
    moof = next(cmaf.boxes(first))
    base, _n, _d, first_offset = cmaf._read_traf(first, moof.start, moof.end, 0)
    assert (base, first_offset) == (900000, 0)


def test_split_refuses_what_is_not_fragmented():
    with pytest.raises(OutputMismatch):
        cmaf.split(_init(90000))
    with pytest.raises(OutputMismatch):
        cmaf.split(_init(90000) + _box(b"moof", b""))


def test_plan_height_caps_come_from_the_environment(monkeypatch):
    from transcode.models.errors import ConfigError
    from transcode.models.settings import Settings

    monkeypatch.setenv("MEDIA_BUCKET", "m")
    monkeypatch.setenv("CATALOG_TABLE", "c")
    monkeypatch.setenv("PLAN_HEIGHT_CAPS", "2160, 720,1080,720")
    assert Settings.from_env().plan_height_caps == (720, 1080, 2160)
    monkeypatch.setenv("PLAN_HEIGHT_CAPS", "")
    assert Settings.from_env().plan_height_caps == (720, 1080, 2160)
    for bad in ("hd", "0,720"):
        monkeypatch.setenv("PLAN_HEIGHT_CAPS", bad)
        with pytest.raises(ConfigError):
            Settings.from_env()
