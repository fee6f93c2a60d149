"""A local search engine speaking OpenSearch's REST API, on tantivy (Rust, BM25), for the local
cloud and the search tests: the subset of the API the search service uses, with OpenSearch's
semantics and shapes, anything else refused with OpenSearch's error shape.

    python -m local.search_engine --port 9200 [--parent-pid PID]

or in-process: ``local.search_engine.serve(port=0)`` -> a server with ``.url`` and ``.close()``.
Why it exists: osmem-server (the previous stand-in) expands fuzzy terms in 40 ms-0.8 s at 50k
titles, so the search goals (engine p99 <= 20 ms) could not be measured locally
(docs/benchmarks.md, "Search"). Modules: ``schema`` (mapping -> tantivy schema, analyzers),
``dsl`` (query DSL -> tantivy queries, fuzzy expansion), ``aggs``, ``highlight``, ``store``
(indices, aliases, versions, refresh), ``searching`` (sort, paging, hits), ``server`` (HTTP).
"""

from __future__ import annotations

from typing import Any

__all__ = ["SearchEngineServer", "serve"]


def __getattr__(name: str) -> Any:
    # Lazy: the local cloud imports local.search_engine.process from a worker thread while other
    # threads import moto and requests; importing the server (and local.edge) there as well raced
    # into a half-initialised requests module.
    if name in __all__:
        from local.search_engine import server

        return getattr(server, name)
    raise AttributeError(name)
