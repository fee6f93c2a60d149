"""local/cdn/fleet.py + front_door.py over real HTTP in this process: routing by the ring, routing
around a stopped edge, prefill on n edges, the admin surface."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from local.cdn.behaviors import Distribution
from local.cdn.fleet import Fleet, FleetSettings
from local.cdn.placement import Popularity
from local.ports import free_port
from tests.unit.local.cdn_fakes import KEY_ID, KEYS, OTHER, FakeOrigin, grant

KEYS_T1 = [f"titles/T1/hls/cap2160/720p/seg_{i:05d}.m4s" for i in range(24)]


@pytest.fixture
def origin() -> FakeOrigin:
    o = FakeOrigin()
    for k in KEYS_T1:
        o.add(k, k.encode() * 100, "public, max-age=86400")
    return o


@pytest.fixture
def fleet(origin: FakeOrigin) -> Iterator[Fleet]:
    f = Fleet(FleetSettings("127.0.0.1", free_port(), "unused", "media", edges=4, cache_mb=8,
                            distribution=Distribution(public_keys={KEY_ID: KEYS.public_pem})), origin=origin)
    f.start()
    yield f
    f.stop()


def admin(fleet: Fleet) -> dict[str, str]:
    return {"x-reelstack-admin-token": fleet.admin_token}


def prefill(fleet: Fleet, copies: str, title: str = "T1") -> dict[str, str]:
    """The prefill function's headers: the copies and its prefill grant (delivery.dal.cdn_http)."""
    return {"x-reelstack-prefill-copies": copies,
            "x-reelstack-prefill-grant": grant(fleet.url, f"_reelstack/prefill/titles/{title}/").query}


def test_each_object_is_served_by_its_ring_owner_and_hit_the_second_time(fleet: Fleet, origin: FakeOrigin) -> None:
    g = grant(fleet.url, "titles/T1/")
    s = requests.Session()
    for key in KEYS_T1:
        r = s.get(f"{fleet.url}/{key}", cookies=g.cookies, timeout=5)
        assert r.status_code == 200 and r.content == key.encode() * 100
        assert r.headers["x-reelstack-edge"] == fleet.placement.ring.owner(key)
        assert r.headers["x-cache"].startswith("Miss")
    assert len({fleet.placement.ring.owner(k) for k in KEYS_T1}) > 1  # spread over the fleet
    for key in KEYS_T1:
        assert s.get(f"{fleet.url}/{key}", cookies=g.cookies, timeout=5).headers["x-cache"].startswith("Hit")
    assert len(origin.calls) == len(KEYS_T1)


def test_a_stopped_edge_is_routed_around_and_rejoins(fleet: Fleet) -> None:
    g = grant(fleet.url, "titles/T1/")
    s = requests.Session()  # keep-alive connections to the front door, which keeps its own to the edges
    key = KEYS_T1[0]
    walk = fleet.placement.ring.walk(key)
    assert s.get(f"{fleet.url}/{key}", cookies=g.cookies, timeout=5).headers["x-reelstack-edge"] == walk[0]
    r = s.post(f"{fleet.url}/_reelstack/edges/{walk[0]}/stop", headers=admin(fleet), timeout=5)
    assert r.status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(fleet.edge_urls[walk[0]] + "/" + key, timeout=2)
    started = time.monotonic()
    for key2 in KEYS_T1:  # every object, including those the stopped edge owned
        r = s.get(f"{fleet.url}/{key2}", cookies=g.cookies, timeout=5)
        assert r.status_code == 200 and r.headers["x-reelstack-edge"] != walk[0]
    assert time.monotonic() - started < 5
    r = s.get(f"{fleet.url}/{key}", cookies=g.cookies, timeout=5)
    assert r.headers["x-reelstack-edge"] == walk[1]
    edges = s.get(f"{fleet.url}/_reelstack/edges", headers=admin(fleet), timeout=5).json()["edges"]
    assert [e["routed"] for e in edges if e["id"] == walk[0]] == [False]
    s.post(f"{fleet.url}/_reelstack/edges/{walk[0]}/start", headers=admin(fleet), timeout=5)
    r = s.get(f"{fleet.url}/{key}", cookies=g.cookies, timeout=5)
    assert r.headers["x-reelstack-edge"] == walk[0] and r.headers["x-cache"].startswith("Hit")  # its cache kept


def test_no_edge_answering_is_a_quick_503(fleet: Fleet) -> None:
    g = grant(fleet.url, "titles/T1/")
    for e in fleet.edges:
        fleet.stop_edge(e)
    started = time.monotonic()
    r = requests.get(f"{fleet.url}/{KEYS_T1[0]}", cookies=g.cookies, timeout=10)
    assert r.status_code == 503 and time.monotonic() - started < 3


