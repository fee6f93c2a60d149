"""Query bodies as data: the visibility filter is on every query, boosts keep their order."""

from __future__ import annotations

from search.logic import queries
from search.logic.requests import search_request
from search.models.query import Filters, Kind, SearchRequest


def _filters(body: dict) -> list[dict]:
    return body["query"]["bool"]["filter"]


def test_every_query_filters_ready_titles_at_the_profile_level() -> None:
    request = SearchRequest(q="heat", filters=Filters())
    for body in (queries.search_body(request, max_level=1), queries.suggest_body("heat", max_level=1)):
        assert {"term": {"status": "READY"}} in _filters(body)
        assert {"range": {"maturity_level": {"lte": 1}}} in _filters(body)


def test_facets_are_aggregations_of_the_filtered_query() -> None:
    # Aggregations run over the query's hits (filters included): no post_filter that would count
    # titles the profile may not see.
    body = queries.search_body(SearchRequest(q="heat", filters=Filters()), max_level=0)
    assert "post_filter" not in body
    assert set(body["aggs"]) == {"genre", "language", "decade"}
    assert body["aggs"]["decade"]["histogram"]["interval"] == 10


def test_filters_become_clauses() -> None:
    request, _ = search_request(
        profile_id="p", q="heat", limit=5, cursor=None, genre="Crime", language="en",
        year_from=1990, year_to=1999, kind="movie",
    )  # fmt: skip
    clauses = _filters(queries.search_body(request, max_level=3))
    assert {"term": {"genres": "Crime"}} in clauses
    assert {"term": {"language": "en"}} in clauses
    assert {"term": {"kind": "movie"}} in clauses
    assert {"range": {"year": {"gte": 1990, "lte": 1999}}} in clauses
    assert request.filters.kind is Kind.MOVIE


def test_boosts_rank_title_over_cast_over_genres_over_description_and_exact_over_prefix() -> None:
    boosts = queries.FIELD_BOOSTS
    assert boosts["title"] > boosts["cast"] > boosts["genres.text"] > boosts["description"]
    assert queries.EXACT_BOOST > queries.PREFIX_BOOST > queries.PHRASE_BOOST
    should = queries.relevance("Amélie")["bool"]["should"]
    assert should[0] == {"term": {"title.exact": {"value": "amelie", "boost": queries.EXACT_BOOST}}}
    fuzzy = [c["multi_match"] for c in should if c.get("multi_match", {}).get("type") == "best_fields"]
    assert [f["operator"] for f in fuzzy] == ["and", "or"]  # all words first; some words, ranked low
    assert all(f["fuzziness"] == "AUTO" and "description^1" not in f["fields"] for f in fuzzy)
    assert fuzzy[0]["boost"] > fuzzy[1]["boost"]


def test_popularity_breaks_ties_after_the_score() -> None:
    body = queries.search_body(SearchRequest(q="x", filters=Filters()), max_level=3)
    assert body["sort"][0] == "_score"
    assert body["sort"][1] == {"popularity": {"order": "desc"}}


def test_suggest_asks_for_ten_prefix_completions() -> None:
    body = queries.suggest_body("lord of th", max_level=3)
    assert body["size"] == 10
    assert body["query"]["bool"]["must"][0]["multi_match"]["type"] == "bool_prefix"
