"""Probing MP4/MOV sources from their index (moov box) gives exactly what the full read gives.

Each case probes the same generated file twice, through the index and through the full packet
listing, and requires equal MediaInfo; the index path must read a small part of the file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from transcode.handlers import probe as probe_handler
from transcode.media import mp4index, probe

from tests.unit.transcode import media_factory

CASES = {
    "ntsc-51-moov-end": dict(width=320, height=180, seconds=3, rate="30000/1001", audio="5.1"),
    "ntsc-51-moov-start": dict(width=320, height=180, seconds=3, rate="30000/1001", audio="5.1",
                               faststart=True),
    "odd-size-mono": dict(width=322, height=181, seconds=2, rate="24000/1001", audio="mono"),
    "anamorphic-no-audio": dict(width=240, height=180, seconds=2, sar="4/3", audio=None),
    "rotated": dict(width=320, height=180, seconds=2, rotation=90, audio="stereo"),
    "no-bframes-25": dict(seconds=2, rate="25", bframes=False),
    "mov-container": dict(seconds=2, rate="30", container="mov"),
}


def _both(path: Path) -> tuple[probe.MediaInfo, probe.MediaInfo, probe.ProbeStats]:
    stats = probe.ProbeStats()
    head = path.read_bytes()[:512]
    by_index = probe.probe(str(path), first_bytes=head, stats=stats)
    assert probe.probe(str(path), first_bytes=head) == by_index  # figures asked for or not
    return by_index, probe.probe_full(str(path)), stats


@pytest.mark.parametrize("name", sorted(CASES))
def test_index_probe_equals_the_full_read(media, name):
    path = media(name, **CASES[name])
    by_index, by_reading, stats = _both(path)
    assert stats.method == "index", stats.fallback_reason
    assert by_index == by_reading
    assert stats.index_bytes < 20_000  # box headers and the moov of a few seconds


def test_index_probe_reads_a_small_part_of_a_longer_source(media):
    path = media("long-ish", width=160, height=90, seconds=60, rate="30000/1001", audio="stereo")
    by_index, by_reading, stats = _both(path)
    assert by_index == by_reading and by_index.frames == 1799
    full = probe.ProbeStats()
    probe.probe_full(str(path), stats=full)
    assert full.ffmpeg_bytes >= path.stat().st_size * 0.95
    assert stats.index_bytes + stats.ffmpeg_bytes < path.stat().st_size / 4


def test_variable_frame_rate_from_the_index(media_dir):
    path = media_dir / "vfr.mp4"
    if not path.exists():
        subprocess.run([media_factory.ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                        "testsrc2=size=160x90:rate=30:duration=3", "-vf",
                        "select='not(eq(mod(n\\,7)\\,3))',format=yuv420p", "-fps_mode", "vfr",
                        "-c:v", "libx264", "-preset", "ultrafast", "-y", str(path)], check=True)
    by_index, by_reading, stats = _both(path)
    assert stats.method == "index" and by_index == by_reading and not by_index.cfr


def test_matroska_falls_back_to_the_full_read(media_dir):
    path = media_factory.make_video(media_dir / "fallback.mkv", seconds=2, rate="30000/1001",
                                    container="matroska")
    by_probe, by_reading, stats = _both(path)
    assert stats.method == "full" and by_probe == by_reading and by_probe.frames == 60


def test_fragmented_mp4_falls_back(media, tmp_path):
    src = media("plain", seconds=3)
    path = tmp_path / "frag.mp4"
    subprocess.run([media_factory.ffmpeg_exe(), "-v", "error", "-i", str(src), "-c", "copy",
                    "-movflags", "+frag_keyframe+empty_moov", "-y", str(path)], check=True)
    by_probe, by_reading, stats = _both(path)
    assert stats.method == "full" and "fragmented" in stats.fallback_reason
    assert by_probe == by_reading and by_probe.frames == 75


def test_truncated_faststart_falls_back_and_is_rejected(media, tmp_path):
    src = media("faststart", seconds=4, faststart=True)
    cut = media_factory.make_truncated(src, tmp_path / "cut.mp4", 0.5)
    with pytest.raises(mp4index.NotIndexable, match="past the end"):
        mp4index.read_index(mp4index.RangeReader(str(cut)))
    with pytest.raises(probe.MediaRejected, match="truncated"):
        probe.probe(str(cut), first_bytes=cut.read_bytes()[:512])


def test_an_edit_that_cuts_frames_at_the_end_is_not_trusted(media, tmp_path):
    src = media("plain", seconds=3)
    cut = tmp_path / "trimmed.mp4"
    # Stream copy with -t writes an edit list shorter than the copied samples (to the keyframe).
    subprocess.run([media_factory.ffmpeg_exe(), "-v", "error", "-ss", "0.5", "-i", str(src), "-t", "1.3",
                    "-c", "copy", "-y", str(cut)], check=True)
    by_probe, by_reading, _ = _both(cut)
    assert by_probe == by_reading


def test_probe_step_uses_the_index_over_a_presigned_url(cloud, media, monkeypatch):
    def no_full_read(*args, **kwargs):
        raise AssertionError("the whole source was read")

    monkeypatch.setattr(probe, "probe_full", no_full_read)
    cloud.create_title("t-idx")
    out = probe_handler.lambda_handler(cloud.upload("t-idx", media("plain", seconds=3)))
    assert out["media"]["frames"] == 75 and out["media"]["fps"] == "25/1"
    assert out["media"]["has_audio"] is True


def test_a_sample_table_claiming_billions_of_samples_is_not_expanded():
    # stts: version/flags, 1 entry, 4,000,000,000 samples of delta 1 -- 24 bytes that would expand
    # into a list of 4 G ints.
    stts = b"\x00\x00\x00\x00" + (1).to_bytes(4, "big") + (4_000_000_000).to_bytes(4, "big") + (1).to_bytes(4, "big")
    stts_box = (8 + len(stts)).to_bytes(4, "big") + b"stts" + stts
    stbl = (8 + len(stts_box)).to_bytes(4, "big") + b"stbl" + stts_box
    trak = (8 + len(stbl)).to_bytes(4, "big") + b"trak" + stbl
    with pytest.raises(mp4index.NotIndexable, match="more samples"):
        mp4index.parse_moov(memoryview(trak))
