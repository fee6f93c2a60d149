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
from recommendations.logic.history import (
    Change,
    HistoryConflict,
    apply_progress,
    apply_titles,
    project,
    split,
    title_entry,
    touches_progress,
    touches_titles,
)
from recommendations.logic.ports import HeadPart, ViewState

from tests.unit.events import LambdaContext
from tests.unit.tables import create_single_table

HOME, PLAYBACK = "home-history", "playback-history"


def vs(title: str, at: float, pos: float = 0.0, finished: bool = False, dur: float = 5400.0) -> ViewState:
    return ViewState("p1", title, at, pos, dur, round(100 * pos / dur, 2), finished)


# --- rules ------------------------------------------------------------------------------------


def ch(new: ViewState | None, old: ViewState | None = None, title: str | None = None) -> Change:
    return Change(title or (new or old).title_id, new, old)  # type: ignore[union-attr]


def test_a_record_is_judged_from_its_own_images() -> None:
    a0, a2, a5, a31 = vs("a", 10, 0), vs("a", 12, 5), vs("a", 15, 25), vs("a", 41, 31)
    assert touches_titles(ch(a0)) and touches_progress(ch(a0))  # new to the profile
    assert not touches_titles(ch(a5, a2)) and not touches_progress(ch(a5, a2))  # a heartbeat in one 30-s step
    assert not touches_titles(ch(a31, a5)) and touches_progress(ch(a31, a5))  # crossed a step: progress only
    done = vs("a", 50, 5200)  # 96 %: finished by the rule, whatever the flag says
    assert touches_titles(ch(done, a31)) and touches_progress(ch(done, a31))
    assert touches_titles(ch(None, a31, "a"))  # removed
    a1 = vs("a", 11, 1)
    assert not touches_titles(ch(a1, a0)) and touches_progress(ch(a1, a0))  # started playing: Continue watching
    assert apply_progress([], [ch(a1, a0)]) == [a1]


def test_the_titles_part_changes_only_with_the_set_of_titles_and_what_is_finished() -> None:
    titles = [title_entry(vs("a", 10, 600)), title_entry(vs("b", 20, 60))]
    assert apply_titles(titles, [ch(vs("a", 30, 900), vs("a", 25, 600))]) is None  # progress is not its business
    added = apply_titles(titles, [ch(vs("c", 30, 60))])
    assert added is not None and [v.title_id for v in added] == ["c", "b", "a"] and added[0].position_s == 0
    done = apply_titles(titles, [ch(vs("a", 40, 5200), vs("a", 35, 5000))])
    assert done is not None and done[0] == ViewState("p1", "a", 40, finished=True)
    assert apply_titles(titles, [ch(None, vs("b", 20), "b")]) == [titles[0]]


def test_the_progress_part_holds_what_is_unfinished_at_its_latest_step() -> None:
    going = [vs("a", 10, 600)]
    moved = apply_progress(going, [ch(vs("a", 40, 630), vs("a", 35, 625))])
    assert moved == [vs("a", 40, 630)]
    assert apply_progress(going, [ch(vs("a", 15, 610), vs("a", 10, 600))]) is None  # same step
    assert apply_progress(going, [ch(vs("a", 50, 5200), vs("a", 45, 5000))]) == []  # finished: off the row
    assert apply_progress(going, [ch(vs("b", 20, 0))]) is None  # started, no position yet
    assert apply_progress(going, [ch(vs("b", 20, 31), vs("b", 15, 1))]) == [vs("b", 20, 31), vs("a", 10, 600)]
    many = [ch(vs(f"t{k:03d}", float(k), 60)) for k in range(history.PROGRESS_CAP + 3)]
    capped = apply_progress([], many)
    assert capped is not None and len(capped) == history.PROGRESS_CAP and capped[-1].title_id == "t003"


def test_an_older_record_never_moves_the_head_back() -> None:
    going = [vs("a", 100, 3000)]
    assert apply_progress(going, [ch(vs("a", 50, 100), vs("a", 45, 60))]) is None  # a replay after a newer write
    both = apply_progress(going, [ch(vs("a", 50, 100), vs("a", 45, 60)), ch(vs("a", 200, 3600), vs("a", 195, 3590))])
    assert both == [vs("a", 200, 3600)]


def test_the_titles_keep_the_newest_and_the_staleness_key_is_over_them() -> None:
    views = [vs(f"t{k:05d}", float(k)) for k in range(history.TITLES_CAP + 5)]
    titles, _ = split(views)
    assert len(titles) == history.TITLES_CAP and titles[0].title_id == f"t{history.TITLES_CAP + 4:05d}"
    assert titles[-1].title_id == "t00005"  # the five oldest are dropped
    # a full Query of the table and the capped head give the same key (so documents stay fresh)
    assert mapping.history_key(views) == mapping.history_key(titles)
    assert mapping.history_key(views) != mapping.history_key(titles[1:])


class Store:
    """The head's HomeStore calls, with a hook to land another writer's part before a write."""

    def __init__(self) -> None:
        self.parts: dict[str, HeadPart] = {}
        self.before_put: list[HeadPart] = []
        self.reads = self.puts = 0

    def get_part(self, profile_id: str, kind: str) -> HeadPart | None:
        self.reads += 1
        return self.parts.get(kind)

    def put_part(self, part: HeadPart, expected_rev: int | None) -> bool:
        self.puts += 1
        if self.before_put:
            other = self.before_put.pop(0)
            self.parts[other.kind] = other
        have = self.parts.get(part.kind)
        if (have.rev if have is not None else None) != expected_rev:
            return False
        self.parts[part.kind] = part
        return True