def test_prefill_lands_on_the_first_n_edges_of_the_walk(fleet: Fleet, origin: FakeOrigin) -> None:
    g = grant(fleet.url, "titles/T1/")
    key = KEYS_T1[5]
    r = requests.get(f"{fleet.url}/{key}?{g.query}", headers=prefill(fleet, "3"), timeout=5)
    walk = fleet.placement.ring.walk(key)
    assert r.status_code == 200 and r.headers["x-reelstack-prefilled"] == ",".join(walk[:3])
    holders = {e for e, edge in fleet.edges.items() if key in edge.cache}
    assert holders == set(walk[:3])
    placement = requests.get(f"{fleet.url}/_reelstack/placement", params={"key": key}, headers=admin(fleet),
                             timeout=5).json()
    assert placement["copies"] == 3 and placement["prefill_copies"] == 3 and placement["replicas"] == list(walk[:3])
    listed = requests.get(f"{fleet.url}/_reelstack/edges", params={"prefix": "titles/T1/"}, headers=admin(fleet),
                          timeout=5).json()["edges"]
    assert {e["id"] for e in listed if key in e["keys"]} == set(walk[:3])
    # a second prefill fetches nothing from the origin again
    calls = len(origin.calls)
    requests.get(f"{fleet.url}/{key}?{g.query}", headers=prefill(fleet, "3"), timeout=5)
    assert len(origin.calls) == calls


@pytest.mark.parametrize("value", ["0", "x", "-1", "1" * 50, ""])
def test_bad_prefill_counts_are_400(fleet: Fleet, value: str) -> None:
    g = grant(fleet.url, "titles/T1/")
    r = requests.get(f"{fleet.url}/{KEYS_T1[0]}?{g.query}", headers=prefill(fleet, value), timeout=5)
    assert r.status_code == 400


def test_more_prefill_copies_than_edges_fill_every_edge_once(fleet: Fleet, origin: FakeOrigin) -> None:
    g = grant(fleet.url, "titles/T1/")
    r = requests.get(f"{fleet.url}/{KEYS_T1[0]}?{g.query}", headers=prefill(fleet, "5"), timeout=5)
    assert r.status_code == 200
    assert sorted(r.headers["x-reelstack-prefilled"].split(",")) == sorted(fleet.edge_urls)


def test_prefill_still_needs_a_grant(fleet: Fleet, origin: FakeOrigin) -> None:
    r = requests.get(f"{fleet.url}/{KEYS_T1[0]}", headers=prefill(fleet, "2"), timeout=5)
    assert r.status_code == 403 and origin.calls == []
    assert fleet.front_door.prefill_copies == {}


def _no_state(fleet: Fleet) -> None:
    fd = fleet.front_door
    assert fleet.placement.ring.memo_size == 0
    assert len(fd.popularity) == 0
    assert len(fd.prefill_copies) == 0
    assert sum(e.stats.denied + e.stats.misses + e.stats.hits for e in fleet.edges.values()) == 0  # nothing forwarded


def test_requests_without_a_valid_grant_cost_no_state(fleet: Fleet, origin: FakeOrigin) -> None:
    # One new path per request, as a client growing the front door's memory would send them.
    other_key = grant(fleet.url, "titles/", key_id=KEY_ID, pem=OTHER.private_pem)  # signed with a key not trusted
    expired = grant(fleet.url, "titles/", ttl=-10)
    t1_only = grant(fleet.url, "titles/T1/")
    t1_prefill = prefill(fleet, "3")  # the platform's own prefill grant: still no object grant
    s = requests.Session()
    statuses = set()
    for i in range(300):
        path = f"/titles/X{i}/hls/seg_{i:05d}.m4s"
        kind = i % 6
        if kind == 0:
            r = s.get(fleet.url + path, timeout=5)
        elif kind == 1:
            r = s.get(fleet.url + path, cookies=other_key.cookies, timeout=5)
        elif kind == 2:
            r = s.get(f"{fleet.url}{path}?{expired.query}", timeout=5)
        elif kind == 3:
            r = s.get(f"{fleet.url}{path}?{t1_only.query}", headers=t1_prefill, timeout=5)
        elif kind == 4:
            r = s.head(fleet.url + path, headers={"x-reelstack-prefill-copies": "3"}, timeout=5)
        else:
            r = s.get(f"{fleet.url}/work/X{i}/source.mp4", cookies=t1_only.cookies, timeout=5)
        statuses.add(r.status_code)
    assert statuses == {403}
    _no_state(fleet)
    assert origin.calls == []


