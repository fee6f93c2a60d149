"""Ports: what the search logic needs from the outside world. Adapters live in ``search.dal``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class EngineUnavailable(Exception):
    """The search engine did not answer (down, unreachable, timed out, or refused with 5xx)."""


class SearchEngine(ABC):
    """Read side: runs a query body against the alias."""

    @abstractmethod
    def search(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The engine's raw response; an empty result when the alias does not exist yet.
        Raises ``EngineUnavailable``."""


@dataclass(frozen=True)
class VersionedDoc:
    doc_id: str
    doc: Mapping[str, Any]
    version: int


class TitleIndex(ABC):
    """Write side: versioned writes (external versioning) and alias management."""

    @abstractmethod
    def write_targets(self) -> list[str]:
        """The indices a write must reach: the alias's index and, during a reindex, the index being
        built. Creates the first index (and the alias) when there is none."""

    @abstractmethod
    def put(self, index: str, doc: VersionedDoc) -> bool:
        """Write ``doc`` unless the index holds the same or a newer version (then False)."""

    @abstractmethod
    def put_many(self, index: str, docs: Sequence[VersionedDoc]) -> tuple[int, int]:
        """Bulk ``put``: (written, skipped as not newer). Raises on any other failure."""

    @abstractmethod
    def create_index(self, name: str) -> None: ...

    @abstractmethod
    def alias_indices(self, alias: str) -> list[str]:
        """Indices behind ``alias`` ([] when it does not exist)."""

    @abstractmethod
    def update_aliases(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """One atomic ``_aliases`` call."""

    @abstractmethod
    def refresh(self, index: str) -> None: ...

    @abstractmethod
    def list_indices(self, prefix: str) -> list[str]: ...

    @abstractmethod
    def delete_index(self, name: str) -> None: ...


class CatalogTitles(ABC):
    """The catalog table, read-only (contract D: the item is the truth, events only say 'look')."""

    @abstractmethod
    def get(self, title_id: str) -> dict[str, Any] | None:
        """The title item, strongly consistent (an event may arrive right after the write)."""

    @abstractmethod
    def scan(self) -> Iterator[dict[str, Any]]:
        """Every title item."""
