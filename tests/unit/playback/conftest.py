"""Fixtures of the playback unit tests: moto tables (playback, accounts, catalog), a view stream and
a signing key, driven through the logic and the HTTP handler."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

from tests.unit.events import LambdaContext, http_api_event, response_json
from tests.unit.tables import create_single_table

PLAYBACK, ACCOUNTS, CATALOG, STREAM = "playback-test", "accounts-test", "catalog-test", "views-test"
CDN_URL = "https://cdn.example.test"
SECRET = "reelstack/cdn-signing-key"


def tiers(title_id: str) -> list[dict[str, Any]]:
    """Contract B's nesting for caps 720 < 1080 < 2160."""
    base = f"titles/{title_id}/hls/"
    paths = {2160: "cap2160/", 1080: "cap2160/cap1080/", 720: "cap2160/cap1080/cap720/"}
    return [
        {"max_height": h, "prefix": base + p, "master": base + p + "master.m3u8", "renditions": []}
        for h, p in sorted(paths.items())
    ]


@dataclass
class Env:
    tables: dict[str, Any]
    kinesis: Any
    counts: dict[str, int] = field(default_factory=dict)

    # --- accounts (the read contract of reelstack_common.viewer) ---
    def account(self, user_id: str, plan: str = "standard", status: str = "active") -> None:
        self.tables[ACCOUNTS].put_item(
            Item={"pk": f"ACCOUNT#{user_id}", "sk": "ACCOUNT", "type": "account", "user_id": user_id,
                  "plan": plan, "subscription_status": status}
        )

    def profile(self, user_id: str, profile_id: str, maturity: str = "18+", kids: bool = False) -> None:
        self.tables[ACCOUNTS].put_item(
            Item={"pk": f"ACCOUNT#{user_id}", "sk": f"PROFILE#{profile_id}", "type": "profile",
                  "profile_id": profile_id, "name": profile_id, "kids": kids, "maturity_rating": maturity,
                  "language": "en"}
        )

    # --- catalog (the title item as catalog + transcode write it) ---
    def title(self, title_id: str, *, rating: str = "PG-13", status: str = "READY", duration: float = 600.0,
              kind: str = "movie", series_id: str | None = None, season: int | None = None,
              number: int | None = None, with_tiers: bool = True, name: str | None = None) -> None:
        item: dict[str, Any] = {"pk": f"TITLE#{title_id}", "sk": "META", "entity": "title", "title_id": title_id,
                                "title": name or f"Title {title_id}", "status": status, "maturity_rating": rating,
                                "language": "en", "year": 2020, "kind": kind, "version": 1,
                                "duration_s": Decimal(str(duration))}
        if with_tiers:
            item["playback_tiers"] = tiers(title_id)
        if series_id is not None:
            item.update(series_id=series_id, season=season, number=number)
            self.tables[CATALOG].put_item(
                Item={"pk": f"TITLE#{series_id}", "sk": f"EPISODE#{season:03d}#{number:04d}",
                      "entity": "episode_slot", "episode_id": title_id, "season": season, "number": number}
            )
        self.tables[CATALOG].put_item(Item=item)

    def count(self, name: str, value: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + value

    def view_events(self) -> list[dict[str, Any]]:
        import json

        shards = self.kinesis.list_shards(StreamName=STREAM)["Shards"]
        out: list[dict[str, Any]] = []
        for shard in shards:
            it = self.kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            out += [json.loads(r["Data"]) for r in self.kinesis.get_records(ShardIterator=it)["Records"]]
        return sorted(out, key=lambda e: e["ts"])


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    from playback import wiring
    from reelstack_common import dynamo

    with mock_aws():
        dynamo.reset()
        wiring.reset()
        ddb = boto3.resource("dynamodb", region_name="us-east-1")
        tables = {name: create_single_table(ddb, name) for name in (PLAYBACK, ACCOUNTS, CATALOG)}
        kinesis = boto3.client("kinesis", region_name="us-east-1")
        kinesis.create_stream(StreamName=STREAM, ShardCount=1)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name=SECRET, SecretString=pem.decode())
        for name, value in {"PLAYBACK_TABLE": PLAYBACK, "ACCOUNTS_TABLE": ACCOUNTS, "CATALOG_TABLE": CATALOG,
                            "VIEW_STREAM": STREAM, "CDN_URL": CDN_URL, "CDN_KEY_PAIR_ID": "K2TESTKEY",
                            "CDN_SIGNING_KEY_SECRET": SECRET}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("CDN_SIGNING_KEY_STAGE", raising=False)
        e = Env(tables=tables, kinesis=kinesis)
        yield e
        wiring.reset()
        dynamo.reset()


@pytest.fixture
def deps(env: Env) -> Any:
    from playback import wiring

    return wiring.dependencies(env.count)


class Clock:
    """Replaces the logic's clock: leases lapse when a test says so, not after real waiting."""

    def __init__(self) -> None:
        self.t = float(int(time.time()))  # the signer keeps real time: start from it

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from playback.logic import sessions

    c = Clock()
    monkeypatch.setattr(sessions, "now", c)
    return c


def call(method: str, path: str, body: Any = None, *, user: str | None = "u1", **kwargs: Any) -> tuple[int, Any]:
    """The playback handler as API Gateway calls it (JWT claims already checked by its authorizer)."""
    from playback.handlers.http import lambda_handler

    claims = {"sub": user, "token_use": "access"} if user else None
    response = lambda_handler(http_api_event(method, path, body, claims=claims, **kwargs), LambdaContext())
    return int(response["statusCode"]), response_json(response)