def test_a_viewer_grant_cannot_prefill(fleet: Fleet, origin: FakeOrigin) -> None:
    g = grant(fleet.url, "titles/T1/")
    key = KEYS_T1[3]
    for headers in ({"x-reelstack-prefill-copies": "3"},
                    {"x-reelstack-prefill-copies": "3", "x-reelstack-admin-token": "wrong"},
                    # a viewer's grant offered as the prefill grant: its resource is under titles/
                    {"x-reelstack-prefill-copies": "3", "x-reelstack-prefill-grant": g.query},
                    prefill(fleet, "3", "T2")):  # the platform's prefill grant for another title
        r = requests.get(f"{fleet.url}/{key}?{g.query}", headers=headers, timeout=5)
        assert r.status_code == 403 and r.json()["error"]["code"] == "PREFILL_FORBIDDEN"
    assert origin.calls == [] and fleet.front_door.prefill_copies == {}
    # the operator's token is the other way in
    r = requests.get(f"{fleet.url}/{key}?{g.query}", headers={"x-reelstack-prefill-copies": "2", **admin(fleet)},
                     timeout=5)
    assert r.status_code == 200 and r.headers["x-reelstack-prefilled"] == ",".join(fleet.placement.ring.walk(key)[:2])
    assert fleet.front_door.prefill_copies == {key: 2}


def test_every_per_key_structure_is_capped(fleet: Fleet, origin: FakeOrigin) -> None:
    fd = fleet.front_door
    fleet.placement.ring.memo_keys = 40
    fd.popularity = Popularity(max_titles=5)
    fd.max_prefilled_keys = 20
    for t in range(30):
        for i in range(4):
            origin.add(f"titles/P{t}/seg_{i}.m4s", b"x" * 10)
    everything = grant(fleet.url, "titles/")  # a grant as wide as one can be: state still bounded
    s = requests.Session()
    for t in range(30):
        for i in range(4):
            key = f"titles/P{t}/seg_{i}.m4s"
            r = s.get(f"{fleet.url}/{key}?{everything.query}",
                      headers={"x-reelstack-prefill-copies": "2", **admin(fleet)}, timeout=5)
            assert r.status_code == 200
            r = s.get(f"{fleet.url}/{key}?{everything.query}", timeout=5)
            assert r.status_code == 200
        s.get(f"{fleet.url}/titles/P{t}/missing-{t}.m4s?{everything.query}", timeout=5)  # 404s walk too
    assert fleet.placement.ring.memo_size == 40
    assert len(fd.popularity) == 5
    assert len(fd.prefill_copies) == 20
    # least recently used forgotten first: the newest are the ones kept
    assert "titles/P29/seg_3.m4s" in fd.prefill_copies and "titles/P0/seg_0.m4s" not in fd.prefill_copies
    assert fd.popularity.share("P29") > 0 and fd.popularity.share("P0") == 0


def test_the_admin_surface_needs_its_token_and_serves_no_content(fleet: Fleet) -> None:
    for headers in ({}, {"x-reelstack-admin-token": "wrong"}):
        assert requests.get(f"{fleet.url}/_reelstack/edges", headers=headers, timeout=5).status_code == 403
        r = requests.post(f"{fleet.url}/_reelstack/edges/edge-0/stop", headers=headers, timeout=5)
        assert r.status_code == 403
    assert fleet.describe("edge-0")["running"] is True
    r = requests.get(f"{fleet.url}/_reelstack/titles/T1/hls/x", headers=admin(fleet), timeout=5)
    assert r.status_code == 404
    r = requests.post(f"{fleet.url}/_reelstack/edges/edge-99/stop", headers=admin(fleet), timeout=5)
    assert r.status_code == 404


def test_request_bodies_are_refused(fleet: Fleet) -> None:
    r = requests.post(f"{fleet.url}/{KEYS_T1[0]}", data=b"x" * 100_000, timeout=5)
    assert r.status_code == 413


def _raw(url: str, request: bytes) -> bytes:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request)
        return sock.recv(65536)


def test_a_target_that_is_not_a_path_is_400_and_fetches_nothing(fleet: Fleet, origin: FakeOrigin) -> None:
    # http.server accepts "@host:port/x"; appended to an edge's URL it named another host (SSRF).
    secret = ThreadingHTTPServer(("127.0.0.1", 0), _Secret)
    threading.Thread(target=secret.serve_forever, daemon=True).start()
    try:
        reply = _raw(fleet.url, f"GET @127.0.0.1:{secret.server_address[1]}/x HTTP/1.1\r\nHost: a\r\n\r\n".encode())
        assert reply.startswith(b"HTTP/1.1 400") and b"SECRET" not in reply
        assert _Secret.hits == 0
    finally:
        secret.shutdown()


