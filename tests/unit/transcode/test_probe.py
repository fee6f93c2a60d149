"""Probing real (tiny, generated) files with ffmpeg only, and the probe step's rejections."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from transcode.handlers import probe as probe_handler
from transcode.logic.failure import failure_reason
from transcode.media import probe
from transcode.models.errors import MediaRejected
from transcode.models.steps import StepError

from tests.unit.transcode import media_factory
from tests.unit.transcode.asl_driver import Interpreter


def _probe(path: Path):
    return probe.probe(str(path), first_bytes=path.read_bytes()[:512])


def test_ntsc_rate_51_audio(media):
    info = _probe(media("ntsc51", width=320, height=180, seconds=3, rate="30000/1001", audio="5.1"))
    assert info.fps == Fraction(30000, 1001)
    assert info.frames == 90 and info.cfr
    assert info.duration_s == pytest.approx(90 * 1001 / 30000)
    assert (info.width, info.height, info.rotation) == (320, 180, 0)
    assert info.has_audio and info.audio_channels == 6 and info.audio_sample_rate == 48000
    assert info.pix_fmt == "yuv420p" and info.video_codec == "h264"


def test_sample_aspect_ratio(media):
    info = _probe(media("sar43", width=240, height=180, seconds=1, sar="4/3", audio=None))
    assert (info.sar_num, info.sar_den) == (4, 3)
    assert info.display_size == (320, 180)
    assert not info.has_audio and info.audio_channels == 0


def test_rotation_makes_display_portrait(media):
    info = _probe(media("rot90", width=320, height=180, seconds=1, rotation=90, audio=None))
    assert info.rotation in (90, 270)
    assert info.display_size == (180, 320)


def test_matroska_timebase_jitter_still_gives_the_nominal_rate(media_dir):
    path = media_factory.make_video(media_dir / "jitter.mkv", seconds=2, rate="30000/1001",
                                    audio=None, container="matroska")
    info = _probe(path)
    assert info.fps == Fraction(30000, 1001) and info.frames == 60 and info.cfr


def test_text_file_renamed_mp4_is_rejected_as_text(tmp_path):
    with pytest.raises(MediaRejected, match=r"text, not a video .*Shooting notes"):
        _probe(media_factory.make_text(tmp_path / "notes.mp4"))


def test_random_bytes_are_not_a_readable_format(tmp_path):
    path = tmp_path / "noise"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(MediaRejected, match="not a video format we can read"):
        _probe(path)


def test_truncated_mp4_without_index_says_incomplete(media, tmp_path):
    src = media("plain", seconds=3)
    with pytest.raises(MediaRejected,
                       match=r"incomplete: its index \(the 'moov' box\) is missing.*complete file"):
        _probe(media_factory.make_truncated(src, tmp_path / "cut.mp4", 0.6))


def test_truncated_faststart_mp4_says_where_the_data_ends(media, tmp_path):
    src = media("faststart", seconds=4, faststart=True)
    with pytest.raises(MediaRejected, match=r"truncated: it declares 4\.0 s but its data ends at \d\.\d s"):
        _probe(media_factory.make_truncated(src, tmp_path / "cut.mp4", 0.5))


def test_audio_only_file_has_no_video(tmp_path):
    with pytest.raises(MediaRejected, match=r"no video stream \(it contains only audio\)"):
        _probe(media_factory.make_audio_only(tmp_path / "song.m4a"))


def test_still_image_is_not_a_video(tmp_path):
    with pytest.raises(MediaRejected, match="still image"):
        _probe(media_factory.make_image(tmp_path / "poster"))


def test_limits(media):
    info = _probe(media("plain", seconds=3))
    probe.validate(info, max_duration_s=10)
    with pytest.raises(MediaRejected, match=r"3\.0 s long, over the 2\.0 s limit"):
        probe.validate(info, max_duration_s=2)


# --- the probe step through S3 + the catalog, and the fail step after it ---------------------------

@pytest.mark.parametrize("kind,reason", [
    ("text", "text, not a video"),
    ("empty", "empty (0 bytes)"),
    ("truncated", "incomplete"),
])
def test_workflow_marks_bad_uploads_failed_with_the_reason(cloud, media, tmp_path, kind, reason):
    path = {
        "text": lambda: media_factory.make_text(tmp_path / "x.mp4"),
        "empty": lambda: media_factory.make_empty(tmp_path / "x.mp4"),
        "truncated": lambda: media_factory.make_truncated(media("plain", seconds=3), tmp_path / "x.mp4", 0.6),
    }[kind]()
    cloud.create_title("t-bad")
    cloud.put("titles/t-bad/hls/stale.m4s")  # partial output of an earlier run must go
    execution = Interpreter().run(cloud.upload("t-bad", path))
    assert execution.status == "FAILED" and execution.error == "TranscodeFailed"
    assert [i.step for i in execution.invocations] == ["probe", "fail"]  # MediaRejected is not retried
    item = cloud.title("t-bad")
    assert item["status"] == "FAILED" and item["gsi1pk"] == "STATUS#FAILED"
    assert reason in item["failure_reason"] and "upload" in item["failure_reason"].lower()
    assert [t["title_id"] for t in cloud.titles_by_status("FAILED")] == ["t-bad"]
    assert cloud.keys("titles/t-bad/") == [] and cloud.keys("work/t-bad/") == []


def test_probe_claims_the_title_and_returns_the_job(cloud, media):
    cloud.create_title("t-ok")
    event = cloud.upload("t-ok", media("plain", seconds=3))
    out = probe_handler.lambda_handler(event)
    assert out["title_id"] == "t-ok" and out["job_id"] == event["id"]
    obj = event["detail"]["object"]
    assert out["source"] == {"bucket": "reelstack-ingest", "key": "uploads/t-ok/source",
                             "size": obj["size"], "etag": obj["etag"]}
    assert out["media"]["frames"] == 75 and out["media"]["fps"] == "25/1"
    item = cloud.title("t-ok")
    assert item["status"] == "TRANSCODING" and item["gsi1pk"] == "STATUS#TRANSCODING"
    assert item["gsi1sk"] == "2026-11-25T15:59:00.000Z#t-ok"  # created_at order kept


def test_probe_without_a_catalog_item_fails_with_a_reason(cloud, media):
    event = cloud.upload("t-missing", media("plain", seconds=3))
    execution = Interpreter().run(event)
    assert execution.status == "FAILED"
    assert execution.invocations[0].error == "TitleNotFound"
    fail_out = execution.invocations[-1].output
    assert fail_out["status"] == "NOT_OWNED"
    assert "create the title before uploading" in fail_out["failure_reason"]


def test_other_keys_are_rejected(cloud, media):
    event = cloud.upload("t-x", media("plain", seconds=3))
    event["detail"]["object"]["key"] = "uploads/t-x/../../etc/passwd"
    execution = Interpreter().run(event)
    assert execution.invocations[0].error == "InvalidEvent"
    assert execution.invocations[-1].output["status"] == "IGNORED"


def test_failure_reason_for_internal_errors_is_generic_but_useful():
    reason = failure_reason(StepError.model_validate({"Error": "FfmpegError",
                                                      "Cause": '{"errorMessage": "boom"}'}))
    assert "FfmpegError: boom" in reason and "upload it again" in reason
    assert failure_reason(StepError.model_validate({"Error": "MediaRejected",
                                                    "Cause": '{"errorMessage": "Bad file."}'})) == "Bad file."
