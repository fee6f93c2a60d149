"""``_search`` and ``_count`` on one index: query, sort, paging, totals, _source, highlight, aggs.

Sorting by ``_score`` then fields (the service's ``[_score, popularity desc, title.exact asc]``):
tantivy returns the top hits by score; every hit tying with the last one on the page is then
fetched too (the window grows until the boundary score is passed), so the field keys order a tie
exactly even when thousands of documents share a constant score (suggest's tiers), and only the
tie group is sorted in Python. A sort led by a field sorts every match. Final ties: index order.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from local.search_engine import aggs as aggs_mod
from local.search_engine import highlight as highlight_mod
from local.search_engine.dsl import Compiler
from local.search_engine.errors import EngineError, illegal, parsing, unsupported
from local.search_engine.schema import SEQ_FIELD
from local.search_engine.store import Index, Record

BODY_KEYS = {"query", "from", "size", "sort", "track_total_hits", "timeout", "_source", "highlight", "aggs",
             "aggregations", "track_scores", "version", "seq_no_primary_term"}  # fmt: skip
KNOWN_UNSUPPORTED = {"search_after", "min_score", "post_filter", "collapse", "rescore", "suggest", "script_fields",
                     "docvalue_fields", "stored_fields", "explain", "fields", "pit", "slice", "profile",
                     "indices_boost", "runtime_mappings", "terminate_after", "stats", "ext"}  # fmt: skip
DEFAULT_TRACK = 10_000
FIRST_MARGIN = 64  # hits fetched past the page in the first round, for a cheap tie check


@dataclass(frozen=True)
class SortKey:
    field: str  # "_score", "_doc" or a field path
    desc: bool


def _sort_keys(index: Index, raw: Any) -> list[SortKey]:
    if raw is None:
        return [SortKey("_score", True)]
    items = raw if isinstance(raw, list) else [raw]
    keys = []
    for item in items:
        if isinstance(item, str):
            name, order = item, None
        elif isinstance(item, Mapping) and len(item) == 1:
            (name, spec), = item.items()
            if isinstance(spec, str):
                order = spec
            elif isinstance(spec, Mapping):
                extra = set(spec) - {"order"}
                if extra:
                    raise unsupported(f"sort option(s) {sorted(extra)}")
                order = spec.get("order")
            else:
                raise parsing(f"[sort] malformed for [{name}]")
        else:
            raise parsing("[sort] expects a string or an object with one field")
        if order not in (None, "asc", "desc"):
            raise illegal(f"Unknown SortOrder [{order}]")
        if name not in ("_score", "_doc"):
            spec_ = index.schema.fields.get(name)
            if spec_ is None:
                raise EngineError(400, "query_shard_exception", f"No mapping found for [{name}] in order to sort on",
                                  index=index.name)
            if spec_.is_text:
                raise illegal(f"Text fields are not optimised for operations that require per-document field data "
                              f"like aggregations and sorting, so these operations are disabled by default. Please "
                              f"use a keyword field instead. Alternatively, set fielddata=true on [{name}] in order "
                              f"to load field data by uninverting the inverted index. Note that this can use "
                              f"significant memory.")
        desc = order == "desc" if order is not None else name == "_score"
        keys.append(SortKey(name, desc))
    return keys


def _value(record: Record, key: SortKey) -> Any:
    values = record.keys.get(key.field)
    if not values:
        return None
    return max(values) if key.desc else min(values)  # OpenSearch's default sort mode for arrays


def _order(rows: list[tuple[float, int, Record]], keys: list[SortKey]) -> list[tuple[float, int, Record]]:
    """Stable multi-key sort (least significant key first); missing values last in either order."""
    rows = sorted(rows, key=lambda r: r[1])  # final tie: index order
    for key in reversed(keys):
        if key.field == "_score":
            rows.sort(key=lambda r: r[0], reverse=key.desc)
        elif key.field == "_doc":
            rows.sort(key=lambda r: r[1], reverse=key.desc)
        else:
            valued = [(_value(r[2], key), r) for r in rows]
            present = [vr for vr in valued if vr[0] is not None]
            present.sort(key=lambda vr: vr[0], reverse=key.desc)
            rows = [r for _, r in present] + [r for v, r in valued if v is None]
    return rows


def _shortlist(index: Index, searcher: Any, ties: list[Any], key: SortKey, need: int) -> list[Any]:
    """The hits of a score tie that can still reach the page: the ``need`` best by the next sort
    key and every hit equal to the last of them (the later keys order those). Read from tantivy's
    column and ranked with numpy, so a tie of thousands costs no Python per hit."""
    if len(ties) <= 4 * need or key.field in ("_score", "_doc"):
        return ties
    spec = index.schema.fields.get(key.field)
    if spec is None or not spec.is_numeric or key.field in index.multi_valued:
        return ties
    values = searcher.fast_field_values(key.field, [a for _, a in ties])
    ranked = np.array([np.nan if v is None else float(v) for v in values])
    if key.desc:
        ranked = -ranked
    ranked[np.isnan(ranked)] = np.inf  # missing values sort last
    cut = np.partition(ranked, need - 1)[need - 1]
    return [t for t, keep in zip(ties, ranked <= cut, strict=True) if keep]


def _filter_source(source: Mapping[str, Any], spec: Any) -> dict[str, Any] | None:
    if spec is None or spec is True:
        return dict(source)
    if spec is False:
        return None
    if isinstance(spec, str):
        includes, excludes = [spec], list[str]()
    elif isinstance(spec, list):
        includes, excludes = [str(s) for s in spec], list[str]()
    elif isinstance(spec, Mapping):
        inc, exc = spec.get("includes", spec.get("include", [])), spec.get("excludes", spec.get("exclude", []))
        includes = [inc] if isinstance(inc, str) else list(inc)
        excludes = [exc] if isinstance(exc, str) else list(exc)
    else:
        raise parsing("[_source] must be a boolean, a string, an array or an object")
    if not excludes and not any("*" in p or "?" in p for p in includes):
        return {k: source[k] for k in includes if k in source}  # the common case: plain field names
    return {k: v for k, v in source.items()
            if (not includes or any(fnmatch.fnmatchcase(k, p) for p in includes))
            and not any(fnmatch.fnmatchcase(k, p) for p in excludes)}


def _int_param(body: Mapping[str, Any], params: Mapping[str, str], name: str, default: int) -> int:
    raw = body.get(name, params.get(name, default))
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise parsing(f"[{name}] must be an integer, found [{raw}]") from None
    if value < 0:
        raise illegal(f"[{name}] parameter cannot be negative, found [{value}]")
    return value


def _check_body(body: Mapping[str, Any]) -> None:
    for key in body:
        if key in KNOWN_UNSUPPORTED:
            raise unsupported(f"the search body key [{key}]")
        if key not in BODY_KEYS:
            raise parsing(f"Unknown key for a START_OBJECT in [{key}].")


def search(index: Index, body: Mapping[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    _check_body(body)
    if "q" in params:
        raise unsupported("the q= URI search")
    size = _int_param(body, params, "size", 10)
    offset = _int_param(body, params, "from", 0)
    if offset + size > index.max_result_window:
        raise illegal(f"Result window is too large, from + size must be less than or equal to: "
                      f"[{index.max_result_window}] but was [{offset + size}]. See the scroll api for a more "
                      f"efficient way to request large data sets. This limit can be set by changing the "
                      f"[index.max_result_window] index level setting.")
    keys = _sort_keys(index, body.get("sort"))
    explicit_sort = body.get("sort") is not None
    searcher, generation = index.snapshot
    compiler = Compiler(index.schema, searcher, index.vocab, generation)
    query = compiler.compile(body.get("query") or {"match_all": {}})
    if "highlight" in body:
        highlight_mod.validate(body["highlight"])
    aggregations = aggs_mod.run(searcher, query, index.schema, body.get("aggs") or body.get("aggregations") or {}) \
        if (body.get("aggs") or body.get("aggregations")) else None

    k = offset + size
    result: Any = searcher.search(query, max(k, 1) + (FIRST_MARGIN if len(keys) > 1 else 0), count=True)
    total = int(result.count)
    hits = list(result.hits)
    if keys[0].field == "_score":
        if len(keys) > 1 and len(hits) > k > 0:
            boundary = hits[k - 1][0]
            limit = len(hits)
            while hits[-1][0] >= boundary and len(hits) == limit and limit < total:
                # One wider window, then everything: each round re-runs the query.
                limit = min(total, limit * 16) if limit == len(result.hits) else total
                hits = list(searcher.search(query, limit, count=False).hits)
            above = [h for h in hits if h[0] > boundary]
            ties = [h for h in hits if h[0] == boundary]
            hits = above + _shortlist(index, searcher, ties, keys[1], k - len(above))
    elif total > len(hits):
        hits = list(searcher.search(query, total, count=False).hits)
    seqs: list[Any] = searcher.fast_field_values(SEQ_FIELD, [a for _, a in hits]) if hits else []
    rows = [(float(score), int(seq), index.by_seq[int(seq)]) for (score, _), seq in zip(hits, seqs, strict=True)]
    if len(keys) > 1 or keys[0].field != "_score":
        rows = _order(rows, keys)
    page = rows[offset:k]

    scored = any(key.field == "_score" for key in keys) or bool(body.get("track_scores"))
    out_hits = []
    source_spec = body.get("_source")
    for score, _, record in page:
        hit: dict[str, Any] = {"_index": index.name, "_id": record.doc_id, "_score": score if scored else None}
        if body.get("version"):
            hit["_version"] = record.version
        if body.get("seq_no_primary_term"):
            hit["_seq_no"], hit["_primary_term"] = record.seq_no, 1
        filtered = _filter_source(record.source, source_spec)
        if filtered is not None:
            hit["_source"] = filtered
        if explicit_sort:
            hit["sort"] = [score if key.field == "_score" else record.seq if key.field == "_doc"
                           else _value(record, key) for key in keys]
        if "highlight" in body:
            marked = highlight_mod.highlight(index.schema, body["highlight"], record.source, compiler.highlights)
            if marked:
                hit["highlight"] = marked
        out_hits.append(hit)

    hits_out: dict[str, Any] = {}
    track = body.get("track_total_hits", DEFAULT_TRACK)
    if track is not False:
        limit_total = total if track is True else int(track)
        hits_out["total"] = {"value": min(total, limit_total), "relation": "eq" if total <= limit_total else "gte"}
    max_score = max((r[0] for r in rows), default=None) if scored else None
    hits_out["max_score"] = max_score
    hits_out["hits"] = out_hits
    response: dict[str, Any] = {
        "took": int((time.perf_counter() - started) * 1000),
        "timed_out": False,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": hits_out,
    }
    if aggregations is not None:
        response["aggregations"] = aggregations
    return response


def count(index: Index, body: Mapping[str, Any]) -> int:
    for key in body:
        if key != "query":
            raise parsing(f"request does not support [{key}]")
    searcher, generation = index.snapshot
    compiler = Compiler(index.schema, searcher, index.vocab, generation)
    query = compiler.compile(body.get("query") or {"match_all": {}})
    result: Any = searcher.search(query, 1, count=True)
    return int(result.count)


def empty_result() -> dict[str, Any]:
    return {"took": 0, "timed_out": False, "_shards": {"total": 0, "successful": 0, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": 0, "relation": "eq"}, "max_score": None, "hits": []}}

