"""delivery.logic.offpeak: which titles the off-peak fill takes (popularity, budget, copies, the
newest-titles fallback), and its runs through the real adapters -- signed GETs over HTTP to the
stand-in CDN, the per-day ledger in (moto) DynamoDB: whole titles, resumable when time runs out,
at most once per day. Also the DAL reading trending items and catalog titles."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest
from delivery.dal.cdn_http import CdnHttp
from delivery.dal.dynamo_ledger import DynamoPrefillLedger
from delivery.dal.offpeak_sources import CatalogReadyTitles, TrendingPopularity
from delivery.handlers.offpeak import fill_day
from delivery.logic.offpeak import OffpeakPolicy, candidates, run_offpeak, select_titles
from delivery.models.events import TitlePublished
from delivery.models.offpeak import Candidate
from reelstack_common import dynamo

from tests.unit.delivery.conftest import FakeCdnServer, published_event, title_objects
from tests.unit.tables import create_single_table

GB = 10**9


def _detail(title_id: str, duration_s: float = 40.0) -> TitlePublished:
    return TitlePublished.model_validate(published_event(title_id, 1, duration_s=duration_s)["detail"])


class Sources:
    def __init__(self, scores: dict[str, float], titles: dict[str, TitlePublished], newest: list[str]) -> None:
        self._scores, self.titles, self.newest = scores, titles, newest

    def scores(self) -> dict[str, float]:
        return dict(self._scores)

    def ready_titles(self, title_ids: Any) -> dict[str, TitlePublished]:
        return {t: self.titles[t] for t in title_ids if t in self.titles}

    def newest_ready(self, limit: int) -> list[str]:
        return self.newest[:limit]


# --- selection ------------------------------------------------------------------------------


def test_selection_takes_the_most_popular_prefix_that_fits_with_copies_by_share() -> None:
    found = [Candidate(f"T{i}", score=1.0 / i, size_bytes=10 * GB) for i in range(1, 201)]
    picks = select_titles(list(reversed(found)), budget_bytes=100 * GB)
    assert [p.title_id for p in picks][:3] == ["T1", "T2", "T3"]  # ranked by score, not input order
    assert [p.rank for p in picks] == list(range(1, len(picks) + 1))
    # Zipf over 200 titles: T1 has ~17 % (3 copies), T2..T3 >= 5 % (3), then 2 copies down to 1 %.
    assert [p.copies for p in picks[:3]] == [3, 3, 3]
    assert sum(p.cost_bytes for p in picks) <= 100 * GB
    assert all(p.cost_bytes == 10 * GB * p.copies for p in picks)
    spent = sum(p.cost_bytes for p in picks)
    next_cost = 10 * GB * (2 if 1 / (len(picks) + 1) / sum(1 / i for i in range(1, 201)) >= 0.01 else 1)
    assert spent + next_cost > 100 * GB, "stops only when the next title does not fit"


def test_selection_is_a_strict_prefix_a_big_popular_title_stops_it() -> None:
    found = [Candidate("big", 10.0, 90 * GB), Candidate("small", 1.0, 1 * GB), Candidate("tiny", 0.5, 1)]
    assert select_titles(found, budget_bytes=50 * GB) == []
    assert [p.title_id for p in select_titles(found, budget_bytes=10**15)] == ["big", "small", "tiny"]
    assert select_titles([Candidate("zero", 0.0, 1)], budget_bytes=GB) == []


def test_candidates_come_from_trending_and_skip_titles_not_ready() -> None:
    src = Sources({"A": 5.0, "B": 9.0, "GONE": 50.0}, {"A": _detail("A"), "B": _detail("B")}, newest=["A"])
    source, found, titles = candidates(src, src, OffpeakPolicy(bytes_per_second=1000.0))
    assert source == "trending"
    assert [c.title_id for c in found] == ["B", "A"]  # GONE (not READY / no media) is left out
    assert found[0].size_bytes == 40 * 1000  # duration_s x bytes_per_second
    assert set(titles) == {"A", "B"}


def test_candidates_fall_back_to_the_newest_ready_titles() -> None:
    titles = {t: _detail(t) for t in ("N1", "N2", "N3")}
    for scores in ({}, {"UNKNOWN": 3.0}):  # no trending data, or none of it READY
        src = Sources(scores, titles, newest=["N3", "N1", "N2"])
        source, found, _ = candidates(src, src, OffpeakPolicy(max_candidates=2))
        assert source == "newest"
        assert [c.title_id for c in found] == ["N3", "N1"]
        assert found[0].score > found[1].score
    empty = Sources({}, {}, newest=[])
    assert candidates(empty, empty, OffpeakPolicy())[0] == "none"


# --- runs through the adapters ------------------------------------------------------------------


def _setup(cdn_server: FakeCdnServer, scores: dict[str, float]) -> Sources:
    for t in scores:
        cdn_server.objects.update(title_objects(t, duration_s=40))
    return Sources(scores, {t: _detail(t) for t in scores}, newest=[])


def _fill(src: Sources, signer: Any, table: Any, day: str = "2026-11-30", **kw: Any) -> Any:
    return run_offpeak(
        day,
        src,
        src,
        lambda t: CdnHttp(signer, f"titles/{t}/", backoff_s=0.0),
        DynamoPrefillLedger(table, prefix=f"OFFPEAK#{day}#"),
        OffpeakPolicy(budget_bytes=10**12, bytes_per_second=1000.0),
        **kw,
    )


def test_fills_whole_titles_with_copies_by_popularity(
    cdn_server: FakeCdnServer, signer: Any, ledger_table: Any
) -> None:
    src = _setup(cdn_server, {"HOT": 100.0, "C0": 1.0})
    result = _fill(src, signer, ledger_table)
    assert result.source == "trending" and result.filled == ["HOT", "C0"] and not result.stopped
    fetched = Counter(cdn_server.fetched())
    assert max(fetched.values()) == 1
    # 40 s = 10 segments x 5 renditions, every one of them (not only the first 300 s), + 5 inits + 9 playlists.
    for title in ("HOT", "C0"):
        assert sum(k.startswith(f"titles/{title}/") and k.endswith(".m4s") for k in fetched) == 50
    copies = {k: h for k, h in cdn_server.requests}
    assert copies["titles/HOT/hls/cap2160/2160p/seg_00009.m4s"] == "3"  # ~99 % of the views
    assert copies["titles/C0/hls/cap2160/2160p/seg_00009.m4s"] == "1"  # ~1 %: just under the 2-copy line
    assert result.objects == 2 * (50 + 5 + 9)


def test_a_second_run_the_same_day_fills_nothing_the_next_day_fills_again(
    cdn_server: FakeCdnServer, signer: Any, ledger_table: Any
) -> None:
    src = _setup(cdn_server, {"A": 2.0, "B": 1.0})
    assert _fill(src, signer, ledger_table).filled == ["A", "B"]
    before = len(cdn_server.requests)
    again = _fill(src, signer, ledger_table)
    assert again.filled == [] and again.already == ["A", "B"]
    assert len(cdn_server.requests) == before
    assert _fill(src, signer, ledger_table, day="2026-12-01").filled == ["A", "B"]


def test_out_of_time_stops_cleanly_and_the_next_run_resumes(
    cdn_server: FakeCdnServer, signer: Any, ledger_table: Any
) -> None:
    src = _setup(cdn_server, {"A": 3.0, "B": 2.0, "C": 1.0})
    budget = {"fetches": 100}  # A takes 64 objects; B is cut short part-way

    def out_of_time() -> bool:
        return len(cdn_server.requests) >= budget["fetches"]

    first = _fill(src, signer, ledger_table, should_stop=out_of_time)
    assert first.stopped and first.filled == ["A"] and first.failed == []
    assert len(cdn_server.requests) <= 100 + 8 * 5  # nothing new starts once time is up (in-flight finish)
    budget["fetches"] = 10**9
    second = _fill(src, signer, ledger_table, should_stop=out_of_time)
    assert not second.stopped and second.already == ["A"] and second.filled == ["B", "C"]
    fetched = Counter(cdn_server.fetched())
    assert all(n == 1 for k, n in fetched.items() if k.startswith("titles/A/"))


def test_fill_day_is_the_scheduled_events_day() -> None:
    assert fill_day({"time": "2026-11-30T04:00:00Z"}) == "2026-11-30"
    assert len(fill_day({"time": "not a time"})) == 10
    assert len(fill_day(None)) == 10


# --- DAL ----------------------------------------------------------------------------------------


@pytest.fixture
def tables(ledger_table: Any) -> Any:  # ledger_table: inside moto
    dynamo.reset()
    db = boto3.resource("dynamodb")
    home = db.create_table(
        TableName="home",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
        BillingMode="PAY_PER_REQUEST",
    )
    catalog = create_single_table(db, "catalog")  # the catalog table's layout: pk/sk + gsi1
    yield home, catalog
    dynamo.reset()


def test_dal_reads_trending_of_every_language_and_ready_titles(tables: Any) -> None:
    home, catalog = tables
    home.put_item(Item={"pk": "TRENDING", "sk": "LANG#en", "counts": json.dumps({"A": [1, 4.5], "B": [0, 1]})})
    home.put_item(Item={"pk": "TRENDING", "sk": "LANG#fr", "counts": json.dumps({"A": [0, 0.5], "C": "junk"})})
    home.put_item(Item={"pk": "HOME#p1", "sk": "DOC", "doc": "{}"})
    assert TrendingPopularity("home").scores() == {"A": 5.0, "B": 1.0}
    for i, (t, status) in enumerate((("A", "READY"), ("B", "PROCESSING"), ("C", "READY"))):
        detail = published_event(t)["detail"]
        catalog.put_item(
            Item={
                "pk": f"TITLE#{t}",
                "sk": "META",
                "title_id": t,
                "status": status,
                "version": 3,
                "gsi1pk": f"STATUS#{status}",
                "gsi1sk": f"2026-11-2{i}T00:00:00Z#{t}",
                "manifest_path": detail["manifest_path"],
                "playback_tiers": detail["playback_tiers"],
                "duration_s": 1200,
                "kind": "movie",
            }
        )
    source = CatalogReadyTitles("catalog")
    ready = source.ready_titles(["A", "B", "C", "NOPE"])
    assert set(ready) == {"A", "C"} and ready["A"].version == 3 and ready["A"].duration_s == 1200.0
    assert len(ready["A"].playback_tiers) == 3
    assert source.newest_ready(10) == ["C", "A"]
