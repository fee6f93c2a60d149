"""Demo data for a running local cloud (``make seed``): a home page that means something.

    python -m local.seed [--state-dir .reelstack] [--no-train]

What it loads, idempotently (a second run overwrites the same items and reuses the account):
- the MovieLens 100k titles (1,682 films, genres, years) read from the installed ``recbole`` wheel
  as ``bench.movielens`` does (the licence forbids committing the data), written into the catalog
  table as READY titles. They carry no media: they are not playable until ingested (issue 16 adds
  playable seed content). MovieLens has no content ratings; a demo heuristic assigns one from the
  genres (Children's G, Animation PG, Horror/Crime/Thriller/War/Film-Noir R, else PG-13);
- a demo account (``demo@reelstack.local``) with three profiles whose histories are MovieLens users'
  ratings, written as thumbs (5 stars love, 3-4 up, 1-2 down) into the ratings table;
- every other MovieLens user's ratings as JSON lines in the model bucket's ``lake/`` (training
  data, no accounts); timestamps are shifted so the newest rating is an hour old;
- a sponsored campaign (admin API) live for 30 days;
- one run of the training workflow (the state machine, as the schedule starts it).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parents[1]
DEMO_EMAIL = "demo@reelstack.local"
DEMO_PASSWORD = "Reelstack-Demo-2026"
# (profile name, MovieLens user, kids, maturity setting): users with long, distinct histories.
DEMO_PROFILES = (("Ana", 13, False, "18+"), ("Ben", 405, False, "18+"), ("Kids", 1, True, "7+"))
LANGUAGES = {"m.02h40lc": "en", "m.064_8sq": "fr", "m.06nm1": "es", "m.04306rv": "de", "m.02bjrlw": "it",
             "m.06b_j": "ru", "m.03_9r": "ja", "m.0653m": "zh"}  # fmt: skip
CAMPAIGN_NAME = "Reelstack presents: Sci-Fi classics"
WORKFLOW_TIMEOUT_S = 600.0


def title_id(item: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"movielens-100k/{item}").hex


def rating_for(genres: tuple[str, ...]) -> str:
    g = set(genres)
    if "Children's" in g:
        return "G"
    if "Animation" in g:
        return "PG"
    if g & {"Horror", "Crime", "Thriller", "War", "Film-Noir"}:
        return "R"
    return "PG-13"


def thumb_for(stars: float) -> str:
    return "love" if stars >= 5 else "up" if stars >= 3 else "down"


class Seeder:
    def __init__(self, endpoints: dict[str, Any], log: Any = print) -> None:
        self.e = endpoints
        self.log = log
        self.http = requests.Session()
        kw = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}
        self.ddb = boto3.resource("dynamodb", endpoint_url=endpoints["dynamodb_endpoint_url"], **kw)
        self.s3 = boto3.client("s3", endpoint_url=endpoints["aws_endpoint_url"], **kw)
        self.sfn = boto3.client("stepfunctions", endpoint_url=endpoints["aws_endpoint_url"], **kw)
        res = endpoints["resources"]
        self.tables = res["tables"]
        self.outputs = res["outputs"]

    def table(self, prefix: str) -> Any:
        name = next(n for lid, n in self.tables.items() if lid.startswith(prefix))
        return self.ddb.Table(name)

    def output(self, name: str) -> str:
        return str(next(v for k, v in self.outputs.items() if k.endswith("." + name)))

    def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return self.http.request(method, self.e["api_url"] + path, headers=headers, timeout=60, **kw)

    def login(self, email: str, password: str) -> str:
        r = self.api("POST", "/accounts/login", json={"email": email, "password": password})
        r.raise_for_status()
        return str(r.json()["access_token"])

    # --- steps ------------------------------------------------------------------------------------

    def catalog(self) -> dict[str, str]:
        """MovieLens item id -> catalog title id."""
        sys.path.insert(0, str(ROOT / "functions" / "recommendations"))
        from bench.movielens import load_titles

        ids: dict[str, str] = {}
        table = self.table("MediaCatalogTable")
        with table.batch_writer() as batch:
            for k, t in enumerate(load_titles()):
                tid = title_id(t.title_id)
                ids[t.title_id] = tid
                # created_at spreads the films over the last days in release order: "New on Reelstack"
                # then shows the newest releases.
                created = (
                    time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 86_400 * 7 + k)) + ".000000+00:00"
                )
                item = {
                    "pk": f"TITLE#{tid}", "sk": "META", "entity": "title", "title_id": tid, "title": t.name,
                    "description": "", "genres": [g for g in t.genres if g != "unknown"], "cast": [],
                    "language": LANGUAGES.get(t.language, "und"), "maturity_rating": rating_for(t.genres),
                    "year": t.year or 1995, "status": "READY", "kind": "movie", "version": 1,
                    "created_at": created, "updated_at": created, "created_by": "seed:movielens-100k",
                    "gsi1pk": "STATUS#READY", "gsi1sk": f"{created}#{tid}",
                }  # fmt: skip
                batch.put_item(Item=item)
        self.log(f"  catalog         {len(ids)} MovieLens titles READY (no media: not playable until ingested)")
        return ids

    def demo_account(self) -> tuple[str, dict[str, int]]:
        r = self.api("POST", "/accounts", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "plan": "premium"})
        if r.status_code == 202:
            self.api("POST", "/accounts/confirm", json={"email": DEMO_EMAIL, "code": "000000"})
        token = self.login(DEMO_EMAIL, DEMO_PASSWORD)
        have = {p["name"]: p["profile_id"] for p in self.api("GET", "/profiles", token).json()["profiles"]}
        users: dict[str, int] = {}
        for name, user, kids, maturity in DEMO_PROFILES:
            if name not in have:
                body: dict[str, Any] = {"name": name, "kids": kids, "language": "en"}
                if not kids:
                    body["maturity_rating"] = maturity
                r = self.api("POST", "/profiles", token, json=body)
                r.raise_for_status()
                have[name] = r.json()["profile_id"]
            users[have[name]] = user
        return token, users

    def histories(self, ids: dict[str, str], demo: dict[str, int]) -> int:
        from bench.movielens import load_ratings

        r = load_ratings()
        shift = time.time() - 3600 - float(r.ts.max())
        by_user: dict[int, list[tuple[str, float, float]]] = defaultdict(list)
        for u, i, stars, ts in zip(r.user.tolist(), r.item.tolist(), r.rating.tolist(), r.ts.tolist(), strict=True):
            by_user[int(u)].append((ids[str(i)], float(stars), float(ts) + shift))
        ratings = self.table("HomeRatingsTable")
        with ratings.batch_writer() as batch:
            for profile_id, user in demo.items():
                for tid, stars, ts in by_user[user]:
                    batch.put_item(Item={"profile_id": profile_id, "title_id": tid, "thumb": thumb_for(stars),
                                         "rated_at": Decimal(str(round(ts, 3)))})  # fmt: skip
        demo_users = set(demo.values())
        lines = [
            json.dumps({"profile_id": f"ml-{u}", "title_id": tid, "ts": round(ts, 3), "rating": stars})
            for u, rows in by_user.items() if u not in demo_users for tid, stars, ts in rows
        ]  # fmt: skip
        body = gzip.compress("\n".join(lines).encode())
        self.s3.put_object(Bucket=self.output("HomeModelBucketName"), Key="lake/movielens-100k.jsonl.gz", Body=body)
        self.log(f"  histories       {len(demo)} demo profiles as ratings, {len(lines)} ratings of "
                 f"{len(by_user) - len(demo_users)} MovieLens users in the lake ({len(body) // 1024} KB)")  # fmt: skip
        return len(lines)

    def admin_token(self) -> str:
        """The local cloud's admin (made at start-up; made here if that failed, e.g. a timeout)."""
        from local.cloud import DEFAULT_ADMIN

        admin = self.e.get("admin") or DEFAULT_ADMIN
        r = self.api("POST", "/accounts/login", json={"email": admin["email"], "password": admin["password"]})
        if r.status_code != 200:
            self.api("POST", "/accounts", json={**admin, "plan": "premium"})
            self.api("POST", "/accounts/confirm", json={"email": admin["email"], "code": "000000"})
            idp = boto3.client("cognito-idp", endpoint_url=self.e["aws_endpoint_url"], region_name="us-east-1",
                               aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
            pool = next(iter(self.e["resources"]["user_pools"].values()))
            idp.admin_add_user_to_group(UserPoolId=pool, Username=admin["email"], GroupName="admins")
        return self.login(admin["email"], admin["password"])

    def campaign(self, ids: dict[str, str]) -> None:
        token = self.admin_token()
        existing = self.api("GET", "/campaigns", token).json().get("campaigns", [])
        if any(c["name"] == CAMPAIGN_NAME for c in existing):
            return
        now = time.time()
        body = {
            "name": CAMPAIGN_NAME,
            "title_ids": [ids[i] for i in ("50", "172", "181", "271", "82")],  # Star Wars trilogy, ...
            "starts_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 86_400)),
            "ends_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 30 * 86_400)),
            "languages": ["en"],
            "audiences": ["teens", "adults"],
            "priority": 10,
        }
        r = self.api("POST", "/campaigns", token, json=body)
        if r.status_code != 201:
            raise RuntimeError(f"campaign: {r.status_code} {r.text[:300]}")
        self.log(f"  campaign        {CAMPAIGN_NAME!r} (sponsored, 30 days)")

    def train(self) -> dict[str, Any]:
        arn = self.output("HomeStateMachineArn")
        t0 = time.perf_counter()
        run = self.sfn.start_execution(stateMachineArn=arn, name=f"seed-{uuid.uuid4().hex[:8]}",
                                       input=json.dumps({"cutoff": int(time.time())}))  # fmt: skip
        out = wait_for_execution(self.sfn, run["executionArn"])
        self.log(f"  model run       {out.get('model_version')} in {time.perf_counter() - t0:.1f} s")
        return out


def wait_for_execution(sfn: Any, execution_arn: str, timeout_s: float = WORKFLOW_TIMEOUT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        d = sfn.describe_execution(executionArn=execution_arn)
        if d["status"] == "SUCCEEDED":
            out: dict[str, Any] = json.loads(d.get("output") or "{}")
            return out
        if d["status"] in ("FAILED", "TIMED_OUT", "ABORTED"):
            raise RuntimeError(f"home workflow {d['status']}: {d.get('error')} {d.get('cause', '')[:500]}")
        time.sleep(0.5)
    raise TimeoutError(f"home workflow still running after {timeout_s:.0f} s")


def seed(endpoints: dict[str, Any], *, train: bool = True, log: Any = print) -> dict[str, Any]:
    s = Seeder(endpoints, log)
    t0 = time.perf_counter()
    ids = s.catalog()
    _, demo = s.demo_account()
    s.histories(ids, demo)
    s.campaign(ids)
    out = s.train() if train else {}
    log(f"seeded in {time.perf_counter() - t0:.1f} s -- sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}")
    return {"profiles": demo, "model": out, "titles": ids}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".reelstack")
    parser.add_argument("--no-train", action="store_true", help="load the data, do not run the workflow")
    args = parser.parse_args(argv)
    path = args.state_dir / "endpoints.json"
    if not path.exists():
        print(f"no running local cloud ({path} missing): start it with `make up` first", file=sys.stderr)
        return 2
    seed(json.loads(path.read_text()), train=not args.no_train)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
