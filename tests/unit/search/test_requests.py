"""Validation of search parameters and cursors."""

from __future__ import annotations

import pytest
from search.logic import requests
from search.models.errors import InvalidCursor, InvalidSearch
from search.models.query import SEARCH_PARAMS


def _request(**kwargs: object) -> tuple:
    args: dict = {"profile_id": "p1", "q": "heat", "limit": None, "cursor": None}
    args.update(kwargs)
    return requests.search_request(**args)


@pytest.mark.parametrize("q", [None, "", "   ", "\t\n"])
def test_empty_or_blank_query_is_refused(q: str | None) -> None:
    with pytest.raises(InvalidSearch, match="q: must not be empty"):
        _request(q=q)


def test_query_over_200_characters_is_refused_after_collapsing_spaces() -> None:
    with pytest.raises(InvalidSearch, match="200"):
        _request(q="a" * 201)
    request, _ = _request(q="  the   " + "a" * 190 + "  ")
    assert request.q == "the " + "a" * 190  # 194 once collapsed


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("year_from", 1700, "year_from"),
        ("kind", "documentary", "kind"),
        ("language", "English", "language"),
        ("genre", " ", "genre"),
        ("limit", 0, "limit"),
        ("limit", 51, "limit"),
    ],
)
def test_bad_filters_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidSearch, match=message):
        _request(**{field: value})


def test_year_from_after_year_to_is_refused() -> None:
    with pytest.raises(InvalidSearch, match="year_from"):
        _request(year_from=2000, year_to=1990)


def test_unknown_parameters_are_refused_without_echoing_odd_names() -> None:
    requests.check_known(["q", "profile_id", "genre"], SEARCH_PARAMS)
    with pytest.raises(InvalidSearch, match="genres") as err:
        requests.check_known(["q", "genres"], SEARCH_PARAMS)
    with pytest.raises(InvalidSearch) as err:
        requests.check_known(["<script>"], SEARCH_PARAMS)
    assert "<script>" not in err.value.message


def test_cursor_continues_only_the_search_that_issued_it() -> None:
    _, bound = _request()
    cursor = requests.encode_cursor(20, bound)
    request, _ = _request(cursor=cursor)
    assert request.offset == 20
    for other in ({"q": "heat 2"}, {"genre": "Crime"}, {"profile_id": "p2"}):
        with pytest.raises(InvalidCursor):
            _request(cursor=cursor, **other)


@pytest.mark.parametrize("cursor", ["", "!!!", "e30", "eyJvIjogLTEsICJmIjogIngifQ"])
def test_malformed_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        _request(cursor=cursor)


def test_paging_stops_at_the_result_window() -> None:
    _, bound = _request()
    request, _ = _request(cursor=requests.encode_cursor(990, bound), limit=50)
    assert request.offset + request.limit == 1000
