"""OpenSearch query DSL -> tantivy queries, with Lucene's scoring structure.

Implemented: ``bool`` (must / should / filter / must_not, minimum_should_match, boost),
``term``, ``terms``, ``range`` (numeric), ``prefix``, ``match`` (operator, fuzziness,
prefix_length, max_expansions, fuzzy_transpositions, minimum_should_match), ``match_phrase``
(slop), ``multi_match`` (best_fields / most_fields / phrase, ``field^boost``, tie_breaker, the
match options), ``constant_score``, ``dis_max``, ``match_all``, ``match_none``. Any other query
or parameter is a 400, never an approximate answer.

How scores are built, as in Lucene: a term is BM25 on its field (tantivy's BM25, same formula);
``must`` and ``should`` scores add up, ``filter`` and ``must_not`` add nothing; ``best_fields``
is a dis_max of the per-field queries (best field, plus tie_breaker x the others); boosts
multiply; term-level ``prefix``, ``terms``, ``range`` and ``constant_score`` score a constant.

Fuzzy terms (``fuzziness``) are expanded here, over the field's term dictionary, the way Lucene's
FuzzyQuery does: Damerau (OSA) distance with transpositions as one edit, AUTO = 0 edits for
terms of 1-2 characters, 1 for 3-5, 2 for longer; the first ``prefix_length`` characters must
match exactly; the ``max_expansions`` closest terms are kept (ties by term order), each boosted by
its similarity ``1 - edits / min(len)``; and, as Lucene's ``top_terms_blended_freqs`` rewrite
does, every variant scores with the document frequency of the most frequent one, so a rare
misspelling-like word does not outrank the common word the user meant (blending is done with a
boost of idf(max df) / idf(df) on each variant's term query).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import tantivy
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from local.search_engine.errors import EngineError, illegal, parsing, unsupported
from local.search_engine.schema import PREFIX_GRAMS, PREFIX_SUFFIX, FieldSpec, IndexSchema

KNOWN_UNSUPPORTED = frozenset({
    "exists", "fuzzy", "ids", "wildcard", "regexp", "query_string", "simple_query_string", "match_bool_prefix",
    "match_phrase_prefix", "nested", "has_child", "has_parent", "function_score", "script", "script_score",
    "boosting", "geo_distance", "geo_bounding_box", "more_like_this", "intervals", "span_term", "span_near",
    "distance_feature", "rank_feature", "wrapper", "pinned", "combined_fields", "knn", "neural", "terms_set",
})  # fmt: skip
PREFIX_TERM_SET_MAX = 1024
_REGEX_META = set("\\.+*?()|[]{}^$#&-~")


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in _REGEX_META else c for c in text)


@dataclass
class Highlight:
    """What a query matched in one field, for the highlighter: terms and term prefixes."""

    terms: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)


class Vocabulary:
    """A field's term dictionary (sorted terms, document frequencies) for one searcher generation,
    with its terms also grouped by length (a term within k edits is within k characters of the
    query term's length) and the fuzzy expansions computed so far (query words recur: "the",
    "story", "of" are in thousands of titles)."""

    CACHED = 20_000  # expansions kept per field and generation

    def __init__(self, searcher: Any, field_name: str) -> None:
        pairs = sorted(searcher.terms_with_prefix(field_name, ""))
        self.terms = [t for t, _ in pairs]
        self.df = dict(pairs)
        self.by_length: dict[int, list[str]] = {}
        for t in self.terms:  # sorted within each length, as in self.terms
            self.by_length.setdefault(len(t), []).append(t)
        self._near: dict[tuple[str, int, int, int, bool], list[tuple[str, float]]] = {}

    def with_prefix(self, prefix: str, limit: int) -> list[str] | None:
        """The terms starting with ``prefix``, or None when there are more than ``limit``."""
        lo = bisect.bisect_left(self.terms, prefix)
        hi = bisect.bisect_right(self.terms, prefix + "\U0010ffff")
        return self.terms[lo:hi] if hi - lo <= limit else None

    def near(self, term: str, edits: int, prefix_length: int, max_expansions: int,
             transpositions: bool) -> list[tuple[str, float]]:
        """The variants of ``term`` a Lucene FuzzyQuery keeps: (term, similarity), best first."""
        key = (term, edits, prefix_length, max_expansions, transpositions)
        cached = self._near.get(key)
        if cached is not None:
            return cached
        prefix = term[:prefix_length]
        scorer = OSA.distance if transpositions else Levenshtein.distance
        scored = []
        for length in range(max(1, len(term) - edits), len(term) + edits + 1):
            choices = self.by_length.get(length, [])
            if prefix:
                lo = bisect.bisect_left(choices, prefix)
                hi = bisect.bisect_right(choices, prefix + "\U0010ffff")
                choices = choices[lo:hi]
            for cand, dist, _ in process.extract(term, choices, scorer=scorer, score_cutoff=edits, limit=None):
                shortest = min(len(term), len(cand)) or 1
                scored.append((cand, 1.0 - dist / shortest if dist else 1.0))
        scored.sort(key=lambda cs: (-cs[1], cs[0]))
        out = scored[:max_expansions]
        if len(self._near) < self.CACHED:
            self._near[key] = out
        return out


def auto_edits(term: str, low: int = 3, high: int = 6) -> int:
    n = len(term)
    return 0 if n < low else 1 if n < high else 2


def parse_fuzziness(value: Any) -> Any:
    """A callable term -> max edits, for OpenSearch's ``fuzziness`` values."""
    text = str(value).strip().upper()
    if text in ("0", "1", "2"):
        return lambda _t, n=int(text): n
    if text == "AUTO":
        return auto_edits
    m = re.fullmatch(r"AUTO:(\d+),(\d+)", text)
    if m:
        low, high = int(m.group(1)), int(m.group(2))
        return lambda t: auto_edits(t, low, high)
    raise parsing(f"failed to parse fuzziness [{value}]: only 0, 1, 2, AUTO and AUTO:low,high")


