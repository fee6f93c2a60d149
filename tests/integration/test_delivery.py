"""Delivery (issue 12) over real HTTP through the local cloud: a title published through the ingest
path is pre-positioned on the edges the ring assigns, plays master -> media playlist -> init ->
segments through `cdn_url` with a grant (and not without one), keeps playing when an edge is stopped
mid-session, and the edges refuse what CloudFront refuses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import m3u8
import pytest
import requests

import local.cdn  # noqa: F401 -- puts the shared layer (reelstack_common) on sys.path, as for the edges
from tests.unit.transcode.media_factory import make_video

TITLE = {"title": "Delivery Clip", "description": "edge fleet test", "genres": ["documentary"], "cast": ["Pattern"],
         "language": "en", "maturity_rating": "PG", "year": 2025}


# ------------------------------------------------------------------------------------------ helpers
def _sign(endpoints: dict[str, Any], state_dir: Path, prefix: str, ttl: int = 600) -> Any:
    from reelstack_common.cdn_signing import sign_grant

    key_id = next(v for k, v in endpoints["resources"]["outputs"].items() if k.endswith("CdnKeyPairId"))
    pem = (state_dir / "cdn" / "signing-key.pem").read_bytes()
    return sign_grant(resource=f"{endpoints['cdn_url']}/{prefix}*", expires_at=int(time.time()) + ttl,
                      key_pair_id=key_id, private_key_pem=pem)


def _api(http: requests.Session, method: str, url: str, **kw: Any) -> requests.Response:
    """One API call, again on a 5xx: on a loaded machine a function's first (cold) invoke can pass its
    timeout. Only for the steps that publish the title this module plays; none of them is under test."""
    for _ in range(4):
        r = http.request(method, url, timeout=60, **kw)
        if r.status_code < 500:
            break
    return r


def _admin(endpoints: dict[str, Any]) -> dict[str, str]:
    return {"x-reelstack-admin-token": endpoints["cdn"]["admin_token"]}


@pytest.fixture(scope="module")
def title(endpoints: dict[str, Any], http: requests.Session,
          tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A clip published through the real ingest path (presigned upload -> transcode -> READY)."""
    api = endpoints["api_url"]
    r = _api(http, "POST", api + "/accounts/login", json=endpoints["admin"])
    assert r.status_code == 200, r.text
    admin = {"authorization": f"Bearer {r.json()['access_token']}"}
    source = make_video(tmp_path_factory.mktemp("delivery") / "clip.mp4", width=426, height=240, seconds=6.0,
                        rate="25", audio="stereo")
    r = _api(http, "POST", api + "/titles", json=TITLE, headers=admin)
    assert r.status_code == 201, r.text
    title_id = r.json()["title_id"]
    r = _api(http, "POST", api + f"/titles/{title_id}/upload", json={"size_bytes": source.stat().st_size},
             headers=admin)
    assert r.status_code == 200, r.text
    up = r.json()
    put = http.request(up.get("method", "PUT"), up["upload_url"], data=source.read_bytes(), headers=up.get("headers"),
                       timeout=60)
    assert put.status_code == 200, put.text
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        item = _api(http, "GET", api + f"/titles/{title_id}", headers=admin).json()
        if item["status"] in ("READY", "FAILED"):
            break
        time.sleep(0.5)
    assert item["status"] == "READY", item
    return item  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def keys(title: dict[str, Any], endpoints: dict[str, Any], cloud: Any, aws: Any) -> dict[str, Any]:
    """The title's objects as a player walks them: master, media playlist, init, segments (top tier).
    Read from the origin bucket, not through the CDN: a viewer's request here would race the prefill
    and may land on a third edge (bounded loads spill a request past busy replicas), which the
    placement test below rightly counts as off the replicas."""
    tid = title["title_id"]
    grant = _sign(endpoints, cloud.state_dir, f"titles/{tid}/")
    s3 = aws("s3")
    media_bucket = next(b for lid, b in endpoints["resources"]["buckets"].items() if "MediaBucket" in lid)

    def origin(key: str) -> m3u8.M3U8:
        return m3u8.loads(s3.get_object(Bucket=media_bucket, Key=key)["Body"].read().decode())

    master_key = title["manifest_path"]
    master = origin(master_key)
    base = master_key.rsplit("/", 1)[0]
    media_key = f"{base}/{master.playlists[0].uri}"
    media = origin(media_key)
    vdir = media_key.rsplit("/", 1)[0]
    init = f"{vdir}/{media.segment_map[0].uri}" if media.segment_map else None
    segments = [f"{vdir}/{s.uri}" for s in media.segments]
    assert len(segments) >= 2
    return {"master": master_key, "media": media_key, "init": init, "segments": segments, "grant": grant}


