"""The home service's DynamoDB adapters on moto: the trending snapshot's conditional write, the
batch's version read, the rating mark, the playback history and profile directory readers (the
layouts the playback and accounts services write), and the stream consumer end to end."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from recommendations.logic.ports import HeadPart, HistoryHead, StoredHome, Trending, ViewState

from tests.unit.tables import create_single_table

HOME, CATALOG, PLAYBACK, ACCOUNTS = "home-dal", "catalog-dal", "playback-dal", "accounts-dal"


@pytest.fixture
def ddb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from reelstack_common import dynamo

    monkeypatch.setenv("HOME_TABLE", HOME)
    monkeypatch.setenv("CATALOG_TABLE", CATALOG)
    with mock_aws():
        dynamo.reset()
        res = boto3.resource("dynamodb", region_name="us-east-1")
        res.create_table(
            TableName=HOME, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk")],
        )  # fmt: skip
        for name in (CATALOG, PLAYBACK, ACCOUNTS):
            create_single_table(res, name)
        yield res
        dynamo.reset()


def test_a_trending_write_loses_to_a_concurrent_one_and_wins_when_fresh(ddb: Any) -> None:
    from recommendations.dal.home_table import DynamoTrendingStore

    store = DynamoTrendingStore(HOME, consistent=True)
    assert store.get("en") is None
    assert store.replace(Trending("en", 100.0, {"t1": (1.0, 1.0)}), 0) is True
    assert store.replace(Trending("en", 100.0, {"t2": (1.0, 1.0)}), 0) is False  # someone created it first
    current = store.get("en")
    assert current is not None and current.revision == 1 and set(current.counts) == {"t1"}
    assert store.replace(Trending("en", 200.0, {"t1": (2.0, 2.0)}), 1) is True
    assert store.replace(Trending("en", 200.0, {"t9": (9.0, 9.0)}), 1) is False  # stale revision
    after = store.get("en")
    assert after is not None and after.revision == 2 and after.counts == {"t1": (2.0, 2.0)} and after.at == 200.0


def test_versions_tell_documents_from_rating_marks_without_reading_bodies(ddb: Any) -> None:
    from recommendations.dal.home_table import DynamoHomeStore

    store = DynamoHomeStore(HOME)
    store.put_many([StoredHome("p1", '{"x": 1}', "v1", "k", 10.0, 0.0)])
    store.mark_ratings_changed("p2", 50.0)  # no document, only the mark
    store.mark_ratings_changed("p1", 60.0)
    got = store.versions(["p1", "p2", "p3"])
    assert set(got) == {"p1", "p2"}
    assert got["p1"].model_version == "v1" and got["p1"].doc_json == "" and got["p1"].ratings_at == 60.0
    assert got["p2"].doc_json is None and got["p2"].ratings_at == 50.0
    full = store.get("p1")
    assert full is not None and full.doc_json == '{"x": 1}' and full.data_at == 10.0


def test_the_playback_history_reads_the_watch_state_items(ddb: Any) -> None:
    from recommendations.dal.playback_history import DynamoViewHistory

    table = ddb.Table(PLAYBACK)
    # The playback service's layout (functions/playback/playback/dal/dynamo_playback.py).
    table.put_item(Item={"pk": "PROFILE#p1", "sk": "TITLE#t1", "type": "state", "profile_id": "p1", "title_id": "t1",
                         "position_s": 600, "duration_s": 5400, "percent": 11, "finished": False,
                         "updated_at": "2026-11-30T00:00:00.000Z"})  # fmt: skip
    table.put_item(Item={"pk": "SESSION#s1", "sk": "SESSION", "type": "session", "profile_id": "p1"})
    history = DynamoViewHistory(PLAYBACK)
    (view,) = history.for_profile("p1")
    assert (view.title_id, view.position_s, view.percent, view.finished) == ("t1", 600.0, 11.0, False)
    assert view.updated_at == 1795996800.0
    assert [v.profile_id for v in history.scan_all()] == ["p1"]
    assert DynamoViewHistory(None).for_profile("p1") == []


def test_the_profile_directory_lists_every_profile_of_every_account(ddb: Any) -> None:
    from recommendations.dal.accounts_profiles import DynamoProfileDirectory

    table = ddb.Table(ACCOUNTS)
    table.put_item(Item={"pk": "ACCOUNT#u1", "sk": "ACCOUNT", "plan": "premium"})
    table.put_item(Item={"pk": "ACCOUNT#u1", "sk": "PROFILE#a", "language": "es", "maturity_rating": "13+",
                         "kids": False})  # fmt: skip
    table.put_item(Item={"pk": "ACCOUNT#u2", "sk": "PROFILE#b", "kids": True})
    got = sorted(DynamoProfileDirectory(ACCOUNTS).all_profiles(), key=lambda p: p.profile_id)
    assert [(p.account_id, p.profile_id, p.language, p.maturity_rating, p.kids) for p in got] == [
        ("u1", "a", "es", "13+", False),
        ("u2", "b", "en", "7+", True),
    ]


def test_the_stream_consumer_counts_start_events_per_language(ddb: Any) -> None:
    from recommendations.dal.home_table import DynamoTrendingStore
    from recommendations.handlers.trending_stream import lambda_handler

    from tests.unit.events import LambdaContext

    ddb.Table(CATALOG).put_item(Item={"pk": "TITLE#t1", "sk": "META", "title_id": "t1", "title": "T",
                                      "status": "READY", "language": "fr"})  # fmt: skip

    def record(event: dict[str, Any]) -> dict[str, Any]:
        return {"kinesis": {"data": base64.b64encode(json.dumps(event).encode()).decode(), "partitionKey": "p"}}

    now = 1_800_000_000.0
    common = {"ts": now, "profile_id": "p", "session_id": "s"}
    events = [
        {"event": "start", "title_id": "t1", **common},
        {"event": "heartbeat", "title_id": "t1", **common},
        {"event": "start", "title_id": "t2", "language": "en", **common},
    ]
    out = lambda_handler({"Records": [record(e) for e in events]}, LambdaContext())
    assert out["views"] == 2 and out["languages"] == {"fr": 1, "en": 1, "*": 2}
    store = DynamoTrendingStore(HOME)
    fr = store.get("fr")
    assert fr is not None and set(fr.counts) == {"t1"}
    every = store.get("*")
    assert every is not None and set(every.counts) == {"t1", "t2"}


RATINGS = "ratings-dal"


def _profile(ddb: Any, user: str, profile: str, **attrs: Any) -> None:
    table = ddb.Table(ACCOUNTS)
    table.put_item(Item={"pk": f"ACCOUNT#{user}", "sk": "ACCOUNT", "plan": "premium", "subscription_status": "active"})
    table.put_item(Item={"pk": f"ACCOUNT#{user}", "sk": f"PROFILE#{profile}", "profile_id": profile, "name": profile,
                         "kids": False, "maturity_rating": "18+", "language": "en", **attrs})  # fmt: skip


def test_the_first_read_gets_viewer_and_document_in_one_batch_across_both_tables(
    ddb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recommendations.dal.home_table import DynamoHomeStore
    from recommendations.dal.page_reads import DynamoPageReads
    from reelstack_common import dynamo
    from reelstack_common.viewer import ProfileNotFound

    _profile(ddb, "u1", "p1", language="fr", maturity_rating="7+", kids=True)
    _profile(ddb, "u2", "p2")
    DynamoHomeStore(HOME).put(StoredHome("p1", '{"x": 1}', "v1", "k1", 10.0, 5.0))
    calls: list[str] = []
    real = dynamo.client()
    monkeypatch.setattr(dynamo, "client", lambda: _Spy(real, calls))
    reads = DynamoPageReads(ACCOUNTS, HOME)

    head = HistoryHead(
        "p1",
        HeadPart("p1", "titles", (ViewState("p1", "t9", 7.5),), rev=3),
        HeadPart("p1", "progress", (ViewState("p1", "t9", 7.5, 60.0, 120.0, 50.0),), rev=2),
    )
    assert DynamoHomeStore(HOME).put_part(head.titles, expected_rev=None)
    assert DynamoHomeStore(HOME).put_part(head.progress, expected_rev=None)

    viewer, stored, got_head = reads.viewer_and_home("u1", "p1")
    assert calls == ["batch_get_item"]  # one round trip for the four items
    assert (viewer.profile_id, viewer.language, viewer.kids, viewer.maturity_rating) == ("p1", "fr", True, "7+")
    assert stored is not None and stored.doc_json == '{"x": 1}' and stored.history_key == "k1"
    assert stored.data_at == 10.0 and stored.ratings_at == 5.0
    assert got_head == head
    viewer2, none, no_head = reads.viewer_and_home("u2", "p2")
    assert viewer2.profile_id == "p2" and none is None and no_head is None  # nothing yet: live compute
    with pytest.raises(ProfileNotFound):
        reads.viewer_and_home("u2", "p1")  # another account's profile: exactly like an unknown one
    with pytest.raises(ProfileNotFound):
        reads.viewer_and_home("u1", "nope")


class _Spy:
    def __init__(self, client: Any, calls: list[str]) -> None:
        self.client, self.calls = client, calls

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.client, name)


def test_a_profiles_ratings_are_read_whole_and_lean(ddb: Any) -> None:
    from decimal import Decimal

    from recommendations.dal.ratings_table import DynamoRatingStore
    from recommendations.logic.ports import Rating

    ddb.create_table(
        TableName=RATINGS, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "profile_id", "KeyType": "HASH"},
                   {"AttributeName": "title_id", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("profile_id", "title_id")],
    )  # fmt: skip
    store = DynamoRatingStore(RATINGS)
    store.put(Rating("p1", "t1", "love", 12.5))
    store.put(Rating("p1", "t2", "down", 13.0))
    store.put(Rating("p2", "t1", "up", 14.0))
    with ddb.Table(RATINGS).batch_writer() as b:  # enough items for several pages (a heavy rater)
        for k in range(900):
            b.put_item(Item={"profile_id": "p3", "title_id": f"t{k:04d}", "thumb": "up", "rated_at": Decimal(k),
                             "pad": "x" * 1500})  # fmt: skip
    assert store.for_profile("p1") == [Rating("p1", "t1", "love", 12.5), Rating("p1", "t2", "down", 13.0)]
    assert store.for_profile("nobody") == []
    heavy = store.for_profile("p3")
    assert len(heavy) == 900 and heavy[-1] == Rating("p3", "t0899", "up", 899.0)


def test_the_write_back_loses_to_a_rating_marked_after_the_read(ddb: Any) -> None:
    from recommendations.dal.home_table import DynamoHomeStore

    store = DynamoHomeStore(HOME)
    doc = StoredHome("p1", '{"v": 1}', "v1", "k", 10.0, 0.0)
    assert store.put_document(doc, None) is True  # there was no item
    assert store.put_document(doc, None) is False  # ... but now there is one
    store.mark_ratings_changed("p1", 20.123456)
    assert store.put_document(StoredHome("p1", '{"v": 2}', "v1", "k", 30.0, 0.0), 0.0) is False  # stale read
    got = store.get("p1")
    assert got is not None and got.doc_json == '{"v": 1}' and got.ratings_at == 20.123456
    assert store.put_document(StoredHome("p1", '{"v": 3}', "v1", "k", 30.0, got.ratings_at), got.ratings_at) is True
    again = store.get("p1")
    assert again is not None and again.doc_json == '{"v": 3}' and again.ratings_at == 20.123456


def test_the_history_head_round_trips_and_its_writes_are_conditional(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from recommendations.dal.home_table import DynamoHomeStore
    from reelstack_common import dynamo

    store = DynamoHomeStore(HOME)
    titles = HeadPart("p7", "titles", tuple(ViewState("p7", f"t{k}", 100.0 - k, finished=k == 3) for k in range(4)))
    going = (ViewState("p7", "t0", 100.0, 30.0, 5400.0, 0.56), ViewState("p7", "t1", 99.0, 60.0, 5400.0, 1.11))
    progress = HeadPart("p7", "progress", going)
    assert store.get_part("p7", "titles") is None and store.get_page("p7") == (None, None)
    assert store.put_part(titles, expected_rev=None)
    assert store.get_page("p7") == (None, None)  # half a head is no head: the page reads the table
    assert store.put_part(progress, expected_rev=None)
    assert not store.put_part(replace(titles, views=()), expected_rev=None)  # one exists: the seed loses
    assert not store.put_part(replace(titles, views=(), rev=2), expected_rev=7)  # not the revision read
    assert store.get_part("p7", "titles") == titles and store.get_part("p7", "progress") == progress
    moved = replace(progress, views=(replace(going[0], position_s=90.0), going[1]), rev=2)
    assert store.put_part(moved, expected_rev=1)
    store.put(StoredHome("p7", '{"rows": []}', "v1", "k", 1.0, 0.0))
    calls: list[str] = []
    real = dynamo.client()
    monkeypatch.setattr(dynamo, "client", lambda: _Spy(real, calls))
    doc, head = store.get_page("p7")
    assert calls == ["batch_get_item"]  # the document and both parts: one round trip
    assert doc is not None and doc.doc_json == '{"rows": []}' and head == HistoryHead("p7", titles, moved)
    assert [(v.title_id, v.position_s, v.finished) for v in head.views] == [
        ("t0", 90.0, False),
        ("t1", 60.0, False),
        ("t2", 0.0, False),
        ("t3", 0.0, True),
    ]


def test_a_part_that_cannot_be_read_is_treated_as_missing_and_rebuilt(ddb: Any) -> None:
    """An item of another layout (the first one held positions in HISTORY, six fields a row) or a
    damaged one must not make every page a fallback: it reads as missing, and a seed overwrites it."""
    from recommendations.dal.home_table import DynamoHomeStore

    store = DynamoHomeStore(HOME)
    old_layout = '[["t1",100.0,60.0,5400.0,1.11,0]]'
    ddb.Table(HOME).put_item(Item={"pk": "HOME#p8", "sk": "HISTORY", "views": old_layout, "rev": 4})
    ddb.Table(HOME).put_item(Item={"pk": "HOME#p8", "sk": "PROGRESS", "views": "not json", "rev": 1, "fmt": 2})
    store.put(StoredHome("p8", '{"rows": []}', "v1", "k", 1.0, 0.0))
    doc, head = store.get_page("p8")
    assert doc is not None and head is None  # the document is served; the head is read from the table
    assert store.get_part("p8", "titles") is None and store.get_part("p8", "progress") is None
    titles = HeadPart("p8", "titles", (ViewState("p8", "t1", 100.0),))
    assert store.put_part(titles, expected_rev=None)  # the old layout is overwritten by a seed
    assert store.get_part("p8", "titles") == titles
    assert not store.put_part(replace(titles, rev=2), expected_rev=4)  # never a rev-conditional write over it
