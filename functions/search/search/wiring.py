"""Composition root: the adapters the handlers hand to the logic, built once per warm Lambda.

Env: ``SEARCH_ENDPOINT`` (domain endpoint; empty -> every search answers 503 SEARCH_UNAVAILABLE),
``SEARCH_TIMEOUT_S`` (per search request, default 2 s, no retry: a search box must fail fast),
``CATALOG_TABLE`` (indexer and reindex), ``ACCOUNTS_TABLE`` (the viewer's profile).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from search.logic.ports import CatalogTitles, SearchEngine, TitleIndex

DEFAULT_SEARCH_TIMEOUT_S = 2.0
INDEX_TIMEOUT_S = 10.0
INDEX_RETRIES = 2

_lock = threading.Lock()
_cache: dict[str, Any] = {}


def _once(key: str, build: Callable[[], Any]) -> Any:
    with _lock:
        if key not in _cache:
            _cache[key] = build()
        return _cache[key]


def search_timeout_s() -> float:
    return float(os.environ.get("SEARCH_TIMEOUT_S") or DEFAULT_SEARCH_TIMEOUT_S)


def engine() -> SearchEngine:
    def build() -> SearchEngine:
        from search.dal.opensearch_client import client
        from search.dal.opensearch_index import OpenSearchEngine

        endpoint = os.environ.get("SEARCH_ENDPOINT", "")
        return OpenSearchEngine(client(endpoint, timeout_s=search_timeout_s(), retries=0) if endpoint else None)

    return _once("engine", build)  # type: ignore[no-any-return]


def title_index() -> TitleIndex:
    def build() -> TitleIndex:
        from search.dal.opensearch_client import client
        from search.dal.opensearch_index import OpenSearchTitleIndex

        return OpenSearchTitleIndex(
            client(os.environ["SEARCH_ENDPOINT"], timeout_s=INDEX_TIMEOUT_S, retries=INDEX_RETRIES)
        )

    return _once("index", build)  # type: ignore[no-any-return]


def catalog() -> CatalogTitles:
    def build() -> CatalogTitles:
        import boto3

        from search.dal.catalog_titles import DynamoCatalogTitles

        return DynamoCatalogTitles(boto3.resource("dynamodb").Table(os.environ["CATALOG_TABLE"]))

    return _once("catalog", build)  # type: ignore[no-any-return]


def reset() -> None:
    """Drop the cached adapters and viewer levels (tests change the environment between cases)."""
    from search.dal import viewers

    with _lock:
        _cache.clear()
    viewers.reset()
