"""``SearchEngine`` and ``TitleIndex`` over opensearch-py (OpenSearch Service, or local.search_engine
locally: same REST API)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from search.logic.mapping import ALIAS, BUILDING_ALIAS, INITIAL_INDEX, index_body
from search.logic.ports import EngineUnavailable, SearchEngine, TitleIndex, VersionedDoc

_EMPTY: dict[str, Any] = {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}, "aggregations": {}}



def _unavailable(exc: BaseException) -> bool:
    """Down or overloaded (connection failure, timeout, 5xx), as opposed to a request error."""
    from opensearchpy.exceptions import ConnectionError, TransportError

    if isinstance(exc, ConnectionError):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(exc, TransportError) and (not isinstance(status, int) or status >= 500)


class OpenSearchEngine(SearchEngine):
    def __init__(self, client: Any, alias: str = ALIAS) -> None:
        self._client = client
        self._alias = alias

    def search(self, body: Mapping[str, Any]) -> dict[str, Any]:
        from opensearchpy.exceptions import NotFoundError, TransportError

        if self._client is None:
            raise EngineUnavailable("no search endpoint configured")
        try:
            return dict(self._client.search(index=self._alias, body=dict(body)))
        except NotFoundError as exc:
            if getattr(exc, "error", "") == "index_not_found_exception":
                return _EMPTY  # nothing indexed yet: an empty catalog, not an outage
            raise
        except TransportError as exc:
            if _unavailable(exc):
                raise EngineUnavailable(str(exc)[:200]) from exc
            raise
        except Exception as exc:  # requests' own errors surface unwrapped from some paths
            if exc.__class__.__module__.startswith(("requests", "urllib3")):
                raise EngineUnavailable(str(exc)[:200]) from exc
            raise


class OpenSearchTitleIndex(TitleIndex):
    def __init__(self, client: Any) -> None:
        self._client = client

    def write_targets(self) -> list[str]:
        targets = self.alias_indices(ALIAS)
        if not targets:
            self._create_initial()
            targets = self.alias_indices(ALIAS)
        building = [i for i in self.alias_indices(BUILDING_ALIAS) if i not in targets]
        return targets + building

    def _create_initial(self) -> None:
        from opensearchpy.exceptions import RequestError

        try:
            self.create_index(INITIAL_INDEX)
        except RequestError as exc:
            if "already_exists" not in str(getattr(exc, "error", "")):
                raise
        # Idempotent: two first writers racing both end with the alias on the initial index.
        if not self.alias_indices(ALIAS):
            self.update_aliases([{"add": {"index": INITIAL_INDEX, "alias": ALIAS}}])

    def put(self, index: str, doc: VersionedDoc) -> bool:
        from opensearchpy.exceptions import ConflictError

        try:
            self._client.index(
                index=index,
                id=doc.doc_id,
                body=dict(doc.doc),
                version=doc.version,
                version_type="external",
            )
        except ConflictError:
            return False  # the index holds this version or a newer one
        return True

    def put_many(self, index: str, docs: Sequence[VersionedDoc]) -> tuple[int, int]:
        if not docs:
            return 0, 0
        lines: list[dict[str, Any]] = []
        for d in docs:
            action = {"_index": index, "_id": d.doc_id, "version": d.version, "version_type": "external"}
            lines.append({"index": action})
            lines.append(dict(d.doc))
        response = self._client.bulk(body=lines)
        written = skipped = 0
        failures = []
        for item in response.get("items", []):
            result = item.get("index", {})
            status = int(result.get("status", 500))
            if status < 300:
                written += 1
            elif status == 409:
                skipped += 1
            else:
                failures.append(result.get("error"))
        if failures:
            raise RuntimeError(f"bulk write to {index}: {len(failures)} failed, first: {str(failures[0])[:300]}")
        return written, skipped

    def create_index(self, name: str) -> None:
        self._client.indices.create(index=name, body=index_body())

    def alias_indices(self, alias: str) -> list[str]:
        from opensearchpy.exceptions import NotFoundError

        try:
            return sorted(self._client.indices.get_alias(name=alias).keys())
        except NotFoundError:
            return []

    def update_aliases(self, actions: Sequence[Mapping[str, Any]]) -> None:
        self._client.indices.update_aliases(body={"actions": [dict(a) for a in actions]})

    def refresh(self, index: str) -> None:
        self._client.indices.refresh(index=index)

    def list_indices(self, prefix: str) -> list[str]:
        from opensearchpy.exceptions import NotFoundError

        try:
            return sorted(self._client.indices.get(index=f"{prefix}*").keys())
        except NotFoundError:
            return []

    def delete_index(self, name: str) -> None:
        from opensearchpy.exceptions import NotFoundError

        with contextlib.suppress(NotFoundError):
            self._client.indices.delete(index=name)
