"""Search and suggestions against real OpenSearch-compatible engines: folding, typos, prefix and
infix, ranking, maturity filters on results, suggestions and facets, reindex. Every test runs on
the local cloud's engine (local.search_engine) and on osmem-server: same bodies, same ranks."""

from __future__ import annotations

import threading

import pytest
from search.logic import requests, searching
from search.logic.reindex import reindex
from search.models.errors import SearchUnavailable
from search.models.output import SearchPage

from tests.unit.search.conftest import Engine

KIDS, TEENS, ADULTS = 1, 2, 3

pytestmark = pytest.mark.parametrize("engine_kind", ["local", "osmem"])


def _search(engine: Engine, q: str, level: int = ADULTS, **filters: object) -> SearchPage:
    request, bound = requests.search_request(profile_id="p", q=q, limit=None, cursor=None, **filters)
    return searching.search(request, max_level=level, bound_to=bound, engine=engine.engine)


def _suggest(engine: Engine, q: str, level: int = ADULTS) -> list[str]:
    return [s.title for s in searching.suggest(q, max_level=level, engine=engine.engine).suggestions]


@pytest.fixture
def shelf(engine: Engine) -> Engine:
    engine.publish("amelie", "Amélie", genres=["Comedy", "Romance"], language="fr", cast=["Audrey Tautou"],
                   maturity_rating="R", popularity=50, refresh=False)
    engine.publish("lotr", "The Lord of the Rings: The Fellowship of the Ring", genres=["Fantasy"],
                   cast=["Elijah Wood"], maturity_rating="PG-13", popularity=90, refresh=False)
    engine.publish("ringu", "Ringu", genres=["Horror"], language="ja", maturity_rating="R", year=1998,
                   popularity=10, refresh=False)
    engine.publish("toy", "Toy Story", genres=["Animation", "Comedy"], cast=["Tom Hanks"], maturity_rating="G",
                   year=1995, popularity=80, refresh=False)
    engine.publish("toy2", "Toy Story 2", genres=["Animation", "Comedy"], cast=["Tom Hanks"],
                   maturity_rating="G", year=1999, popularity=60, refresh=False)
    engine.publish("big", "Big", genres=["Comedy"], cast=["Tom Hanks"], maturity_rating="PG", year=1988,
                   popularity=40, refresh=False)
    engine.publish("draft", "Toy Soldiers", status="TRANSCODING", maturity_rating="G", refresh=False)
    engine.refresh()
    return engine


def test_ascii_folding_finds_accented_titles(shelf: Engine) -> None:
    page = _search(shelf, "amelie")
    assert [h.title for h in page.items] == ["Amélie"]
    assert page.items[0].highlights["title"] == ["<em>Amélie</em>"]


@pytest.mark.parametrize(("typo", "title"), [("amelei", "Amélie"), ("toy stroy", "Toy Story"), ("rnigu", "Ringu")])
def test_misspellings_find_the_title_first(shelf: Engine, typo: str, title: str) -> None:
    assert _search(shelf, typo).items[0].title == title


def test_exact_title_beats_a_longer_one_and_popularity_breaks_ties(shelf: Engine) -> None:
    assert [h.title for h in _search(shelf, "toy story").items][:2] == ["Toy Story", "Toy Story 2"]


def test_cast_matches_rank_below_title_matches(shelf: Engine) -> None:
    titles = [h.title for h in _search(shelf, "big").items]
    assert titles[0] == "Big"
    hanks = [h.title for h in _search(shelf, "tom hanks").items]
    assert set(hanks) == {"Toy Story", "Toy Story 2", "Big"}


def test_only_ready_titles_are_found(shelf: Engine) -> None:
    assert "Toy Soldiers" not in [h.title for h in _search(shelf, "toy soldiers").items]
    assert "Toy Soldiers" not in _suggest(shelf, "toy")


def test_suggestions_complete_prefixes_and_infixes(shelf: Engine) -> None:
    assert _suggest(shelf, "lord of th") == ["The Lord of the Rings: The Fellowship of the Ring"]
    assert "The Lord of the Rings: The Fellowship of the Ring" in _suggest(shelf, "ring")
    assert _suggest(shelf, "toy")[:2] == ["Toy Story", "Toy Story 2"]


def test_a_kids_profile_sees_no_title_above_its_level_anywhere(shelf: Engine) -> None:
    kids = _search(shelf, "ring", level=KIDS)
    assert kids.items == [] and kids.total == 0
    assert _suggest(shelf, "ring", level=KIDS) == []
    comedy = _search(shelf, "comedy", level=KIDS)
    assert {h.title for h in comedy.items} == {"Toy Story", "Toy Story 2", "Big"}
    # Facets count only what the profile may see: Amélie (R) is neither a result nor a count.
    assert {f.value: f.count for f in comedy.facets.genre}["Comedy"] == 3
    assert "fr" not in {f.value for f in comedy.facets.language}
    adult = _search(shelf, "comedy", level=ADULTS)
    assert {f.value: f.count for f in adult.facets.genre}["Comedy"] == 4


def test_filters_and_decade_facets(shelf: Engine) -> None:
    page = _search(shelf, "toy story", year_from=1990, year_to=1996)
    assert [h.title for h in page.items] == ["Toy Story"]
    assert [(f.value, f.count) for f in page.facets.decade] == [("1990s", 1)]
    assert _search(shelf, "ringu", language="fr").items == []


def test_paging_with_cursors_visits_each_hit_once(shelf: Engine) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        request, bound = requests.search_request(profile_id="p", q="comedy", limit=1, cursor=cursor)
        page = searching.search(request, max_level=ADULTS, bound_to=bound, engine=shelf.engine)
        seen += [h.title_id for h in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == ["amelie", "big", "toy", "toy2"]


def test_reindex_swaps_the_alias_without_an_empty_answer(shelf: Engine) -> None:
    before = shelf.index.alias_indices("titles")
    empty: list[int] = []
    stop = threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            if _search(shelf, "toy story").total == 0:
                empty.append(1)

    reader = threading.Thread(target=keep_searching)
    reader.start()
    try:
        report = reindex(shelf.catalog, shelf.index)
        report2 = reindex(shelf.catalog, shelf.index)
    finally:
        stop.set()
        reader.join()
    assert empty == []
    assert report.titles == 7 and report.previous == before
    assert shelf.index.alias_indices("titles") == [report2.index]
    assert shelf.index.alias_indices("titles-building") == []
    assert before[0] in report2.deleted  # the index two generations back is dropped
    assert [h.title for h in _search(shelf, "amelie").items] == ["Amélie"]


def test_an_engine_that_is_down_is_a_503(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from search.dal.opensearch_client import client
    from search.dal.opensearch_index import OpenSearchEngine

    dead = OpenSearchEngine(client("http://127.0.0.1:9", timeout_s=1, retries=0))
    with pytest.raises(SearchUnavailable):
        searching.suggest("toy", max_level=ADULTS, engine=dead)
    with pytest.raises(SearchUnavailable):
        searching.suggest("toy", max_level=ADULTS, engine=OpenSearchEngine(None))


def test_nothing_indexed_yet_is_an_empty_page_not_an_error(engine: Engine) -> None:
    assert _search(engine, "anything").total == 0
