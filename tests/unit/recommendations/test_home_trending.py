"""Trending now: decay, merge, per-language snapshots, contention, and the stream consumer's parsing."""

from __future__ import annotations

import base64
import json
import math

import pytest
from home_world import DAY, NOW, TrendingMem, catalog_titles
from recommendations.handlers.trending_stream import decode_records
from recommendations.logic import trending
from recommendations.logic.ports import Trending


def test_counts_halve_after_their_half_life() -> None:
    t = trending.merged(None, "en", [trending.View("t1", NOW, "en")], NOW)
    assert t.counts["t1"] == (1.0, 1.0)
    later = trending.advanced(t, NOW + DAY)
    day, week = later.counts["t1"]
    assert day == pytest.approx(0.5)
    assert week == pytest.approx(0.5 ** (1 / 7))
    # Merging at a later time equals decaying then adding: the merge is exact.
    again = trending.merged(t, "en", [trending.View("t1", NOW + DAY, "en")], NOW + DAY)
    assert again.counts["t1"][0] == pytest.approx(1.5)


def test_a_fresh_burst_outranks_a_bigger_old_one() -> None:
    views = [trending.View("old", NOW - 6 * DAY + k, "en") for k in range(20)]
    views += [trending.View("new", NOW - 3600 + k, "en") for k in range(8)]
    t = trending.merged(None, "en", views, NOW)
    assert trending.ranked(t, NOW)[:2] == ["new", "old"]
    # A week-old burst still counts in the week figure, far less in the day one.
    day_old, week_old = trending.advanced(t, NOW).counts["old"]
    assert day_old < 0.02 * 20 < 0.5 * 20 < week_old


def test_a_future_timestamp_counts_as_now_not_as_a_boost() -> None:
    t = trending.merged(None, "en", [trending.View("t1", NOW + 10 * DAY, "en")], NOW)
    assert t.counts["t1"] == (1.0, 1.0)


def test_only_the_top_titles_are_kept() -> None:
    views = [trending.View(f"t{k:04d}", NOW, "en") for k in range(trending.TOP_KEEP + 50)]
    views += [trending.View("hit", NOW, "en")] * 3
    t = trending.merged(None, "en", views, NOW)
    assert len(t.counts) == trending.TOP_KEEP
    assert trending.ranked(t, NOW)[0] == "hit"


def test_views_go_to_their_language_and_to_every_languages_snapshot() -> None:
    store = TrendingMem()
    titles = catalog_titles()  # a01 is Spanish, a00 English
    views = [trending.View("a01", NOW, None), trending.View("a00", NOW, None), trending.View("x00", NOW, "de")]
    out = trending.record_views(views, store, lambda ids: {t: titles[t] for t in ids if t in titles}, NOW)
    assert out == {"es": 1, "en": 1, "de": 1, trending.ANY_LANGUAGE: 3}
    assert set(store.items["es"].counts) == {"a01"}
    assert set(store.items[trending.ANY_LANGUAGE].counts) == {"a01", "a00", "x00"}


def test_lost_races_are_retried_and_endless_contention_fails_the_batch() -> None:
    store = TrendingMem()
    store.conflicts = 3
    trending.record_views([trending.View("t1", NOW, "en")], store, lambda ids: {}, NOW)
    assert store.items["en"].revision == 1
    store.conflicts = 1000
    with pytest.raises(RuntimeError):
        trending.record_views([trending.View("t1", NOW, "en")], store, lambda ids: {}, NOW)


def test_only_start_events_count_and_malformed_ones_are_skipped() -> None:
    events = [
        {"event": "start", "title_id": "t1", "ts": NOW, "language": "en"},
        {"event": "heartbeat", "title_id": "t1", "ts": NOW},
        {"event": "start", "title_id": "ep7", "series_id": "s1", "ts": NOW},
        {"event": "start", "title_id": "", "ts": NOW},
        {"event": "start", "title_id": "t2", "ts": math.nan},
        {"event": "start", "title_id": "t3", "ts": "yesterday"},
        "not a dict",
    ]
    views = trending.views_from_events(events)  # type: ignore[arg-type]
    assert views == [trending.View("t1", NOW, "en"), trending.View("s1", NOW, None)]


def test_the_consumer_decodes_kinesis_records_and_skips_garbage() -> None:
    def record(data: bytes) -> dict[str, object]:
        return {"kinesis": {"data": base64.b64encode(data).decode(), "partitionKey": "p1"}}

    event = {
        "Records": [
            record(json.dumps({"event": "start", "title_id": "t1", "ts": NOW}).encode()),
            record(b"\xff not json"),
            record(b"[1, 2]"),
        ]
    }
    assert decode_records(event) == [{"event": "start", "title_id": "t1", "ts": NOW}]


def test_counts_survive_their_stored_encoding() -> None:
    t = Trending("en", NOW, {"t1": (1.25, 3.5)})
    assert trending.decode_counts(trending.encode_counts(t.counts)) == {"t1": (1.25, 3.5)}
