"""The history head (logic/history.py) and its projector (handlers/history_stream.py): what a stream
record changes, the conditional read-modify-write, and the handler over moto's DynamoDB with the
records Lambda delivers from the playback table's stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws
from recommendations.logic import history, mapping
from recommendations.logic.history import Change, HistoryConflict, apply, newest, project
from recommendations.logic.ports import HistoryHead, ViewState

from tests.unit.events import LambdaContext
from tests.unit.tables import create_single_table

HOME, PLAYBACK = "home-history", "playback-history"


def vs(title: str, at: float, pos: float = 0.0, finished: bool = False, dur: float = 5400.0) -> ViewState:
    return ViewState("p1", title, at, pos, dur, round(100 * pos / dur, 2), finished)


# --- rules ------------------------------------------------------------------------------------


def test_only_what_a_page_shows_changes_the_head() -> None:
    head = newest([vs("a", 10, 600), vs("b", 20, 60)])
    assert apply(head, [Change("a", vs("a", 15, 615))]) is None  # a heartbeat: 15 s further on
    assert apply(head, [Change("a", vs("a", 15, 630))]) == [vs("b", 20, 60), vs("a", 15, 630)]  # 30 s: progress
    assert apply(head, [Change("c", vs("c", 30))])[0] == vs("c", 30)  # type: ignore[index]  # a new title first
    done = apply(head, [Change("a", vs("a", 40, 610, finished=True))])
    assert done is not None and done[0] == vs("a", 40, 610, finished=True)  # finished: the staleness key moves
    assert apply(head, [Change("b", None)]) == [vs("a", 10, 600)]  # removed
    assert apply(head, [Change("zz", None)]) is None  # removing what is not there changes nothing


def test_an_older_record_never_moves_the_head_back() -> None:
    head = newest([vs("a", 100, 3000)])
    assert apply(head, [Change("a", vs("a", 50, 100))]) is None  # a replay after a newer write
    both = apply(head, [Change("a", vs("a", 50, 100)), Change("a", vs("a", 200, 3600))])
    assert both == [vs("a", 200, 3600)]


def test_the_head_keeps_the_newest_states_and_the_staleness_key_is_over_them() -> None:
    views = [vs(f"t{k:05d}", float(k)) for k in range(history.HISTORY_CAP + 5)]
    kept = newest(views)
    assert len(kept) == history.HISTORY_CAP and kept[0].title_id == f"t{history.HISTORY_CAP + 4:05d}"
    assert kept[-1].title_id == "t00005"  # the five oldest are dropped
    # a full Query of the table and the capped head give the same key (so documents stay fresh)
    assert mapping.history_key(views) == mapping.history_key(kept)
    assert mapping.history_key(views) != mapping.history_key(kept[1:])


class Store:
    """The head's HomeStore calls, with a hook to write between a read and the write."""

    def __init__(self) -> None:
        self.heads: dict[str, HistoryHead] = {}
        self.before_put: list[HistoryHead] = []  # heads another writer lands first, one per put
        self.puts = 0

    def get_history(self, profile_id: str) -> HistoryHead | None:
        return self.heads.get(profile_id)

    def put_history(self, head: HistoryHead, expected_rev: int | None) -> bool:
        self.puts += 1
        if self.before_put:
            other = self.before_put.pop(0)
            self.heads[other.profile_id] = other
        have = self.heads.get(head.profile_id)
        if (have.rev if have is not None else None) != expected_rev:
            return False
        self.heads[head.profile_id] = head
        return True


class Table:
    def __init__(self, views: list[ViewState]) -> None:
        self.views, self.consistent = views, []

    def for_profile(self, profile_id: str, consistent: bool = False) -> list[ViewState]:
        self.consistent.append(consistent)
        return list(self.views)


def test_a_missing_head_is_built_from_a_consistent_read_of_the_whole_history() -> None:
    store, table = Store(), Table([vs("a", 10, 600), vs("b", 20)])
    assert project("p1", [Change("b", vs("b", 20))], home=store, history=table)  # type: ignore[arg-type]
    assert table.consistent == [True]
    assert store.heads["p1"] == HistoryHead("p1", (vs("b", 20), vs("a", 10, 600)), 1)


def test_a_lost_race_reads_again_and_applies_on_top() -> None:
    store, table = Store(), Table([])
    store.heads["p1"] = HistoryHead("p1", (vs("a", 10),), 1)
    store.before_put = [HistoryHead("p1", (vs("z", 15), vs("a", 10)), 2)]  # the page (or a shard) wrote first
    assert project("p1", [Change("b", vs("b", 20))], home=store, history=table)  # type: ignore[arg-type]
    assert [v.title_id for v in store.heads["p1"].views] == ["b", "z", "a"] and store.heads["p1"].rev == 3
    assert not project("p1", [Change("b", vs("b", 20))], home=store, history=table)  # type: ignore[arg-type]
    store.before_put = [replace(store.heads["p1"], rev=10 + k) for k in range(history.PROJECT_ATTEMPTS)]
    with pytest.raises(HistoryConflict):
        project("p1", [Change("c", vs("c", 30))], home=store, history=table)  # type: ignore[arg-type]