def minimum_should_match(value: Any, optional: int) -> int:
    text = str(value).strip()
    m = re.fullmatch(r"(-?)(\d+)(%?)", text)
    if not m:
        raise unsupported(f"minimum_should_match [{value}] (only integers and percentages)")
    n = int(m.group(2))
    if m.group(3):
        n = int(optional * n / 100)
    out = optional - n if m.group(1) else n
    return max(0, min(out, optional))


def _one(qtype: str, body: Any) -> tuple[str, Any]:
    """The single ``{field: params}`` of a field-level query."""
    if not isinstance(body, Mapping):
        raise parsing(f"[{qtype}] query malformed, no start_object after query name")
    fields = [k for k in body if k not in ("boost", "_name")]
    if len(fields) != 1:
        raise parsing(f"[{qtype}] query doesn't support multiple fields, found {fields}" if fields
                      else f"[{qtype}] query requires a field")
    return fields[0], body[fields[0]]


# Lucene caps a fuzzy query's expansions at the boolean clause limit (TopTermsRewrite: min(size,
# IndexSearcher.getMaxClauseCount()), OpenSearch's indices.query.bool.max_clause_count, 1024).
MAX_EXPANSIONS_CAP = 1024
MAX_INT = 2**31 - 1


def _int_opt(qtype: str, name: str, value: Any, *, minimum: int) -> int:
    """An integer option as OpenSearch parses it: 400 for a non-integer or out-of-range value."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise parsing(f"[{qtype}] [{name}] must be an integer, got [{value}]")
    try:
        number = int(value)
    except ValueError:
        raise parsing(f"[{qtype}] failed to parse [{name}]: [{value}] is not an integer") from None
    if number < minimum or number > MAX_INT:
        raise illegal(f"[{qtype}] [{name}] must be between {minimum} and {MAX_INT}, got [{number}]")
    return number


def _check(qtype: str, params: Mapping[str, Any], allowed: set[str]) -> None:
    for key in params:
        if key not in allowed:
            if key in ("_name",):
                continue
            raise parsing(f"[{qtype}] query does not support [{key}]")


class Compiler:
    """Compiles one request's query against one index snapshot (searcher)."""

    def __init__(self, schema: IndexSchema, searcher: Any, vocab: dict[tuple[int, str], Vocabulary],
                 generation: int) -> None:
        self.schema = schema
        self.tschema = schema.tantivy_schema
        self.searcher = searcher
        self.vocab = vocab
        self.generation = generation
        self.highlights: dict[str, Highlight] = {}
        self._num_docs = max(int(searcher.num_docs), 1)

    # ------------------------------------------------------------------ entry
    def compile(self, node: Any, *, negated: bool = False) -> Any:
        if not isinstance(node, Mapping) or len(node) != 1:
            raise parsing("query malformed, must start with start_object and have exactly one query name"
                          if not isinstance(node, Mapping) or not node
                          else f"[{next(iter(node))}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]")
        (qtype, body), = node.items()
        method = getattr(self, f"_q_{qtype}", None)
        if method is None:
            if qtype in KNOWN_UNSUPPORTED:
                raise unsupported(f"the [{qtype}] query")
            raise EngineError(400, "parsing_exception", f"unknown query [{qtype}]", line=1, col=1)
        return method(body, negated)

    def _hl(self, path: str, negated: bool) -> Highlight | None:
        if negated:
            return None
        return self.highlights.setdefault(path, Highlight())

    def _spec(self, path: str) -> FieldSpec | None:
        return self.schema.spec(path)

    @staticmethod
    def _boosted(query: Any, boost: Any) -> Any:
        b = float(boost)
        return query if b == 1.0 else tantivy.Query.boost_query(query, b)

    # ------------------------------------------------------------------ compound
    def _q_bool(self, body: Any, negated: bool) -> Any:
        if not isinstance(body, Mapping):
            raise parsing("[bool] query malformed, no start_object after query name")
        _check("bool", body, {"must", "should", "filter", "must_not", "minimum_should_match", "boost",
                              "adjust_pure_negative"})

        def clauses(key: str, neg: bool) -> list[Any]:
            raw = body.get(key) or []
            raw = raw if isinstance(raw, list) else [raw]
            return [self.compile(c, negated=neg) for c in raw]

        must, should = clauses("must", negated), clauses("should", negated)
        filters, must_not = clauses("filter", negated), clauses("must_not", not negated)
        subs: list[tuple[Any, Any]] = [(tantivy.Occur.Must, q) for q in must]
        subs += [(tantivy.Occur.Must, tantivy.Query.const_score_query(q, 0.0)) for q in filters]
        subs += [(tantivy.Occur.MustNot, q) for q in must_not]
        msm_raw = body.get("minimum_should_match")
        if should:
            # OpenSearch: without must/filter at least one should clause must match, else none.
            required = minimum_should_match(msm_raw, len(should)) if msm_raw is not None else 0
            if not must and not filters:
                required = max(required, 1)
            subs += [(tantivy.Occur.Should, q) for q in should]
            if required == 0:
                query = tantivy.Query.boolean_query(subs)  # should clauses only add to the score
            elif required == 1 and not must and not filters:
                query = tantivy.Query.boolean_query(subs)  # a pure disjunction needs one match
            else:
                query = tantivy.Query.boolean_query(subs, required)
        elif not must and not filters:
            everything = tantivy.Query.all_query()
            if not must_not:
                return self._boosted(everything, body.get("boost", 1.0))  # an empty bool: match_all
            # A pure negative: every other document, scoring 0 (OpenSearch adds a match_all filter).
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, tantivy.Query.const_score_query(everything, 0.0)), *subs])
        else:
            query = tantivy.Query.boolean_query(subs)
        return self._boosted(query, body.get("boost", 1.0))

    def _q_constant_score(self, body: Any, negated: bool) -> Any:
        _check("constant_score", body, {"filter", "boost"})
        if "filter" not in body:
            raise parsing("[constant_score] requires a 'filter' element")
        return tantivy.Query.const_score_query(self.compile(body["filter"], negated=negated),
                                               float(body.get("boost", 1.0)))

    def _q_dis_max(self, body: Any, negated: bool) -> Any:
        _check("dis_max", body, {"queries", "tie_breaker", "boost"})
        queries = [self.compile(q, negated=negated) for q in body.get("queries") or []]
        if not queries:
            return tantivy.Query.empty_query()
        query = tantivy.Query.disjunction_max_query(queries, float(body.get("tie_breaker", 0.0)))
        return self._boosted(query, body.get("boost", 1.0))

    def _q_match_all(self, body: Any, negated: bool) -> Any:
        _check("match_all", body or {}, {"boost"})
        return tantivy.Query.const_score_query(tantivy.Query.all_query(), float((body or {}).get("boost", 1.0)))

    def _q_match_none(self, body: Any, negated: bool) -> Any:
        return tantivy.Query.empty_query()

    # ------------------------------------------------------------------ term level
    def _term_value(self, spec: FieldSpec, value: Any) -> Any:
        if isinstance(value, Mapping | list):
            raise parsing(f"[term] query does not support an array or object value for [{spec.path}]")
        if spec.is_numeric:
            return spec.number(value)
        text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
        return spec.normalize(text) if spec.is_keyword else text

    def _numeric_eq(self, spec: FieldSpec, number: Any) -> Any:
        ftype = tantivy.FieldType.Float if isinstance(number, float) else tantivy.FieldType.Integer
        return tantivy.Query.range_query(self.tschema, spec.path, ftype, number, number)

    def _q_term(self, body: Any, negated: bool) -> Any:
        path, params = _one("term", body)
        if isinstance(params, Mapping):
            _check("term", params, {"value", "boost", "case_insensitive"})
            if params.get("case_insensitive"):
                raise unsupported("term case_insensitive")
            if "value" not in params:
                raise parsing("[term] query requires a value")
            value, boost = params["value"], params.get("boost", 1.0)
        else:
            value, boost = params, body.get("boost", 1.0)
        spec = self._spec(path)
        if spec is None:
            return tantivy.Query.empty_query()  # an unmapped field matches nothing
        term = self._term_value(spec, value)
        if spec.is_numeric:
            return tantivy.Query.const_score_query(self._numeric_eq(spec, term), float(boost))
        hl = self._hl(path, negated)
        if hl is not None:
            hl.terms.add(term)
        return self._boosted(tantivy.Query.term_query(self.tschema, path, term), boost)

    def _q_terms(self, body: Any, negated: bool) -> Any:
        if not isinstance(body, Mapping):
            raise parsing("[terms] query malformed")
        fields = [k for k in body if k != "boost"]
        if len(fields) != 1 or not isinstance(body[fields[0]], list):
            raise parsing("[terms] query requires exactly one field with an array of values")
        path, values = fields[0], body[fields[0]]
        spec = self._spec(path)
        if spec is None or not values:
            return tantivy.Query.empty_query()
        if spec.is_numeric:
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, self._numeric_eq(spec, spec.number(v))) for v in values])
        else:
            terms = [self._term_value(spec, v) for v in values]
            hl = self._hl(path, negated)
            if hl is not None:
                hl.terms.update(terms)
            query = tantivy.Query.term_set_query(self.tschema, path, terms)
        return tantivy.Query.const_score_query(query, float(body.get("boost", 1.0)))

    def _q_range(self, body: Any, negated: bool) -> Any:
        path, params = _one("range", body)
        if not isinstance(params, Mapping):
            raise parsing("[range] query malformed, no start_object after the field name")
        _check("range", params, {"gt", "gte", "lt", "lte", "boost"})
        spec = self._spec(path)
        if spec is None:
            return tantivy.Query.empty_query()
        if not spec.is_numeric:
            raise unsupported(f"a range query on the {spec.type} field [{path}] (numeric fields only)")
        is_float = spec.type in ("float", "double")
        lower = upper = None
        inc_lower = inc_upper = True
        for op in ("gt", "gte", "lt", "lte"):
            if params.get(op) is None:
                continue
            raw = params[op]
            try:
                x = float(raw)
            except (TypeError, ValueError):
                raise EngineError(400, "query_shard_exception",
                                  f"failed to create query: For input string: \"{raw}\"") from None
            if is_float:
                if op in ("gt", "gte"):
                    lower, inc_lower = x, op == "gte"
                else:
                    upper, inc_upper = x, op == "lte"
            else:  # integer bounds as OpenSearch rounds them
                if op == "gte":
                    lower = math.ceil(x)
                elif op == "gt":
                    lower = math.floor(x) + 1
                elif op == "lte":
                    upper = math.floor(x)
                else:
                    upper = math.ceil(x) - 1
        ftype = tantivy.FieldType.Float if is_float else tantivy.FieldType.Integer
        query = tantivy.Query.range_query(self.tschema, path, ftype, lower, upper, inc_lower, inc_upper)
        return tantivy.Query.const_score_query(query, float(params.get("boost", 1.0)))

    def _q_prefix(self, body: Any, negated: bool) -> Any:
        path, params = _one("prefix", body)
        if isinstance(params, Mapping):
            _check("prefix", params, {"value", "boost", "rewrite", "case_insensitive"})
            if params.get("case_insensitive") or params.get("rewrite") not in (None, "constant_score"):
                raise unsupported("prefix case_insensitive / rewrite")
            value, boost = params.get("value"), params.get("boost", 1.0)
        else:
            value, boost = params, 1.0
        if not isinstance(value, str):
            raise parsing("[prefix] query requires a string value")
        spec = self._spec(path)
        if spec is None:
            return tantivy.Query.empty_query()
        if spec.is_numeric:
            raise EngineError(400, "query_shard_exception", f"Can only use prefix queries on keyword and text "
                                                            f"fields - not on [{path}] which is of type [{spec.type}]")
        text = spec.normalize(value) if spec.is_keyword else value  # term-level: a text field's value as is
        hl = self._hl(path, negated)
        if hl is not None:
            hl.prefixes.add(text)
        # Constant score 1 (Lucene's constant_score rewrite). A keyword: its edge n-gram term
        # (schema.PREFIX_SUFFIX).
        if spec.is_keyword and 0 < len(text) <= PREFIX_GRAMS:
            grams = tantivy.Query.term_query(self.tschema, path + PREFIX_SUFFIX, text, "basic")
            return self._boosted(tantivy.Query.const_score_query(grams, 1.0), boost)
        # A text field's words: a term set over the expansions from the cached term dictionary
        # when they are few (building tantivy's regex automaton costs ~1.5 ms a query, a set of
        # a few hundred terms a fraction of that); a keyword's whole values: never listed (a
        # dictionary of every title costs ~80 ms to read after each refresh).
        if spec.is_keyword and spec.ignore_above is not None and len(text) > spec.ignore_above:
            return tantivy.Query.empty_query()  # no indexed value is longer than ignore_above
        expansions = self._vocabulary(path).with_prefix(text, PREFIX_TERM_SET_MAX) if spec.is_text else None
        if expansions is None:
            try:
                query = tantivy.Query.regex_query(self.tschema, path, _regex_escape(text) + ".*")
            except ValueError:  # tantivy's automaton size limit (a prefix of ~500+ characters)
                raise illegal(f"[prefix] on [{path}]: a prefix of {len(text)} characters is longer than this "
                              "local engine can compile (OpenSearch would run it)") from None
        elif not expansions:
            return tantivy.Query.empty_query()
        else:
            query = tantivy.Query.const_score_query(tantivy.Query.term_set_query(self.tschema, path, expansions), 1.0)
        return self._boosted(query, boost)

    # ------------------------------------------------------------------ full text
    def _analyze(self, spec: FieldSpec, text: str) -> list[str]:
        if spec.is_text:
            assert spec.analyzer is not None
            return spec.analyzer.terms(text)
        if spec.is_keyword:
            return [spec.normalize(text)]
        return [text]

    def _vocabulary(self, path: str) -> Vocabulary:
        key = (self.generation, path)
        vocab = self.vocab.get(key)
        if vocab is None:
            vocab = Vocabulary(self.searcher, path)
            # list(): other server threads insert into the dict (a plain iteration could raise).
            for old in [k for k in list(self.vocab) if k[1] == path and k[0] != self.generation]:
                self.vocab.pop(old, None)
            self.vocab[key] = vocab
        return vocab

    def _idf(self, df: int) -> float:
        n = self._num_docs
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _fuzzy(self, spec: FieldSpec, term: str, edits: int, opts: Mapping[str, Any],
               hl: Highlight | None) -> Any:
        vocab = self._vocabulary(spec.path)
        prefix_length = _int_opt("fuzzy", "prefix_length", opts.get("prefix_length", 0), minimum=0)
        max_expansions = _int_opt("fuzzy", "max_expansions", opts.get("max_expansions", 50), minimum=1)
        variants = vocab.near(term, edits, prefix_length, min(max_expansions, MAX_EXPANSIONS_CAP),
                              bool(opts.get("fuzzy_transpositions", True)))
        if not variants:
            return tantivy.Query.empty_query()
        top_idf = self._idf(max(vocab.df.get(t, 1) for t, _ in variants))
        clauses = []
        for t, sim in variants:
            blend = top_idf / max(self._idf(vocab.df.get(t, 1)), 1e-6)
            term_query = tantivy.Query.term_query(self.tschema, spec.path, t)
            clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(term_query, sim * blend)))
            if hl is not None:
                hl.terms.add(t)
        return clauses[0][1] if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)

    def _match_field(self, path: str, text: Any, opts: Mapping[str, Any], negated: bool, *,
                     boost: float = 1.0) -> Any:
        """One field of a match / multi_match: its analysed terms joined by the operator."""
        spec = self._spec(path)
        if spec is None:
            return tantivy.Query.empty_query()
        if not isinstance(text, str | int | float) or isinstance(text, bool):
            raise parsing("[match] query requires a string, number or boolean query")
        text = str(text)
        if spec.is_numeric:
            if opts.get("fuzziness") not in (None, 0, "0"):
                raise EngineError(400, "query_shard_exception", f"Can only use fuzzy queries on keyword and text "
                                                                f"fields - not on [{path}] which is of type "
                                                                f"[{spec.type}]")
            return self._boosted(tantivy.Query.const_score_query(self._numeric_eq(spec, spec.number(text)), 1.0),
                                 boost)
        terms = self._analyze(spec, text)
        if not terms:
            return tantivy.Query.empty_query()  # zero_terms_query: none
        hl = self._hl(path, negated)
        fuzziness = parse_fuzziness(opts["fuzziness"]) if opts.get("fuzziness") is not None else None
        parts = []
        for term in terms:
            edits = fuzziness(term) if fuzziness is not None else 0
            if edits:
                parts.append(self._fuzzy(spec, term, edits, opts, hl))
            else:
                if hl is not None:
                    hl.terms.add(term)
                parts.append(tantivy.Query.term_query(self.tschema, path, term))
        operator = str(opts.get("operator", "or")).lower()
        if operator not in ("or", "and"):
            raise parsing(f"[match] query does not support operator [{opts.get('operator')}]")
        if len(parts) == 1:
            query = parts[0]
        elif operator == "and":
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, p) for p in parts])
        else:
            msm = opts.get("minimum_should_match")
            required = minimum_should_match(msm, len(parts)) if msm is not None else 1
            query = tantivy.Query.boolean_query([(tantivy.Occur.Should, p) for p in parts],
                                                required if required > 1 else None)
        return self._boosted(query, boost)

    MATCH_OPTS = {"query", "operator", "fuzziness", "prefix_length", "max_expansions", "fuzzy_transpositions",
                  "minimum_should_match", "boost", "zero_terms_query", "lenient", "analyzer",
                  "auto_generate_synonyms_phrase_query"}  # fmt: skip

    def _common_opts(self, qtype: str, params: Mapping[str, Any]) -> None:
        if params.get("zero_terms_query", "none") != "none":
            raise unsupported(f"[{qtype}] zero_terms_query other than none")
        if params.get("analyzer") is not None:
            raise unsupported(f"[{qtype}] analyzer (the field's own analyzer is used)")
        if params.get("fuzzy_rewrite") is not None:
            raise unsupported(f"[{qtype}] fuzzy_rewrite")

    def _q_match(self, body: Any, negated: bool) -> Any:
        path, params = _one("match", body)
        if not isinstance(params, Mapping):
            params = {"query": params}
        _check("match", params, self.MATCH_OPTS)
        self._common_opts("match", params)
        if "query" not in params:
            raise parsing("[match] requires query value")
        return self._match_field(path, params["query"], params, negated, boost=float(params.get("boost", 1.0)))

    def _phrase(self, path: str, text: Any, slop: int, negated: bool) -> Any:
        spec = self._spec(path)
        if spec is None:
            return tantivy.Query.empty_query()
        if not spec.is_text:
            return self._match_field(path, text, {}, negated)
        terms = self._analyze(spec, str(text))
        if not terms:
            return tantivy.Query.empty_query()
        hl = self._hl(path, negated)
        if hl is not None:
            hl.terms.update(terms)
        if len(terms) == 1:
            return tantivy.Query.term_query(self.tschema, path, terms[0])
        words: list[str | tuple[int, str]] = list(terms)
        return tantivy.Query.phrase_query(self.tschema, path, words, slop)

    def _q_match_phrase(self, body: Any, negated: bool) -> Any:
        path, params = _one("match_phrase", body)
        if not isinstance(params, Mapping):
            params = {"query": params}
        _check("match_phrase", params, {"query", "slop", "boost", "analyzer", "zero_terms_query"})
        self._common_opts("match_phrase", params)
        slop = _int_opt("match_phrase", "slop", params.get("slop", 0), minimum=0)
        query = self._phrase(path, params.get("query", ""), slop, negated)
        return self._boosted(query, params.get("boost", 1.0))

    def _q_multi_match(self, body: Any, negated: bool) -> Any:
        if not isinstance(body, Mapping):
            raise parsing("[multi_match] query malformed")
        _check("multi_match", body, self.MATCH_OPTS | {"fields", "type", "tie_breaker", "slop"})
        self._common_opts("multi_match", body)
        if "query" not in body:
            raise parsing("No text specified for multi_match query")
        mtype = body.get("type", "best_fields")
        if mtype not in ("best_fields", "most_fields", "phrase"):
            raise unsupported(f"multi_match type [{mtype}]")
        raw_fields = body.get("fields")
        if not raw_fields:
            raise unsupported("multi_match without fields (index.query.default_field)")
        per_field = []
        for raw in raw_fields if isinstance(raw_fields, list) else [raw_fields]:
            name, _, boost = str(raw).partition("^")
            if "*" in name:
                raise unsupported(f"multi_match field pattern [{name}]")
            b = float(boost) if boost else 1.0
            if mtype == "phrase":
                slop = _int_opt("multi_match", "slop", body.get("slop", 0), minimum=0)
                q = self._boosted(self._phrase(name, body["query"], slop, negated), b)
            else:
                q = self._match_field(name, body["query"], body, negated, boost=b)
            per_field.append(q)
        if mtype == "most_fields":
            query = tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in per_field])
        elif len(per_field) == 1:
            query = per_field[0]
        else:
            query = tantivy.Query.disjunction_max_query(per_field, float(body.get("tie_breaker", 0.0)))
        return self._boosted(query, body.get("boost", 1.0))
