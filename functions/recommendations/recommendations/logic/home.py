"""GET /home: the profile's rows, in display order, from its stored document (or scored now), with
live rows (continue watching, trending, sponsored, new) and serve-time rules; the fallback rows
when a dependency fails.

Display order (issue 15): Continue watching, Because you watched X, Others like you also watched,
Trending now, Sponsored, New on Reelstack (then Popular, the cold-start row). Sponsored titles are
claimed first (the placement is paid for), then every other row in display order: no title shows
twice. Every title is checked again here, whatever the document says: it must exist, be READY,
be allowed by the profile's maturity, and not be thumbed down.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reelstack_common.maturity import title_level

from recommendations.logic import documents, history, mapping, trending
from recommendations.logic.caches import (
    CampaignCache,
    FallbackCache,
    ModelCache,
    RatingsCache,
    TitleCache,
    TrendingCache,
)
from recommendations.logic.documents import CorruptDocument
from recommendations.logic.ports import (
    CampaignRecord,
    CatalogTitle,
    DependencyFailed,
    HistoryHead,
    HomeStore,
    Rating,
    RatingStore,
    StoredHome,
    ViewHistory,
    ViewState,
)

ROW_ITEMS = documents.MAX_ROW_ITEMS
MIN_LANGUAGE_TRENDING = 4  # fewer trending titles in the profile's language: use every language's


@dataclass(frozen=True)
class HomeViewer:
    """The profile the page is for (from reelstack_common.viewer.Viewer)."""

    profile_id: str
    language: str
    maturity_rating: str
    kids: bool

    @property
    def tier(self) -> str:
        return mapping.tier(self.maturity_rating, self.kids)

    @property
    def level(self) -> int:
        return mapping.TIERS.index(self.tier)


@dataclass
class HomeDeps:
    home: HomeStore
    history: ViewHistory
    ratings: RatingStore
    titles: TitleCache
    campaigns: CampaignCache
    trending: TrendingCache
    models: ModelCache
    fallback: FallbackCache
    clock: Callable[[], float] = time.time
    ratings_cache: RatingsCache | None = None  # live pages: ratings unchanged since the last read


@dataclass
class HomePage:
    profile_id: str
    source: str  # precomputed | live | fallback
    rows: list[dict[str, Any]]
    model_version: str | None = None
    generated_at: str | None = None
    fallback_reason: str | None = None

    @property
    def fallback(self) -> bool:
        return self.source == "fallback"

    def body(self) -> dict[str, Any]:
        return {
            "profile_id": self.profile_id,
            "source": self.source,
            "fallback": self.fallback,
            "model_version": self.model_version,
            "generated_at": self.generated_at,
            "rows": self.rows,
        }


class NoModel(DependencyFailed):
    def __init__(self) -> None:
        super().__init__("model", "no model has been published yet")


# The reads one page needs are independent: they go out together (see page_for), and the
# write-back of a live page overlaps its composition (see _personal).
_reads = ThreadPoolExecutor(max_workers=8, thread_name_prefix="home-read")


@dataclass(frozen=True)
class FirstRead:
    """The viewer, and the stored document and history head when they came in the same round trip
    (``stored_read``)."""

    viewer: HomeViewer
    stored: StoredHome | None = None
    stored_read: bool = False
    head: HistoryHead | None = None


@dataclass(frozen=True)
class Prefetched:
    stored: Future[StoredHome | None]
    views: Future[list[ViewState]]
    seed_history: bool = False  # no history head: the views came from the playback table


def page_for(
    first: Callable[[], FirstRead],
    profile_id: str,
    deps: HomeDeps,
    *,
    on_write_error: Callable[[Exception], None] | None = None,
) -> HomePage:
    """GET /home in one round trip: ``first`` reads the viewer, the stored document and the history
    head together (``logic.viewers.first_read``); when it gives the viewer alone (the warm cache, or
    the combined read failed) the document and the head are read here, again in one round trip.
    Only a profile without a history head (logic/history.py: none yet, or written before the
    projector existed) reads the playback table's history, and seeds the head for the next page.
    Nothing is read before ``first`` has confirmed the profile is the caller's (else it raises)."""
    read = first()
    head: HistoryHead | None = None
    stored: Future[StoredHome | None] = Future()
    if read.stored_read:
        stored.set_result(read.stored)
        head = read.head
    else:
        try:
            doc, head = deps.home.get_page(profile_id)
            stored.set_result(doc)
        except Exception as exc:  # judged by _personal (the fallback), like any store failure
            stored.set_exception(exc)
    views: Future[list[ViewState]] = Future()
    if head is not None:
        views.set_result(list(head.views))
    elif stored.exception() is None:
        views = _reads.submit(deps.history.for_profile, profile_id)
    else:
        views.set_result([])  # never used: the store failed, the page is the fallback
    prefetched = Prefetched(stored, views, seed_history=head is None)
    return home_page(read.viewer, deps, on_write_error=on_write_error, prefetched=prefetched)