@pytest.fixture
def all_edges_running(endpoints: dict[str, Any]) -> Iterator[None]:
    yield
    for e in endpoints["cdn"]["edges"]:
        requests.post(f"{endpoints['cdn_url']}/_reelstack/edges/{e['id']}/start", headers=_admin(endpoints),
                      timeout=10)


# ------------------------------------------------------------------------------------------ tests
def test_endpoints_list_the_fleet(endpoints: dict[str, Any]) -> None:
    cdn = endpoints["cdn"]
    assert endpoints["cdn_url"].startswith("http://") and len(cdn["edges"]) == 4
    for e in cdn["edges"]:
        r = requests.get(f"{e['url']}/titles/x/y.m4s", timeout=10)  # each edge answers on its own port
        assert r.status_code == 403 and r.headers["x-reelstack-edge"] == e["id"]


def test_prefill_lands_on_the_edges_the_ring_assigns(title: dict[str, Any], endpoints: dict[str, Any],
                                                     keys: dict[str, Any]) -> None:
    """TitlePublished -> SQS -> the prefill function -> signed GETs with X-Reelstack-Prefill-Copies: n:
    every object of the title lands on the first n edges of its ring walk, and on no edge off its replicas."""
    cdn, tid = endpoints["cdn_url"], title["title_id"]
    wanted = [keys["master"], keys["media"], *([keys["init"]] if keys["init"] else []), *keys["segments"]]

    def state() -> tuple[dict[str, set[str]], dict[str, Any]]:
        listing = requests.get(f"{cdn}/_reelstack/edges", params={"prefix": f"titles/{tid}/"},
                               headers=_admin(endpoints), timeout=10).json()["edges"]
        places = {k: requests.get(f"{cdn}/_reelstack/placement", params={"key": k}, headers=_admin(endpoints),
                                  timeout=10).json() for k in wanted}
        return {k: {e["id"] for e in listing if k in e["keys"]} for k in wanted}, places

    def filled(holders: dict[str, set[str]], places: dict[str, Any]) -> bool:
        return all(p["prefill_copies"] >= 1 and set(p["walk"][: p["prefill_copies"]]) <= holders[k]
                   for k, p in places.items())

    deadline = time.monotonic() + 120  # the prefill runs asynchronously (EventBridge -> SQS -> function)
    holders, places = state()
    while not filled(holders, places) and time.monotonic() < deadline:
        time.sleep(1)
        holders, places = state()
    for key, place in places.items():
        # on each of the edges the prefill asked for, and on none off the key's replicas (a viewer's
        # request may have filled one more replica when the title's popularity gave it more copies)
        assert place["prefill_copies"] >= 1, place
        assert set(place["walk"][: place["prefill_copies"]]) <= holders[key], (key, holders[key], place)
        assert holders[key] <= set(place["walk"][: max(place["copies"], place["prefill_copies"])]), (key, place)
    assert any(len(h) > 1 for h in holders.values()), "playlists and the opening minute get an extra copy"


def test_playback_through_the_cdn_with_a_grant(endpoints: dict[str, Any], keys: dict[str, Any]) -> None:
    cdn, g = endpoints["cdn_url"], keys["grant"]
    s = requests.Session()
    for key in [keys["master"], keys["media"], *([keys["init"]] if keys["init"] else []), *keys["segments"]]:
        first = s.get(f"{cdn}/{key}", cookies=g.cookies, timeout=30)
        assert first.status_code == 200 and first.content, key
        second = s.get(f"{cdn}/{key}?{g.query}", timeout=30)  # the signed-URL form of the same grant
        assert second.status_code == 200 and second.content == first.content
        assert second.headers["x-cache"].startswith("Hit"), second.headers
        assert second.headers["etag"] == first.headers["etag"] and int(second.headers["age"]) >= 0
        assert second.headers["x-reelstack-edge"] in {e["id"] for e in endpoints["cdn"]["edges"]}
        assert "cache-control" in second.headers
    seg = s.get(f"{cdn}/{keys['segments'][0]}", cookies=g.cookies, timeout=30)
    assert "max-age" in seg.headers["cache-control"]


def test_without_a_grant_every_object_is_403(endpoints: dict[str, Any], keys: dict[str, Any]) -> None:
    for key in [keys["master"], keys["media"], keys["segments"][0]]:
        r = requests.get(f"{endpoints['cdn_url']}/{key}", timeout=30)
        assert r.status_code == 403 and r.json()["error"]["code"] == "ACCESS_DENIED"


