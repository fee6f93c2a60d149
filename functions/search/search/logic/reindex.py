"""Rebuild the index from the catalog table and swap the alias, with no moment of empty answers.

1. create ``titles-<stamp>`` and point ``titles-building`` at it: from then on the indexer writes
   every change to it as well (``TitleIndex.write_targets``);
2. scan the catalog (consistent reads) and bulk-write every title with its version (external
   versioning: a write the indexer already made with a newer version wins);
3. refresh, then ONE ``_aliases`` call moves ``titles`` to the new index and drops
   ``titles-building``: readers see the old index until that call and the full new one after;
4. delete indices older than the previous one (the previous one is kept: a writer that resolved
   the alias just before the swap still lands somewhere that exists).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from search.logic.mapping import ALIAS, BUILDING_ALIAS, INDEX_PREFIX, document, item_version
from search.logic.ports import CatalogTitles, TitleIndex, VersionedDoc

BATCH = 500
T = TypeVar("T")


@dataclass(frozen=True)
class ReindexReport:
    index: str
    previous: list[str]
    deleted: list[str]
    titles: int
    written: int
    skipped: int
    seconds: float


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def new_index_name(now: dt.datetime) -> str:
    return f"{INDEX_PREFIX}{now.strftime('%Y%m%d%H%M%S%f')}"


def catalog_docs(items: Iterable[dict[str, Any]]) -> Iterator[VersionedDoc]:
    for item in items:
        if not item.get("title_id"):
            continue  # not a title item
        version = item_version(item) or 1
        yield VersionedDoc(str(item["title_id"]), document(item, version), version)


def reindex(
    catalog: CatalogTitles,
    index: TitleIndex,
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    progress: Callable[[int], None] = lambda _n: None,
) -> ReindexReport:
    started = now()
    name = new_index_name(started)
    index.create_index(name)
    index.update_aliases([{"add": {"index": name, "alias": BUILDING_ALIAS}}])
    titles = written = skipped = 0
    try:
        for batch in _batches(catalog_docs(catalog.scan()), BATCH):
            w, s = index.put_many(name, batch)
            titles += len(batch)
            written += w
            skipped += s
            progress(titles)
        index.refresh(name)
    except BaseException:
        index.update_aliases([{"remove": {"index": name, "alias": BUILDING_ALIAS}}])
        index.delete_index(name)
        raise
    previous = index.alias_indices(ALIAS)
    actions: list[dict[str, Any]] = [{"remove": {"index": old, "alias": ALIAS}} for old in previous]
    actions += [
        {"add": {"index": name, "alias": ALIAS}},
        {"remove": {"index": name, "alias": BUILDING_ALIAS}},
    ]
    index.update_aliases(actions)
    keep = {name, *previous}
    deleted = [i for i in index.list_indices(INDEX_PREFIX) if i not in keep and i != BUILDING_ALIAS]
    # Only indices older than this run: one another reindex is building right now stays.
    deleted = [i for i in deleted if i < name]
    for old in deleted:
        index.delete_index(old)
    return ReindexReport(
        index=name,
        previous=previous,
        deleted=deleted,
        titles=titles,
        written=written,
        skipped=skipped,
        seconds=(now() - started).total_seconds(),
    )
