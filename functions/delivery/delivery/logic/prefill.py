"""Pre-positioning: when a title is published, fetch through the CDN what its first viewers will
request -- every master and media playlist, every rendition's init segment, and the segments of the
first ``prefill_seconds`` (the player's buffer) -- so those requests are edge hits from the start.

How many copies: the local front door places each object on ``copies`` edges of its ring
(``X-Reelstack-Prefill-Copies``); CloudFront ignores the header (Origin Shield gets warmed). Every
session starts at 0 and many are abandoned early, so the objects of the first ``hot_seconds`` (and the
playlists and init segments every session fetches) are the most requested of any title: they get one
copy more. A publisher's ``expected_popularity`` hint moves the whole title up or down by one.

At most once per title version (the ledger): a redelivered or duplicated event finds the version
DONE (or a live lease) and fills nothing; an older version than the one filled is ignored. A newer
version whose playlists list exactly the init/segment objects of the last fill (an edit, a
re-publish of the same output: names are deterministic) refreshes the playlists only. A fill
that fails part-way releases its lease and raises, so SQS retries it (objects already filled are
edge hits then), and the DLQ receives it after the queue's maxReceiveCount.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from delivery.logic.playlists import MAX_PLAYLIST_BYTES, MediaPlaylist, parse_master, parse_media
from delivery.logic.ports import Cdn, PrefillLedger
from delivery.models.errors import BadEvent, PrefillDenied, PrefillIncomplete
from delivery.models.events import TitlePublished
from delivery.models.prefill import ClaimOutcome, Fetched, ObjectKind, PrefillObject, PrefillResult

_OK = {200, 203, 206, 304}
_DENIED = {401, 403}
_MISSING = {404, 410}


@dataclass(frozen=True)
class PrefillPolicy:
    prefill_seconds: float = 300.0
    hot_seconds: float = 60.0
    base_copies: int = 1
    max_copies: int = 3
    lease_s: int = 360
    concurrency: int = 8
    # Set by the off-peak fill (logic/offpeak.py): the whole title at the copies its popularity rank
    # earned, instead of the publish-time guess below.
    title_copies: int | None = None

    def copies(self, detail: TitlePublished, kind: ObjectKind, start_s: float) -> int:
        if self.title_copies is not None:
            return max(1, min(self.max_copies, self.title_copies))
        n = self.base_copies
        if kind is not ObjectKind.SEGMENT or start_s < self.hot_seconds:
            n += 1
        if detail.expected_popularity == "high":
            n += 1
        elif detail.expected_popularity == "low":
            n -= 1
        return max(1, min(self.max_copies, n))


def title_root(detail: TitlePublished) -> str:
    return f"titles/{detail.title_id}/"


def master_keys(detail: TitlePublished) -> list[str]:
    """The title's master playlist and every tier's master, checked to lie under the title."""
    root = title_root(detail)
    keys = [*([detail.manifest_path] if detail.manifest_path else []), *(tier.master for tier in detail.playback_tiers)]
    out: list[str] = []
    for key in keys:
        if not key.startswith(root) or not key.endswith(".m3u8") or ".." in key.split("/") or "//" in key:
            raise BadEvent(f"playlist {key!r} is not a playlist under {root}")
        if key not in out:
            out.append(key)
    return out


class _Run:
    """One claimed fill: fetches, counts, and remembers what went wrong."""

    def __init__(self, detail: TitlePublished, cdn: Cdn, policy: PrefillPolicy, should_stop: Callable[[], bool]):
        self.detail, self.cdn, self.policy, self.should_stop = detail, cdn, policy, should_stop
        self.result = PrefillResult(detail.title_id, detail.version, ClaimOutcome.CLAIMED)
        self.failed: list[str] = []
        self.denied: list[str] = []
        self.stopped = False
        self._lock = threading.Lock()

    def fetch(self, obj: PrefillObject, keep_body: bool = False) -> Fetched | None:
        """The object's GET, counted; returns it when it succeeded."""
        fetched = self.cdn.get(obj.key, copies=obj.copies, keep_body=keep_body)
        with self._lock:
            return self._count(obj, fetched)

    def _count(self, obj: PrefillObject, fetched: Fetched) -> Fetched | None:
        if fetched.status in _OK:
            self.result.filled += 1
            self.result.bytes += fetched.size
            return fetched
        if fetched.status in _MISSING:
            self.result.missing.append(obj.key)
        elif fetched.status in _DENIED:
            self.denied.append(obj.key)
        else:
            self.failed.append(obj.key)
        return None

    def playlist_text(self, key: str) -> str | None:
        obj = PrefillObject(key, ObjectKind.PLAYLIST, self.policy.copies(self.detail, ObjectKind.PLAYLIST, 0.0))
        fetched = self.fetch(obj, keep_body=True)
        if fetched is None or fetched.body is None or len(fetched.body) > MAX_PLAYLIST_BYTES:
            return None
        return fetched.body.decode("utf-8", errors="replace")

    def _fetch_unless_stopped(self, obj: PrefillObject) -> None:
        # Queued fetches check again when they start: nothing new begins once time is up.
        if self.should_stop():
            self.stopped = True
            return
        self.fetch(obj)

    def run_all(self, pool: ThreadPoolExecutor, objects: Iterable[PrefillObject]) -> None:
        """Fetch in the given order, ``concurrency`` at a time, stopping early when told to."""
        pending = []
        for obj in objects:
            if self.should_stop():
                self.stopped = True
                break
            pending.append(pool.submit(self._fetch_unless_stopped, obj))
            if len(pending) >= self.policy.concurrency * 4:
                pending.pop(0).result()
        for future in pending:
            future.result()


