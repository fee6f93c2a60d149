"""local/cdn/edge.py: CloudFront's checks, the cache and the headers, on requests built in memory."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from local.cdn.behaviors import Behavior, Distribution
from local.cdn.edge import Edge, object_key
from local.edge.messages import Request
from tests.unit.local.cdn_fakes import KEY_ID, KEYS, OTHER, FakeOrigin, grant

CDN = "http://127.0.0.1:9999"
SEG = "titles/T1/hls/cap2160/cap1080/720p/seg_00001.m4s"
PLAYLIST = "titles/T1/hls/cap2160/cap1080/720p/index.m3u8"
BODY = bytes(range(256)) * 40


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def origin() -> FakeOrigin:
    o = FakeOrigin()
    o.add(SEG, BODY, "public, max-age=86400")
    o.add(PLAYLIST, b"#EXTM3U\n", "public, max-age=60", "application/vnd.apple.mpegurl")
    o.add("titles/T2/hls/master.m3u8", b"#EXTM3U\n")
    o.add("work/T1/source.mp4", b"raw")
    return o


@pytest.fixture
def edge(origin: FakeOrigin) -> Edge:
    return Edge("edge-0", origin, Distribution(public_keys={KEY_ID: KEYS.public_pem}), CDN, 1 << 20, clock=Clock())


def get(edge: Edge, key: str, *, cookies: dict[str, str] | None = None, query: str = "",
        headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    h = dict(headers or {})
    if cookies:
        h["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    target = "/" + key + (f"?{query}" if query else "")
    reply = edge.handle(Request(method, target, h))
    return reply.status, reply.headers, reply.body


def test_a_miss_then_a_hit_with_cdn_headers(edge: Edge, origin: FakeOrigin) -> None:
    g = grant(CDN, "titles/T1/hls/cap2160/")
    status, h, body = get(edge, SEG, cookies=g.cookies)
    assert status == 200 and body == BODY
    assert h["x-cache"].startswith("Miss") and h["x-reelstack-edge"] == "edge-0"
    assert h["cache-control"] == "public, max-age=86400" and h["etag"] and h["age"] == "0"
    edge.clock.now += 7  # type: ignore[attr-defined]
    status, h, body = get(edge, SEG, query=g.query)
    assert status == 200 and body == BODY and h["x-cache"].startswith("Hit") and h["age"] == "7"
    assert origin.calls == [SEG]


def test_without_a_grant_nothing_is_served_or_fetched(edge: Edge, origin: FakeOrigin) -> None:
    status, h, body = get(edge, SEG)
    assert status == 403 and b"missing" in body and BODY not in body
    assert origin.calls == []


@pytest.mark.parametrize("case", ["expired", "tampered", "other_title", "other_key", "unknown_key_id", "malformed",
                                  "oversized"])
def test_bad_grants_are_refused(edge: Edge, origin: FakeOrigin, case: str) -> None:
    g = grant(CDN, "titles/T1/hls/")
    cookies = dict(g.cookies)
    if case == "expired":
        cookies = grant(CDN, "titles/T1/hls/", ttl=-10).cookies
    elif case == "tampered":
        p = cookies["CloudFront-Policy"]
        cookies["CloudFront-Policy"] = p[:-6] + ("A" if p[-6] != "A" else "B") + p[-5:]
    elif case == "other_title":
        cookies = grant(CDN, "titles/T2/hls/").cookies
    elif case == "other_key":
        cookies = grant(CDN, "titles/T1/hls/", pem=OTHER.private_pem).cookies
    elif case == "unknown_key_id":
        cookies = grant(CDN, "titles/T1/hls/", key_id="KUNKNOWN").cookies
    elif case == "malformed":
        cookies["CloudFront-Signature"] = "not base64 !!!"
    elif case == "oversized":
        cookies["CloudFront-Policy"] = "A" * 20000
    status, _h, _b = get(edge, SEG, cookies=cookies)
    assert status == 403
    assert origin.calls == []


def test_a_grant_for_another_cdn_host_is_refused(edge: Edge) -> None:
    g = grant("https://d111.cloudfront.net", "titles/T1/")
    assert get(edge, SEG, cookies=g.cookies)[0] == 403


@pytest.mark.parametrize("key", ["work/T1/source.mp4", "titles/T1/../../work/T1/source.mp4",
                                 "titles/T1/%2e%2e/%2e%2e/work/T1/source.mp4", "titles//T1/x", "other/x",
                                 "titles/T1/a%00b", "titles/T1/" + "a" * 1100])
def test_only_title_objects_are_reachable_even_with_a_wide_grant(edge: Edge, origin: FakeOrigin, key: str) -> None:
    g = grant(CDN, "")  # a grant for everything on the distribution
    status, _h, body = get(edge, key, cookies=g.cookies)
    assert status == 403 and b"raw" not in body
    assert origin.calls == []


def test_unknown_key_with_a_grant_is_404_and_not_cached(edge: Edge, origin: FakeOrigin) -> None:
    g = grant(CDN, "titles/T1/")
    assert get(edge, "titles/T1/hls/nope.m4s", cookies=g.cookies)[0] == 404
    assert get(edge, "titles/T1/hls/nope.m4s", cookies=g.cookies)[0] == 404
    assert origin.calls.count("titles/T1/hls/nope.m4s") == 2


def test_origin_unreachable_is_503_and_a_cached_object_is_still_served(edge: Edge, origin: FakeOrigin) -> None:
    g = grant(CDN, "titles/T1/")
    assert get(edge, SEG, cookies=g.cookies)[0] == 200
    origin.down = True
    assert get(edge, SEG, cookies=g.cookies)[0] == 200
    status, h, _ = get(edge, PLAYLIST, cookies=g.cookies)
    assert status == 503 and h["x-cache"].startswith("Error")


def test_ranges(edge: Edge) -> None:
    g = grant(CDN, "titles/T1/")
    status, h, body = get(edge, SEG, cookies=g.cookies, headers={"range": "bytes=100-199"})
    assert status == 206 and body == BODY[100:200] and h["content-range"] == f"bytes 100-199/{len(BODY)}"
    status, h, body = get(edge, SEG, cookies=g.cookies, headers={"range": "bytes=-10"})
    assert status == 206 and body == BODY[-10:]
    status, h, body = get(edge, SEG, cookies=g.cookies, headers={"range": f"bytes={len(BODY)}-"})
    assert status == 416 and h["content-range"] == f"bytes */{len(BODY)}" and body == b""
    status, _h, body = get(edge, SEG, cookies=g.cookies, headers={"range": "bytes=0-1,5-6"})
    assert status == 200 and body == BODY


def test_if_none_match_and_head(edge: Edge) -> None:
    g = grant(CDN, "titles/T1/")
    _s, h, _b = get(edge, SEG, cookies=g.cookies)
    status, h2, body = get(edge, SEG, cookies=g.cookies, headers={"if-none-match": h["etag"]})
    assert status == 304 and body == b"" and h2["etag"] == h["etag"]
    status, h3, body = get(edge, SEG, cookies=g.cookies, method="HEAD")
    assert status == 200 and body == b"" and h3["content-length"] == str(len(BODY))


def test_playlists_expire_after_their_ttl_segments_do_not(edge: Edge, origin: FakeOrigin) -> None:
    g = grant(CDN, "titles/T1/")
    get(edge, PLAYLIST, cookies=g.cookies)
    get(edge, SEG, cookies=g.cookies)
    edge.clock.now += 11  # type: ignore[attr-defined]  # past the default manifest behavior's MaxTTL (10 s)
    assert get(edge, PLAYLIST, cookies=g.cookies)[1]["x-cache"].startswith("Miss")
    assert get(edge, SEG, cookies=g.cookies)[1]["x-cache"].startswith("Hit")
    assert origin.calls.count(PLAYLIST) == 2 and origin.calls.count(SEG) == 1


def test_methods_and_cors(edge: Edge) -> None:
    g = grant(CDN, "titles/T1/")
    assert get(edge, SEG, cookies=g.cookies, method="PUT")[0] == 403
    status, h, _ = get(edge, SEG, method="OPTIONS", headers={"origin": "https://app.example"})
    assert status == 204 and h["access-control-allow-origin"] == "*" and "GET" in h["access-control-allow-methods"]
    _s, h, _b = get(edge, SEG, cookies=g.cookies, headers={"origin": "https://app.example"})
    assert h["access-control-allow-origin"] == "*" and "X-Cache" in h["access-control-expose-headers"]


def test_concurrent_misses_make_one_origin_fetch(edge: Edge, origin: FakeOrigin) -> None:
    origin.delay_s = 0.2
    g = grant(CDN, "titles/T1/")
    barrier = threading.Barrier(8)

    def one() -> int:
        barrier.wait(5)
        return get(edge, SEG, cookies=g.cookies)[0]

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: one(), range(8)))
    assert statuses == [200] * 8 and origin.calls == [SEG]


def test_a_small_cache_evicts(origin: FakeOrigin) -> None:
    for i in range(5):
        origin.add(f"titles/T1/s{i}", b"x" * 400)
    edge = Edge("e", origin, Distribution(public_keys={KEY_ID: KEYS.public_pem}), CDN, 1000)
    g = grant(CDN, "titles/T1/")
    for i in range(5):
        get(edge, f"titles/T1/s{i}", cookies=g.cookies)
    assert len(edge.cache) == 2 and edge.cache.used_bytes == 800 and edge.cache.evictions == 3


def test_behaviors_from_the_distribution_decide_ttl_and_signing(origin: FakeOrigin) -> None:
    dist = Distribution(behaviors=(Behavior("titles/*/free/*", signed=False, default_ttl=5, max_ttl=5),
                                   Behavior("titles/*")), public_keys={KEY_ID: KEYS.public_pem})
    origin.add("titles/T1/free/trailer.m4s", b"t", "public, max-age=86400")
    edge = Edge("e", origin, dist, CDN, 1 << 20)
    assert get(edge, "titles/T1/free/trailer.m4s")[0] == 200  # unsigned behavior
    cached = edge.cache.peek("titles/T1/free/trailer.m4s")
    assert cached is not None and cached.expires_at - cached.stored_at == 5  # MaxTTL caps the origin's max-age
    assert get(edge, SEG)[0] == 403


def test_object_key() -> None:
    assert object_key("/titles/a%20b/x") == "titles/a b/x"
    assert object_key("/" + quote("titles/T/ü.m4s")) == "titles/T/ü.m4s"
    for bad in ("/", "/titles/./x", "/titles/a/../b", "/titles/a\\b", "/titles/%0a"):
        assert object_key(bad) is None


class GatedOrigin(FakeOrigin):
    """An origin whose fetches wait for the test to open the gate (a fetch in flight)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def get(self, key: str):  # type: ignore[no-untyped-def]
        self.entered.set()
        assert self.gate.wait(10)
        return super().get(key)


