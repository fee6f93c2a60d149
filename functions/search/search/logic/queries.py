"""Engine query bodies for search and suggestions (pure functions: unit-tested as data).

Ranking (search):
  1. exact title (folded) ............ term on ``title.exact``              boost EXACT
  2. title starts with the query ..... prefix on ``title.exact``            boost PREFIX
  3. the query as a phrase in a title  match_phrase on ``title``            boost PHRASE
  4. typo-tolerant words ............. multi_match, fuzziness AUTO, fields title > cast > genres >
                                       description (FIELD_BOOSTS)
  5. typeahead words (last one a prefix): bool_prefix on ``title.sayt`` + shingles
  Ties: ``popularity`` (desc), then the title (asc) so pages are stable.
Every query carries the same visibility filter: READY titles at or below the profile's maturity
level. Facets are aggregations of the same filtered query, so counts never reveal a title the
profile may not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from search.logic.mapping import READY
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

    prefix_length: int = 0  # leading characters a fuzzy term must match exactly
    max_expansions: int = 50  # fuzzy variants per term
    operator: str = "and"  # of the fuzzy words: "and" = every word matches (within its edits)
    or_fallback_boost: float = 0.2  # 0 = off: titles matching only some of the words, ranked low
    typeahead_fuzzy: bool = False  # non-final words of the bool_prefix clause may be misspelt


DEFAULT_TUNING = Tuning()


def visibility(max_level: int) -> list[dict[str, Any]]:
    """What a profile may see at all: READY titles at or below its maturity level."""
    return [{"term": {"status": READY}}, {"range": {"maturity_level": {"lte": max_level}}}]


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


def relevance(q: str, tuning: Tuning = DEFAULT_TUNING) -> dict[str, Any]:
    """The scoring part of a search: any of the ways a title can match, best ones boosted.
    Fuzzy matching covers title, cast and genres; descriptions match without typos (long text:
    fuzzy expansion over its vocabulary costs the most and finds the least)."""
    folded = fold(q)
    fuzzy_fields = [f"{f}^{b:g}" for f, b in FIELD_BOOSTS.items() if f != "description"]

    def fuzzy(operator: str, boost: float) -> dict[str, Any]:
        return {
            "multi_match": {
                "query": q,
                "type": "best_fields",
                "fields": fuzzy_fields,
                "fuzziness": "AUTO",
                "prefix_length": tuning.prefix_length,
                "max_expansions": tuning.max_expansions,
                "operator": operator,
                "boost": boost,
            }
        }

    typeahead: dict[str, Any] = {"query": q, "type": "bool_prefix", "fields": SAYT_FIELDS, "boost": TYPEAHEAD_BOOST}
    if tuning.typeahead_fuzzy:
        typeahead["fuzziness"] = "AUTO"
    should: list[dict[str, Any]] = [
        {"term": {"title.exact": {"value": folded, "boost": EXACT_BOOST}}},
        {"prefix": {"title.exact": {"value": folded, "boost": PREFIX_BOOST}}},
        {"match_phrase": {"title": {"query": q, "boost": PHRASE_BOOST}}},
        fuzzy(tuning.operator, 1.0),
        {"match": {"description": {"query": q, "operator": "and", "boost": FIELD_BOOSTS["description"]}}},
        {"multi_match": typeahead},
    ]
    if tuning.or_fallback_boost and tuning.operator != "or":
        should.append(fuzzy("or", tuning.or_fallback_boost))
    return {"bool": {"should": should, "minimum_should_match": 1}}


def search_body(request: SearchRequest, max_level: int, tuning: Tuning = DEFAULT_TUNING) -> dict[str, Any]:
    return {
        "query": {
            "bool": {
                "must": [relevance(request.q, tuning)],
                "filter": visibility(max_level) + filter_clauses(request.filters),
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
    """Typeahead: the words typed so far, the last one a prefix, anywhere in the title (infix);
    titles starting with the text first, then popularity."""
    folded = fold(q)
    return {
        "query": {
            "bool": {
                "must": [
                    {
                        "multi_match": {
                            "query": q,
                            "type": "bool_prefix",
                            "fields": SAYT_FIELDS,
                            "fuzziness": "AUTO",
                        }
                    }
                ],
                "should": [
                    {"term": {"title.exact": {"value": folded, "boost": EXACT_BOOST}}},
                    {"prefix": {"title.exact": {"value": folded, "boost": PREFIX_BOOST}}},
                ],
                "filter": visibility(max_level),
            }
        },
        "size": size,
        "sort": ["_score", {"popularity": {"order": "desc"}}, {"title.exact": {"order": "asc"}}],
        "timeout": ENGINE_TIMEOUT,
        "_source": ["title_id", "title", "kind", "year"],
    }
