"""Query bodies as data: the visibility exclusions are on every query, boosts keep their order."""

from __future__ import annotations

from search.logic import mapping, queries
from search.logic.requests import search_request
from search.models.query import Filters, Kind, SearchRequest


def _filters(body: dict) -> list[dict]:
    return body["query"]["bool"]["filter"]


def test_every_query_excludes_titles_above_the_profile_level_and_not_ready() -> None:
    request = SearchRequest(q="heat", filters=Filters())
    for body in (
        queries.search_body(request, max_level=1),
        queries.search_body(request, max_level=1, fallback=True),
        queries.suggest_body("heat", max_level=1),
    ):
        hidden = body["query"]["bool"]["must_not"]
        assert {"range": {"maturity_level": {"gt": 1}}} in hidden
        assert {"terms": {"status": ["UPLOADING", "TRANSCODING", "FAILED", "WITHDRAWN", "DELETED"]}} in hidden


def test_a_document_not_ready_is_above_every_profile_level() -> None:
    item = {"title_id": "t", "title": "Heat", "maturity_rating": "G", "status": "WITHDRAWN"}
    assert mapping.document(item, 2)["maturity_level"] == mapping.HIDDEN_LEVEL > 3
    assert mapping.document({**item, "status": "READY"}, 3)["maturity_level"] == 0
    assert mapping.gone("t", 4)["maturity_level"] == mapping.HIDDEN_LEVEL


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
    words = [c["multi_match"] for c in should if c.get("multi_match", {}).get("type") == "best_fields"]
    fuzzy = [w for w in words if "fuzziness" in w]
    assert [w["fields"] for w in fuzzy] == [["title^4"]]  # typos on the title only (cost, see Tuning)
    assert fuzzy[0]["fuzziness"] == "AUTO"
    assert [w["fields"] for w in words if "fuzziness" not in w] == [["cast^3", "genres.text^2"]]
    assert {w["operator"] for w in words} == {"and"}  # every word must match in the first request


def test_the_or_fallback_is_a_separate_body_and_nothing_in_the_first_is_or() -> None:
    request = SearchRequest(q="toy story of doom", filters=Filters())
    first = queries.search_body(request, max_level=3)["query"]["bool"]["must"][0]["bool"]["should"]
    second = queries.search_body(request, max_level=3, fallback=True)["query"]["bool"]["must"][0]["bool"]["should"]
    ops = [c.get("multi_match", c.get("match", {}).get("description", {})).get("operator") for c in first]
    assert "or" not in ops
    fuzzy = [c["multi_match"] for c in second if "fuzziness" in c.get("multi_match", {})]
    # Typos anywhere (also the first letter) and, ranked low, titles with some of the words.
    assert [(f["operator"], f["prefix_length"]) for f in fuzzy] == [("and", 0), ("or", 0)]
    assert fuzzy[0]["boost"] > fuzzy[1]["boost"]
    first_fuzzy = [c["multi_match"] for c in first if "fuzziness" in c.get("multi_match", {})]
    assert [f["prefix_length"] for f in first_fuzzy] == [queries.DEFAULT_TUNING.prefix_length]
    tuned = queries.relevance("x", queries.Tuning(prefix_length=1))["bool"]["should"]
    assert [c["multi_match"]["prefix_length"] for c in tuned if "fuzziness" in c.get("multi_match", {})] == [1]


def test_popularity_breaks_ties_after_the_score() -> None:
    body = queries.search_body(SearchRequest(q="x", filters=Filters()), max_level=3)
    assert body["sort"][0] == "_score"
    assert body["sort"][1] == {"popularity": {"order": "desc"}}


def test_suggest_asks_for_ten_prefix_completions() -> None:
    body = queries.suggest_body("lord of th", max_level=3)
    assert body["size"] == 10
    typed = body["query"]["bool"]["must"][0]["constant_score"]["filter"]
    # Complete words all required, the last one a prefix (infix: any word of the title); no fuzziness.
    assert typed == {
        "bool": {"must": [{"match": {"title": {"query": "lord of", "operator": "and"}}}, {"prefix": {"title": "th"}}]}
    }
    assert queries.typed_words("Amé") == {"bool": {"must": [{"prefix": {"title": "ame"}}]}}
    # Scores are tiers (constant), so popularity orders the titles inside a tier.
    assert body["sort"][:2] == ["_score", {"popularity": {"order": "desc"}}]