def test_expired_tampered_and_other_title_grants_are_403(endpoints: dict[str, Any], keys: dict[str, Any],
                                                         cloud: Any, title: dict[str, Any]) -> None:
    cdn, seg = endpoints["cdn_url"], keys["segments"][0]
    tid = title["title_id"]
    expired = _sign(endpoints, cloud.state_dir, f"titles/{tid}/", ttl=-5)
    assert requests.get(f"{cdn}/{seg}", cookies=expired.cookies, timeout=30).status_code == 403
    other = _sign(endpoints, cloud.state_dir, "titles/some-other-title/")
    assert requests.get(f"{cdn}/{seg}", cookies=other.cookies, timeout=30).status_code == 403
    tampered = dict(keys["grant"].cookies)
    other_policy = other.cookies["CloudFront-Policy"]
    tampered["CloudFront-Policy"] = other_policy  # another grant's policy with this grant's signature
    assert requests.get(f"{cdn}/{seg}", cookies=tampered, timeout=30).status_code == 403


@pytest.mark.parametrize("query", ["Policy=!!!&Signature=x&Key-Pair-Id=K1", "Policy=" + "A" * 9000,
                                   "Signature=abc", "Policy=e30_&Signature=e30_&Key-Pair-Id=" + "K" * 200])
def test_malformed_and_oversized_grants_are_refused(endpoints: dict[str, Any], keys: dict[str, Any],
                                                    query: str) -> None:
    r = requests.get(f"{endpoints['cdn_url']}/{keys['segments'][0]}?{query}", timeout=30)
    assert r.status_code in (403, 414) and keys["segments"][0].encode() not in r.content


def test_work_keys_and_paths_outside_titles_are_403_even_with_a_wide_grant(endpoints: dict[str, Any],
                                                                            cloud: Any, title: dict[str, Any]) -> None:
    cdn = endpoints["cdn_url"]
    wide = _sign(endpoints, cloud.state_dir, "")  # a grant for the whole distribution
    tid = title["title_id"]
    for path in [f"work/{tid}/source", f"titles/{tid}/../../work/{tid}/source",
                 f"titles/{tid}/%2e%2e/%2E%2E/work/{tid}/source", "index.html"]:
        r = requests.get(f"{cdn}/{path}", cookies=wide.cookies, timeout=30)
        assert r.status_code == 403, path


def test_unknown_key_with_a_grant_is_404(endpoints: dict[str, Any], keys: dict[str, Any],
                                         title: dict[str, Any]) -> None:
    r = requests.get(f"{endpoints['cdn_url']}/titles/{title['title_id']}/hls/no-such-segment.m4s",
                     cookies=keys["grant"].cookies, timeout=30)
    assert r.status_code == 404


def test_byte_ranges(endpoints: dict[str, Any], keys: dict[str, Any]) -> None:
    url, g = f"{endpoints['cdn_url']}/{keys['segments'][0]}", keys["grant"]
    whole = requests.get(url, cookies=g.cookies, timeout=30).content
    r = requests.get(url, cookies=g.cookies, headers={"range": "bytes=10-99"}, timeout=30)
    assert r.status_code == 206 and r.content == whole[10:100]
    assert r.headers["content-range"] == f"bytes 10-99/{len(whole)}"
    r = requests.get(url, cookies=g.cookies, headers={"range": f"bytes={len(whole)}-"}, timeout=30)
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(whole)}"


def test_cors_for_the_web_player(endpoints: dict[str, Any], keys: dict[str, Any]) -> None:
    url = f"{endpoints['cdn_url']}/{keys['segments'][0]}"
    origin = endpoints.get("web_url") or "http://localhost:5173"
    pre = requests.options(url, headers={"origin": origin, "access-control-request-method": "GET"}, timeout=30)
    assert pre.status_code in (200, 204) and pre.headers.get("access-control-allow-origin") in ("*", origin)
    r = requests.get(url, cookies=keys["grant"].cookies, headers={"origin": origin}, timeout=30)
    assert r.headers.get("access-control-allow-origin") in ("*", origin)


def test_an_edge_stopped_mid_session_does_not_stop_playback(endpoints: dict[str, Any], keys: dict[str, Any],
                                                           all_edges_running: None) -> None:
    cdn, g = endpoints["cdn_url"], keys["grant"]
    segs = keys["segments"]
    s = requests.Session()
    first = s.get(f"{cdn}/{segs[0]}", cookies=g.cookies, timeout=30)
    assert first.status_code == 200
    victim = first.headers["x-reelstack-edge"]  # the edge this session was just talking to
    r = s.post(f"{cdn}/_reelstack/edges/{victim}/stop", headers=_admin(endpoints), timeout=10)
    assert r.status_code == 200
    victim_url = next(e["url"] for e in endpoints["cdn"]["edges"] if e["id"] == victim)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{victim_url}/{segs[0]}", timeout=5)
    started = time.monotonic()
    for key in [keys["media"], *segs, segs[0]]:
        r = s.get(f"{cdn}/{key}", cookies=g.cookies, timeout=30)
        assert r.status_code == 200 and r.headers["x-reelstack-edge"] != victim, (key, r.status_code)
    assert time.monotonic() - started < 30
    listing = s.get(f"{cdn}/_reelstack/edges", headers=_admin(endpoints), timeout=10).json()["edges"]
    assert [e["running"] for e in listing if e["id"] == victim] == [False]


