"""Engine query bodies for search and suggestions (pure functions: unit-tested as data).

Ranking (search):
  1. exact title (folded) ............ term on ``title.exact``              boost EXACT
  2. title starts with the query ..... prefix on ``title.exact``            boost PREFIX
  3. the query as a phrase in a title  match_phrase on ``title``            boost PHRASE
  4. typo-tolerant words ............. multi_match, fuzziness AUTO, fields title > cast > genres >
                                       description (FIELD_BOOSTS)
  5. typeahead words (last one a prefix): bool_prefix on ``title.sayt`` + shingles
  Ties: ``popularity`` (desc), then the title (asc) so pages are stable.
Every query carries the same visibility exclusions (``hidden``): nothing above the profile's
maturity level, nothing not READY. Facets are aggregations of the same query, so counts never
reveal a title the profile may not see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from search.logic.mapping import NOT_READY
from search.logic.text import fold
from search.models.query import SUGGEST_SIZE, Filters, SearchRequest

EXACT_BOOST = 40.0
PREFIX_BOOST = 12.0
PHRASE_BOOST = 6.0
TYPEAHEAD_BOOST = 2.0
FIELD_BOOSTS = {"title": 4.0, "cast": 3.0, "genres.text": 2.0, "description": 1.0}
SAYT_FIELDS = ["title.sayt", "title.sayt._2gram", "title.sayt._3gram"]
HIGHLIGHT_TAGS = (["<em>"], ["</em>"])
FACET_SIZE = 20
CAST_SHOWN = 5
SOURCE_FIELDS = ["title_id", "title", "kind", "year", "genres", "language", "maturity_rating", "cast"]
# Server-side budget per query: the engine answers with what it has instead of running long.
ENGINE_TIMEOUT = "1500ms"


@dataclass(frozen=True)
class Tuning:
    """The knobs bench/search.py chooses on its validation query set (docs/benchmarks.md)."""

    # Leading characters a fuzzy term must match exactly in the FIRST request. 0 (typos anywhere)
    # since the local engine became local.search_engine: on bench.search's validation set it
    # ranked as well as 1 and no search needed the fallback request (1.00 engine requests per
    # query vs 1.14: with 1, a typo in a word's first letter found nothing until the second
    # request). 1 had been chosen for osmem, whose fuzzy enumeration cost ~0.8 s p50 per query at
    # 50k titles with 0 and ~40 ms with 1 (docs/benchmarks.md, "Search").
    prefix_length: int = 0
    max_expansions: int = 50  # fuzzy variants per term
    # Fields matched with typos (AUTO). Only the title: fuzzy over the cast and genres as well
    # ranked no better on the validation set (same success) and expands more terms per query
    # (on osmem it cost seconds per query at 50k titles); cast and genres match their words exactly.
    fuzzy_fields: tuple[str, ...] = ("title",)
    # A second request only when the first finds nothing: fuzzy with prefix_length 0, every word
    # (boost 1) or some of them (OR_FALLBACK_BOOST).
    or_fallback: bool = True


OR_FALLBACK_BOOST = 0.2


DEFAULT_TUNING = Tuning()


def hidden(max_level: int) -> list[dict[str, Any]]:
    """What a profile may not see (``must_not``): titles above its maturity level, which includes
    every non-READY document (indexed at ``HIDDEN_LEVEL``), and by status the non-READY documents
    of an index written before that. Exclusions rather than a positive filter: chosen when osmem
    evaluated a filter matching the whole catalogue on every query (30-150 ms at 50k titles) and
    a must_not only against the matches (~10 ms); on local.search_engine the two forms differ by
    ~0.3 ms a query (a positive filter is the cheaper there), so the tested form stays."""
    return [{"range": {"maturity_level": {"gt": max_level}}}, {"terms": {"status": list(NOT_READY)}}]


def filter_clauses(filters: Filters) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    if filters.genre:
        clauses.append({"term": {"genres": filters.genre}})
    if filters.language:
        clauses.append({"term": {"language": filters.language}})
    if filters.kind:
        clauses.append({"term": {"kind": str(filters.kind)}})
    if filters.year_from is not None or filters.year_to is not None:
        bounds: dict[str, int] = {}
        if filters.year_from is not None:
            bounds["gte"] = filters.year_from
        if filters.year_to is not None:
            bounds["lte"] = filters.year_to
        clauses.append({"range": {"year": bounds}})
    return clauses


_WORD = re.compile(r"\w+")


def typed_words(q: str) -> dict[str, Any]:
    """The words typed so far, the last one a prefix, anywhere in the title (infix: "ring" finds
    "The Lord of the Rings"). What a ``bool_prefix`` query does, written as a match + a prefix on
    ``title``: osmem-server's bool_prefix over the search_as_you_type fields took 0.9-13 s at 50k
    titles where this took milliseconds, and local.search_engine does not implement the
    search_as_you_type shingle subfields (it refuses them with a 400) (docs/benchmarks.md, "Search")."""
    folded = fold(q)
    words = _WORD.findall(folded)
    if not words:
        return {"term": {"title.exact": folded}}  # only punctuation: the exact title or nothing
    *complete, last = words
    must: list[dict[str, Any]] = [{"prefix": {"title": last}}]
    if complete:
        must.insert(0, {"match": {"title": {"query": " ".join(complete), "operator": "and"}}})
    return {"bool": {"must": must}}


def relevance(q: str, tuning: Tuning = DEFAULT_TUNING, *, fallback: bool = False) -> dict[str, Any]:
    """The scoring part of a search: any of the ways a title can match, best ones boosted.
    The first request needs every word (``and``) with fuzzy terms whose first
    ``Tuning.prefix_length`` letters are right. ``fallback`` is the second request a search makes
    only when the first found nothing: typos anywhere (prefix_length 0) and, ranked low, titles
    with only some of the words (``or`` over many words matches most of the catalogue, so it is never part of the
    common request). Descriptions match without typos (long text: fuzzy expansion over its
    vocabulary costs the most and finds the least)."""
    folded = fold(q)
    fuzzy_fields = [f"{f}^{b:g}" for f, b in FIELD_BOOSTS.items() if f in tuning.fuzzy_fields]
    exact_fields = [
        f"{f}^{b:g}" for f, b in FIELD_BOOSTS.items() if f not in tuning.fuzzy_fields and f != "description"
    ]

    def words(operator: str, boost: float, prefix_length: int) -> list[dict[str, Any]]:
        fuzzy = {
            "query": q,
            "type": "best_fields",
            "fields": fuzzy_fields,
            "fuzziness": "AUTO",
            "prefix_length": prefix_length,
            "max_expansions": tuning.max_expansions,
            "operator": operator,
            "boost": boost,
        }
        out: list[dict[str, Any]] = [{"multi_match": fuzzy}]
        if exact_fields:
            exact = {"query": q, "type": "best_fields", "fields": exact_fields, "operator": operator, "boost": boost}
            out.append({"multi_match": exact})
        return out

    should: list[dict[str, Any]] = [
        {"term": {"title.exact": {"value": folded, "boost": EXACT_BOOST}}},
        {"prefix": {"title.exact": {"value": folded, "boost": PREFIX_BOOST}}},
        {"match_phrase": {"title": {"query": q, "boost": PHRASE_BOOST}}},
    ]
    if fallback:
        should += words("and", 1.0, 0) + words("or", OR_FALLBACK_BOOST, 0)
    else:
        should += words("and", 1.0, tuning.prefix_length)
    should += [
        {"match": {"description": {"query": q, "operator": "and", "boost": FIELD_BOOSTS["description"]}}},
        {"constant_score": {"filter": typed_words(q), "boost": TYPEAHEAD_BOOST}},
    ]
    return {"bool": {"should": should, "minimum_should_match": 1}}


def search_body(
    request: SearchRequest, max_level: int, tuning: Tuning = DEFAULT_TUNING, *, fallback: bool = False
) -> dict[str, Any]:
    return {
        "query": {
            "bool": {
                "must": [relevance(request.q, tuning, fallback=fallback)],
                "filter": filter_clauses(request.filters),
                "must_not": hidden(max_level),
            }
        },
        "from": request.offset,
        "size": request.limit,
        "sort": ["_score", {"popularity": {"order": "desc"}}, {"title.exact": {"order": "asc"}}],
        "track_total_hits": True,
        "timeout": ENGINE_TIMEOUT,
        "_source": SOURCE_FIELDS,
        "highlight": {
            "pre_tags": HIGHLIGHT_TAGS[0],
            "post_tags": HIGHLIGHT_TAGS[1],
            "fields": {
                "title": {"number_of_fragments": 0},
                "cast": {"number_of_fragments": 0},
                "description": {"fragment_size": 150, "number_of_fragments": 1},
            },
        },
        "aggs": {
            "genre": {"terms": {"field": "genres", "size": FACET_SIZE}},
            "language": {"terms": {"field": "language", "size": FACET_SIZE}},
            "decade": {"histogram": {"field": "year", "interval": 10, "min_doc_count": 1}},
        },
    }


def suggest_body(q: str, max_level: int, size: int = SUGGEST_SIZE) -> dict[str, Any]:
    """Typeahead: the words typed so far, the last one a prefix, anywhere in the title (infix).
    No fuzziness (it is called on every keystroke; a typo is search's job). The score is a tier,
    not BM25: exact title, then titles starting with the text, then the rest (constant scores),
    and popularity orders the titles inside a tier, so "toy" offers the most watched Toy Story
    first rather than the shortest title."""
    folded = fold(q)
    return {
        "query": {
            "bool": {
                "must": [
                    {"constant_score": {"filter": typed_words(q), "boost": 1.0}},
                ],
                "should": [
                    {"constant_score": {"filter": {"term": {"title.exact": folded}}, "boost": EXACT_BOOST}},
                    {"constant_score": {"filter": {"prefix": {"title.exact": folded}}, "boost": PREFIX_BOOST}},
                ],
                "must_not": hidden(max_level),
            }
        },
        "size": size,
        "sort": ["_score", {"popularity": {"order": "desc"}}, {"title.exact": {"order": "asc"}}],
        "timeout": ENGINE_TIMEOUT,
        "_source": ["title_id", "title", "kind", "year"],
    }
