"""The whole workflow on tiny clips: probe -> plan -> chunks || audio -> assemble -> publish.

Driven by `asl_driver.Interpreter`, i.e. with the exact task inputs the state machine builds.
Outputs are checked independently of the code under test: playlists with the `m3u8` library,
frames and timestamps by decoding the HLS output with PyAV.
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import m3u8
import pytest
from transcode import wiring
from transcode.handlers import encode_chunk, plan, probe

from tests.unit.transcode import media_factory
from tests.unit.transcode.asl_driver import Interpreter


def decode_hls(playlist: Path) -> tuple[int, list[float], tuple[int, int]]:
    """(frames, presentation times in s, (width, height)) of the video of an HLS playlist."""
    with av.open(str(playlist)) as container:
        stream = container.streams.video[0]
        times = [float(f.pts * f.time_base) for f in container.decode(stream)]
        return len(times), times, (stream.codec_context.width, stream.codec_context.height)


def first_presentation_time(rendition_dir: Path) -> int:
    """Presentation time (timescale units) of the first sample of the first segment, read from the
    boxes themselves (tfdt + the first composition offset), as an MSE player computes it."""
    from transcode.media import cmaf

    data = (rendition_dir / "init.mp4").read_bytes() + (rendition_dir / "seg_00000.m4s").read_bytes()
    moof = next(b for b in cmaf.boxes(data) if b.kind == b"moof")
    traf = cmaf.find(data, [b"traf"], moof.body, moof.end)
    base, _samples, _duration, first_offset = cmaf._read_traf(bytearray(data), moof.start, moof.end, 0)
    assert traf is not None
    return base + first_offset


def test_full_chain_with_51_audio_at_ntsc_rate(cloud, media, tmp_path):
    src = media("ntsc51-640", width=640, height=360, seconds=5, rate="30000/1001", audio="5.1")
    cloud.create_title("t1")
    event = cloud.upload("t1", src)
    execution = Interpreter().run(event)
    assert execution.status == "SUCCEEDED", execution.cause
    assert [i.step for i in execution.invocations] == [
        "probe", "plan", *["encode_chunk"] * 3, "encode_audio", "assemble", "publish"]
    source_frames = execution.calls("probe")[0].output["media"]["frames"]
    assert source_frames == 150

    # every payload between states stays small: keys and numbers, never media
    assert max(len(json.dumps(i.input)) for i in execution.invocations) < 8_000

    # master playlist: two video variants (native 360p + 240p), one stereo AAC group, nested in the
    # innermost plan tier (both are <= 720 high)
    inner = "cap2160/cap1080/cap720/"
    hls = cloud.download_prefix("titles/t1/hls/", tmp_path / "hls")
    master = m3u8.load(str(hls / "master.m3u8"))
    assert master.is_variant
    variants = {p.uri.rsplit("/", 2)[-2]: p for p in master.playlists}
    assert set(variants) == {"360p", "240p"}
    assert {p.uri for p in master.playlists} == {f"{inner}360p/index.m3u8", f"{inner}240p/index.m3u8"}
    infos = {name: p.stream_info for name, p in variants.items()}
    assert infos["360p"].resolution == (640, 360) and infos["240p"].resolution == (426, 240)
    for info in infos.values():
        assert info.bandwidth > 0 and info.audio and info.average_bandwidth <= info.bandwidth
        assert info.codecs.startswith("avc1.") and "mp4a.40.2" in info.codecs
        assert info.frame_rate == pytest.approx(29.97)
    audio = [m for m in master.media if m.type == "AUDIO"]
    assert len(audio) == 1 and audio[0].channels == "2" and audio[0].uri == f"{inner}audio/index.m3u8"
    # every tier has its own master listing exactly the renditions inside it, by relative URIs
    for tier in ("cap2160/", "cap2160/cap1080/", inner):
        tier_master = m3u8.load(str(hls / tier / "master.m3u8"))
        assert sorted(p.uri for p in tier_master.playlists) == sorted(
            f"{inner[len(tier):]}{n}/index.m3u8" for n in ("240p", "360p"))
        assert [m.uri for m in tier_master.media] == [f"{inner[len(tier):]}audio/index.m3u8"]

    # every segment of every playlist is in S3, segments tile the title with no discontinuity
    keys = set(cloud.keys("titles/t1/hls/"))
    for name in ("360p", "240p", "audio"):
        media_pl = m3u8.load(str(hls / inner / name / "index.m3u8"))
        assert media_pl.is_endlist and media_pl.playlist_type == "vod"
        assert not any(s.discontinuity for s in media_pl.segments)
        assert all(f"titles/t1/hls/{inner}{name}/{s.uri}" in keys for s in media_pl.segments)
        assert f"titles/t1/hls/{inner}{name}/{media_pl.segment_map[0].uri}" in keys
        assert sum(s.duration for s in media_pl.segments) == pytest.approx(150 * 1001 / 30000, abs=0.05)
        if name != "audio":
            assert [round(s.duration, 3) for s in media_pl.segments] == [2.002, 2.002, 1.001]
            frames, times, size = decode_hls(hls / inner / name / "index.m3u8")
            assert frames == source_frames
            assert all(b > a for a, b in zip(times, times[1:], strict=False))  # monotonic
            steps = {round(b - a, 4) for a, b in zip(times, times[1:], strict=False)}
            assert steps == {round(1001 / 30000, 4)}  # no gaps or duplicates at chunk seams
            assert size == infos[name].resolution
        # the first segment starts at 0 in both tracks: no hole before the first frame
        assert first_presentation_time(hls / inner / name) == 0

    # part index: one row per segment, keyed ((title, format), part)
    for name in ("360p", "240p", "audio"):
        rows = cloud.parts("t1", name)
        assert [int(r["part_num"]) for r in rows] == [0, 1, 2]
        for r in rows:
            assert r["s3_key"] in keys and int(r["bytes"]) > 0 and float(r["duration_s"]) > 0

    # the title: READY, with renditions, duration, manifest, tiers and quality; claim, outputs and
    # READY each moved the version once (contract D)
    item = cloud.title("t1")
    assert item["status"] == "READY" and item["gsi1pk"] == "STATUS#READY"
    assert int(item["version"]) == 1 + 3
    tiers = [(int(t["max_height"]), t["prefix"], t["master"], t["renditions"]) for t in item["playback_tiers"]]
    assert tiers == [
        (720, f"titles/t1/hls/{inner}", f"titles/t1/hls/{inner}master.m3u8", ["360p", "240p"]),
        (1080, "titles/t1/hls/cap2160/cap1080/", "titles/t1/hls/cap2160/cap1080/master.m3u8", ["360p", "240p"]),
        (2160, "titles/t1/hls/cap2160/", "titles/t1/hls/cap2160/master.m3u8", ["360p", "240p"])]
    assert item["manifest_path"] == "titles/t1/hls/master.m3u8"
    assert float(item["duration_s"]) == pytest.approx(5.005)
    assert [(r["name"], int(r["width"]), int(r["height"])) for r in item["renditions"]] == [
        ("360p", 640, 360), ("240p", 426, 240)]
    assert all(int(r["bandwidth"]) > 0 for r in item["renditions"])
    for name in ("360p", "240p"):
        q = item["quality"][name]
        assert float(q["psnr_db"]) > 30 and 0.9 < float(q["ssim"]) <= 1 and int(q["frames_sampled"]) >= 9

    # the event
    published = [e for e in cloud.received_events() if e["detail-type"] == "TitlePublished"]
    assert len(published) == 1
    assert published[0]["source"] == "reelstack.catalog"
    detail = published[0]["detail"]
    assert detail["title_id"] == "t1" and detail["manifest_path"] == "titles/t1/hls/master.m3u8"
    assert detail["version"] == int(item["version"]) and "kind" not in detail
    assert [t["max_height"] for t in detail["playback_tiers"]] == [720, 1080, 2160]
    assert detail["playback_tiers"][0]["master"] == f"titles/t1/hls/{inner}master.m3u8"
    assert detail["duration_s"] == pytest.approx(5.005)
    assert [r["name"] for r in detail["renditions"]] == ["360p", "240p"]
    assert set(detail["renditions"][0]) == {"name", "width", "height", "bandwidth"}

    assert cloud.keys("work/t1/") == []  # scratch removed once published


def test_source_without_audio_gives_a_video_only_title(cloud, media, tmp_path):
    cloud.create_title("t-silent")
    execution = Interpreter().run(cloud.upload("t-silent", media("silent", seconds=4, audio=None)))
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.calls("encode_audio")[0].output["key"] is None
    master = m3u8.loads(cloud.get("titles/t-silent/hls/master.m3u8").decode())
    assert not master.media and len(master.playlists) == 1
    assert master.playlists[0].stream_info.audio is None
    assert "mp4a" not in master.playlists[0].stream_info.codecs
    assert not cloud.keys("titles/t-silent/hls/audio/")
    assert cloud.parts("t-silent", "audio") == []
    assert cloud.title("t-silent")["has_audio"] is False


def test_chunk_fault_is_retried_and_the_retry_is_byte_identical(cloud, media, monkeypatch):
    cloud.create_title("t-fault")
    event = cloud.upload("t-fault", media("plain", seconds=4))
    job = probe.lambda_handler(event)
    job["plan"] = plan.lambda_handler({"media": job["media"]})
    item = {k: job[k] for k in ("title_id", "job_id", "source")} | {
        "video": job["plan"]["video"], "renditions": job["plan"]["renditions"],
        "quality_every": job["plan"]["quality_every"], "chunk": job["plan"]["chunks"][1]}
    name = job["plan"]["renditions"][0]["name"]
    prefix = f"titles/t-fault/hls/cap2160/cap1080/cap720/{name}/"

    encode_chunk.lambda_handler({**item, "attempt": 0})
    written = cloud.keys(prefix)
    assert written == [prefix + "init.mp4", prefix + "seg_00001.m4s"]  # chunk 1 = segment 1
    clean = {key: cloud.digest(key) for key in written}

    monkeypatch.setenv("TRANSCODE_FAULTS", json.dumps({"encode_chunk": {"fail_attempts": 1, "chunks": [1]}}))
    wiring.reset()  # a changed environment is a new execution environment (cold start)
    with pytest.raises(Exception) as failed:
        encode_chunk.lambda_handler({**item, "attempt": 0})
    assert type(failed.value).__name__ == "TransientError"
    # other chunks are unaffected by the fault, and write the same init segment
    encode_chunk.lambda_handler({**item, "chunk": job["plan"]["chunks"][0], "attempt": 0})
    assert cloud.digest(prefix + "init.mp4") == clean[prefix + "init.mp4"]
    out = encode_chunk.lambda_handler({**item, "attempt": 1})
    assert out == {"index": 1, "frames": 50}
    # the retry rewrote the same objects with the same bytes: nothing stray, nothing different
    assert {key: cloud.digest(key) for key in written} == clean
    assert cloud.keys(prefix) == [prefix + "init.mp4", prefix + "seg_00000.m4s", prefix + "seg_00001.m4s"]
    meta = json.loads(cloud.get("work/t-fault/chunks/meta/00001.json"))
    assert meta["frames"] == 50 and set(meta["quality"]) == {name}
    [segment] = meta["tracks"][name]["segments"]
    assert segment["index"] == 1 and segment["duration_s"] == 2.0
    assert [int(r["part_num"]) for r in cloud.parts("t-fault", name)] == [0, 1]


def test_workflow_retries_an_injected_chunk_fault(cloud, media, monkeypatch):
    monkeypatch.setenv("TRANSCODE_FAULTS", json.dumps({"encode_chunk": {"fail_attempts": 1, "chunks": [1]}}))
    cloud.create_title("t-retry")
    execution = Interpreter().run(cloud.upload("t-retry", media("plain", seconds=4)))
    assert execution.status == "SUCCEEDED", execution.cause
    chunk_calls = execution.calls("encode_chunk")
    assert [(c.input["chunk"]["index"], c.input["attempt"], c.error) for c in chunk_calls] == [
        (0, 0, None), (1, 0, "TransientError"), (1, 1, None)]
    assert cloud.title("t-retry")["status"] == "READY"


def test_rerun_and_reupload_leave_exactly_one_set_of_outputs(cloud, media):
    cloud.create_title("t-re")
    first = Interpreter().run(cloud.upload("t-re", media("long6", seconds=6)))
    assert first.status == "SUCCEEDED", first.cause
    keys_first = cloud.keys("titles/t-re/")
    rows_first = len(cloud.all_parts())

    # the same event delivered again (EventBridge is at-least-once): same outputs, no duplicates
    again = Interpreter().run(first.invocations[0].input)
    assert again.status == "SUCCEEDED", again.cause
    assert cloud.keys("titles/t-re/") == keys_first
    assert len(cloud.all_parts()) == rows_first == 2 * 3  # native 180p + audio, 3 parts each

    # a shorter re-upload once the title waits for a source again (only an UPLOADING title takes
    # one): the extra segment and part rows of the first upload disappear
    cloud.set_status("t-re", "UPLOADING")
    second = Interpreter().run(cloud.upload("t-re", media("plain", seconds=4)))
    assert second.status == "SUCCEEDED", second.cause
    keys_second = cloud.keys("titles/t-re/")
    assert len(keys_second) == len(keys_first) - 2  # one video + one audio segment fewer
    assert len(cloud.all_parts()) == 2 * 2
    assert cloud.title("t-re")["status"] == "READY"
    # the redelivered event found the title READY and published nothing again
    assert [e["detail-type"] for e in cloud.received_events()].count("TitlePublished") == 2


def test_publish_refuses_when_a_newer_upload_owns_the_title(cloud, media):
    from transcode.handlers import publish
    from transcode.models.errors import Superseded

    cloud.create_title("t-own")
    job = probe.lambda_handler(cloud.upload("t-own", media("plain", seconds=4)))
    cloud.set_status("t-own", "UPLOADING")  # e.g. failed, and an admin asked for a new upload URL
    probe.lambda_handler(cloud.upload("t-own", media("plain", seconds=4)))  # newer job takes over
    with pytest.raises(Superseded):
        publish.lambda_handler({"title_id": "t-own", "job_id": job["job_id"], "assembled": {
            "manifest_path": "x", "renditions": [], "duration_s": 1.0}})
    assert cloud.title("t-own")["status"] == "TRANSCODING"


def test_output_frame_grid_is_exact_for_the_plan(cloud, media):
    """Cross-check of the plan against the probe for the 25 fps clip used above."""
    cloud.create_title("t-plan")
    job = probe.lambda_handler(cloud.upload("t-plan", media("plain", seconds=4)))
    p = plan.lambda_handler({"media": job["media"]})
    assert Fraction(p["fps"]) == 25 and p["total_frames"] == 100
    grid = [(c["start_frame"], c["frames"], c["pad_frames"]) for c in p["chunks"]]
    assert grid == [(0, 50, 13), (50, 50, 0)]


def test_variable_frame_rate_source_is_resampled_onto_the_grid(cloud, media_dir, tmp_path):
    """A phone-style VFR clip (every 7th frame dropped) becomes CFR at its nominal rate."""
    src = media_dir / "vfr.mkv"
    if not src.exists():
        subprocess.run([media_factory.ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                        "testsrc2=size=320x180:rate=30:duration=4", "-vf", "select='not(eq(mod(n,7),3))'",
                        "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast", "-y", str(src)], check=True)
    cloud.create_title("t-vfr")
    execution = Interpreter().run(cloud.upload("t-vfr", src))
    assert execution.status == "SUCCEEDED", execution.cause
    media = execution.calls("probe")[0].output["media"]
    assert media["cfr"] is False and media["fps"] == "30/1" and media["frames"] < 120
    p = execution.calls("plan")[0].output
    assert p["video"]["exact"] is False
    hls = cloud.download_prefix("titles/t-vfr/hls/", tmp_path / "hls")
    frames, times, _size = decode_hls(hls / "cap2160/cap1080/cap720/180p" / "index.m3u8")
    assert abs(frames - p["total_frames"]) <= 1
    assert all(round(b - a, 4) == round(1 / 30, 4) for a, b in zip(times, times[1:], strict=False))
    assert cloud.title("t-vfr")["status"] == "READY"


def test_assemble_refuses_a_chunk_whose_meta_is_missing(cloud):
    from botocore.exceptions import ClientError
    from transcode.logic.assembly import _chunk_meta
    from transcode.models.errors import OutputMismatch

    objects, bucket = wiring.dependencies().objects, wiring.settings().media_bucket
    cloud.put("work/t1/chunks/meta/00000.json",
              json.dumps({"index": 0, "start_frame": 0, "frames": 48, "bytes": {"360p": 10}}).encode())
    assert _chunk_meta(objects, bucket, "t1", 0).frames == 48
    with pytest.raises(OutputMismatch, match="chunk 1 of t1 was never completed"):
        _chunk_meta(objects, bucket, "t1", 1)
    # Only a missing object reads as "not completed": other S3 errors still surface.
    with pytest.raises(ClientError):
        objects.get_json("no-such-bucket", "work/t1/chunks/meta/00000.json")


def _prepared(cloud, media, title_id: str) -> tuple[dict, list[dict]]:
    """Probe + plan a 4 s clip; returns (job with plan, Map items as the ASL builds them)."""
    cloud.create_title(title_id)
    job = probe.lambda_handler(cloud.upload(title_id, media("plain", seconds=4)))
    job["plan"] = plan.lambda_handler({"media": job["media"]})
    items = [{k: job[k] for k in ("title_id", "job_id", "source")} | {
        "video": job["plan"]["video"], "renditions": job["plan"]["renditions"],
        "quality_every": job["plan"]["quality_every"], "chunk": c, "attempt": 0} for c in job["plan"]["chunks"]]
    return job, items


def test_assemble_checks_every_segment_is_stored_with_its_bytes(cloud, media):
    from transcode.handlers import assemble
    from transcode.models.errors import OutputMismatch

    job, items = _prepared(cloud, media, "t-check")
    for item in items:
        encode_chunk.lambda_handler(item)
    request = {"title_id": "t-check", "job_id": job["job_id"], "plan": job["plan"], "audio": None}
    segment = "titles/t-check/hls/cap2160/cap1080/cap720/180p/seg_00001.m4s"
    good = cloud.get(segment)
    cloud.s3.delete_object(Bucket="reelstack-media", Key=segment)
    with pytest.raises(OutputMismatch, match="1 segments missing"):
        assemble.lambda_handler(request)
    cloud.put(segment, good[:-1] + b"\x00")  # e.g. a straggler of another run wrote this name
    with pytest.raises(OutputMismatch, match="1 with other bytes"):
        assemble.lambda_handler(request)
    cloud.put(segment, good)
    out = assemble.lambda_handler(request)
    assert out["parts"] == 2 and out["has_audio"] is False
    assert [t["max_height"] for t in out["playback_tiers"]] == [720, 1080, 2160]
    assert cloud.keys("work/t-check/") == []


def test_a_chunk_that_outlives_its_failed_title_removes_what_it_wrote(cloud, media):
    """The Map stops when one chunk fails, but a chunk already running finishes: the fail step may
    have cleaned titles/{id}/ before it writes. It re-reads the title and takes its output back."""
    from transcode.handlers import fail
    from transcode.models.errors import Superseded

    job, items = _prepared(cloud, media, "t-late")
    failed = fail.lambda_handler({**job, "error": {"Error": "OutputMismatch", "Cause": "chunk 0 broke"}})
    assert failed["status"] == "FAILED"
    assert int(cloud.title("t-late")["version"]) == 3  # created 1, claim 2, FAILED 3
    [event] = [e for e in cloud.received_events() if e["detail-type"] == "TitleFailed"]
    assert event["detail"]["version"] == 3
    with pytest.raises(Superseded):
        encode_chunk.lambda_handler(items[1])
    assert cloud.keys("titles/t-late/") == []
    assert cloud.parts("t-late", "180p") == []
    assert cloud.keys("work/t-late/") == []  # no record: assemble could never count it
