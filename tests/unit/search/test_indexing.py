"""Events -> index writes: idempotent by title id and version, withdrawal that sticks."""

from __future__ import annotations

from typing import Any

import pytest
from search.logic.indexing import BadEvent, StaleRead, index_event, parse_event, versioned_document
from search.logic.ports import SearchEngine

from tests.unit.search.conftest import Engine, event


def _titles(engine: SearchEngine, q: str, level: int = 3) -> list[str]:
    from search.logic import requests, searching

    request, bound = requests.search_request(profile_id="p", q=q, limit=None, cursor=None)
    return [h.title for h in searching.search(request, max_level=level, bound_to=bound, engine=engine).items]


@pytest.mark.parametrize(
    "bad",
    [
        {"detail-type": "TitleFailed", "detail": {"title_id": "t", "version": 1}},
        {"detail-type": "TitleUpdated", "detail": {"version": 1}},
        {"detail-type": "TitleUpdated", "detail": {"title_id": "t"}},
        {"detail-type": "TitleUpdated", "detail": {"title_id": "t", "version": "2"}},
        {"detail-type": "TitleUpdated", "detail": {"title_id": "t", "version": True}},
        {"detail-type": "TitleUpdated", "detail": {"title_id": "t", "version": 0}},
        {"detail-type": "TitleUpdated"},
    ],
)
def test_events_without_a_title_id_and_version_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(BadEvent):
        parse_event(bad)


def test_the_item_version_orders_the_write_and_a_stale_read_is_retried() -> None:
    item = {"title_id": "t", "title": "Heat", "version": 3, "status": "READY"}
    assert versioned_document("t", 2, item).version == 3  # the item is newer than the event: index it
    with pytest.raises(StaleRead):
        versioned_document("t", 4, item)  # the event announces a version the read did not see
    legacy = {"title_id": "t", "title": "Heat", "status": "READY"}
    assert versioned_document("t", 5, legacy).version == 5  # no version on the item: the event's
    missing = versioned_document("t", 7, None)
    assert missing.version == 7 and missing.doc["status"] != "READY"


def test_an_older_event_never_rolls_back_a_newer_version(engine: Engine) -> None:
    engine.publish("t1", "Heat", version=1)
    engine.publish("t1", "Heat Wave", version=2)
    assert _titles(engine.engine, "wave") == ["Heat Wave"]
    # The version-1 event is redelivered late, and the catalog item read then is the old one
    # (as a replica would have it): the engine keeps version 2.
    engine.catalog.put("t1", "Heat", version=1)
    result = index_event(event("t1", 1), engine.catalog, engine.index)
    engine.refresh()
    assert (result.written, result.skipped) == (0, 1)
    assert _titles(engine.engine, "wave") == ["Heat Wave"]


def test_withdrawal_removes_the_title_and_an_older_event_does_not_bring_it_back(engine: Engine) -> None:
    engine.publish("t1", "Amélie", version=1)
    assert _titles(engine.engine, "amelie") == ["Amélie"]
    engine.publish("t1", "Amélie", version=2, status="WITHDRAWN")
    assert _titles(engine.engine, "amelie") == []
    engine.catalog.put("t1", "Amélie", version=1)  # a stale copy of the READY item
    index_event(event("t1", 1, "TitlePublished"), engine.catalog, engine.index)
    engine.refresh()
    assert _titles(engine.engine, "amelie") == []


def test_duplicate_delivery_is_harmless(engine: Engine) -> None:
    first = engine.publish("t1", "Heat", version=4)
    again = index_event(event("t1", 4), engine.catalog, engine.index)
    assert (first.written, again.written, again.skipped) == (1, 0, 1)


def test_the_first_event_creates_the_index_behind_the_alias(engine: Engine) -> None:
    assert engine.index.alias_indices("titles") == []
    engine.publish("t1", "Heat")
    assert engine.index.alias_indices("titles") == ["titles-00000000000000000000"]