def _objects(
    detail: TitlePublished, policy: PrefillPolicy, playlists: list[MediaPlaylist]
) -> list[PrefillObject]:
    """Init segments first (every rendition needs one before any segment plays), then segments in
    order of where they start, all renditions side by side: a fill cut short still covers the
    beginning of every rendition a player may pick."""
    out: list[PrefillObject] = []
    seen: set[str] = set()
    for playlist in playlists:
        for key in playlist.init_keys:
            if key not in seen:
                seen.add(key)
                out.append(PrefillObject(key, ObjectKind.INIT, policy.copies(detail, ObjectKind.INIT, 0.0)))
    segments = sorted(
        ((segment.start_s, index, segment) for index, p in enumerate(playlists) for segment in p.segments),
        key=lambda item: (item[0], item[1]),
    )
    for start_s, _, segment in segments:
        if segment.key not in seen:
            seen.add(segment.key)
            copies = policy.copies(detail, ObjectKind.SEGMENT, start_s)
            out.append(PrefillObject(segment.key, ObjectKind.SEGMENT, copies, start_s))
    return out


def media_digest(objects: list[PrefillObject]) -> str:
    """Names the set of init/segment objects a fill covers (order-free)."""
    keys = sorted(o.key for o in objects if o.kind is not ObjectKind.PLAYLIST)
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]


def prefill_title(
    detail: TitlePublished,
    cdn: Cdn,
    ledger: PrefillLedger,
    policy: PrefillPolicy = PrefillPolicy(),
    *,
    clock: Callable[[], float] = time.time,
    should_stop: Callable[[], bool] = lambda: False,
) -> PrefillResult:
    masters = master_keys(detail)  # BadEvent before anything is claimed
    if not masters:
        # A series' TitlePublished (metadata only): its episodes announce their own media.
        return PrefillResult(detail.title_id, detail.version, ClaimOutcome.SKIPPED)
    claim = ledger.claim(detail.title_id, detail.version, now=clock(), lease_s=policy.lease_s)
    if claim.outcome is not ClaimOutcome.CLAIMED:
        return PrefillResult(detail.title_id, detail.version, claim.outcome)
    run = _Run(detail, cdn, policy, should_stop)
    root = title_root(detail)
    try:
        with ThreadPoolExecutor(max_workers=policy.concurrency, thread_name_prefix="prefill") as pool:
            media_keys: list[str] = []
            for master in masters:
                text = run.playlist_text(master)
                for key in parse_master(text, master, root) if text else []:
                    if key not in media_keys and key not in masters:
                        media_keys.append(key)
            texts = list(pool.map(run.playlist_text, media_keys))
            playlists = [
                parse_media(text, key, root, policy.prefill_seconds)
                for key, text in zip(media_keys, texts, strict=True)
                if text is not None
            ]
            run.result.renditions = len(playlists)
            objects = _objects(detail, policy, playlists)
            digest = media_digest(objects)
            # A new version (an edit, a re-publish) that lists the very segments the last fill
            # fetched: immutable names, same bytes, already on the edges. Playlists were refreshed above.
            run.result.media_unchanged = claim.previous_media == digest
            if not run.result.media_unchanged:
                run.run_all(pool, objects)
        if run.denied:
            raise PrefillDenied(f"CDN refused the prefill grant for {len(run.denied)} objects, e.g. {run.denied[0]}")
        if run.failed or run.stopped:
            raise PrefillIncomplete(
                f"{len(run.failed)} objects failed"
                + (", out of time" if run.stopped else "")
                + (f", e.g. {run.failed[0]}" if run.failed else "")
            )
    except BaseException:
        ledger.release(detail.title_id, detail.version, now=clock())
        raise
    ledger.complete(
        detail.title_id, detail.version, now=clock(), filled=run.result.filled, size=run.result.bytes, media=digest
    )
    return run.result
