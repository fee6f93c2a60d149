"""Pure planning logic: ladder (never upscale, even, square pixels, orientation) and the chunk grid."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from transcode.logic.planning import make_plan, output_fps
from transcode.media.chunks import (
    boundary_frame,
    force_key_frames_arg,
    keyframe_offsets,
    plan_chunks,
    seek_seconds,
)
from transcode.media.ladder import build_ladder, display_size
from transcode.media.probe import MediaInfo
from transcode.models.settings import Settings
from transcode.models.steps import step_output


def dims(ladder):
    return {r.name: (r.width, r.height) for r in ladder}


def test_1080p_source_gets_the_four_rung_ladder():
    assert dims(build_ladder(1920, 1080)) == {
        "1080p": (1920, 1080), "720p": (1280, 720), "480p": (854, 480), "240p": (426, 240)}


def test_never_upscales_a_720p_source():
    assert dims(build_ladder(1280, 720)) == {"720p": (1280, 720), "480p": (854, 480), "240p": (426, 240)}


def test_portrait_keeps_its_orientation():
    ladder = dims(build_ladder(1080, 1920))
    assert ladder == {"1080p": (1080, 1920), "720p": (720, 1280), "480p": (480, 854), "240p": (240, 426)}


def test_853x480_is_not_rounded_up_to_854():
    ladder = dims(build_ladder(853, 480))
    assert ladder == {"480p": (852, 480), "240p": (426, 240)}


def test_anamorphic_sar_gives_square_pixel_outputs():
    # PAL DVD 16:9: 720x576 stored, SAR 64:45 -> shown as 1024x576.
    w, h = display_size(720, 576, Fraction(64, 45))
    assert (w, h) == (1024, 576)
    ladder = dims(build_ladder(w, h))
    assert ladder["480p"] == (854, 480)
    assert "720p" not in ladder  # 1024x576 does not fill a 1280x720 box
    for width, height in ladder.values():
        assert abs(width / height - 1024 / 576) < 0.01


def test_rotation_turns_a_landscape_coded_phone_video_portrait():
    w, h = display_size(1920, 1080, Fraction(1), rotation=90)
    assert (w, h) == (1080, 1920)
    assert dims(build_ladder(w, h))["1080p"] == (1080, 1920)


def test_cinemascope_keeps_full_width():
    assert dims(build_ladder(1920, 804))["1080p"] == (1920, 804)


def test_small_source_gets_a_native_rung():
    assert dims(build_ladder(320, 180)) == {"180p": (320, 180)}


def test_between_rungs_source_gets_a_native_top_rung():
    ladder = build_ladder(1600, 900)
    assert [r.name for r in ladder] == ["900p", "720p", "480p", "240p"]
    assert ladder[0].maxrate_kbps < 6000


@pytest.mark.parametrize("w,h", [(w, h) for w in (101, 333, 853, 1279, 1919, 3840)
                                 for h in (97, 479, 721, 2160)])
def test_every_rung_is_even_and_never_larger_than_the_source(w, h):
    for r in build_ladder(w, h):
        assert r.width % 2 == 0 and r.height % 2 == 0
        assert r.width <= w and r.height <= h
        assert abs(r.width / r.height - w / h) / (w / h) < 0.05
        assert r.bufsize_kbps == 2 * r.maxrate_kbps


def test_high_frame_rate_raises_bitrate_caps():
    assert build_ladder(1920, 1080, 60)[0].maxrate_kbps > build_ladder(1920, 1080, 30)[0].maxrate_kbps


def test_chunks_start_on_the_segment_grid_at_25fps():
    chunks = plan_chunks(250, Fraction(25), chunk_seconds=4, segment_seconds=2)
    grid = [(c.start_frame, c.frames, c.pad_frames) for c in chunks]
    assert grid == [(0, 100, 13), (100, 100, 13), (200, 50, 0)]  # pad: ceil(0.5 s * 25)


def test_chunks_at_ntsc_rate_cover_every_frame_once():
    fps = Fraction(30000, 1001)
    total = 1799  # 60.03 s
    chunks = plan_chunks(total, fps, chunk_seconds=10, segment_seconds=2)
    assert sum(c.frames for c in chunks) == total
    assert all(a.start_frame + a.frames == b.start_frame for a, b in zip(chunks, chunks[1:], strict=False))
    for c in chunks:
        assert c.start_frame == boundary_frame(c.index * 10, fps)  # first frame at/after k*10 s
        assert c.start_frame / fps >= c.index * 10 > (c.start_frame - 1) / fps
    assert [c.start_frame for c in chunks[:3]] == [0, 300, 600]  # ceil(299.7), ceil(599.4)


def test_keyframes_fall_on_every_segment_boundary_including_the_first_pad_frame():
    fps = Fraction(30000, 1001)
    chunks = plan_chunks(900, fps, chunk_seconds=10, segment_seconds=2)
    c = chunks[1]
    offsets = keyframe_offsets(c, fps, 2)
    global_frames = [c.start_frame + j for j in offsets]
    assert global_frames == [boundary_frame(2 * m, fps) for m in range(5, 12 + 1)][:len(global_frames)]
    assert offsets[0] == 0
    assert c.frames in offsets  # the cut point is an IDR: the stream-copy trim is exact
    assert max(offsets) < c.frames + c.pad_frames


def test_force_key_frames_times_are_half_a_frame_early():
    arg = force_key_frames_arg([0, 60, 120], Fraction(30))
    assert arg == "0,1.983333,3.983333"


def test_seek_is_half_a_frame_before_the_chunk():
    assert seek_seconds(0, Fraction(25)) is None
    assert seek_seconds(100, Fraction(25), video_start_s=0.5) == pytest.approx(0.5 + 3.98)


def test_bad_chunk_configuration_is_rejected_or_snapped(monkeypatch):
    with pytest.raises(ValueError):
        plan_chunks(100, Fraction(25), chunk_seconds=3, segment_seconds=2)
    monkeypatch.setenv("MEDIA_BUCKET", "m")
    monkeypatch.setenv("CATALOG_TABLE", "c")
    monkeypatch.setenv("CHUNK_SECONDS", "5")
    monkeypatch.setenv("SEGMENT_SECONDS", "2")
    assert Settings.from_env().chunk_seconds == 6


def test_output_fps_halves_above_60():
    assert output_fps(Fraction(120)) == 60
    assert output_fps(Fraction(120000, 1001)) == Fraction(60000, 1001)
    assert output_fps(Fraction(50)) == 50


def _info(**overrides) -> MediaInfo:
    base = dict(container="mov,mp4", video_codec="h264", pix_fmt="yuv420p", width=1920, height=1080,
                sar_num=1, sar_den=1, rotation=0, fps_num=30000, fps_den=1001, cfr=True, frames=1800,
                video_start_s=0.0, duration_s=60.06, interlaced=False, has_audio=True, audio_codec="aac",
                audio_channels=6, audio_sample_rate=48000, declared_duration_s=60.06)
    base.update(overrides)
    return MediaInfo(**base)


def test_plan_payload_is_small_and_complete():
    settings = Settings(ingest_bucket="i", media_bucket="m", catalog_table="c", parts_table="p",
                        event_bus_name="b", chunk_seconds=60, segment_seconds=2)
    plan = step_output(make_plan(_info(frames=2 * 3600 * 30, duration_s=7200.0, fps_num=30, fps_den=1), settings))
    assert len(plan["chunks"]) == 120
    assert sum(c["frames"] for c in plan["chunks"]) == plan["total_frames"] == 216000
    import json

    assert len(json.dumps(plan)) < 20_000  # a 2-hour film stays far below the 256 KB state limit
    assert plan["video"]["exact"] is True
    assert [r["name"] for r in plan["renditions"]] == ["1080p", "720p", "480p", "240p"]


def test_plan_of_a_vfr_source_resamples_to_the_grid():
    settings = Settings(ingest_bucket="i", media_bucket="m", catalog_table="c", parts_table="p",
                        event_bus_name="b", chunk_seconds=4, segment_seconds=2)
    plan = step_output(make_plan(_info(cfr=False, frames=95, duration_s=4.0, fps_num=25, fps_den=1), settings))
    assert plan["video"]["exact"] is False
    assert plan["total_frames"] == 100
    assert math.isclose(plan["duration_s"], 4.0)