def home_page(
    viewer: HomeViewer,
    deps: HomeDeps,
    *,
    on_write_error: Callable[[Exception], None] | None = None,
    prefetched: Prefetched | None = None,
) -> HomePage:
    """The page; any dependency failure or a corrupt document gives the fallback page instead."""
    try:
        return _personal(viewer, deps, on_write_error, prefetched)
    except DependencyFailed as exc:
        return fallback_page(viewer, deps, reason=exc.source)
    except CorruptDocument:
        return fallback_page(viewer, deps, reason="corrupt")


# --- the personal page ------------------------------------------------------------------------


def _guarded(source: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except DependencyFailed:
        raise
    except Exception as exc:
        raise DependencyFailed(source, f"{type(exc).__name__}: {exc}") from exc


def _personal(
    viewer: HomeViewer,
    deps: HomeDeps,
    on_write_error: Callable[[Exception], None] | None,
    pre: Prefetched | None = None,
) -> HomePage:
    now = deps.clock()
    ratings: Future[list[Rating]] | None = None
    seeded: list[Future[bool]] = []
    if pre is not None:
        stored: StoredHome | None = _guarded("store", pre.stored.result)
        if _surely_live(stored):
            # The page will be scored now: its one large read (the ratings) starts while the view
            # history is still on its way, not after it.
            ratings = _reads.submit(_ratings, deps, viewer.profile_id, stored)
        views: list[ViewState] = _guarded("playback", pre.views.result)
        if pre.seed_history:  # the next page reads the head instead (awaited with the write-back)
            head = history.seed(viewer.profile_id, views)  # each part only if there is none (put_part)
            seeded = [_reads.submit(deps.home.put_part, part, None) for part in (head.titles, head.progress)]
    else:
        stored = _guarded("store", lambda: deps.home.get(viewer.profile_id))
        views = _guarded("playback", lambda: deps.history.for_profile(viewer.profile_id))
    try:
        key = mapping.history_key(views)
        doc: dict[str, Any] | None = None
        if stored is not None and stored.doc_json is not None:
            doc = documents.parse(stored.doc_json)
            fresh = stored.history_key == key and stored.ratings_at <= stored.data_at
            # A document built for a looser maturity (the profile's setting was tightened) is rebuilt.
            fresh = fresh and int(doc.get("max_maturity_level", 99)) <= viewer.level
        else:
            fresh = False
        source = "precomputed"
        write: Future[bool] | None = None
        if not fresh:
            doc, write = live_document(viewer, views, deps, now, stored, key, ratings)
            source = "live"
        assert doc is not None
        try:
            rows = compose(viewer, doc, views, deps, now)
        finally:
            if write is not None:
                _await_write(write, on_write_error)
        return HomePage(viewer.profile_id, source, rows, str(doc.get("model_version") or ""), doc.get("generated_at"))
    finally:
        for seed in seeded:  # also when the page turned out to be the fallback
            _await_write(seed, on_write_error)


def _ratings(deps: HomeDeps, profile_id: str, stored: StoredHome | None) -> list[Rating]:
    """The profile's ratings: from the warm cache when the ratings mark the page read is the one
    they were read under, else one consistent Query."""
    if deps.ratings_cache is None:
        return deps.ratings.for_profile(profile_id)
    return deps.ratings_cache.for_profile(profile_id, stored.ratings_at if stored is not None else None)


def _surely_live(stored: StoredHome | None) -> bool:
    """No document, or ratings changed since it was built: live whatever the view history says."""
    return stored is None or stored.doc_json is None or stored.ratings_at > stored.data_at


def _await_write(write: Future[bool], on_error: Callable[[Exception], None] | None) -> None:
    """The write-back finishes before the answer leaves: work after a Lambda's response is not
    guaranteed (the environment may be frozen or never thawed), so it only overlaps composing.
    A write that lost to a rating (False) is no error: the next page is scored again."""
    try:
        write.result()
    except Exception as exc:
        if on_error is not None:
            on_error(exc)


def live_document(
    viewer: HomeViewer,
    views: Sequence[ViewState],
    deps: HomeDeps,
    now: float,
    stored: StoredHome | None,
    key: str,
    prefetched_ratings: Future[list[Rating]] | None = None,
) -> tuple[dict[str, Any], Future[bool]]:
    """Score the profile now with the current model; the document's write-back is started, not
    awaited (best effort: a failed write costs a recompute next time, not this answer). The
    caller awaits it once the page is composed (``_await_write``)."""
    loaded = deps.models.current()
    if loaded is None:
        raise NoModel()
    if prefetched_ratings is not None:
        ratings = _guarded("store", prefetched_ratings.result)
    else:
        ratings = _guarded("store", lambda: _ratings(deps, viewer.profile_id, stored))
    doc = build_document(
        loaded.models,
        loaded.pointer.model_version,
        viewer.profile_id,
        viewer.language,
        viewer.tier,
        viewer.kids,
        mapping.interactions(viewer.profile_id, views, ratings),
        mapping.disliked(ratings),
        now,
    )
    home = StoredHome(
        viewer.profile_id,
        documents.dumps(doc),
        model_version=loaded.pointer.model_version,
        history_key=key,
        data_at=now,
        ratings_at=stored.ratings_at if stored is not None else 0.0,
    )
    # Conditional on the ratings mark the page read: a thumb given while this page was scored keeps
    # the document stale (else its thumbs-down title could stay on the page until the next rebuild).
    return doc, _reads.submit(deps.home.put_document, home, stored.ratings_at if stored is not None else None)


def build_document(
    models: Any,
    model_version: str,
    profile_id: str,
    language: str,
    tier: str,
    kids: bool,
    history: Sequence[Any],
    disliked: Sequence[str],
    now: float,
) -> dict[str, Any]:
    """``engine.build_home`` for one profile, bounded (documents.bound_document), thumbs-down removed."""
    from recommendations.engine import RowConfig, build_home

    profile = mapping.engine_profile(profile_id, language, tier, kids, history, disliked)
    raw = build_home(profile, models, (), now=now, config=RowConfig(row_size=ROW_ITEMS, model_version=model_version))
    bad = set(disliked)
    for row in raw["rows"]:
        row["title_ids"] = [t for t in row["title_ids"] if t not in bad]
    raw["model_version"] = model_version  # the engine appends its CF kind; the store keys on ours
    doc = documents.bound_document(raw, list(disliked))
    doc["max_maturity_level"] = int(raw.get("max_maturity_level", 0))
    return doc


# --- composition ------------------------------------------------------------------------------


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def live_campaigns(campaigns: Iterable[CampaignRecord], viewer: HomeViewer, now: float) -> list[CampaignRecord]:
    out = []
    for c in campaigns:
        try:
            if not (_parse_time(c.starts_at) <= now < _parse_time(c.ends_at)):
                continue
        except ValueError:
            continue
        if c.languages and viewer.language not in c.languages:
            continue
        if c.audiences and viewer.tier not in c.audiences:
            continue
        out.append(c)
    return sorted(out, key=lambda c: (-c.priority, c.campaign_id))


def _continue_watching(views: Sequence[ViewState]) -> list[ViewState]:
    going = [v for v in views if history.in_progress(v)]
    return sorted(going, key=lambda v: (-v.updated_at, v.title_id))


def compose(
    viewer: HomeViewer, doc: Mapping[str, Any], views: Sequence[ViewState], deps: HomeDeps, now: float
) -> list[dict[str, Any]]:
    doc_rows = [r for r in doc.get("rows", []) if isinstance(r, dict)]
    disliked = set(doc.get("disliked", []))

    # Candidate rows in display order: (row header, title ids, progress by title id).
    candidates: list[tuple[dict[str, Any], list[str]]] = []
    progress: dict[str, ViewState] = {}
    cw = _continue_watching(views)[:ROW_ITEMS]
    for v in cw:
        progress[v.title_id] = v
    candidates.append(
        (
            {"row_id": "continue-watching", "kind": "continue_watching", "title": "Continue watching"},
            [v.title_id for v in cw],
        )
    )
    for kind in ("because_you_watched", "similar_interests"):
        for r in doc_rows:
            if r.get("kind") == kind:
                header = {
                    "row_id": r.get("row_id", kind),
                    "kind": kind,
                    "title": "Others like you also watched" if kind == "similar_interests" else r.get("title", ""),
                    "anchor_title_id": r.get("anchor_title_id"),
                }
                candidates.append((header, list(r.get("title_ids", []))))
    candidates.append(
        (
            {"row_id": "trending", "kind": "trending", "title": "Trending now"},
            _trending_ids(viewer, doc_rows, deps, now),
        )
    )
    for c in live_campaigns(deps.campaigns.all(), viewer, now)[:1]:
        candidates.append(
            (
                {
                    "row_id": f"sponsored-{c.campaign_id}",
                    "kind": "sponsored",
                    "title": c.name,
                    "sponsored": True,
                    "campaign_id": c.campaign_id,
                },
                list(c.title_ids),
            )
        )
    candidates.append(
        ({"row_id": "new", "kind": "new", "title": "New on Reelstack"}, [t.title_id for t in deps.titles.newest()])
    )
    for r in doc_rows:
        if r.get("kind") == "popular":
            candidates.append(
                (
                    {"row_id": "popular", "kind": "popular", "title": r.get("title", "Popular")},
                    list(r.get("title_ids", [])),
                )
            )

    cards = deps.titles.get_many([t for _, ids in candidates for t in ids])
    level = viewer.level  # once, not per title

    def allowed(tid: str) -> bool:
        t = cards.get(tid)
        return t is not None and t.ready and tid not in disliked and title_level(t.maturity_rating) <= level

    used: set[str] = set()
    built: dict[int, dict[str, Any]] = {}
    # Claim order: sponsored first, then display order.
    order = [i for i in range(len(candidates)) if candidates[i][0]["kind"] == "sponsored"]
    order += [i for i in range(len(candidates)) if candidates[i][0]["kind"] != "sponsored"]
    for i in order:
        header, ids = candidates[i]
        items = []
        for tid in ids:
            if tid in used or not allowed(tid):
                continue
            used.add(tid)
            items.append(card(cards[tid], progress.get(tid)))
            if len(items) >= ROW_ITEMS:
                break
        if items:
            built[i] = {**{k: v for k, v in header.items() if v is not None}, "items": items}
    return [built[i] for i in range(len(candidates)) if i in built]


def _trending_ids(viewer: HomeViewer, doc_rows: Sequence[Mapping[str, Any]], deps: HomeDeps, now: float) -> list[str]:
    """The stream-fed snapshot of the profile's language (topped up from every language's), else
    the trending row the job computed into the document (no view events yet)."""
    ids = trending.ranked(deps.trending.get(viewer.language), now)
    if len(ids) < 4 * MIN_LANGUAGE_TRENDING:
        extra = trending.ranked(deps.trending.get(trending.ANY_LANGUAGE), now)
        ids += [t for t in extra if t not in set(ids)]
    if ids:
        return ids[: 4 * ROW_ITEMS]  # room for the ones the rules drop
    for r in doc_rows:
        if r.get("kind") == "trending":
            return list(r.get("title_ids", []))
    return []


def card(t: CatalogTitle, progress: ViewState | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title_id": t.title_id,
        "title": t.name,
        "genres": list(t.genres),
        "year": t.year,
        "language": t.language,
        "maturity_rating": t.maturity_rating,
    }
    if progress is not None:
        out["position_s"] = progress.position_s
        out["percent"] = progress.percent
    return {k: v for k, v in out.items() if v is not None}


# --- fallback ---------------------------------------------------------------------------------


def fallback_page(viewer: HomeViewer, deps: HomeDeps, *, reason: str) -> HomePage:
    """The static rows: popular titles by language and maturity as the job last built them (or as
    packaged with the function), filtered again by the profile's level. Needs no store."""
    doc = deps.fallback.document()
    rows: list[dict[str, Any]] = []
    used: set[str] = set()

    def keep(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for it in items:
            tid = it.get("title_id")
            if not isinstance(tid, str) or tid in used:
                continue
            if title_level(it.get("maturity_rating")) > viewer.level:
                continue
            used.add(tid)
            out.append(dict(it))
            if len(out) >= ROW_ITEMS:
                break
        return out

    by_lang = doc.get("by_language", {}).get(viewer.language, {})
    items = keep(by_lang.get(str(viewer.level), []))
    if items:
        rows.append(
            {"row_id": "fallback-language", "kind": "popular", "title": "Popular in your language", "items": items}
        )
    for r in doc.get("levels", {}).get(str(viewer.level), []):
        items = keep(r.get("items", []))
        if items:
            rows.append(
                {
                    "row_id": f"fallback-{r.get('row_id', 'row')}",
                    "kind": r.get("kind", "popular"),
                    "title": r.get("title", ""),
                    "items": items,
                }
            )
    if not rows:
        # Nothing built yet (the packaged fallback): the newest titles, if the catalog answers.
        try:
            newest = [card(t) for t in deps.titles.newest() if t.ready]
        except DependencyFailed:
            newest = []
        items = keep(newest)
        if items:
            rows.append({"row_id": "fallback-new", "kind": "new", "title": "New on Reelstack", "items": items})
    return HomePage(
        viewer.profile_id, "fallback", rows, doc.get("model_version"), doc.get("generated_at"), fallback_reason=reason
    )
