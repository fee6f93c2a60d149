"""A title of 20 chunks through the real path on the local cloud (issue 11's proof): admin creates a
title, PUTs a generated source to the presigned URL, and S3 -> EventBridge -> the transcode state
machine (moto's ASL engine, the production definition, real handlers and ffmpeg) publishes it in
20 chunks. Then the master playlist is played start to end with a real HLS parser (every segment
fetched, durations summing to the source's), and the video is decoded across two chunk boundaries
and compared frame by frame with the source (PyAV).

What a long title changes is the number of chunks (the Map's fan-out, the records assemble reads,
the 19 seams), not the seconds in each: the chunk length is configuration (CHUNK_SECONDS, set as
an operator would), so a 4-minute source in 12 s chunks takes the path a 20-minute film takes in
the deployed 60 s chunks, at a fifth of the media work; only the segment count is smaller (120
per track, not 600). This test was a 20-minute source until 2026-11-30 (~125 s of the suite's
critical path). Small on purpose too (160x90 at 23.976 fps, x264 `superfast`, which keeps
B-frames): the pixels are not under test.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import m3u8
import numpy as np
import pytest
import requests

from tests.unit.transcode.media_factory import _run

pytestmark = pytest.mark.slow

SECONDS = 4 * 60
RATE = Fraction(24000, 1001)
CHUNK_SECONDS = 12  # 20 chunks (a 20-minute film at the deployed 60 s)
SEGMENT_SECONDS = 2  # the deployed segment length (not changed here)
CHUNKS = SECONDS // CHUNK_SECONDS
SEGMENTS = SECONDS // SEGMENT_SECONDS
TITLE = {"title": "A Long Test Pattern", "description": "Twenty generated chunks", "genres": ["documentary"],
         "cast": ["Test Pattern"], "language": "en", "maturity_rating": "PG", "year": 2025}


@pytest.fixture(scope="module")
def admin(endpoints: dict[str, Any], http: requests.Session) -> dict[str, str]:
    r = http.post(endpoints["api_url"] + "/accounts/login", json=endpoints["admin"])
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def film_settings(endpoints: dict[str, Any], aws: Any) -> Iterator[None]:
    """A 12 s chunk length (another module may have set another for short clips) and a fast
    preset, set through configuration as an operator would; restored afterwards."""
    lam = aws("lambda")
    saved: dict[str, dict[str, str]] = {}
    for lid, name in endpoints["resources"]["functions"].items():
        if not lid.startswith("Media"):
            continue
        env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        if "CHUNK_SECONDS" in env:
            saved[name] = dict(env)
            env.update({"CHUNK_SECONDS": str(CHUNK_SECONDS), "X264_PRESET": "superfast"})
            lam.update_function_configuration(FunctionName=name, Environment={"Variables": env})
    yield
    for name, env in saved.items():
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": env})


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """testsrc2 (a moving pattern: neighbouring frames differ) with a noise soundtrack stored as
    PCM: cheap to make, and AAC encodes noise ~4x faster than the factory's pure tone (which the
    encoder's rate search finds hardest), so the audio step does not dominate the test."""
    path = tmp_path_factory.mktemp("film") / "film.mkv"
    _run(["-f", "lavfi", "-i", f"testsrc2=size=160x90:rate={RATE.numerator}/{RATE.denominator}:duration={SECONDS}",
          "-f", "lavfi", "-i", f"anoisesrc=color=pink:sample_rate=16000:amplitude=0.3:duration={SECONDS}",
          "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "48",
          "-x264-params", "bframes=2", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", "-y", str(path)])
    return path


def _published(endpoints: dict[str, Any], http: requests.Session, admin: dict[str, str], source: Path) -> str:
    api = endpoints["api_url"]
    r = http.post(api + "/titles", json=TITLE, headers=admin)
    assert r.status_code == 201, r.text
    title_id = r.json()["title_id"]
    r = http.post(api + f"/titles/{title_id}/upload", json={"size_bytes": source.stat().st_size}, headers=admin)
    assert r.status_code == 200, r.text
    up = r.json()
    put = http.request(up.get("method", "PUT"), up["upload_url"], data=source.read_bytes(), headers=up.get("headers"))
    assert put.status_code == 200, put.text
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        title = http.get(api + f"/titles/{title_id}", headers=admin).json()
        if title["status"] in ("READY", "FAILED"):
            assert title["status"] == "READY", title
            return title_id
        time.sleep(1)
    raise AssertionError(f"title {title_id} was not published in 10 minutes")


def _first_presentation(init_and_first_segment: bytes) -> int:
    """tfdt + the first sample's composition offset of the first fragment, read from the boxes as
    a Media Source player reads them (PyAV's demuxer shifts negative offsets on its own)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions" / "transcode"))
    from transcode.media import cmaf

    data = bytearray(init_and_first_segment)
    moof = next(b for b in cmaf.boxes(data) if b.kind == b"moof")
    base, _samples, _duration, first_offset = cmaf._read_traf(data, moof.start, moof.end, 0)
    return base + first_offset


def _frames(data: bytes, wanted: set[int]) -> tuple[int, list[float], dict[int, np.ndarray]]:
    """Decode a whole (fragmented) MP4: frame count, presentation times, and the luma planes of
    the `wanted` frame numbers."""
    kept: dict[int, np.ndarray] = {}
    times: list[float] = []
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        for n, frame in enumerate(container.decode(stream)):
            times.append(float(frame.pts * frame.time_base))
            if n in wanted:
                kept[n] = frame.to_ndarray(format="gray").astype(np.float64)
    return len(times), times, kept


def test_a_twenty_chunk_title_publishes_and_plays_end_to_end(
    endpoints: dict[str, Any], http: requests.Session, aws: Any, admin: dict[str, str], film_settings: None,
    source: Path,
) -> None:
    started = time.monotonic()
    title_id = _published(endpoints, http, admin, source)
    publish_s = time.monotonic() - started
    s3 = aws("s3")
    media = next(b for lid, b in endpoints["resources"]["buckets"].items() if "MediaBucket" in lid)

    def get(key: str) -> bytes:
        return s3.get_object(Bucket=media, Key=key)["Body"].read()  # type: ignore[no-any-return]

    total_frames = math.ceil(SECONDS * RATE)  # testsrc2 makes every frame shown before SECONDS
    duration = float(total_frames / RATE)
    chunk_starts = [math.ceil(k * CHUNK_SECONDS * RATE) for k in range(1, 3)]  # two chunk boundaries

    # --- play the master playlist start to end ----------------------------------------------------
    master_key = f"titles/{title_id}/hls/master.m3u8"
    master = m3u8.loads(get(master_key).decode())
    assert master.is_variant and len(master.playlists) == 1  # 160x90: the native rung only
    [audio] = [m for m in master.media if m.type == "AUDIO"]
    tracks = {"video": master.playlists[0].uri, "audio": audio.uri}
    video_bytes = b""
    stored = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=media, Prefix=f"titles/{title_id}/hls/") for o in page.get("Contents", [])}
    for kind, uri in tracks.items():
        playlist = m3u8.loads(get(f"titles/{title_id}/hls/{uri}").decode())
        base = f"titles/{title_id}/hls/{uri.rsplit('/', 1)[0]}/"
        assert playlist.is_endlist and playlist.playlist_type == "vod"
        assert not any(seg.discontinuity for seg in playlist.segments)
        # the video's grid segments; the audio's last AAC frames past SECONDS may make one more
        assert len(playlist.segments) in ((SEGMENTS,) if kind == "video" else (SEGMENTS, SEGMENTS + 1))
        named = [base + playlist.segment_map[0].uri] + [base + seg.uri for seg in playlist.segments]
        assert not set(named) - stored  # every segment the playlist names is stored
        assert sum(seg.duration for seg in playlist.segments) == pytest.approx(duration, abs=0.03)
        if kind == "video":
            assert [seg.uri for seg in playlist.segments] == [f"seg_{i:05d}.m4s" for i in range(SEGMENTS)]
            assert all(seg.duration == pytest.approx(SEGMENT_SECONDS, abs=0.05) for seg in playlist.segments[:-1])
            video_bytes = b"".join(get(key) for key in named)  # the stream, fetched as a player would
        # the first sample of each track is presented at 0: no hole before the first frame
        assert _first_presentation(get(named[0]) + get(named[1])) == 0

    # --- one continuous stream: every frame, evenly spaced, first at 0 ---------------------------
    wanted = {b + d for b in chunk_starts for d in range(-2, 2)}
    frames, times, out = _frames(video_bytes, wanted)
    assert frames == total_frames
    step = float(1 / RATE)
    gaps = {round(b - a, 4) for a, b in zip(times, times[1:], strict=False)}
    assert gaps == {round(step, 4)}  # no gap, no overlap, no duplicate at any of the 19 seams
    assert times[-1] - times[0] == pytest.approx((total_frames - 1) * step, abs=1e-3)

    # --- frame-exact across two chunk boundaries: output frame n is source frame n -------------
    around = {n + d for n in wanted for d in (-1, 0, 1)}
    _count, _times, src = _frames(source.read_bytes(), around)
    for n in sorted(wanted):
        errors = {m: float(np.mean((out[n] - src[m]) ** 2)) for m in (n - 1, n, n + 1)}
        assert min(errors, key=errors.__getitem__) == n, (n, errors)
        assert errors[n] < 0.25 * min(errors[n - 1], errors[n + 1]), (n, errors)

    # --- what the platform was told -------------------------------------------------------------
    item = http.get(endpoints["api_url"] + f"/titles/{title_id}", headers=admin).json()
    assert item["duration_s"] == pytest.approx(duration, abs=0.01)
    report = json.loads(get(f"titles/{title_id}/quality.json"))
    assert len(report["chunks"]) == CHUNKS == 20 and report["summary"]["90p"]["psnr_db"] > 30
    assert s3.list_objects_v2(Bucket=media, Prefix=f"work/{title_id}/").get("KeyCount", 0) == 0
    print(f"\n{CHUNKS}-chunk title ({SECONDS} s) published in {publish_s:.1f} s (upload included)")
