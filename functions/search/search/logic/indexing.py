"""Catalog events -> index writes, idempotent by title id and version.

An event (contract D: ``title_id`` and ``version`` in every detail) only says "this title changed";
the catalog item is read (strongly consistent) and indexed with ITS version as the document's
external version. The engine keeps a write only if that version is newer than what it holds, so:
* redelivered or reordered events are harmless (same or older version -> skipped);
* an event newer than the item read (a read that raced the write: should not happen with a
  consistent read, but an event is never dropped on it) raises ``StaleRead``: SQS redelivers it;
* withdrawal is a newer version whose document is not READY: it leaves results at once and an
  older event cannot bring it back (its version is lower).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from search.logic.mapping import document, gone, item_version
from search.logic.ports import CatalogTitles, TitleIndex, VersionedDoc

EVENT_TYPES = frozenset({"TitlePublished", "TitleUpdated", "TitleWithdrawn"})


class StaleRead(Exception):
    """The catalog item is older than the event announcing it: retry later."""


class BadEvent(ValueError):
    """An event that can never be indexed (no title id / version): not retried."""


@dataclass(frozen=True)
class Indexed:
    title_id: str
    version: int
    written: int  # indices that took the write
    skipped: int  # indices that already held this version or a newer one


def parse_event(event: Mapping[str, Any]) -> tuple[str, int]:
    """(title_id, version) of an EventBridge event of one of ``EVENT_TYPES``."""
    detail_type = event.get("detail-type")
    if detail_type not in EVENT_TYPES:
        raise BadEvent(f"unexpected detail-type {detail_type!r}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise BadEvent("event without a detail")
    title_id, version = detail.get("title_id"), detail.get("version")
    if not isinstance(title_id, str) or not title_id or len(title_id) > 128:
        raise BadEvent("detail.title_id missing or invalid")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BadEvent("detail.version missing or invalid")
    return title_id, version


def versioned_document(title_id: str, event_version: int, item: Mapping[str, Any] | None) -> VersionedDoc:
    """What to write for a title given the event's version and the item just read."""
    if item is None:
        # The catalog no longer has it: a non-READY document at the event's version.
        return VersionedDoc(title_id, gone(title_id, event_version), event_version)
    version = item_version(item)
    if version is None:
        version = event_version  # an item written before versions existed: the event orders it
    elif version < event_version:
        raise StaleRead(f"{title_id}: item version {version} < event version {event_version}")
    return VersionedDoc(title_id, document(item, version), version)


def index_event(event: Mapping[str, Any], catalog: CatalogTitles, index: TitleIndex) -> Indexed:
    title_id, event_version = parse_event(event)
    doc = versioned_document(title_id, event_version, catalog.get(title_id))
    written = skipped = 0
    for target in index.write_targets():
        if index.put(target, doc):
            written += 1
        else:
            skipped += 1
    return Indexed(title_id, doc.version, written, skipped)
