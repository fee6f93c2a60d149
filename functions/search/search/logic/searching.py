"""Search and suggestions for a viewer: validated request -> engine query -> page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from search.logic import queries
from search.logic.ports import EngineUnavailable, SearchEngine
from search.logic.requests import encode_cursor
from search.models.errors import SearchUnavailable
from search.models.output import Facets, FacetValue, SearchHit, SearchPage, Suggestion, SuggestionList
from search.models.query import MAX_WINDOW, SearchRequest

HIGHLIGHTED = ("title", "cast", "description")


def _run(engine: SearchEngine, body: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return engine.search(body)
    except EngineUnavailable:
        raise SearchUnavailable() from None


def _total(response: Mapping[str, Any]) -> int:
    total = (response.get("hits") or {}).get("total") or 0
    return int(total.get("value", 0) if isinstance(total, Mapping) else total)


def _facet(aggs: Mapping[str, Any], name: str, label: Any = str) -> list[FacetValue]:
    buckets = (aggs.get(name) or {}).get("buckets") or []
    return [FacetValue(value=label(b["key"]), count=int(b["doc_count"])) for b in buckets if b.get("doc_count")]


def _decade(key: Any) -> str:
    return f"{int(float(key)) // 10 * 10}s"


def _hit(raw: Mapping[str, Any]) -> SearchHit:
    src = raw.get("_source") or {}
    highlights = {f: list(v) for f, v in (raw.get("highlight") or {}).items() if f in HIGHLIGHTED}
    return SearchHit(
        title_id=str(src.get("title_id") or raw.get("_id")),
        title=str(src.get("title", "")),
        kind=str(src.get("kind") or "movie"),
        year=src.get("year"),
        genres=list(src.get("genres") or []),
        language=src.get("language"),
        maturity_rating=src.get("maturity_rating"),
        cast=list(src.get("cast") or [])[: queries.CAST_SHOWN],
        highlights=highlights,
    )


def search(
    request: SearchRequest,
    *,
    max_level: int,
    bound_to: str,
    engine: SearchEngine,
    tuning: queries.Tuning = queries.DEFAULT_TUNING,
) -> SearchPage:
    response = _run(engine, queries.search_body(request, max_level, tuning))
    if tuning.or_fallback and not _total(response):
        # Nothing has every word: ask again for titles with some of them (a second request, so the
        # common case never pays for an or over many words). The total decides, not the page, so
        # every page of one query uses the same body and cursors stay consistent.
        response = _run(engine, queries.search_body(request, max_level, tuning, fallback=True))
    hits = (response.get("hits") or {}).get("hits") or []
    total = _total(response)
    aggs = response.get("aggregations") or {}
    end = request.offset + len(hits)
    more = len(hits) == request.limit and end < min(total, MAX_WINDOW)
    return SearchPage(
        items=[_hit(h) for h in hits],
        total=total,
        facets=Facets(
            genre=_facet(aggs, "genre"), language=_facet(aggs, "language"), decade=_facet(aggs, "decade", _decade)
        ),
        next_cursor=encode_cursor(end, bound_to) if more else None,
    )


def suggest(q: str, *, max_level: int, engine: SearchEngine) -> SuggestionList:
    response = _run(engine, queries.suggest_body(q, max_level))
    out = []
    for raw in (response.get("hits") or {}).get("hits") or []:
        src = raw.get("_source") or {}
        out.append(
            Suggestion(
                title_id=str(src.get("title_id") or raw.get("_id")),
                title=str(src.get("title", "")),
                kind=str(src.get("kind") or "movie"),
                year=src.get("year"),
            )
        )
    return SuggestionList(suggestions=out)
