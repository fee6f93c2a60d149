"""Ingest end to end on the local cloud: admin creates a title, uploads a real clip to the presigned
URL, and S3 → EventBridge → the transcode state machine (moto's ASL engine, real handlers, real
ffmpeg) takes it to READY — or to FAILED with a reason for a file that is not a video."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import m3u8
import pytest
import requests
from boto3.dynamodb.conditions import Key

from tests.unit.transcode.media_factory import make_text, make_video

TITLE = {
    "title": "Integration Clip",
    "description": "A generated test pattern",
    "genres": ["documentary"],
    "cast": ["Test Pattern"],
    "language": "en",
    "maturity_rating": "PG",
    "year": 2025,
}


@pytest.fixture(scope="module")
def admin(endpoints: dict[str, Any], http: requests.Session) -> dict[str, str]:
    r = http.post(endpoints["api_url"] + "/accounts/login", json=endpoints["admin"])
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def small_chunks(endpoints: dict[str, Any], aws: Any) -> None:
    """Seconds-long chunks, set through configuration (UpdateFunctionConfiguration) as an operator
    would — not a code edit — so a 5 s clip fans out into several Map items."""
    lam = aws("lambda")
    for lid, name in endpoints["resources"]["functions"].items():
        if lid.startswith("Media"):
            env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
            if "CHUNK_SECONDS" in env:
                env["CHUNK_SECONDS"] = "2"
                lam.update_function_configuration(FunctionName=name, Environment={"Variables": env})


@pytest.fixture(scope="module")
def bus_observer(endpoints: dict[str, Any], aws: Any) -> str:
    """An SQS queue subscribed to the platform's event bus, to see what was published."""
    sqs, events = aws("sqs"), aws("events")
    bus = next(iter(endpoints["resources"]["event_buses"].values()))
    url = sqs.create_queue(QueueName=f"observer-{time.time_ns()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="observe-titles", EventBusName=bus,
                    EventPattern=json.dumps({"detail-type": ["TitlePublished"]}))
    events.put_targets(Rule="observe-titles", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url  # type: ignore[no-any-return]


def _ingest(endpoints: dict[str, Any], http: requests.Session, admin: dict[str, str], source: Path) -> str:
    return _ingest_with_url(endpoints, http, admin, source)[0]


def _ingest_with_url(
    endpoints: dict[str, Any], http: requests.Session, admin: dict[str, str], source: Path
) -> tuple[str, dict[str, Any]]:
    """Create a title and PUT `source` to its upload URL; returns the title id and the URL grant."""
    api = endpoints["api_url"]
    r = http.post(api + "/titles", json=TITLE, headers=admin)
    assert r.status_code == 201, r.text
    title_id = r.json()["title_id"]
    r = http.post(api + f"/titles/{title_id}/upload", json={"size_bytes": source.stat().st_size}, headers=admin)
    assert r.status_code == 200, r.text
    up = r.json()
    put = http.request(up.get("method", "PUT"), up["upload_url"], data=source.read_bytes(), headers=up.get("headers"))
    assert put.status_code == 200, put.text
    return title_id, up


def _wait(endpoints: dict[str, Any], http: requests.Session, admin: dict[str, str], title_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        r = http.get(endpoints["api_url"] + f"/titles/{title_id}", headers=admin)
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("READY", "FAILED"):
            return r.json()  # type: ignore[no-any-return]
        time.sleep(0.5)
    raise AssertionError(f"title {title_id} never settled")


def test_non_admin_cannot_create_titles(endpoints: dict[str, Any], http: requests.Session) -> None:
    creds = {"email": f"viewer-{time.time_ns()}@example.com", "password": "Vi3wer-password"}
    assert http.post(endpoints["api_url"] + "/accounts", json=creds).status_code == 202
    # sign-up answers 202 and emails a code; moto's ConfirmSignUp takes any code
    assert http.post(endpoints["api_url"] + "/accounts/confirm",
                     json={"email": creds["email"], "code": "000000"}).status_code == 201
    token = http.post(endpoints["api_url"] + "/accounts/login", json=creds).json()["access_token"]
    r = http.post(endpoints["api_url"] + "/titles", json=TITLE, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"


def test_upload_becomes_an_adaptive_stream(
    endpoints: dict[str, Any], http: requests.Session, aws: Any, admin: dict[str, str],
    small_chunks: None, bus_observer: str, tmp_path: Path,
) -> None:
    source = make_video(tmp_path / "clip.mp4", width=426, height=240, seconds=5.0, rate="25", audio="stereo")
    title_id = _ingest(endpoints, http, admin, source)
    title = _wait(endpoints, http, admin, title_id)
    assert title["status"] == "READY", title
    assert abs(title["duration_s"] - 5.0) < 0.1
    assert title["renditions"] and all(r["height"] <= 240 and r["width"] % 2 == 0 for r in title["renditions"])

    s3 = aws("s3")
    media = next(b for lid, b in endpoints["resources"]["buckets"].items() if "MediaBucket" in lid)
    master_key = title["manifest_path"]
    master = m3u8.loads(s3.get_object(Bucket=media, Key=master_key)["Body"].read().decode())
    assert master.is_variant and len(master.playlists) == len(title["renditions"])
    base = master_key.rsplit("/", 1)[0]
    segments = 0
    for variant in master.playlists:
        assert variant.stream_info.bandwidth and variant.stream_info.resolution and variant.stream_info.codecs
        playlist = m3u8.loads(s3.get_object(Bucket=media, Key=f"{base}/{variant.uri}")["Body"].read().decode())
        assert not any(seg.discontinuity for seg in playlist.segments)
        assert abs(sum(seg.duration for seg in playlist.segments) - 5.0) < 0.1
        vdir = f"{base}/{variant.uri}".rsplit("/", 1)[0]
        for seg in playlist.segments:
            s3.head_object(Bucket=media, Key=f"{vdir}/{seg.uri}")  # every segment exists
            segments += 1
    assert segments >= 3 * len(master.playlists)
    assert any(m.type == "AUDIO" for m in master.media), "audio group in the master playlist"

    parts_table = next(t for lid, t in endpoints["resources"]["tables"].items() if "Parts" in lid)
    from boto3 import resource

    table = resource("dynamodb", endpoint_url=endpoints["aws_endpoint_url"], region_name="us-east-1",
                     aws_access_key_id="local", aws_secret_access_key="local").Table(parts_table)
    rendition = title["renditions"][0]["name"]
    parts = table.query(KeyConditionExpression=Key("title_format").eq(f"{title_id}#{rendition}"))["Items"]
    assert len(parts) >= 3 and sorted(int(p["part_num"]) for p in parts) == list(range(len(parts)))

    msgs = aws("sqs").receive_message(QueueUrl=bus_observer, MaxNumberOfMessages=10, WaitTimeSeconds=5)
    published = [json.loads(m["Body"]) for m in msgs.get("Messages", [])]
    [detail] = [p["detail"] for p in published if p["detail"]["title_id"] == title_id]
    # contracts B and D: the plan tiers (all three hold the <=240p renditions) and the item's version
    assert [t["max_height"] for t in detail["playback_tiers"]] == [720, 1080, 2160]
    assert isinstance(detail["version"], int) and detail["version"] >= 2
    for tier in detail["playback_tiers"]:
        assert tier["master"] == tier["prefix"] + "master.m3u8"
        tier_master = m3u8.loads(s3.get_object(Bucket=media, Key=tier["master"])["Body"].read().decode())
        assert sorted(p.uri.rsplit("/", 2)[-2] for p in tier_master.playlists) == sorted(tier["renditions"])

    # Work files are cleaned up; a READY title's source is frozen.
    assert s3.list_objects_v2(Bucket=media, Prefix=f"work/{title_id}/").get("KeyCount", 0) == 0
    r = http.post(endpoints["api_url"] + f"/titles/{title_id}/upload", json={"size_bytes": 1024}, headers=admin)
    assert r.status_code == 409 and r.json()["error"]["code"] == "TITLE_PUBLISHED"

    # Any signed-in viewer sees it now, alone and in the listing.
    creds = {"email": f"watcher-{time.time_ns()}@example.com", "password": "Watch3r-password"}
    assert http.post(endpoints["api_url"] + "/accounts", json=creds).status_code == 202
    # sign-up answers 202 and emails a code; moto's ConfirmSignUp takes any code
    assert http.post(endpoints["api_url"] + "/accounts/confirm",
                     json={"email": creds["email"], "code": "000000"}).status_code == 201
    viewer = {"authorization": "Bearer " + http.post(endpoints["api_url"] + "/accounts/login", json=creds)
              .json()["access_token"]}
    assert http.get(endpoints["api_url"] + f"/titles/{title_id}", headers=viewer).json()["status"] == "READY"
    listing = http.get(endpoints["api_url"] + "/titles", headers=viewer, params={"limit": "50"}).json()
    assert title_id in [t["title_id"] for t in listing["items"]]


def test_a_text_file_fails_with_a_reason_and_publishes_nothing(
    endpoints: dict[str, Any], http: requests.Session, aws: Any, admin: dict[str, str], tmp_path: Path
) -> None:
    title_id = _ingest(endpoints, http, admin, make_text(tmp_path / "notes.mp4"))
    title = _wait(endpoints, http, admin, title_id)
    assert title["status"] == "FAILED"
    assert title.get("failure_reason") and len(title["failure_reason"]) > 10
    media = next(b for lid, b in endpoints["resources"]["buckets"].items() if "MediaBucket" in lid)
    assert aws("s3").list_objects_v2(Bucket=media, Prefix=f"titles/{title_id}/").get("KeyCount", 0) == 0


def _executions_settled(aws: Any, endpoints: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Wait until the state machines (the upload workflow among them) have `count` executions in
    all and none is running."""
    sfn = aws("stepfunctions")
    machines = endpoints["resources"]["state_machines"].values()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = [r for m in machines for r in sfn.list_executions(stateMachineArn=m)["executions"]]
        if len(runs) >= count and all(r["status"] != "RUNNING" for r in runs):
            return runs  # type: ignore[no-any-return]
        time.sleep(0.5)
    raise AssertionError(f"executions did not settle: {runs}")


def test_a_reused_upload_url_cannot_unpublish_a_ready_title(
    endpoints: dict[str, Any], http: requests.Session, aws: Any, admin: dict[str, str],
    small_chunks: None, tmp_path: Path,
) -> None:
    """A presigned PUT stays valid for its lifetime: PUTting garbage to it after the title is READY
    must start nothing that touches the title or its HLS output."""
    source = make_video(tmp_path / "clip.mp4", width=320, height=180, seconds=3.0, rate="25", audio="stereo")
    title_id, up = _ingest_with_url(endpoints, http, admin, source)
    title = _wait(endpoints, http, admin, title_id)
    assert title["status"] == "READY", title
    s3 = aws("s3")
    media = next(b for lid, b in endpoints["resources"]["buckets"].items() if "MediaBucket" in lid)

    def hls() -> dict[str, str]:
        listed = s3.list_objects_v2(Bucket=media, Prefix=f"titles/{title_id}/").get("Contents", [])
        return {o["Key"]: o["ETag"] for o in listed}

    before = hls()
    assert f"titles/{title_id}/hls/master.m3u8" in before
    executions = len(_executions_settled(aws, endpoints, 1))

    put = http.request(up.get("method", "PUT"), up["upload_url"], data=b"\x00garbage" * 1000,
                       headers=up.get("headers"))
    assert put.status_code == 200, put.text
    runs = _executions_settled(aws, endpoints, executions + 1)
    newest = max(runs, key=lambda r: r["startDate"])
    assert newest["status"] == "SUCCEEDED", newest  # the reused URL's upload ended cleanly

    after = http.get(endpoints["api_url"] + f"/titles/{title_id}", headers=admin).json()
    assert after["status"] == "READY" and after["manifest_path"] == title["manifest_path"], after
    assert hls() == before  # every HLS object still there, unchanged