@pytest.mark.parametrize("length", ["-1", "abc", "1" * 40])
def test_a_malformed_content_length_is_400(fleet: Fleet, length: str) -> None:
    reply = _raw(fleet.url, f"GET /{KEYS_T1[0]} HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 400")


class _Secret(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits += 1
        body = b"SECRET"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _cached(fleet: Fleet, prefix: str) -> dict[str, list[str]]:
    return {e: sorted(str(k) for k in edge.cache.list_keys() if str(k).startswith(prefix))
            for e, edge in fleet.edges.items()}


def test_purge_drops_a_titles_objects_from_every_edge_and_is_idempotent(fleet: Fleet, origin: FakeOrigin) -> None:
    origin.add("titles/T2/seg_0.m4s", b"other title")
    g, g2 = grant(fleet.url, "titles/T1/"), grant(fleet.url, "titles/T2/")
    s = requests.Session()
    for key in KEYS_T1[:8]:
        assert s.get(f"{fleet.url}/{key}?{g.query}", headers={"x-reelstack-prefill-copies": "3", **admin(fleet)},
                     timeout=5).status_code == 200
    assert s.get(f"{fleet.url}/titles/T2/seg_0.m4s?{g2.query}", timeout=5).status_code == 200
    stopped = fleet.placement.ring.walk(KEYS_T1[0])[0]
    fleet.stop_edge(stopped)  # a stopped edge keeps its disk: it must forget the title too
    assert _cached(fleet, "titles/T1/")[stopped]
    r = s.post(f"{fleet.url}/_reelstack/purge/titles/T1/", headers=admin(fleet), timeout=5)
    assert r.status_code == 200 and r.json()["prefix"] == "titles/T1/"
    assert sum(r.json()["purged"].values()) == 8 * 3
    assert all(keys == [] for keys in _cached(fleet, "titles/T1/").values())
    assert sum(len(k) for k in _cached(fleet, "titles/T2/").values()) == 1  # another title untouched
    assert not any(k.startswith("titles/T1/") for k in fleet.front_door.prefill_copies)
    again = s.post(f"{fleet.url}/_reelstack/purge/titles/T1/", headers=admin(fleet), timeout=5)
    assert again.status_code == 200 and set(again.json()["purged"].values()) == {0}
    fleet.start_edge(stopped)
    r = s.get(f"{fleet.url}/{KEYS_T1[0]}?{g.query}", timeout=5)
    assert r.status_code == 200 and r.headers["x-cache"].startswith("Miss")


def test_purge_needs_the_admin_token_or_a_purge_grant(fleet: Fleet, origin: FakeOrigin) -> None:
    g = grant(fleet.url, "titles/T1/")
    assert requests.get(f"{fleet.url}/{KEYS_T1[0]}?{g.query}", timeout=5).status_code == 200
    url = f"{fleet.url}/_reelstack/purge/titles/T1/"
    for headers in ({}, {"x-reelstack-admin-token": "wrong"},
                    {"x-reelstack-purge-grant": g.query},  # a viewer's grant for the very title
                    {"x-reelstack-purge-grant": grant(fleet.url, "_reelstack/purge/titles/T2/").query},
                    {"x-reelstack-purge-grant": grant(fleet.url, "_reelstack/purge/titles/T1/", ttl=-5).query}):
        r = requests.post(url, headers=headers, timeout=5)
        assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN", headers
    assert sum(len(k) for k in _cached(fleet, "titles/T1/").values()) == 1  # nothing purged
    for bad in ("titles/", "titles/T1", "work/T1/", "titles/../", "titles//", "titles/%2e%2e/"):
        assert requests.post(f"{fleet.url}/_reelstack/purge/{bad}", headers=admin(fleet), timeout=5).status_code == 400
    assert requests.get(url, headers=admin(fleet), timeout=5).status_code == 400
    proof = grant(fleet.url, "_reelstack/purge/titles/T1/").query  # what the delivery function sends
    r = requests.post(url, headers={"x-reelstack-purge-grant": proof}, timeout=5)
    assert r.status_code == 200 and sum(r.json()["purged"].values()) == 1
    assert sum(len(k) for k in _cached(fleet, "titles/T1/").values()) == 0
