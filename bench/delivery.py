"""Delivery benchmark (issue 12): how the local edge fleet's placement behaves on a viewing trace,
and what a segment GET costs through it.

Trace-driven part (no HTTP, deterministic by --seed): a synthetic catalog (films 85-150 min,
episodes 22-60 min; 4 renditions; 4 s segments), Zipf(1.0) title popularity, sessions that start at
0 or resume, watch a random length and abandon, replayed against N edges of capacity C each
(C = --fleet-share x the catalog's bytes / N: every N gets the same storage). The placement is
local/cdn/placement.py and each cache local/cdn/lru.py: the fleet's own code.
Reported for N = 4, 8, 16:
  - edge hit ratio and origin bytes: cold (nothing pre-positioned), with prefill (what the prefill
    function does on TitlePublished: the first PREFILL_SECONDS of every rendition, copies by
    expected popularity), and prefill + the off-peak fill (functions/delivery handlers/offpeak.py, a
    nightly schedule: the most popular titles, whole, copies by popularity, within a byte budget =
    --fill-share of the fleet; the selection is the function's own ``select_titles``);
  - max/mean requests per edge with plain hashing (cold) and with bounded loads (prefilled), over the
    whole trace and its worst minute, and in a flash crowd (everyone starting one new title at once);
  - the fraction of objects whose owner changes when one edge is added and when one is removed.
Live part (real HTTP, this process): moto's S3 and the fleet (4 edges) on loopback, p50/p99 of a
segment GET for a miss, a hit and a direct S3 GET (presigned URL, same client) in the same run, and
MB/s through one edge.

    python -m bench.delivery [--sessions 1000] [--edges 4,8,16] [--no-live] [--seed 7]

The last line printed is the JSON summary.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "functions" / "delivery"):  # the off-peak fill's selection is the product's
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from delivery.logic.offpeak import select_titles  # noqa: E402
from delivery.models.offpeak import Candidate  # noqa: E402

from local.cdn.lru import ByteLRU  # noqa: E402
from local.cdn.placement import DEFAULT_EPSILON, Placement, Popularity, Ring, copies_for_share  # noqa: E402

SEGMENT_S = 4
PREFILL_SECONDS = 300  # the prefill function's default (functions/delivery)
PLAYLIST_TTL_S = 5  # the distribution's playlist cache policy
RENDITIONS = (("1080p", 5_000_000), ("720p", 3_000_000), ("480p", 1_200_000), ("240p", 400_000))  # bit/s
RENDITION_MIX = (0.35, 0.35, 0.2, 0.1)  # share of sessions per rendition
WINDOW_S = 60  # bounded loads count the requests of the current minute


@dataclass(frozen=True)
class Title:
    id: str
    kind: str  # film | episode
    segments: int


@dataclass(frozen=True)
class Session:
    title: int  # index in the catalog (= popularity rank - 1)
    rendition: int
    first: int  # first segment watched
    last: int  # last segment watched (inclusive)
    start: float  # seconds since the trace began


def catalog(rng: random.Random, n: int) -> list[Title]:
    out = []
    for i in range(n):
        film = rng.random() < 0.4
        minutes = rng.uniform(85, 150) if film else rng.uniform(22, 60)
        out.append(Title(f"t{i:05d}", "film" if film else "episode", math.ceil(minutes * 60 / SEGMENT_S)))
    return out


def zipf_weights(n: int, s: float = 1.0) -> list[float]:
    w = [1 / (k ** s) for k in range(1, n + 1)]
    total = sum(w)
    return [x / total for x in w]


def sessions(rng: random.Random, titles: list[Title], n: int, rate_per_s: float) -> list[Session]:
    cum = list(_cumulative(zipf_weights(len(titles))))
    out, t = [], 0.0
    for _ in range(n):
        t += rng.expovariate(rate_per_s)
        i = min(bisect.bisect_left(cum, rng.random()), len(titles) - 1)
        title = titles[i]
        resume = rng.random() < 0.3
        first = int(rng.uniform(0, 0.9) * title.segments) if resume else 0
        left = title.segments - first
        u = rng.random()
        if u < 0.25:  # browsing: abandoned within minutes
            watched = max(1, int(rng.expovariate(1 / (180 / SEGMENT_S))))
        elif u < 0.55:  # watched to the end
            watched = left
        else:  # stopped somewhere
            watched = max(1, int(rng.uniform(0.1, 1.0) * left))
        rendition = rng.choices(range(len(RENDITIONS)), RENDITION_MIX)[0]
        out.append(Session(i, rendition, first, min(title.segments - 1, first + watched - 1), t))
    return out


def _cumulative(ws: list[float]) -> Iterator[float]:
    acc = 0.0
    for w in ws:
        acc += w
        yield acc


def segment_bytes(rendition: int) -> int:
    return RENDITIONS[rendition][1] * SEGMENT_S // 8


def session_objects(title: Title, s: Session) -> Iterator[tuple[str, int]]:
    name = RENDITIONS[s.rendition][0]
    base = f"titles/{title.id}/hls"
    yield f"{base}/master.m3u8", 1_500
    yield f"{base}/{name}/index.m3u8", 60 * title.segments
    yield f"{base}/{name}/init.mp4", 1_200
    size = segment_bytes(s.rendition)
    for seg in range(s.first, s.last + 1):
        yield f"{base}/{name}/seg_{seg:05d}.m4s", size


def title_objects(title: Title, segments: int) -> Iterator[tuple[str, int]]:
    """Every rendition's playlists, init segment and first `segments` segments."""
    base = f"titles/{title.id}/hls"
    yield f"{base}/master.m3u8", 1_500
    for r, (name, _rate) in enumerate(RENDITIONS):
        yield f"{base}/{name}/index.m3u8", 60 * title.segments
        yield f"{base}/{name}/init.mp4", 1_200
        size = segment_bytes(r)
        for seg in range(min(segments, title.segments)):
            yield f"{base}/{name}/seg_{seg:05d}.m4s", size


