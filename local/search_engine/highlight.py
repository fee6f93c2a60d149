"""Highlighting: each matched term of a field wrapped in the pre/post tags, as OpenSearch's
unified highlighter answers for the options the service sends.

* ``require_field_match`` (OpenSearch's default): a field is highlighted with what the query
  matched IN THAT FIELD (terms, fuzzy variants, prefixes), never with must_not clauses;
* ``number_of_fragments: 0``: the whole value of each matching value of the field;
* otherwise up to ``number_of_fragments`` (default 5) fragments of about ``fragment_size``
  (default 100) characters: sentences with the most matches, in the order of the text.
Only text and keyword fields; a field without a match is absent from ``highlight``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from local.search_engine.dsl import Highlight
from local.search_engine.errors import unsupported
from local.search_engine.schema import FieldSpec, IndexSchema

_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+\s*|$)")
ALLOWED = {"pre_tags", "post_tags", "fields", "number_of_fragments", "fragment_size", "require_field_match", "type",
           "no_match_size", "order"}  # fmt: skip


def validate(spec: Mapping[str, Any]) -> None:
    for opts in [spec, *(spec.get("fields") or {}).values()]:
        extra = set(opts or {}) - ALLOWED
        if extra:
            raise unsupported(f"highlight option(s) {sorted(extra)}")
        if (opts or {}).get("require_field_match") is False:
            raise unsupported("highlight require_field_match false")
        if (opts or {}).get("type") not in (None, "unified"):
            raise unsupported(f"highlighter type [{opts['type']}]")
        if (opts or {}).get("no_match_size"):
            raise unsupported("highlight no_match_size")


def _marked(spec: FieldSpec, text: str, hl: Highlight, pre: str, post: str) -> tuple[str, int]:
    if spec.is_keyword:
        norm = spec.normalize(text)
        hit = norm in hl.terms or any(norm.startswith(p) for p in hl.prefixes)
        return (f"{pre}{text}{post}", 1) if hit else (text, 0)
    assert spec.analyzer is not None
    out: list[str] = []
    last = hits = 0
    for start, end, term in spec.analyzer.tokens(text):
        if term in hl.terms or any(term.startswith(p) for p in hl.prefixes):
            out += [text[last:start], pre, text[start:end], post]
            last = end
            hits += 1
    out.append(text[last:])
    return "".join(out), hits


def _fragments(spec: FieldSpec, text: str, hl: Highlight, pre: str, post: str, size: int,
               count: int) -> list[tuple[int, int, str]]:
    """(matches, position, fragment) of the best sentences, each cut to about ``size`` chars."""
    found = []
    for m in _SENTENCE.finditer(text):
        sentence = m.group(0).strip()
        if not sentence:
            continue
        if len(sentence) > size:
            sentence = sentence[:size].rsplit(" ", 1)[0] if " " in sentence[:size] else sentence[:size]
        marked, hits = _marked(spec, sentence, hl, pre, post)
        if hits:
            found.append((hits, m.start(), marked))
    best = sorted(found, key=lambda f: (-f[0], f[1]))[:count]
    return sorted(best, key=lambda f: f[1])


def highlight(schema: IndexSchema, spec: Mapping[str, Any], source: Mapping[str, Any],
              matched: Mapping[str, Highlight]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    g_pre = (spec.get("pre_tags") or ["<em>"])[0]
    g_post = (spec.get("post_tags") or ["</em>"])[0]
    for name, opts in (spec.get("fields") or {}).items():
        opts = opts or {}
        hl = matched.get(name)
        fspec = schema.fields.get(name)
        if hl is None or fspec is None or not (fspec.is_text or fspec.is_keyword):
            continue
        pre = (opts.get("pre_tags") or [g_pre])[0]
        post = (opts.get("post_tags") or [g_post])[0]
        count = int(opts.get("number_of_fragments", spec.get("number_of_fragments", 5)))
        size = int(opts.get("fragment_size", spec.get("fragment_size", 100)))
        raw = source.get(fspec.source)
        values = [v for v in (raw if isinstance(raw, list) else [raw]) if isinstance(v, str)]
        fragments: list[str] = []
        if count == 0:
            for value in values:
                marked, hits = _marked(fspec, value, hl, pre, post)
                if hits:
                    fragments.append(marked)
        else:
            scored = [f for value in values for f in _fragments(fspec, value, hl, pre, post, size, count)]
            fragments = [f[2] for f in sorted(scored, key=lambda f: -f[0])[:count]]
        if fragments:
            out[name] = fragments
    return out
