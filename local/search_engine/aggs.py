"""Aggregations: ``terms`` and ``histogram`` over keyword and numeric fields, computed by tantivy
over every document the query matches (one shard: counts are exact), in OpenSearch's shapes.

``terms``: buckets by doc_count desc, then key asc (OpenSearch's default order), ``size``
(default 10), ``min_doc_count`` (default 1), ``sum_other_doc_count``; on a text field a 400 as
OpenSearch answers (fielddata is disabled). ``histogram``: ``interval``, ``min_doc_count``
(default 0: empty buckets between the first and the last), ``offset``; float keys. Sub-aggregations
and other types are refused with a 400."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local.search_engine.errors import EngineError, illegal, parsing, unsupported
from local.search_engine.schema import IndexSchema

KNOWN_UNSUPPORTED = frozenset({"avg", "sum", "min", "max", "stats", "cardinality", "range", "date_histogram",
                               "filter", "filters", "nested", "top_hits", "significant_terms", "composite",
                               "value_count", "percentiles", "extended_stats", "missing", "global"})  # fmt: skip
EXACT_SEGMENT_SIZE = 1 << 30  # per-segment term lists are not cut: counts are exact


def _fielddata(field: str) -> EngineError:
    return illegal(f"Text fields are not optimised for operations that require per-document field data like "
                   f"aggregations and sorting, so these operations are disabled by default. Please use a keyword "
                   f"field instead. Alternatively, set fielddata=true on [{field}] in order to load field data by "
                   f"uninverting the inverted index. Note that this can use significant memory.")


def plan(schema: IndexSchema, aggs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tantivy aggregation request, what to answer for aggregations over unmapped fields)."""
    if not isinstance(aggs, Mapping):
        raise parsing("[aggs] must be an object")
    request: dict[str, Any] = {}
    empty: dict[str, Any] = {}
    for name, spec in aggs.items():
        if not isinstance(spec, Mapping):
            raise parsing(f"Expected [START_OBJECT] under [{name}]")
        kinds = [k for k in spec if k != "meta"]
        if any(k in ("aggs", "aggregations") for k in kinds):
            raise unsupported("sub-aggregations")
        if len(kinds) != 1:
            raise parsing(f"Found two aggregation type definitions in [{name}]" if kinds
                          else f"Missing definition for aggregation [{name}]")
        kind, body = kinds[0], spec[kinds[0]]
        if kind not in ("terms", "histogram"):
            if kind in KNOWN_UNSUPPORTED:
                raise unsupported(f"the [{kind}] aggregation")
            raise EngineError(400, "parsing_exception", f"Unknown aggregation type [{kind}] did you mean [terms]?")
        field = body.get("field")
        if not isinstance(field, str):
            raise illegal(f"Required one of fields [field, script], but none were specified. (aggregation [{name}])")
        fspec = schema.fields.get(field)
        if fspec is None:
            empty[name] = ({"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": []}
                           if kind == "terms" else {"buckets": []})
            continue
        if fspec.is_text:
            raise _fielddata(field)
        if kind == "terms":
            allowed = {"field", "size", "min_doc_count", "order", "shard_size"}
            if set(body) - allowed:
                raise unsupported(f"terms aggregation parameter(s) {sorted(set(body) - allowed)}")
            order = body.get("order")
            if order not in (None, {"_count": "desc"}, [{"_count": "desc"}, {"_key": "asc"}]):
                raise unsupported(f"terms aggregation order {order}")
            size = int(body.get("size", 10))
            if size < 1:
                raise illegal(f"[size] must be greater than 0. Found [{size}] in [{name}]")
            request[name] = {"terms": {"field": field, "size": size, "segment_size": EXACT_SEGMENT_SIZE,
                                       "min_doc_count": int(body.get("min_doc_count", 1))}}
        else:
            if fspec.is_keyword:
                raise illegal(f"Field [{field}] of type [keyword] is not supported for aggregation [histogram]")
            allowed = {"field", "interval", "min_doc_count", "offset"}
            if set(body) - allowed:
                raise unsupported(f"histogram aggregation parameter(s) {sorted(set(body) - allowed)}")
            interval = float(body.get("interval", 0))
            if interval <= 0:
                raise illegal(f"[interval] must be >0 for histogram aggregation [{name}]")
            request[name] = {"histogram": {"field": field, "interval": interval,
                                           "min_doc_count": int(body.get("min_doc_count", 0)),
                                           "offset": float(body.get("offset", 0))}}
    return request, empty


def run(searcher: Any, query: Any, schema: IndexSchema, aggs: Mapping[str, Any]) -> dict[str, Any]:
    request, out = plan(schema, aggs)
    if not request:
        return out
    raw = searcher.aggregate(query, request)
    for name, spec in request.items():
        result = raw.get(name) or {}
        if "terms" in spec:
            fspec = schema.fields[spec["terms"]["field"]]
            buckets = [{"key": _key(fspec, b["key"]), "doc_count": int(b["doc_count"])}
                       for b in result.get("buckets", [])]
            buckets.sort(key=lambda b: (-b["doc_count"], b["key"]))
            shown = buckets[: spec["terms"]["size"]]
            other = int(result.get("sum_other_doc_count", 0)) + sum(b["doc_count"] for b in buckets[len(shown):])
            out[name] = {"doc_count_error_upper_bound": 0, "sum_other_doc_count": other, "buckets": shown}
        else:
            out[name] = {"buckets": [{"key": float(b["key"]), "doc_count": int(b["doc_count"])}
                                     for b in result.get("buckets", [])]}
    return {name: out[name] for name in aggs if name in out}


def _key(fspec: Any, key: Any) -> Any:
    if fspec.is_numeric and fspec.type not in ("float", "double"):
        return int(key)
    return key