class Table:
    def __init__(self, views: list[ViewState]) -> None:
        self.views, self.consistent = views, []

    def for_profile(self, profile_id: str, consistent: bool = False) -> list[ViewState]:
        self.consistent.append(consistent)
        return list(self.views)


def test_a_missing_head_is_built_from_one_consistent_read_of_the_whole_history() -> None:
    store, table = Store(), Table([vs("a", 10, 600), vs("b", 20, 5400, finished=True)])
    assert project("p1", [ch(vs("b", 20, 5400, finished=True), vs("b", 15, 5000))], home=store, history=table) == 2  # type: ignore[arg-type]
    assert table.consistent == [True]  # one Query for both parts
    assert [(v.title_id, v.finished) for v in store.parts["titles"].views] == [("b", True), ("a", False)]
    assert store.parts["progress"].views == (vs("a", 10, 600),)


def test_a_plain_heartbeat_reads_and_writes_nothing() -> None:
    store, table = Store(), Table([])
    assert project("p1", [ch(vs("a", 15, 605), vs("a", 10, 600))], home=store, history=table) == 0  # type: ignore[arg-type]
    assert (store.reads, store.puts, table.consistent) == (0, 0, [])


def test_a_lost_race_reads_again_and_applies_on_top() -> None:
    store, table = Store(), Table([])
    store.parts["progress"] = HeadPart("p1", "progress", (vs("a", 10, 60),), 1)
    store.before_put = [HeadPart("p1", "progress", (vs("z", 15, 60), vs("a", 10, 60)), 2)]  # another writer first
    step = ch(vs("b", 20, 90), vs("b", 18, 59))
    assert project("p1", [step], home=store, history=table) == 1  # type: ignore[arg-type]
    assert [v.title_id for v in store.parts["progress"].views] == ["b", "z", "a"] and store.parts["progress"].rev == 3
    assert project("p1", [step], home=store, history=table) == 0  # type: ignore[arg-type]  # applied again: no change
    store.before_put = [replace(store.parts["progress"], rev=10 + k) for k in range(history.PROJECT_ATTEMPTS)]
    with pytest.raises(HistoryConflict):
        project("p1", [ch(vs("c", 30, 90), vs("c", 25, 59))], home=store, history=table)  # type: ignore[arg-type]


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


def _record(seq: int, item: dict[str, Any], event: str = "MODIFY", old: dict[str, Any] | None = None) -> dict[str, Any]:
    """A stream record as Lambda delivers it (NEW_AND_OLD_IMAGES)."""
    from reelstack_common import dynamo

    keys = {"pk": item["pk"], "sk": item["sk"]}
    change: dict[str, Any] = {
        "Keys": dynamo.serialize(keys), "SequenceNumber": str(seq), "StreamViewType": "NEW_AND_OLD_IMAGES",
    }  # fmt: skip
    if event != "REMOVE":
        change["NewImage"] = dynamo.serialize(item)
    if old is not None or event == "REMOVE":
        change["OldImage"] = dynamo.serialize(old or item)
    return {"eventID": str(seq), "eventName": event, "eventSource": "aws:dynamodb", "dynamodb": change}


def test_the_projector_keeps_each_profiles_head_from_the_stream(tables: Any) -> None:
    from recommendations.dal.home_table import DynamoHomeStore
    from recommendations.handlers.history_stream import lambda_handler

    old = _state("p1", "old", "2026-11-01T20:00:00.000Z", 5400, finished=True)
    tables.Table(PLAYBACK).put_item(Item=old)  # watched before the projector existed
    start = _state("p1", "new", "2026-11-30T20:00:00.000Z", 0)
    first = _state("p1", "new", "2026-11-30T20:00:05.000Z", 5)
    tables.Table(PLAYBACK).put_item(Item=first)
    session = {"pk": "SESSION#s1", "sk": "SESSION", "type": "session", "profile_id": "p1", "position_s": Decimal(60)}
    p2 = _state("p2", "x", "2026-11-30T21:00:00.000Z", 120)
    out = lambda_handler({"Records": [_record(1, session), _record(2, start, "INSERT"), _record(3, first, old=start),
                                      _record(4, p2, "INSERT")]}, LambdaContext())  # fmt: skip
    assert out == {"batchItemFailures": []}
    store = DynamoHomeStore(HOME)
    _, head = store.get_page("p1")
    assert head is not None  # both parts, from the whole history: newest first
    assert [(v.title_id, v.finished) for v in head.titles.views] == [("new", False), ("old", True)]
    assert [(v.title_id, v.position_s) for v in head.progress.views] == [("new", 5.0)]
    assert [v.title_id for v in store.get_page("p2")[1].views] == ["x"]  # type: ignore[union-attr]

    beat = _state("p1", "new", "2026-11-30T20:00:10.000Z", 10)
    later = _state("p1", "new", "2026-11-30T20:00:35.000Z", 35)
    lambda_handler({"Records": [_record(5, beat, old=first)]}, LambdaContext())
    assert store.get_page("p1")[1] == head  # a plain heartbeat writes nothing
    lambda_handler({"Records": [_record(6, later, old=beat)]}, LambdaContext())
    moved = store.get_page("p1")[1]
    assert moved is not None and moved.titles == head.titles  # a 30-s step: the progress part alone
    assert moved.progress.rev == head.progress.rev + 1 and moved.progress.views[0].position_s == 35.0
    lambda_handler({"Records": [_record(7, old, "REMOVE")]}, LambdaContext())
    assert [v.title_id for v in store.get_page("p1")[1].titles.views] == ["new"]  # type: ignore[union-attr]


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
