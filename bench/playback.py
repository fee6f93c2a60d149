"""Playback benchmark (issue 13): heartbeat latency and throughput through both local edges next to a
raw DynamoDB UpdateItem on the same table, session start latency, and the 500-heartbeat
out-of-order correctness run. Starts its own local cloud (`python -m local up --no-search
--no-seed`) on loopback ports and a temporary state directory; prints JSON, the last line the summary.

    python -m bench.playback [--beats 300] [--starts 60] [--concurrency 8]

Goal (issue 13): heartbeat p99 through an edge <= 3x the raw UpdateItem p99 in the same run.
What an edge adds locally: the HTTP server, the JWT check (API: the emulated authorizer; ALB: the
function verifies the token), the Lambda worker hop (JSON over a pipe), Powertools routing and
validation, then the function's one conditional UpdateItem + one state UpdateItem (+ a Kinesis
PutRecords for sampled heartbeats).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config

from bench.load import PASSWORD, Cloud, _percentile

CAPS = {720: "cap2160/cap1080/cap720/", 1080: "cap2160/cap1080/", 2160: "cap2160/"}
MAX_BEATS, MAX_STARTS, MAX_CONCURRENCY = 5000, 1000, 32


def _resource(url: str) -> Any:
    return boto3.resource("dynamodb", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")


def _table(endpoints: dict[str, Any], marker: str) -> str:
    return next(n for lid, n in endpoints["resources"]["tables"].items() if marker in lid)


def _ready_title(endpoints: dict[str, Any], duration: float = 7200.0) -> str:
    """A READY title item with contract B's tiers, written straight into the catalog table."""
    title_id = uuid.uuid4().hex
    base = f"titles/{title_id}/hls/"
    _resource(endpoints["aws_endpoint_url"]).Table(_table(endpoints, "CatalogTable")).put_item(Item={
        "pk": f"TITLE#{title_id}", "sk": "META", "entity": "title", "title_id": title_id, "title": "Bench",
        "status": "READY", "maturity_rating": "PG", "language": "en", "year": 2024, "kind": "movie",
        "version": 1, "duration_s": Decimal(str(duration)),
        "playback_tiers": [{"max_height": h, "prefix": base + p, "master": base + p + "master.m3u8"}
                           for h, p in sorted(CAPS.items())],
    })
    return title_id