def title_bytes(title: Title) -> int:
    """One copy of the whole title: every rendition's segments, playlists and init segments."""
    return title.segments * sum(segment_bytes(r) for r in range(len(RENDITIONS))) + 4 * (60 * title.segments + 1_200)


def catalog_bytes(titles: list[Title]) -> int:
    per_second = sum(rate for _n, rate in RENDITIONS) // 8
    return sum(t.segments * SEGMENT_S * per_second for t in titles)


# --------------------------------------------------------------------------------------- trace replay
def replay(titles: list[Title], trace: list[Session], ring: Ring, capacity_bytes: int, *, bounded: bool,
           prefill: bool, fill_share: float = 0.0, warmup: float = 0.0) -> dict[str, Any]:
    """Replay `trace`; the first `warmup` share of sessions fills caches and is not counted."""
    ids = list(ring.edges)
    edges = len(ids)
    placement = Placement(ids, epsilon=DEFAULT_EPSILON if bounded else None, ring=ring)
    caches: dict[str, ByteLRU[float]] = {e: ByteLRU(capacity_bytes) for e in ids}
    shares = zipf_weights(len(titles))
    expected = [copies_for_share(sh) for sh in shares]  # what the prefill function is told
    prefill_copies: dict[str, int] = {}
    forever = math.inf
    if fill_share > 0:
        # Off-peak fill: functions/delivery's own selection (logic/offpeak.select_titles: popularity
        # order, size x copies within the budget, copies by share), fed the trace's popularity as the
        # trending counts and each title's whole size; placed least popular first.
        by_id = {t.id: i for i, t in enumerate(titles)}
        found = [Candidate(t.id, shares[i], title_bytes(t)) for i, t in enumerate(titles)]
        picks = select_titles(found, int(fill_share * capacity_bytes * edges))
        for pick in reversed(picks):
            _place(placement, caches, titles[by_id[pick.title_id]], titles[by_id[pick.title_id]].segments,
                   pick.copies)
    if prefill:  # on publish: the first PREFILL_SECONDS, least popular first (the popular stay freshest)
        for i in reversed(range(len(titles))):
            _place(placement, caches, titles[i], PREFILL_SECONDS // SEGMENT_S, expected[i])
            prefill_copies[titles[i].id] = expected[i]
    popularity = Popularity(half_life_s=1800, min_samples=2000)
    loads: dict[str, int] = dict.fromkeys(ids, 0)
    total = 0
    window = 0
    served: Counter[str] = Counter()
    worst_window = 1.0
    hits = requests = origin_bytes = bytes_out = 0
    counted_from = int(len(trace) * warmup)
    for n, s in enumerate(trace):
        if n == counted_from:
            hits = requests = origin_bytes = bytes_out = 0
            served.clear()
            worst_window = 1.0
        w = int(s.start // WINDOW_S)
        if w != window:
            if total >= 1000 * edges:  # a minute with enough requests to judge its balance
                worst_window = max(worst_window, max(loads.values()) / (total / edges))
            loads = dict.fromkeys(ids, 0)
            total, window = 0, w
        title = titles[s.title]
        popularity.record(title.id, s.start)
        copies = max(prefill_copies.get(title.id, 1), popularity.copies(title.id))
        now = s.start
        for key, size in session_objects(title, s):
            edge = placement.pick(key, copies, loads, None, total) or ids[0]  # never None: every edge is live
            loads[edge] += 1
            total += 1
            served[edge] += 1
            requests += 1
            bytes_out += size
            expires = caches[edge].get(key)
            if expires is not None and expires > now:
                hits += 1
            else:
                origin_bytes += size
                caches[edge].put(key, now + PLAYLIST_TTL_S if key.endswith(".m3u8") else forever, size)
    mean = requests / edges
    return {
        "hit_ratio": round(hits / requests, 4),
        "byte_hit_ratio": round(1 - origin_bytes / bytes_out, 4),
        "origin_gb": round(origin_bytes / 1e9, 1),
        "served_gb": round(bytes_out / 1e9, 1),
        "requests": requests,
        "load_max_over_mean": round(max(served.values()) / mean, 3),
        "worst_minute_max_over_mean": round(worst_window, 3),
    }


def _place(placement: Placement, caches: dict[str, ByteLRU[float]], title: Title, segments: int,
           copies: int) -> None:
    for key, size in title_objects(title, segments):
        expires = PLAYLIST_TTL_S if key.endswith(".m3u8") else math.inf  # a playlist is stale seconds later
        for edge in placement.replicas(key, copies, remember=False):
            caches[edge].put(key, expires, size)


def flash_crowd(ring: Ring, viewers: int = 3000, seconds: int = 60) -> dict[str, float]:
    """A new release: `viewers` press play in the same minute and fetch its opening `seconds`. Few
    distinct objects, each very hot: max/mean requests per edge with plain hashing, with bounded
    loads, with the 3 copies the prefill gives such a title, and with both."""
    rng = random.Random(3)
    reqs = []
    for _ in range(viewers):
        name = RENDITIONS[rng.choices(range(len(RENDITIONS)), RENDITION_MIX)[0]][0]
        reqs += [f"titles/launch/hls/{name}/init.mp4", *(f"titles/launch/hls/{name}/seg_{i:05d}.m4s"
                                                        for i in range(seconds // SEGMENT_S))]
    rng.shuffle(reqs)
    out = {}
    for label, copies, eps in (("plain", 1, None), ("bounded", 1, DEFAULT_EPSILON), ("copies_3", 3, None),
                               ("copies_3_bounded", 3, DEFAULT_EPSILON)):
        placement = Placement(ring.edges, epsilon=eps, ring=ring)
        loads: Counter[str] = Counter()
        for n, key in enumerate(reqs):
            loads[placement.pick(key, copies, loads, None, n) or ring.edges[0]] += 1
        out[label] = round(max(loads.values()) / (len(reqs) / len(ring.edges)), 3)
    return out


def movement(keys: list[str], edges: int) -> dict[str, float]:
    """Fraction of `keys` whose owner changes when an edge joins, and when each edge in turn leaves."""
    ids = [f"edge-{i}" for i in range(edges)]
    base = Ring(ids)
    owners = [base.owner(k) for k in keys]
    grown = Ring([*ids, f"edge-{edges}"])
    added = sum(1 for k, o in zip(keys, owners, strict=True) if grown.owner(k) != o) / len(keys)
    removed = []
    for gone in ids:
        ring = Ring([e for e in ids if e != gone])
        removed.append(sum(1 for k, o in zip(keys, owners, strict=True) if ring.owner(k) != o) / len(keys))
    return {"added": round(added, 4), "removed_mean": round(statistics.mean(removed), 4),
            "removed_max": round(max(removed), 4), "goal": round(1.1 / edges, 4)}


# --------------------------------------------------------------------------------------- live
def live(objects: int = 40, size: int = 1_500_000, rounds: int = 3) -> dict[str, Any]:
    import logging

    import boto3
    import requests
    from moto.server import ThreadedMotoServer
    from reelstack_common.cdn_signing import sign_grant

    from infra.cdn_keys import generate_key_pair
    from local.cdn.behaviors import Distribution
    from local.cdn.fleet import Fleet, FleetSettings
    from local.cdn.keys import local_key_id
    from local.ports import free_port

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request log lines
    host = "127.0.0.1"
    moto_port = free_port(host)
    moto = ThreadedMotoServer(ip_address=host, port=moto_port, verbose=False)
    moto.start()
    aws = f"http://{host}:{moto_port}"
    s3 = boto3.client("s3", endpoint_url=aws, region_name="us-east-1", aws_access_key_id="local",
                      aws_secret_access_key="local")
    s3.create_bucket(Bucket="media")
    keys = [f"titles/bench/hls/720p/seg_{i:05d}.m4s" for i in range(objects)]
    rng = random.Random(1)
    for k in keys:
        s3.put_object(Bucket="media", Key=k, Body=rng.randbytes(size), CacheControl="public, max-age=31536000",
                      ContentType="video/iso.segment")
    pair = generate_key_pair()
    kid = local_key_id(pair.public_pem)
    fleet = Fleet(FleetSettings(host, free_port(host), aws, "media", edges=4, cache_mb=256,
                                distribution=Distribution(public_keys={kid: pair.public_pem})))
    fleet.start()
    try:
        grant = sign_grant(resource=f"{fleet.url}/titles/bench/*", expires_at=int(time.time()) + 3600,
                           key_pair_id=kid, private_key_pem=pair.private_pem)
        cdn, direct = requests.Session(), requests.Session()
        cdn.cookies.update(grant.cookies)
        presigned = {k: s3.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": k},
                                                  ExpiresIn=3600) for k in keys}

        def timed(session: requests.Session, url: str, expect: str | None = None) -> float:
            t0 = time.perf_counter()
            r = session.get(url, timeout=30)
            dt = time.perf_counter() - t0
            assert r.status_code == 200 and len(r.content) == size, (r.status_code, r.text[:200])
            if expect is not None:
                assert r.headers["x-cache"].startswith(expect), r.headers
            return dt * 1000

        direct_ms = [timed(direct, presigned[k]) for k in keys[:5]]  # warm both connection pools
        miss = [timed(cdn, f"{fleet.url}/{k}", "Miss") for k in keys]
        hit, direct_ms = [], []
        for _ in range(rounds):
            for k in keys:  # interleaved, so both see the same machine load
                hit.append(timed(cdn, f"{fleet.url}/{k}", "Hit"))
                direct_ms.append(timed(direct, presigned[k]))
        # Throughput through one edge: its cached objects, straight from the edge, for ~4 s.
        edge = fleet.placement.ring.owner(keys[0]) or "edge-0"
        mine = [k for k in keys if fleet.placement.ring.owner(k) == edge]
        one = requests.Session()
        one.cookies.update(grant.cookies)
        got, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 4:
            for k in mine:
                got += len(one.get(f"{fleet.edge_urls[edge]}/{k}", timeout=30).content)
        edge_mb_s = got / 1e6 / (time.perf_counter() - t0)
        got, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 4:
            for k in mine:
                got += len(cdn.get(f"{fleet.url}/{k}", timeout=30).content)
        front_mb_s = got / 1e6 / (time.perf_counter() - t0)
    finally:
        fleet.stop()
        moto.stop()

    def pct(xs: list[float]) -> dict[str, float]:
        xs = sorted(xs)
        p99 = xs[min(len(xs) - 1, int(0.99 * len(xs)))]
        return {"p50_ms": round(statistics.median(xs), 1), "p99_ms": round(p99, 1), "n": len(xs)}

    return {"object_bytes": size, "miss": pct(miss), "hit": pct(hit), "direct_s3": pct(direct_ms),
            "one_edge_mb_s": round(edge_mb_s, 1), "through_front_door_mb_s": round(front_mb_s, 1)}


# --------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--titles", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=2.0, help="session arrivals per second")
    ap.add_argument("--edges", default="4,8,16")
    ap.add_argument("--fleet-share", type=float, default=0.8,
                    help="the fleet's capacity as a share of the catalog's bytes, split evenly over the N edges: "
                         "every N gets the same storage (default: %(default)s)")
    ap.add_argument("--fill-share", type=float, default=0.9,
                    help="share of the fleet the off-peak fill may use (default: %(default)s)")
    ap.add_argument("--warmup", type=float, default=0.0,
                    help="share of the sessions replayed before counting (default: %(default)s: count from cold)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-live", action="store_true")
    args = ap.parse_args(argv)
    if not (100 <= args.titles <= 20000 and 100 <= args.sessions <= 200_000):
        ap.error("--titles 100..20000, --sessions 100..200000")

    rng = random.Random(args.seed)
    titles = catalog(rng, args.titles)
    trace = sessions(rng, titles, args.sessions, args.rate)
    cat_bytes = catalog_bytes(titles)
    move_keys = [k for t in titles[:: max(1, len(titles) // 500)] for k, _s in title_objects(t, 50)]
    out: dict[str, Any] = {
        "catalog": {"titles": len(titles), "films": sum(t.kind == "film" for t in titles), "renditions": 4,
                    "segment_s": SEGMENT_S, "tb": round(cat_bytes / 1e12, 2)},
        "trace": {"sessions": len(trace), "zipf_s": 1.0, "hours": round(trace[-1].start / 3600, 2),
                  "resumed": round(sum(s.first > 0 for s in trace) / len(trace), 3)},
        "fleet_share_of_catalog": args.fleet_share,
        "fill_share_of_fleet": args.fill_share,
        "by_edges": {},
    }
    for n in [int(x) for x in args.edges.split(",")]:
        t0 = time.perf_counter()
        ring = Ring([f"edge-{i}" for i in range(n)], memo_keys=1 << 21)  # one ring (and memo) for every replay
        capacity = int(cat_bytes * args.fleet_share / n)
        kw: dict[str, Any] = {"warmup": args.warmup}
        row: dict[str, Any] = {
            "cold_plain_hashing": replay(titles, trace, ring, capacity, bounded=False, prefill=False, **kw),
            "prefill": replay(titles, trace, ring, capacity, bounded=True, prefill=True, **kw),
            "prefill_and_fill": replay(titles, trace, ring, capacity, bounded=True, prefill=True,
                                       fill_share=args.fill_share, **kw),
            "flash_crowd_max_over_mean": flash_crowd(ring),
            "moved": movement(move_keys, n),
        }
        row["edge_capacity_gb"] = round(capacity / 1e9, 1)
        row["seconds"] = round(time.perf_counter() - t0, 1)
        out["by_edges"][str(n)] = row
        print(json.dumps({"edges": n, **row}), flush=True)
    if not args.no_live:
        out["live"] = live()
        print(json.dumps({"live": out["live"]}), flush=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
