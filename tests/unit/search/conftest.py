"""Fixtures of the search unit tests: a real OpenSearch-compatible engine, fakes of the catalog
table, and an indexer helper.

The engine is the local cloud's (``local.search_engine``, tantivy; a fresh in-process server per
test, so every test starts with no index). ``test_engine.py`` also runs every test against
osmem-server (a clone per test), the previous stand-in: the same query bodies and the same asserted
ranks on two independent implementations of the REST API is the evidence that the service's
queries do not lean on one engine's quirks, which matters because in AWS a third one
(OpenSearch Service) answers them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_REPO = Path(__file__).resolve().parents[3]
for _path in (_REPO / "layers" / "shared" / "python", _REPO / "functions" / "search", _REPO):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from search import wiring  # noqa: E402
from search.dal.opensearch_client import client  # noqa: E402
from search.dal.opensearch_index import OpenSearchEngine, OpenSearchTitleIndex  # noqa: E402
from search.logic.indexing import index_event  # noqa: E402
from search.logic.ports import CatalogTitles  # noqa: E402


class FakeCatalog(CatalogTitles):
    """The catalog table as a dict of title items (the layout the catalog service writes)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get(self, title_id: str) -> dict[str, Any] | None:
        item = self.items.get(title_id)
        return dict(item) if item else None

    def scan(self) -> Iterator[dict[str, Any]]:
        return iter([dict(i) for i in self.items.values()])

    def put(self, title_id: str, title: str, *, version: int = 1, **fields: Any) -> dict[str, Any]:
        item = {
            "pk": f"TITLE#{title_id}",
            "sk": "META",
            "title_id": title_id,
            "title": title,
            "version": version,
            "status": "READY",
            "language": "en",
            "year": 2001,
            "genres": ["Drama"],
            "cast": [],
            "description": "",
            "maturity_rating": "PG",
            **fields,
        }
        self.items[title_id] = item
        return item


def event(title_id: str, version: int, detail_type: str = "TitleUpdated") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "e",
        "source": "reelstack.catalog",
        "detail-type": detail_type,
        "detail": {"title_id": title_id, "version": version},
    }


class Engine:
    """The engine behind one test: the read and write adapters plus helpers."""

    def __init__(self, url: str, catalog: FakeCatalog) -> None:
        self.url = url
        self.client = client(url, timeout_s=5, retries=0)
        self.engine = OpenSearchEngine(self.client)
        self.index = OpenSearchTitleIndex(self.client)
        self.catalog = catalog

    def publish(self, title_id: str, title: str, *, version: int = 1, refresh: bool = True, **fields: Any) -> Any:
        self.catalog.put(title_id, title, version=version, **fields)
        result = index_event(event(title_id, version), self.catalog, self.index)
        if refresh:
            self.refresh()
        return result

    def refresh(self) -> None:
        self.client.indices.refresh(index="titles")


@pytest.fixture(scope="session")
def osmem_server() -> Iterator[Any]:
    """The plugin's server without Japanese analysis, as the local cloud runs it (with it, the
    first index creation loads a dictionary for ~6 s)."""
    from osmem_server import OsmemServer

    server = OsmemServer.start(japanese=False)
    yield server
    server.close()


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def engine_kind() -> str:
    """Which engine ``engine`` runs: "local" (local.search_engine) unless a test module
    parametrizes it (test_engine.py: both)."""
    return "local"


@pytest.fixture
def search_url(engine_kind: str, request: pytest.FixtureRequest) -> Iterator[str]:
    if engine_kind == "osmem":
        clone = request.getfixturevalue("osmem_server").clone()
        yield clone.url
        clone.close()
        return
    from local.search_engine import serve

    server = serve()
    yield server.url
    server.close()


@pytest.fixture
def engine(search_url: str, catalog: FakeCatalog, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("SEARCH_ENDPOINT", search_url)
    wiring.reset()
    yield Engine(search_url, catalog)
    wiring.reset()
