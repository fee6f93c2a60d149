"""The index: its settings, mapping and names, and how a catalog title item becomes a document.

Why this mapping:
* ``title`` is analysed with lowercase + ASCII folding ("amelie" finds "Amélie"), and carries
  ``title.sayt`` (search_as_you_type: shingles and edge n-grams for typeahead, prefix and infix:
  "ring" finds "The Lord of the Rings") and ``title.exact`` (a keyword with the same folding, for
  "exact title first" and "title starts with the query first").
* ``cast``, ``description`` and ``genres.text`` are folded text for matching; ``genres`` and
  ``language`` are keywords for filters and facets.
* ``maturity_level`` is ``reelstack_common.maturity.title_level(maturity_rating)``, computed at
  index time (``HIDDEN_LEVEL`` when the title is not READY), so a profile's filter is one range
  clause (results, suggestions and facets alike).
* ``status`` is kept for every title the catalog knows: a withdrawn or unpublished title stays in
  the index as a non-READY document carrying its version, so an older event can never bring it
  back (a delete's tombstone is forgotten after ``index.gc_deletes``; a document is not).
* ``dynamic: strict``: a field written by mistake is an error, not a silent new mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from reelstack_common.maturity import title_level

ALIAS = "titles"  # every read and write goes through it
BUILDING_ALIAS = "titles-building"  # the index a reindex is filling: the indexer writes there too
INDEX_PREFIX = "titles-"
INITIAL_INDEX = "titles-00000000000000000000"  # sorts before every reindex stamp
READY = "READY"
# Non-READY documents carry a maturity level above every profile's, so the one cheap clause that
# hides titles above a profile's level also hides them (a must_not range: osmem evaluated a
# positive filter matching the whole catalogue at 30-150 ms a query at 50k titles, the must_not
# at ~10 ms; docs/benchmarks.md "Search").
HIDDEN_LEVEL = 9
NOT_READY = ("UPLOADING", "TRANSCODING", "FAILED", "WITHDRAWN", "DELETED")  # for documents indexed before

_FOLDED = {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}

SETTINGS: dict[str, Any] = {
    "index": {"max_result_window": 1000},
    "analysis": {
        "analyzer": {"folded": _FOLDED},
        "normalizer": {"folded_keyword": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
    },
}

MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "title_id": {"type": "keyword"},
        "title": {
            "type": "text",
            "analyzer": "folded",
            "fields": {
                "sayt": {"type": "search_as_you_type", "analyzer": "folded", "max_shingle_size": 3},
                "exact": {"type": "keyword", "normalizer": "folded_keyword", "ignore_above": 256},
            },
        },
        "cast": {"type": "text", "analyzer": "folded"},
        "description": {"type": "text", "analyzer": "folded"},
        "genres": {"type": "keyword", "fields": {"text": {"type": "text", "analyzer": "folded"}}},
        "language": {"type": "keyword"},
        "year": {"type": "integer"},
        "maturity_rating": {"type": "keyword"},
        "maturity_level": {"type": "integer"},
        "kind": {"type": "keyword"},
        "series_id": {"type": "keyword"},
        "season": {"type": "integer"},
        "number": {"type": "integer"},
        "popularity": {"type": "float"},
        "status": {"type": "keyword"},
        "version": {"type": "long"},
    },
}


def index_body() -> dict[str, Any]:
    return {"settings": SETTINGS, "mappings": MAPPINGS}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def _int(value: Any) -> int | None:
    try:
        return int(_plain(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def item_version(item: Mapping[str, Any]) -> int | None:
    """The catalog item's version (contract D), or None for an item written before versions."""
    return _int(item.get("version"))


def document(item: Mapping[str, Any], version: int) -> dict[str, Any]:
    """The search document of a catalog title item (only the fields the mapping declares)."""
    rating = item.get("maturity_rating")
    status = str(item.get("status", ""))
    doc: dict[str, Any] = {
        "title_id": str(item["title_id"]),
        "title": str(item.get("title", "")),
        "cast": [str(c) for c in item.get("cast") or []],
        "description": str(item.get("description", "")),
        "genres": [str(g) for g in item.get("genres") or []],
        "language": str(item["language"]) if item.get("language") else None,
        "year": _int(item.get("year")),
        "maturity_rating": str(rating) if rating else None,
        "maturity_level": title_level(str(rating) if rating else None) if status == READY else HIDDEN_LEVEL,
        "kind": str(item.get("kind") or "movie"),
        "series_id": str(item["series_id"]) if item.get("series_id") else None,
        "season": _int(item.get("season")),
        "number": _int(item.get("number")),
        "popularity": float(_plain(item.get("popularity") or 0)),
        "status": status,
        "version": version,
    }
    return {k: v for k, v in doc.items() if v is not None}


def gone(title_id: str, version: int) -> dict[str, Any]:
    """A title the catalog no longer holds: a non-READY document that keeps its version."""
    return {"title_id": title_id, "status": "DELETED", "version": version, "maturity_level": HIDDEN_LEVEL}
