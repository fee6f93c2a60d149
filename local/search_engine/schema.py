"""An index's settings and mapping -> a tantivy schema, analyzers and document conversion.

Supported (what the search service's mapping uses, with OpenSearch's meaning):
* analysis: custom analyzers (tokenizer ``standard`` / ``whitespace`` / ``keyword``; filters
  ``lowercase``, ``asciifolding``), custom normalizers (same filters), the built-in analyzers
  ``standard`` (the default), ``simple``, ``whitespace``, ``keyword``;
* field types ``text``, ``keyword`` (``normalizer``, ``ignore_above``), ``search_as_you_type``
  (indexed as its analysed text; its ``._2gram`` / ``._3gram`` / ``._index_prefix`` subfields are
  refused at query time), ``integer`` / ``long`` / ``short`` / ``byte``, ``float`` / ``double``,
  multi-fields (``fields``), ``dynamic: strict`` / ``false``.
Anything else is a 400 at index creation, never a silently different mapping.

The ``standard`` tokenizer is Unicode word segmentation (UAX#29) in Lucene; here it is a regex
with the same outcome on titles, names and prose: runs of letters/digits, joined across an
apostrophe, a period or a colon inside a word ("amélie's", "u.s.a", "3.5"), CJK ideographs one per
token. Lucene also splits a colon between two digits ("2:30"); this one keeps it whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import tantivy

from local.search_engine.errors import EngineError, illegal, unsupported

STANDARD_PATTERN = r"\p{Han}|\p{Hiragana}|[\p{L}\p{M}\p{N}_]+(?:['’.:·][\p{L}\p{M}\p{N}_]+)*"
ID_FIELD = "_id"  # raw keyword: delete-by-id
# Every keyword field also indexes the edge n-grams of its (normalized) value in a hidden field:
# a prefix query on a keyword is then one term (title.exact holds a whole title per document,
# so a prefix like "the" expands to thousands of terms; a term set of 700 cost ~7 ms a query).
# Longer prefixes (rare: a query of more than 64 characters) use a regex over the terms.
PREFIX_SUFFIX = "#prefix"
PREFIX_GRAMS = 64
SEQ_FIELD = "_seq"  # u64 fast field: which stored record a hit is (store.Record)

TEXT_TYPES = frozenset({"text", "search_as_you_type"})
INT_TYPES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1), "short": (-(2**15), 2**15 - 1),
             "byte": (-128, 127)}  # fmt: skip
FLOAT_TYPES = frozenset({"float", "double"})
KNOWN_BUT_UNSUPPORTED = frozenset({"object", "nested", "boolean", "date", "ip", "geo_point", "binary", "flattened",
                                   "half_float", "scaled_float", "unsigned_long", "completion", "match_only_text",
                                   "wildcard", "constant_keyword", "rank_feature", "knn_vector"})  # fmt: skip
SAYT_SUBFIELDS = ("_2gram", "_3gram", "_index_prefix")


class Analyzer:
    """A tantivy analyzer plus the same chain usable from Python (queries, highlighting)."""

    def __init__(self, key: str, tokenizer: str, filters: list[str]) -> None:
        self.key = key  # the tantivy tokenizer name it is registered under
        self.keyword = tokenizer == "keyword"
        self.filters = filters
        self.tantivy = self._build(tokenizer, filters)

    @staticmethod
    def _build(tokenizer: str, filters: list[str]) -> Any:
        tok = {"standard": lambda: tantivy.Tokenizer.regex(STANDARD_PATTERN),
               "__prefix_grams": lambda: tantivy.Tokenizer.ngram(1, PREFIX_GRAMS, True),
               "whitespace": lambda: tantivy.Tokenizer.regex(r"\S+"),
               "letter": lambda: tantivy.Tokenizer.regex(r"\p{L}+"),
               "keyword": tantivy.Tokenizer.raw}.get(tokenizer)  # fmt: skip
        if tok is None:
            raise illegal(f"failed to find tokenizer under name [{tokenizer}]")
        builder = tantivy.TextAnalyzerBuilder(tok())
        for f in filters:
            if f == "lowercase":
                builder = builder.filter(tantivy.Filter.lowercase())
            elif f == "asciifolding":
                builder = builder.filter(tantivy.Filter.ascii_fold())
            else:
                raise illegal(f"failed to find filter under name [{f}]")
        return builder.build()

    def terms(self, text: str) -> list[str]:
        return list(self.tantivy.analyze(text))

    def tokens(self, text: str) -> list[tuple[int, int, str]]:
        """(char start, char end, term) of each token of ``text``."""
        return [(t.char_offset_from, t.char_offset_to, t.text) for t in self.tantivy.pre_tokenize(text).tokens]


BUILTIN_ANALYZERS = {"standard": ("standard", ["lowercase"]), "simple": ("letter", ["lowercase"]),
                     "whitespace": ("whitespace", []), "keyword": ("keyword", [])}  # fmt: skip


@dataclass
class FieldSpec:
    path: str  # "title.exact": also the tantivy field name
    type: str
    source: str  # the top-level _source property its values come from
    analyzer: Analyzer | None = None  # text: analyzer; keyword: normalizer (keyword tokenizer) or None
    ignore_above: int | None = None
    refused: bool = False  # a subfield that exists in OpenSearch but is not implemented here

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES

    @property
    def is_keyword(self) -> bool:
        return self.type == "keyword"

    @property
    def is_numeric(self) -> bool:
        return self.type in INT_TYPES or self.type in FLOAT_TYPES

    def normalize(self, value: str) -> str:
        """What a keyword field indexes for ``value`` (its normalizer applied)."""
        if self.analyzer is None:
            return value
        terms = self.analyzer.terms(value)
        return terms[0] if terms else ""

    def number(self, value: Any) -> int | float:
        """A numeric field's value with OpenSearch's coercion (numeric strings, floats truncated
        for integer types), or a 400 ``mapper_parsing_exception`` as OpenSearch answers."""
        try:
            if isinstance(value, bool):
                raise ValueError
            if self.type in FLOAT_TYPES:
                return float(value)
            if isinstance(value, str):
                try:
                    value = int(value.strip())
                except ValueError:
                    value = float(value)
            out = int(value)  # a float is truncated, as OpenSearch's coercion does
        except (TypeError, ValueError, OverflowError):
            raise EngineError(400, "mapper_parsing_exception",
                              f"failed to parse field [{self.path}] of type [{self.type}]") from None
        low, high = INT_TYPES[self.type]
        if not low <= out <= high:
            raise EngineError(400, "mapper_parsing_exception",
                              f"failed to parse field [{self.path}] of type [{self.type}]: "
                              f"Value [{value}] is out of range for {self.type}")
        return out


@dataclass
class IndexSchema:
    settings: dict[str, Any]
    mappings: dict[str, Any]
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    analyzers: dict[str, Analyzer] = field(default_factory=dict)
    dynamic: str = "true"
    tantivy_schema: Any = None
    prefix_analyzers: dict[str, Analyzer] = field(default_factory=dict)  # edge n-grams per normalizer

    def spec(self, path: str) -> FieldSpec | None:
        spec = self.fields.get(path)
        if spec is not None and spec.refused:
            raise unsupported(f"querying the search_as_you_type subfield [{path}]")
        return spec

    def register(self, index: Any) -> None:
        for analyzer in [*self.analyzers.values(), *self.prefix_analyzers.values()]:
            index.register_tokenizer(analyzer.key, analyzer.tantivy)
            index.register_fast_field_tokenizer(analyzer.key, analyzer.tantivy)

    def document(self, doc_id: str, seq: int, source: Mapping[str, Any]) -> tuple[Any, dict[str, list[Any]]]:
        """The tantivy document of ``source``, and the per-field values sorting reads (normalized
        keywords, numbers). A field the mapping lacks: 400 ``strict_dynamic_mapping_exception``
        (``dynamic: strict``), ignored (``false``), refused otherwise (no dynamic mapping here)."""
        doc = tantivy.Document()
        doc.add_text(ID_FIELD, doc_id)
        doc.add_unsigned(SEQ_FIELD, seq)
        keys: dict[str, list[Any]] = {}
        for name, value in source.items():
            spec = self.fields.get(name)
            if spec is None or "." in name:
                if self.dynamic == "strict":
                    raise EngineError(400, "strict_dynamic_mapping_exception",
                                      f"mapping set to strict, dynamic introduction of [{name}] within [_doc] "
                                      "is not allowed")
                if self.dynamic == "false":
                    continue
                raise unsupported(f"dynamic mapping (field [{name}] is not in the mapping)")
            for path in [name, *(p for p in self.fields if p.startswith(name + ".") and not self.fields[p].refused)]:
                self._add(doc, self.fields[path], value, keys)
        return doc, keys

    def _add(self, doc: Any, spec: FieldSpec, value: Any, keys: dict[str, list[Any]]) -> None:
        for v in _flat(value):
            if v is None:
                continue
            if isinstance(v, dict):
                raise EngineError(400, "mapper_parsing_exception",
                                  f"failed to parse field [{spec.path}] of type [{spec.type}]: an object")
            if spec.is_numeric:
                number = spec.number(v)
                if isinstance(number, float):
                    doc.add_float(spec.path, number)
                else:
                    doc.add_integer(spec.path, number)
                keys.setdefault(spec.path, []).append(number)
                continue
            text = v if isinstance(v, str) else ("true" if v is True else "false" if v is False else str(v))
            if spec.is_keyword:
                if spec.ignore_above is not None and len(text) > spec.ignore_above:
                    continue  # OpenSearch keeps it in _source only
                keys.setdefault(spec.path, []).append(spec.normalize(text))
                doc.add_text(spec.path + PREFIX_SUFFIX, text)
            doc.add_text(spec.path, text)


def _flat(value: Any) -> Iterator[Any]:
    if isinstance(value, list | tuple):
        for v in value:
            yield from _flat(v)
    else:
        yield value


def _analysis(settings: Mapping[str, Any]) -> dict[str, Analyzer]:
    index = settings.get("index", {}) if isinstance(settings.get("index"), dict) else {}
    analysis = settings.get("analysis") or index.get("analysis") or {}
    out: dict[str, Analyzer] = {}
    for name, (tok, filters) in BUILTIN_ANALYZERS.items():
        out[f"a:{name}"] = Analyzer(f"a:{name}", tok, filters)
    for kind in analysis:
        if kind not in ("analyzer", "normalizer"):
            raise unsupported(f"custom analysis [{kind}]")
    for name, spec in (analysis.get("analyzer") or {}).items():
        if spec.get("type", "custom") != "custom":
            if spec["type"] in BUILTIN_ANALYZERS and set(spec) == {"type"}:
                tok, filters = BUILTIN_ANALYZERS[spec["type"]]
                out[f"a:{name}"] = Analyzer(f"a:{name}", tok, filters)
                continue
            raise unsupported(f"analyzer type [{spec['type']}]")
        if "tokenizer" not in spec:
            raise illegal(f"analyzer [{name}] must specify either an analyzer type, or a tokenizer")
        out[f"a:{name}"] = Analyzer(f"a:{name}", spec["tokenizer"], list(spec.get("filter") or []))
    for name, spec in (analysis.get("normalizer") or {}).items():
        if spec.get("type", "custom") != "custom" or spec.get("char_filter"):
            raise unsupported(f"normalizer [{name}] (only custom filters)")
        out[f"n:{name}"] = Analyzer(f"n:{name}", "keyword", list(spec.get("filter") or []))
    return out


def build(settings: Mapping[str, Any], mappings: Mapping[str, Any]) -> IndexSchema:
    """Parse and validate; 400s mirror OpenSearch's ``mapper_parsing_exception`` wording."""
    analyzers = _analysis(settings)
    dynamic = str(mappings.get("dynamic", "true")).lower()
    for key in mappings:
        if key not in ("dynamic", "properties", "_source"):
            raise unsupported(f"mapping parameter [{key}]")
    schema = IndexSchema(dict(settings), dict(mappings), analyzers=analyzers, dynamic=dynamic)
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(ID_FIELD, tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field(SEQ_FIELD, fast=True)

    def analyzer(spec: Mapping[str, Any], path: str, key: str, default: str | None) -> Analyzer | None:
        name = spec.get(key, default)
        if name is None:
            return None
        prefix = "n:" if key == "normalizer" else "a:"
        if prefix + name not in analyzers:
            raise EngineError(400, "mapper_parsing_exception", f"{key} [{name}] not found for field [{path}]")
        return analyzers[prefix + name]

    def add(path: str, spec: Mapping[str, Any], source: str) -> None:
        ftype = spec.get("type", "object" if "properties" in spec else None)
        if ftype is None:
            raise EngineError(400, "mapper_parsing_exception", f"No type specified for field [{path}]")
        if ftype in KNOWN_BUT_UNSUPPORTED:
            raise unsupported(f"field type [{ftype}] (field [{path}])")
        if ftype not in TEXT_TYPES and ftype != "keyword" and ftype not in INT_TYPES and ftype not in FLOAT_TYPES:
            raise EngineError(400, "mapper_parsing_exception", f"No handler for type [{ftype}] declared on field "
                                                               f"[{path}]")
        allowed = {"type", "fields", "analyzer", "search_analyzer", "normalizer", "ignore_above", "max_shingle_size",
                   "index", "doc_values", "store", "norms"}  # fmt: skip
        extra = set(spec) - allowed
        if extra:
            raise unsupported(f"mapping parameter(s) {sorted(extra)} on field [{path}]")
        if spec.get("search_analyzer") not in (None, spec.get("analyzer")):
            raise unsupported(f"a search_analyzer different from the analyzer (field [{path}])")
        if ftype in TEXT_TYPES:
            an = analyzer(spec, path, "analyzer", "standard")
            assert an is not None
            builder.add_text_field(path, tokenizer_name=an.key, index_option="position")
            schema.fields[path] = FieldSpec(path, ftype, source, an)
            if ftype == "search_as_you_type":
                for sub in SAYT_SUBFIELDS:
                    schema.fields[f"{path}.{sub}"] = FieldSpec(f"{path}.{sub}", "text", source, refused=True)
        elif ftype == "keyword":
            an = analyzer(spec, path, "normalizer", None)
            builder.add_text_field(path, fast=True, tokenizer_name=an.key if an else "raw", index_option="basic")
            grams_key = f"p:{an.key if an else 'raw'}"
            if grams_key not in schema.prefix_analyzers:
                schema.prefix_analyzers[grams_key] = Analyzer(grams_key, "__prefix_grams", an.filters if an else [])
            builder.add_text_field(path + PREFIX_SUFFIX, tokenizer_name=grams_key, index_option="basic")
            ignore = spec.get("ignore_above")
            schema.fields[path] = FieldSpec(path, ftype, source, an, int(ignore) if ignore is not None else None)
        elif ftype in INT_TYPES:
            builder.add_integer_field(path, indexed=True, fast=True)
            schema.fields[path] = FieldSpec(path, ftype, source)
        else:
            builder.add_float_field(path, indexed=True, fast=True)
            schema.fields[path] = FieldSpec(path, ftype, source)
        for sub, subspec in (spec.get("fields") or {}).items():
            if "fields" in subspec:
                raise EngineError(400, "mapper_parsing_exception", f"multi-fields of multi-field [{path}.{sub}]")
            add(f"{path}.{sub}", subspec, source)

    for name, spec in (mappings.get("properties") or {}).items():
        add(name, spec, name)
    schema.tantivy_schema = builder.build()
    return schema