@pytest.mark.parametrize("purged", ["titles/T1/", "titles/T2/"], ids=["its-prefix", "another-prefix"])
def test_a_fetch_a_purge_overtook_is_answered_but_not_cached(purged: str) -> None:
    origin = GatedOrigin()
    origin.add(SEG, BODY, "public, max-age=86400")
    edge = Edge("edge-0", origin, Distribution(public_keys={KEY_ID: KEYS.public_pem}), CDN, 1 << 20, clock=Clock())
    g = grant(CDN, "titles/T1/hls/cap2160/")
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(get, edge, SEG, cookies=g.cookies)
        assert origin.entered.wait(10)
        edge.purge(purged)  # the withdrawal's purge lands while the fetch is in flight
        origin.gate.set()
        status, _, body = pending.result(10)
    assert status == 200 and body == BODY  # the request it served is answered
    cached = SEG in edge.describe("titles/")["keys"]
    assert cached is (purged != "titles/T1/")  # only a purge of its own prefix keeps it out
    if not cached:  # the next request fetches again (after the purge: cached this time)
        assert get(edge, SEG, cookies=g.cookies)[1]["x-cache"].startswith("Miss")
        assert SEG in edge.describe("titles/")["keys"]


def test_more_purges_during_a_fetch_than_remembered_keep_its_object_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from local.cdn import edge as edge_module

    origin = GatedOrigin()
    origin.add(SEG, BODY, "public, max-age=86400")
    edge = Edge("edge-0", origin, Distribution(public_keys={KEY_ID: KEYS.public_pem}), CDN, 1 << 20, clock=Clock())
    monkeypatch.setattr(edge, "_recent_purges", edge_module.deque(maxlen=4))
    g = grant(CDN, "titles/T1/hls/cap2160/")
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(get, edge, SEG, cookies=g.cookies)
        assert origin.entered.wait(10)
        for n in range(6):  # other titles' purges, more than the edge remembers
            edge.purge(f"titles/X{n}/")
        origin.gate.set()
        assert pending.result(10)[0] == 200
    assert SEG not in edge.describe("titles/")["keys"]