class Viewer:
    def __init__(self, base: str) -> None:
        self.base, self.s, self.token = base, requests.Session(), ""

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        return self.s.request(method, self.base + path, json=body, headers=headers, timeout=60)

    def setup(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        """A set-up call (not measured): retried while the answer is a 5xx (a cold start on a busy
        machine can outlast the function's timeout), then it must be ``status``."""
        for _ in range(5):
            r = self.call(method, path, body)
            if r.status_code < 500:
                break
            time.sleep(2)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    def sign_up(self, plan: str = "premium") -> None:
        email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
        self.setup("POST", "/accounts", {"email": email, "password": PASSWORD, "plan": plan}, 202)
        self.setup("POST", "/accounts/confirm", {"email": email, "code": "000000"}, 201)
        self.token = self.setup("POST", "/accounts/login", {"email": email, "password": PASSWORD})["access_token"]

    def clone(self, base: str | None = None) -> Viewer:
        v = Viewer(base or self.base)
        v.token = self.token
        return v


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def _stats(ms: list[float], wall_s: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(ms), "p50_ms": _percentile(ms, 0.5), "p99_ms": _percentile(ms, 0.99)}
    if wall_s:
        out["per_s"] = round(len(ms) / wall_s, 1)
    return out


def heartbeats(v: Viewer, sid: str, count: int, first_seq: int, concurrency: int) -> dict[str, Any]:
    """`count` sequential heartbeats (latency), then `count` over `concurrency` clients (throughput)."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()  # non-200 answers (counted, not fatal: a bench reports them)
    for i in range(count):
        ms, r = _timed(lambda i=i: v.call("PUT", f"/playback/sessions/{sid}/heartbeat",
                                          {"position_s": float(i % 7000), "seq": first_seq + i}))
        errors[str(r.status_code)] += r.status_code != 200
        latencies.append(ms)
    seq = [first_seq + count]
    lock = threading.Lock()
    loaded: list[float] = []
    clients = [v.clone() for _ in range(concurrency)]

    def worker(k: int) -> None:
        for _ in range(count // concurrency):
            with lock:
                seq[0] += 1
                mine = seq[0]
            ms, r = _timed(lambda mine=mine: clients[k].call("PUT", f"/playback/sessions/{sid}/heartbeat",
                                                   {"position_s": 1.0, "seq": mine}))
            with lock:
                errors[str(r.status_code)] += r.status_code != 200
                loaded.append(ms)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    return {"sequential": _stats(latencies), "concurrent": {**_stats(loaded, time.perf_counter() - t0),
                                                            "clients": concurrency},
            "non_200": dict(+errors), "next_seq": seq[0] + 1}


def raw_updates(endpoints: dict[str, Any], count: int, concurrency: int) -> dict[str, Any]:
    """The same conditional UpdateItem the heartbeat makes, straight to DynamoDB (the function's own
    endpoint: DynamoDB Local), on the same table. A concurrent update whose seq was overtaken fails
    its condition, as a stale heartbeat does: timed all the same."""
    name = _table(endpoints, "PlaybackTable")
    client = boto3.client("dynamodb", endpoint_url=endpoints["dynamodb_endpoint_url"], region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local",
                          config=Config(max_pool_connections=MAX_CONCURRENCY))
    key = {"pk": {"S": f"SESSION#bench-raw-{uuid.uuid4().hex}"}, "sk": {"S": "SESSION"}}
    client.put_item(TableName=name, Item={**key, "account_id": {"S": "bench"}, "ended": {"BOOL": False},
                                          "lease_expires_at": {"N": str(2**40)}, "duration_s": {"N": "7200"},
                                          "last_seq": {"N": "-1"}, "applied": {"N": "0"}})
    seq = [0]
    lock = threading.Lock()

    def update() -> None:
        with lock:
            seq[0] += 1
            mine = seq[0]
        with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
            client.update_item(
                TableName=name,
                Key=key,
                UpdateExpression="SET position_s = :p, last_seq = :seq, lease_expires_at = :u ADD applied :one",
                ConditionExpression="account_id = :me AND ended = :f AND lease_expires_at > :now "
                                    "AND duration_s >= :d AND last_seq < :seq",
                ExpressionAttributeValues={":p": {"N": "1.5"}, ":seq": {"N": str(mine)}, ":u": {"N": str(2**40)},
                                           ":one": {"N": "1"}, ":me": {"S": "bench"}, ":f": {"BOOL": False},
                                           ":now": {"N": str(int(time.time()))}, ":d": {"N": "0.5"}},
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )

    sequential = [_timed(update)[0] for _ in range(count)]
    loaded: list[float] = []

    def worker(_: int) -> None:
        for _ in range(count // concurrency):
            ms = _timed(update)[0]
            with lock:
                loaded.append(ms)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    return {"sequential": _stats(sequential), "concurrent": {**_stats(loaded, time.perf_counter() - t0),
                                                            "clients": concurrency}}


def session_starts(v: Viewer, profile_id: str, title_id: str, count: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    for _ in range(count):
        ms, r = _timed(lambda: v.call("POST", "/playback/sessions", {"profile_id": profile_id, "title_id": title_id}))
        latencies.append(ms)
        if r.status_code != 201:
            errors[str(r.status_code)] += 1
            continue
        v.setup("DELETE", f"/playback/sessions/{r.json()['session_id']}", status=204)  # stay under the limit
    return {**_stats(latencies), "non_201": dict(errors)}


def out_of_order(v: Viewer, endpoints: dict[str, Any], profile_id: str, title_id: str) -> dict[str, Any]:
    sid = v.call("POST", "/playback/sessions", {"profile_id": profile_id, "title_id": title_id}).json()["session_id"]
    seqs = list(range(1, 501))
    random.Random(13).shuffle(seqs)
    clients = [v.clone() for _ in range(24)]

    def send(i: int) -> tuple[int, bool]:
        r = clients[i % 24].call("PUT", f"/playback/sessions/{sid}/heartbeat",
                                 {"position_s": seqs[i] * 2.0, "seq": seqs[i]})
        return r.status_code, r.status_code == 200 and bool(r.json()["stale"])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(send, range(500)))
    wall = time.perf_counter() - t0
    item = _resource(endpoints["dynamodb_endpoint_url"]).Table(_table(endpoints, "PlaybackTable")).get_item(
        Key={"pk": f"SESSION#{sid}", "sk": "SESSION"}, ConsistentRead=True)["Item"]
    applied = sum(1 for status, stale in results if status == 200 and not stale)
    ok = int(item["last_seq"]) == 500 and float(item["position_s"]) == 1000.0 and int(item["applied"]) == applied
    return {"sent": 500, "non_200": sum(1 for s, _ in results if s != 200), "applied": applied,
            "stale": sum(1 for _, stale in results if stale), "stored_seq": int(item["last_seq"]),
            "stored_applied": int(item["applied"]), "lost": 0 if ok else 500 - applied, "wall_s": round(wall, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.playback")
    ap.add_argument("--beats", type=int, default=300)
    ap.add_argument("--starts", type=int, default=60)
    ap.add_argument("--concurrency", type=int, default=8)
    a = ap.parse_args(argv)
    beats, starts = min(a.beats, MAX_BEATS), min(a.starts, MAX_STARTS)
    concurrency = max(1, min(a.concurrency, MAX_CONCURRENCY))
    with tempfile.TemporaryDirectory(prefix="bench-playback-") as tmp:
        cloud = Cloud(Path(tmp))
        try:
            ep = cloud.endpoints
            api = Viewer(ep["api_url"])
            api.sign_up("premium")
            profile_id = api.setup("POST", "/profiles", {"name": "Bench"}, 201)["profile_id"]
            title_id = _ready_title(ep)
            alb = api.clone(ep["alb_url"])
            start = {"profile_id": profile_id, "title_id": title_id}
            sid = api.setup("POST", "/playback/sessions", start, 201)["session_id"]
            # Warm every worker the concurrent runs will use (the local runtime keeps up to 4 per
            # function): cold starts are not what is measured here.
            warm_seq = iter(range(100_000_000, 100_001_000))
            for edge in (api, alb):
                clients = [edge.clone() for _ in range(concurrency)]
                for _ in range(3):
                    with ThreadPoolExecutor(max_workers=concurrency) as pool:
                        list(pool.map(lambda c: c.setup("PUT", f"/playback/sessions/{sid}/heartbeat",
                                                        {"position_s": 1.0, "seq": next(warm_seq)}), clients))
            seq = 200_000_000
            result: dict[str, Any] = {"bench": "playback", "date": time.strftime("%Y-%m-%d", time.gmtime()),
                                      "startup_s": cloud.startup_s}
            result["raw_update_item"] = raw_updates(ep, beats, concurrency)
            hb_api = heartbeats(api, sid, beats, seq, concurrency)
            hb_alb = heartbeats(alb, sid, beats, hb_api.pop("next_seq"), concurrency)
            hb_alb.pop("next_seq")
            result["heartbeat_http_api"], result["heartbeat_alb"] = hb_api, hb_alb
            raw_p99 = result["raw_update_item"]["sequential"]["p99_ms"]
            result["p99_vs_raw"] = {edge: round(result[f"heartbeat_{edge}"]["sequential"]["p99_ms"] / raw_p99, 1)
                                    for edge in ("http_api", "alb")}
            api.call("DELETE", f"/playback/sessions/{sid}")
            result["session_start_http_api"] = session_starts(api, profile_id, title_id, starts)
            result["out_of_order_500"] = out_of_order(api, ep, profile_id, title_id)
            result["rss_mb"] = cloud.rss()
        finally:
            cloud.stop()
            for log in (Path(tmp) / "logs").glob("*Playback*.log"):  # for a look after a failed run
                shutil.copy(log, Path(tempfile.gettempdir()) / f"bench-playback-{log.name}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