# --- the handler over moto --------------------------------------------------------------------


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from recommendations import wiring
    from reelstack_common import dynamo

    for name, value in {"HOME_TABLE": HOME, "PLAYBACK_TABLE": PLAYBACK, "RATINGS_TABLE": "r", "CATALOG_TABLE": "c",
                        "ACCOUNTS_TABLE": "a", "MODEL_BUCKET": "m"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamo.reset()
        wiring.reset()
        res = boto3.resource("dynamodb", region_name="us-east-1")
        create_single_table(res, HOME)
        create_single_table(res, PLAYBACK)
        yield res
        wiring.reset()
        dynamo.reset()


def _state(profile: str, title: str, at: str, pos: float, finished: bool = False) -> dict[str, Any]:
    """A watch-state item as the playback service stores it (numbers as Decimal)."""
    return {"pk": f"PROFILE#{profile}", "sk": f"TITLE#{title}", "type": "state", "profile_id": profile,
            "title_id": title, "position_s": Decimal(str(pos)), "duration_s": Decimal(5400),
            "percent": Decimal(str(round(100 * pos / 5400, 2))), "finished": finished, "updated_at": at}  # fmt: skip


def _record(seq: int, item: dict[str, Any], event: str = "MODIFY") -> dict[str, Any]:
    from reelstack_common import dynamo

    keys = {"pk": item["pk"], "sk": item["sk"]}
    change: dict[str, Any] = {"Keys": dynamo.serialize(keys), "SequenceNumber": str(seq), "StreamViewType": "NEW_IMAGE"}
    if event != "REMOVE":
        change["NewImage"] = dynamo.serialize(item)
    return {"eventID": str(seq), "eventName": event, "eventSource": "aws:dynamodb", "dynamodb": change}


def test_the_projector_keeps_each_profiles_head_from_the_stream(tables: Any) -> None:
    from recommendations.dal.home_table import DynamoHomeStore
    from recommendations.handlers.history_stream import lambda_handler

    old = _state("p1", "old", "2026-11-01T20:00:00.000Z", 5400, finished=True)
    tables.Table(PLAYBACK).put_item(Item=old)  # watched before the projector existed
    new = _state("p1", "new", "2026-11-30T20:00:00.000Z", 60)
    tables.Table(PLAYBACK).put_item(Item=new)
    session = {"pk": "SESSION#s1", "sk": "SESSION", "type": "session", "profile_id": "p1", "position_s": Decimal(60)}
    p2 = _state("p2", "x", "2026-11-30T21:00:00.000Z", 120)
    out = lambda_handler({"Records": [_record(1, session), _record(2, new, "INSERT"), _record(3, p2, "INSERT")]},
                         LambdaContext())  # fmt: skip
    assert out == {"batchItemFailures": []}
    store = DynamoHomeStore(HOME)
    head = store.get_history("p1")
    assert head is not None and [v.title_id for v in head.views] == ["new", "old"]  # the whole history, newest first
    assert head.views[1].finished and head.views[0].position_s == 60.0
    assert [v.title_id for v in store.get_history("p2").views] == ["x"]  # type: ignore[union-attr]

    beat = _state("p1", "new", "2026-11-30T20:00:05.000Z", 65)
    later = _state("p1", "new", "2026-11-30T20:01:00.000Z", 120)
    lambda_handler({"Records": [_record(4, beat)]}, LambdaContext())
    assert store.get_history("p1") == head  # a plain heartbeat writes nothing
    lambda_handler({"Records": [_record(5, beat), _record(6, later)]}, LambdaContext())
    moved = store.get_history("p1")
    assert moved is not None and moved.rev == head.rev + 1 and moved.views[0].position_s == 120.0
    lambda_handler({"Records": [_record(7, old, "REMOVE")]}, LambdaContext())
    assert [v.title_id for v in store.get_history("p1").views] == ["new"]  # type: ignore[union-attr]


def test_a_profile_that_fails_is_retried_from_its_first_record(tables: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from recommendations.handlers import history_stream

    real = history.project

    def flaky(profile_id: str, changes: Any, **kw: Any) -> bool:
        if profile_id == "p2":
            raise RuntimeError("throttled")
        return real(profile_id, changes, **kw)

    monkeypatch.setattr(history_stream.history, "project", flaky)
    records = [_record(10, _state("p1", "a", "2026-11-30T20:00:00Z", 1)),
               _record(11, _state("p2", "b", "2026-11-30T20:00:00Z", 1)),
               _record(12, _state("p1", "c", "2026-11-30T20:00:01Z", 1)),
               _record(13, _state("p2", "d", "2026-11-30T20:00:01Z", 1))]  # fmt: skip
    out = history_stream.lambda_handler({"Records": records}, LambdaContext())
    assert out == {"batchItemFailures": [{"itemIdentifier": "11"}]}


@pytest.mark.parametrize("handler", ["history_stream", "trending_stream"])
def test_the_stream_consumers_import_without_the_scientific_layer(handler: str) -> None:
    """Both run with the shared layer only (infra: no numpy/scipy layer): importing the handler and
    building its dependencies must not pull numpy in, which the test venv would otherwise mask."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('numpy', 'scipy', 'implicit'):
            raise ImportError('not in this function: ' + name)
sys.meta_path.insert(0, Block())
import recommendations.handlers.{handler}
from recommendations.wiring import dependencies
dependencies()
"""
    env = {**os.environ, "PYTHONPATH": str(root / "layers" / "shared" / "python"), "HOME_TABLE": "h",
           "RATINGS_TABLE": "r", "CATALOG_TABLE": "c", "ACCOUNTS_TABLE": "a", "MODEL_BUCKET": "m",
           "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=root / "functions" / "recommendations", env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
