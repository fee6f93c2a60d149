"""Ingest end to end on the local cloud: an admin creates a title, PUTs a real video to the
presigned URL, and S3 -> EventBridge -> Step Functions -> the transcode functions (real ffmpeg)
make it READY with an HLS master playlist in the media bucket -- visible to a subscriber."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from tests.integration.conftest import LocalCloudProcess

pytestmark = pytest.mark.slow

TITLE = {
    "title": "Test Card",
    "description": "Three seconds of colour bars and a tone.",
    "genres": ["documentary"],
    "cast": [],
    "language": "en",
    "maturity_rating": "TV-G",
    "year": 2026,
}
WORKFLOW_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def media_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    proc = LocalCloudProcess(
        tmp_path_factory.mktemp("reelstack-media"),
        ["--extend", "tests.integration.media_extend:add_media_and_catalog", "--no-search"],
    )
    try:
        yield proc.wait_ready()
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def source_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 s 320x240 H.264/AAC MP4 made with the same static ffmpeg the layer ships."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    out = tmp_path_factory.mktemp("video") / "source.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
         "-f", "lavfi", "-i", "testsrc=size=320x240:rate=24:duration=3",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out)],
        check=True,
        timeout=120,
    )  # fmt: skip
    return out


def _call(method: str, url: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, url, timeout=60, **kwargs)


def _token(api: str, email: str, password: str) -> str:
    r = _call("POST", f"{api}/accounts/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_upload_to_ready_title(media_cloud: dict[str, Any], source_video: Path) -> None:
    api = media_cloud["api_url"]
    admin = _auth(_token(api, media_cloud["admin"]["email"], media_cloud["admin"]["password"]))
    email, password = f"viewer-{uuid.uuid4().hex[:8]}@example.com", "Viewer-Passw0rd"
    r = _call("POST", f"{api}/accounts", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    viewer = _auth(_token(api, email, password))

    r = _call("POST", f"{api}/titles", json=TITLE, headers=viewer)
    assert r.status_code == 403, r.text
    r = _call("POST", f"{api}/titles", json=TITLE, headers=admin)
    assert r.status_code == 201, r.text
    title_id = r.json()["title_id"]

    r = _call("POST", f"{api}/titles/{title_id}/upload", headers=admin)
    assert r.status_code == 200, r.text
    upload = r.json()
    put = requests.put(upload["upload_url"], data=source_video.read_bytes(), headers=upload["headers"], timeout=60)
    assert put.status_code == 200, put.text

    deadline = time.monotonic() + WORKFLOW_TIMEOUT_S
    title: dict[str, Any] = {}
    while time.monotonic() < deadline:
        title = _call("GET", f"{api}/titles/{title_id}", headers=admin).json()
        if title.get("status") in ("READY", "FAILED"):
            break
        time.sleep(2)
    assert title.get("status") == "READY", title
    assert title["duration_s"] == pytest.approx(3.0, abs=0.1)
    assert title["renditions"] and all(r["bandwidth"] > 0 for r in title["renditions"])
    assert title["manifest_path"] == f"titles/{title_id}/hls/master.m3u8"

    # The subscriber sees it now, alone and in the listing.
    r = _call("GET", f"{api}/titles/{title_id}", headers=viewer)
    assert r.status_code == 200 and r.json()["status"] == "READY"
    r = _call("GET", f"{api}/titles", headers=viewer, params={"limit": "10"})
    assert title_id in [t["title_id"] for t in r.json()["items"]]

    # The master playlist is in the media bucket, and work/ was cleaned up.
    s3 = boto3.client(
        "s3",
        endpoint_url=media_cloud["aws_endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    media_bucket = next(name for lid, name in media_cloud["resources"]["buckets"].items() if "MediaBucket" in lid)
    master = s3.get_object(Bucket=media_bucket, Key=title["manifest_path"])["Body"].read().decode()
    assert master.startswith("#EXTM3U") and "#EXT-X-STREAM-INF" in master
    assert s3.list_objects_v2(Bucket=media_bucket, Prefix=f"work/{title_id}/").get("KeyCount", 0) == 0

    # A READY title's source is frozen.
    r = _call("POST", f"{api}/titles/{title_id}/upload", headers=admin)
    assert r.status_code == 409 and r.json()["error"]["code"] == "TITLE_NOT_UPLOADABLE"
