"""Load the local platform and watch its memory (issue 10 items 7-8 and "Done when").

Two modes, each starting its own local cloud (`python -m local up --no-search`) on loopback ports
and a temporary state directory, bounded in time and count, printing JSON:

- `http`: N workers (default 20) each sign up an account, then loop over the accounts API
  (create profiles up to the plan cap - a conditional transaction -, list, read, delete, /me,
  plans) for --duration seconds. Reports requests, status counts, 5xx, p50/p99 latency, and the
  RSS of the local cloud process (moto, the edges, the pollers) and of DynamoDB Local, sampled.
- `transactions`: --count conditional TransactWriteItems (counter under a cap + an item, the
  shape of a profile create) against the DynamoDB endpoint of the local cloud, on a table
  pre-filled with 1,500 items; RSS before and after. `--engine moto` runs the same against a
  bare moto server instead (the DynamoDB the local cloud used before), to compare.

    python -m bench.load http [--duration 300] [--concurrency 20]
    python -m bench.load transactions [--count 10000] [--engine local-cloud|moto]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only
PASSWORD = "Corr3ct-Horse-Battery"
MAX_DURATION_S, MAX_CONCURRENCY, MAX_COUNT = 1800, 64, 100_000


def _free_port() -> int:
    from local.ports import free_port

    return free_port(HOST)


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _descendant(pid: int, needle: str) -> int | None:
    """The process under `pid` whose command line contains `needle` (DynamoDB Local's JVM)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid and needle in (entry / "cmdline").read_bytes().decode(errors="replace"):
                return int(entry.name)
    return None


class Cloud:
    """`python -m local up` in its own process group, stopped with SIGINT as Ctrl-C does."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        ports = {"aws": _free_port(), "api": _free_port(), "alb": _free_port()}
        cmd = [sys.executable, "-m", "local", "up", "--no-search", "--no-seed", "--host", HOST,
               "--state-dir", str(state_dir), *[a for k, p in ports.items() for a in (f"--{k}-port", str(p))]]
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=(state_dir / "up.log").open("w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        path = state_dir / "endpoints.json"
        deadline = time.monotonic() + 300
        while not path.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"local cloud did not start:\n{(state_dir / 'up.log').read_text()[-3000:]}")
            time.sleep(0.2)
        self.startup_s = round(time.perf_counter() - t0, 1)
        self.endpoints: dict[str, Any] = json.loads(path.read_text())
        self.dynamodb_pid = _descendant(self.proc.pid, "DynamoDBLocal.jar")

    def rss(self) -> dict[str, float | None]:
        return {"local_cloud": rss_mb(self.proc.pid), "dynamodb_local": rss_mb(self.dynamodb_pid)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


# ---------------------------------------------------------------------------------------- http
class HttpLoad:
    def __init__(self, api: str, deadline: float, max_requests: int) -> None:
        self.api, self.deadline, self.max_requests = api, deadline, max_requests
        self.lock = threading.Lock()
        self.statuses: Counter[str] = Counter()
        self.latencies_ms: list[float] = []
        self.errors: Counter[str] = Counter()

    def call(self, s: requests.Session, method: str, path: str, body: Any = None, token: str = "") -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        t0 = time.perf_counter()
        try:
            r = s.request(method, self.api + path, json=body, headers=headers, timeout=60)
        except requests.RequestException as exc:
            with self.lock:
                self.errors[type(exc).__name__] += 1
            return None
        with self.lock:
            self.statuses[f"{method} {path.split('/')[1]} {r.status_code}"] += 1
            self.latencies_ms.append((time.perf_counter() - t0) * 1000)
        return r

    def done(self) -> bool:
        return time.monotonic() > self.deadline or len(self.latencies_ms) >= self.max_requests

    def worker(self, n: int) -> None:
        s = requests.Session()
        email = f"load-{n}-{uuid.uuid4().hex[:8]}@example.com"
        r = self.call(s, "POST", "/accounts", {"email": email, "password": PASSWORD, "plan": "basic"})
        if r is not None and r.status_code == 202:  # verification step: moto accepts any code
            self.call(s, "POST", "/accounts/confirm", {"email": email, "code": "000000"})
        r = self.call(s, "POST", "/accounts/login", {"email": email, "password": PASSWORD})
        if r is None or r.status_code != 200:
            return
        token = r.json()["access_token"]
        i = 0
        while not self.done():
            i += 1
            created = self.call(s, "POST", "/profiles", {"name": f"P{i}"}, token)  # 201, or 409 at the cap
            listed = self.call(s, "GET", "/profiles", token=token)
            if created is not None and created.status_code == 201:
                self.call(s, "GET", f"/profiles/{created.json()['profile_id']}", token=token)
            elif listed is not None and listed.status_code == 200 and listed.json()["profiles"]:
                # At the cap: free a slot, so creates keep racing for it.
                self.call(s, "DELETE", f"/profiles/{listed.json()['profiles'][-1]['profile_id']}", token=token)
            self.call(s, "GET", "/accounts/me", token=token)
            self.call(s, "GET", "/billing/plans")


def run_http(duration_s: float, concurrency: int, max_requests: int, sample_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="reelstack-load-") as tmp:
        cloud = Cloud(Path(tmp))
        try:
            rss_start = cloud.rss()
            load = HttpLoad(cloud.endpoints["api_url"], time.monotonic() + duration_s, max_requests)
            samples: list[dict[str, Any]] = []
            t0 = time.monotonic()

            def sample() -> None:
                while not load.done():
                    samples.append({"t_s": round(time.monotonic() - t0), **cloud.rss()})
                    time.sleep(sample_s)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                list(pool.map(load.worker, range(concurrency)))
            elapsed = time.monotonic() - t0
            rss_end = cloud.rss()
        finally:
            cloud.stop()
    codes = Counter(int(k.rsplit(" ", 1)[1]) for k in load.statuses.elements())
    return {
        "mode": "http", "duration_s": round(elapsed, 1), "concurrency": concurrency,
        "startup_s": cloud.startup_s, "requests": sum(codes.values()),
        "requests_per_s": round(sum(codes.values()) / elapsed, 1),
        "status_counts": dict(sorted(codes.items())), "server_errors_5xx": sum(v for c, v in codes.items() if c >= 500),
        "client_errors": dict(load.errors), "by_route": dict(sorted(load.statuses.items())),
        "latency_ms": {"p50": _percentile(load.latencies_ms, 0.50), "p99": _percentile(load.latencies_ms, 0.99)},
        "rss_mb": {"start": rss_start, "end": rss_end,
                   "max_local_cloud": max((s["local_cloud"] or 0) for s in samples) if samples else None,
                   "max_dynamodb_local": max((s["dynamodb_local"] or 0) for s in samples) if samples else None},
        "rss_samples": samples,
    }


# -------------------------------------------------------------------------------- transactions
def _transactions(url: str, count: int, concurrency: int, rss: Any) -> dict[str, Any]:
    ddb = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", aws_access_key_id="local",
                       aws_secret_access_key="local",
                       config=Config(max_pool_connections=concurrency + 4, retries={"max_attempts": 1}))
    table = f"load-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    for start in range(0, 1500, 25):
        ddb.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {"pk": {"S": f"fill#{n}"}, "v": {"S": "x" * 200}}}}
            for n in range(start, start + 25)
        ]})
    outcome: Counter[str] = Counter()
    lock = threading.Lock()

    def one(i: int) -> None:
        account = f"acct#{i % 200}"  # 200 accounts, 5 profiles each at most: most later ones are refused
        try:
            ddb.transact_write_items(TransactItems=[
                {"Update": {"TableName": table, "Key": {"pk": {"S": account}},
                            "UpdateExpression": "ADD n :one",
                            "ConditionExpression": "attribute_not_exists(n) OR n < :cap",
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":cap": {"N": "5"}}}},
                {"Put": {"TableName": table, "Item": {"pk": {"S": f"{account}#p{i}"}, "v": {"S": "y" * 200}},
                         "ConditionExpression": "attribute_not_exists(pk)"}},
            ])
            key = "committed"
        except ddb.exceptions.TransactionCanceledException:
            key = "cancelled"
        except Exception as exc:  # a 500 or a dropped connection is what this bench is looking for
            key = type(exc).__name__
        with lock:
            outcome[key] += 1

    t0 = time.perf_counter()
    timeline = []  # RSS after each tenth of the transactions: flat or growing?
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        step = max(1, count // 10)
        for start in range(0, count, step):
            list(pool.map(one, range(start, min(count, start + step))))
            timeline.append({"done": min(count, start + step), **rss()})
    elapsed = time.perf_counter() - t0
    return {"transactions": count, "outcomes": dict(outcome), "seconds": round(elapsed, 1),
            "per_s": round(count / elapsed, 1), "rss_timeline": timeline}


def run_transactions(count: int, concurrency: int, engine: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="reelstack-load-") as tmp:
        if engine == "moto":
            port = _free_port()
            proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                url = f"http://{HOST}:{port}"
                deadline = time.monotonic() + 60
                while True:
                    with contextlib.suppress(requests.RequestException):
                        requests.get(url + "/moto-api/", timeout=1)
                        break
                    if time.monotonic() > deadline:
                        raise SystemExit("moto server did not start")
                    time.sleep(0.2)
                before = {"moto_server": rss_mb(proc.pid)}
                result = _transactions(url, count, concurrency, lambda: {"moto_server": rss_mb(proc.pid)})
                after = {"moto_server": rss_mb(proc.pid)}
            finally:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        else:
            cloud = Cloud(Path(tmp))
            try:
                before = cloud.rss()
                result = _transactions(cloud.endpoints["dynamodb_endpoint_url"], count, concurrency, cloud.rss)
                after = cloud.rss()
            finally:
                cloud.stop()
    return {"mode": "transactions", "engine": engine, "concurrency": concurrency, **result,
            "rss_mb": {"before": before, "after": after}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    http = sub.add_parser("http", help="20-way HTTP load on the accounts API")
    http.add_argument("--duration", type=float, default=60.0, help=f"seconds (max {MAX_DURATION_S})")
    http.add_argument("--concurrency", type=int, default=20, help=f"workers (max {MAX_CONCURRENCY})")
    http.add_argument("--max-requests", type=int, default=MAX_COUNT * 10, help="stop after this many requests")
    http.add_argument("--sample", type=float, default=15.0, help="seconds between RSS samples")
    tx = sub.add_parser("transactions", help="conditional DynamoDB transactions, RSS before/after")
    tx.add_argument("--count", type=int, default=10_000, help=f"transactions (max {MAX_COUNT})")
    tx.add_argument("--concurrency", type=int, default=20)
    tx.add_argument("--engine", choices=["local-cloud", "moto"], default="local-cloud")
    args = parser.parse_args(argv)
    if args.mode == "http":
        out = run_http(min(args.duration, MAX_DURATION_S), min(args.concurrency, MAX_CONCURRENCY),
                       args.max_requests, args.sample)
    else:
        out = run_transactions(min(args.count, MAX_COUNT), min(args.concurrency, MAX_CONCURRENCY), args.engine)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
