"""Fixtures of the search unit tests: a real OpenSearch-compatible engine (osmem-server, a clone
per test so every test starts with no index), fakes of the catalog table, and an indexer helper."""

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
def engine(osmem_url: str, catalog: FakeCatalog, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("SEARCH_ENDPOINT", osmem_url)
    wiring.reset()
    yield Engine(osmem_url, catalog)
    wiring.reset()
