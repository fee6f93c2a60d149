"""How well ANY typeahead ranking can do on bench.search's corpus and query set (issue 14's goal:
a prefix of >= 3 characters has the intended title in the top 5 suggestions, >= 95 %).

    python -m bench.typeahead_bound [--titles 50000] [--queries 600] [--seed 7]

No engine: the bound is a property of the corpus and of how queries are drawn.

* ``bayes_bound``: for each prefix, the 5 titles with the highest posterior probability of being
  the one the viewer wants, P(title | prefix) ∝ popularity(title) × P(prefix | title), where
  P(prefix | title) is exactly bench.search's generator (a cut of 3..min(len, 20) characters, drawn
  uniformly). No ranking can beat it on these queries: it knows the popularity the targets were
  drawn by and the generator itself.
* ``tiered_popularity``: the ranking the service asks the engine for (``suggest_body``: the exact
  title first, then titles starting with the text, then other matches; popularity inside a tier),
  computed in Python: what a perfect engine would score with today's query.

Both for the bench's popularity (``corpus``: Zipf over the base titles, variations 5-50 % of their
base) and, for comparison, a Zipf popularity over every title independently. The last line
printed is one JSON document (docs/benchmarks.md, "Search").
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "functions" / "search", ROOT / "layers" / "shared" / "python"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from search.logic.text import fold  # noqa: E402

from bench.search import TYPEAHEAD_KINDS, Query, corpus, query_set  # noqa: E402

TOP = 5
_WORD = re.compile(r"\w+")


def p_prefix(title: str, prefix: str) -> float:
    """P(the generator types ``prefix`` | the viewer wants ``title``): bench.search.prefix()."""
    hi = max(3, min(len(title), 20))
    cuts = range(3, hi + 1)
    return sum(1 for cut in cuts if title[:cut].rstrip(" :,") == prefix) / len(cuts)


def _bucket(text: str) -> str:
    n = len(text)
    return "3-5" if n <= 5 else "6-10" if n <= 10 else "11+"


def bayes_rank(items: list[dict[str, Any]]) -> Callable[[str], list[str]]:
    by3: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        by3[item["title"][:3]].append(item)

    def rank(text: str) -> list[str]:
        scored = [(float(i["popularity"]) * p_prefix(i["title"], text), i["title"]) for i in by3[text[:3]]]
        return [t for s, t in sorted(scored, reverse=True)[:TOP] if s > 0]

    return rank


def tiered_rank(items: list[dict[str, Any]]) -> Callable[[str], list[str]]:
    """suggest_body's order: exact (folded) title, then starts-with, then titles holding the typed
    words (the last one a prefix) anywhere; popularity desc, then the folded title, inside a tier."""
    folded = [(fold(i["title"]), float(i["popularity"]), i["title"]) for i in items]
    words = [(f, set(_WORD.findall(f)), p, t) for f, p, t in folded]

    def rank(text: str) -> list[str]:
        q = fold(text)
        typed = _WORD.findall(q)
        if not typed:
            return []
        *complete, last = typed
        hits = []
        for f, ws, pop, title in words:
            if not any(w.startswith(last) for w in ws) or not all(c in ws for c in complete):
                continue
            tier = 40 if f == q else 12 if f.startswith(q) else 1
            hits.append((-tier, -pop, f, title))
        return [h[3] for h in sorted(hits)[:TOP]]

    return rank


def score(rank: Callable[[str], list[str]], queries: list[Query]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in TYPEAHEAD_KINDS:
        mine = [q for q in queries if q.kind == kind]
        hits = [q.target in rank(q.text) for q in mine]
        buckets: dict[str, list[bool]] = defaultdict(list)
        for q, ok in zip(mine, hits, strict=True):
            buckets[_bucket(q.text)].append(ok)
        out[kind] = {
            "n": len(hits),
            "top5": round(sum(hits) / max(1, len(hits)), 4),
            "by_prefix_chars": {k: round(sum(v) / len(v), 4) for k, v in sorted(buckets.items())},
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.typeahead_bound")
    ap.add_argument("--titles", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=600, help="typeahead queries per kind")
    ap.add_argument("--seed", type=int, default=7, help="corpus seed (bench.search's default)")
    args = ap.parse_args(argv)

    items = corpus(args.titles, args.seed)
    shuffled = list(range(1, len(items) + 1))
    random.Random(args.seed + 1).shuffle(shuffled)
    per_title = [dict(i, popularity=1000.0 / r) for i, r in zip(items, shuffled, strict=True)]
    result: dict[str, Any] = {"titles": len(items), "top": TOP}
    for name, corpus_items in (("bench_popularity", items), ("zipf_per_title", per_title)):
        queries = [q for q in query_set(corpus_items, args.queries, random.Random(args.seed + 2))
                   if q.kind in TYPEAHEAD_KINDS]
        result[name] = {
            "bayes_bound": score(bayes_rank(corpus_items), queries),
            "tiered_popularity": score(tiered_rank(corpus_items), queries),
        }
        print(name, json.dumps(result[name]), file=sys.stderr, flush=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