def test_admin_surface_needs_its_token(endpoints: dict[str, Any]) -> None:
    cdn = endpoints["cdn_url"]
    assert requests.get(f"{cdn}/_reelstack/edges", timeout=10).status_code == 403
    r = requests.post(f"{cdn}/_reelstack/edges/edge-0/stop", headers={"x-reelstack-admin-token": "guess"}, timeout=10)
    assert r.status_code == 403


def test_origin_unreachable_is_a_quick_503(endpoints: dict[str, Any], cloud: Any) -> None:
    """The fleet's own code (local/cdn) with its origin on a port nothing listens on: a miss answers
    503 at once, never hangs (the local cloud's moto cannot be stopped under the other tests)."""
    from local.cdn.behaviors import Distribution
    from local.cdn.fleet import Fleet, FleetSettings
    from local.cdn.keys import local_key_id
    from local.ports import free_port

    pem = (cloud.state_dir / "cdn" / "signing-key.pem").read_bytes()
    from cryptography.hazmat.primitives import serialization

    public = serialization.load_pem_private_key(pem, None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    kid = local_key_id(public)
    fleet = Fleet(FleetSettings("127.0.0.1", free_port(), f"http://127.0.0.1:{free_port()}", "media", edges=2,
                                cache_mb=8, distribution=Distribution(public_keys={kid: public})))
    fleet.start()
    try:
        from reelstack_common.cdn_signing import sign_grant

        g = sign_grant(resource=f"{fleet.url}/titles/*", expires_at=int(time.time()) + 60, key_pair_id=kid,
                       private_key_pem=pem)
        started = time.monotonic()
        r = requests.get(f"{fleet.url}/titles/T/hls/seg_00001.m4s", cookies=g.cookies, timeout=30)
        assert r.status_code == 503 and r.json()["error"]["code"] == "ORIGIN_UNAVAILABLE"
        assert time.monotonic() - started < 5
    finally:
        fleet.stop()


def test_a_withdrawn_title_is_purged_from_every_edge(title: dict[str, Any], endpoints: dict[str, Any],
                                                     keys: dict[str, Any], http: requests.Session,
                                                     all_edges_running: None) -> None:
    """POST /titles/{id}/withdraw -> the catalog outbox's TitleWithdrawn -> SQS -> the delivery purge
    function -> the front door's purge (a grant signed with the distribution's key): no edge holds any
    of the title's objects afterwards. Last in this module: the title is withdrawn for good."""
    cdn, tid, g = endpoints["cdn_url"], title["title_id"], keys["grant"]

    def held() -> int:
        listing = requests.get(f"{cdn}/_reelstack/edges", params={"prefix": f"titles/{tid}/"},
                               headers=_admin(endpoints), timeout=10).json()["edges"]
        return sum(len(e["keys"]) for e in listing)

    for key in [keys["master"], keys["media"], *keys["segments"]]:  # cached (again) before the withdrawal
        assert requests.get(f"{cdn}/{key}", cookies=g.cookies, timeout=30).status_code == 200
    # a stopped edge keeps its disk: it must forget the title too
    victim = requests.get(f"{cdn}/{keys['segments'][0]}", cookies=g.cookies, timeout=30).headers["x-reelstack-edge"]
    assert requests.post(f"{cdn}/_reelstack/edges/{victim}/stop", headers=_admin(endpoints), timeout=10).ok
    assert held() > 0
    r = _api(http, "POST", endpoints["api_url"] + "/accounts/login", json=endpoints["admin"])
    admin = {"authorization": f"Bearer {r.json()['access_token']}"}
    r = _api(http, "POST", endpoints["api_url"] + f"/titles/{tid}/withdraw", headers=admin)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 120  # asynchronous: outbox stream -> bus -> SQS -> function
    while held() and time.monotonic() < deadline:
        time.sleep(1)
    assert held() == 0
    listing = requests.get(f"{cdn}/_reelstack/edges", headers=_admin(endpoints), timeout=10).json()["edges"]
    assert sum(e["purged"] for e in listing) > 0
    # The second, delayed purge (after every fill in flight is over) waits on the purge queue: the
    # function found its own queue (PURGE_QUEUE_URL, resolved by the local cloud) and could send to it.
    import boto3

    sqs = boto3.client("sqs", endpoint_url=endpoints["aws_endpoint_url"], region_name="us-east-1",
                       aws_access_key_id="local", aws_secret_access_key="local")  # noqa: S106
    (url,) = [u for u in sqs.list_queues().get("QueueUrls", []) if "PurgeQueue" in u]
    deadline = time.monotonic() + 30
    while True:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)) >= 1 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)) >= 1, attrs
