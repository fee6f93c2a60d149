"""What a warm function keeps between requests: title cards, campaigns, trending snapshots, the
model artifact and the fallback document. Each read-through cache turns a store error into
``DependencyFailed`` naming the store, which the home page answers with its fallback rows."""

from __future__ import annotations

import json
import os
import pickle  # noqa: S403  -- artifacts are written by this service's own job into its own bucket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from recommendations.logic.ports import (
    BlobStore,
    CampaignRecord,
    CampaignStore,
    CatalogTitle,
    DependencyFailed,
    HomeStore,
    ModelPointer,
    Rating,
    RatingStore,
    TitleSource,
    Trending,
    TrendingStore,
)

Clock = Callable[[], float]
FALLBACK_KEY = "fallback/current.json"


def _guard(source: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except DependencyFailed:
        raise
    except Exception as exc:  # any store error: the caller serves the fallback
        raise DependencyFailed(source, f"{type(exc).__name__}: {exc}") from exc


class TitleCache:
    """Title cards by id (TTL ``ttl_s``; at most ``max_entries``) and the newest READY titles."""

    def __init__(self, source: TitleSource, clock: Clock = time.time, ttl_s: float = 300.0, max_entries: int = 50_000):
        self.source, self.clock, self.ttl_s, self.max_entries = source, clock, ttl_s, max_entries
        self._cards: dict[str, tuple[float, CatalogTitle | None]] = {}
        self._newest: tuple[float, list[CatalogTitle]] | None = None
        self._lock = threading.Lock()

    def get_many(self, title_ids: Sequence[str]) -> dict[str, CatalogTitle]:
        now = self.clock()
        out: dict[str, CatalogTitle] = {}
        missing: list[str] = []
        with self._lock:
            for tid in dict.fromkeys(title_ids):
                hit = self._cards.get(tid)
                if hit is not None and now - hit[0] < self.ttl_s:
                    if hit[1] is not None:
                        out[tid] = hit[1]
                else:
                    missing.append(tid)
        if missing:
            found: dict[str, CatalogTitle] = _guard("catalog", lambda: self.source.get_many(missing))
            with self._lock:
                if len(self._cards) + len(missing) > self.max_entries:
                    self._cards.clear()
                for tid in missing:
                    self._cards[tid] = (now, found.get(tid))  # a miss is cached too: no re-read per request
            out.update(found)
        return out

    def newest(self, limit: int = 60, ttl_s: float = 60.0) -> list[CatalogTitle]:
        now = self.clock()
        with self._lock:
            if self._newest is not None and now - self._newest[0] < ttl_s:
                return self._newest[1]
        titles: list[CatalogTitle] = _guard("catalog", lambda: self.source.newest_ready(limit))
        with self._lock:
            self._newest = (now, titles)
            for t in titles:
                self._cards[t.title_id] = (now, t)
        return titles


class CampaignCache:
    def __init__(self, store: CampaignStore, clock: Clock = time.time, ttl_s: float = 30.0) -> None:
        self.store, self.clock, self.ttl_s = store, clock, ttl_s
        self._value: tuple[float, list[CampaignRecord]] | None = None

    def all(self) -> list[CampaignRecord]:
        now = self.clock()
        if self._value is not None and now - self._value[0] < self.ttl_s:
            return self._value[1]
        campaigns: list[CampaignRecord] = _guard("campaigns", self.store.list)
        self._value = (now, campaigns)
        return campaigns


class TrendingCache:
    def __init__(self, store: TrendingStore, clock: Clock = time.time, ttl_s: float = 30.0) -> None:
        self.store, self.clock, self.ttl_s = store, clock, ttl_s
        self._values: dict[str, tuple[float, Trending | None]] = {}

    def get(self, language: str) -> Trending | None:
        now = self.clock()
        hit = self._values.get(language)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        snapshot: Trending | None = _guard("trending", lambda: self.store.get(language))
        self._values[language] = (now, snapshot)
        return snapshot


RATINGS_TTL_S = 60.0  # default; the function's RATINGS_CACHE_TTL_S overrides it (0: off)


class RatingsCache:
    """A profile's ratings as last read by this warm function, tagged with the home item's ratings
    mark (``ratings_at``; None: no item) that the page read *before* the ratings. Every rating
    change sets a new mark after writing the rating (``logic.ratings``), so an entry whose mark is
    still the page's is current: a live page then skips the profile's ratings Query (hundreds of
    items for a heavy rater). Any other mark re-reads (consistently). ``ttl_s`` bounds what no mark
    can tell (a home item deleted after a rating: the mark is gone too)."""

    def __init__(
        self,
        store: RatingStore,
        clock: Clock = time.monotonic,
        ttl_s: float | None = None,
        max_ratings: int = 200_000,
    ) -> None:
        self.store, self.clock, self.max_ratings = store, clock, max_ratings
        self.ttl_s = float(os.environ.get("RATINGS_CACHE_TTL_S") or RATINGS_TTL_S) if ttl_s is None else ttl_s
        self._items: dict[str, tuple[float | None, float, list[Rating]]] = {}
        self._held = 0
        self._lock = threading.Lock()

    def for_profile(self, profile_id: str, mark: float | None) -> list[Rating]:
        now = self.clock()
        with self._lock:
            hit = self._items.get(profile_id)
            if hit is not None and hit[0] == mark and now - hit[1] < self.ttl_s:
                return list(hit[2])
        ratings = self.store.for_profile(profile_id)
        if self.ttl_s > 0:
            with self._lock:
                old = self._items.pop(profile_id, None)
                self._held -= len(old[2]) if old is not None else 0
                if self._held + len(ratings) > self.max_ratings:
                    self._items.clear()  # bounded memory: start over rather than grow
                    self._held = 0
                self._items[profile_id] = (mark, now, list(ratings))
                self._held += len(ratings)
        return ratings


@dataclass(frozen=True)
class LoadedModel:
    pointer: ModelPointer
    models: Any  # engine.Models
    meta: dict[str, Any]


def dump_artifact(models: Any, meta: dict[str, Any]) -> bytes:
    return pickle.dumps({"models": models, "meta": meta}, protocol=pickle.HIGHEST_PROTOCOL)


def load_artifact(body: bytes) -> tuple[Any, dict[str, Any]]:
    data = pickle.loads(body)  # noqa: S301  -- our own artifact (see the import)
    return data["models"], data["meta"]


class ModelCache:
    """The current model, loaded once per warm function and model version. The pointer (which
    version is current) is re-read every ``pointer_ttl_s``."""

    def __init__(self, home: HomeStore, blobs: BlobStore, clock: Clock = time.time, pointer_ttl_s: float = 60.0):
        self.home, self.blobs, self.clock, self.pointer_ttl_s = home, blobs, clock, pointer_ttl_s
        self._pointer: tuple[float, ModelPointer | None] | None = None
        self._loaded: LoadedModel | None = None
        self._lock = threading.Lock()

    def pointer(self) -> ModelPointer | None:
        now = self.clock()
        if self._pointer is not None and now - self._pointer[0] < self.pointer_ttl_s:
            return self._pointer[1]
        pointer: ModelPointer | None = _guard("store", self.home.current_model)
        self._pointer = (now, pointer)
        return pointer

    def current(self) -> LoadedModel | None:
        pointer = self.pointer()
        if pointer is None:
            return None
        with self._lock:
            if self._loaded is not None and self._loaded.pointer == pointer:
                return self._loaded

            def load() -> LoadedModel:
                body = self.blobs.get(pointer.artifact_key)
                if body is None:
                    raise FileNotFoundError(pointer.artifact_key)
                models, meta = load_artifact(body)
                return LoadedModel(pointer, models, meta)

            self._loaded = _guard("artifact", load)
            return self._loaded


def packaged_fallback() -> dict[str, Any]:
    """The fallback shipped inside the function: it exists before the first job run."""
    text = resources.files("recommendations").joinpath("fallback.json").read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


class FallbackCache:
    """The job-built fallback (S3), else the packaged one. Never raises."""

    def __init__(self, blobs: BlobStore, clock: Clock = time.time, ttl_s: float = 300.0) -> None:
        self.blobs, self.clock, self.ttl_s = blobs, clock, ttl_s
        self._value: tuple[float, dict[str, Any]] | None = None

    def document(self) -> dict[str, Any]:
        now = self.clock()
        if self._value is not None and now - self._value[0] < self.ttl_s:
            return self._value[1]
        try:
            body = self.blobs.get(FALLBACK_KEY)
            doc = json.loads(body) if body else None
        except Exception:  # the store is what failed: the packaged copy is the answer
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("levels"), dict):
            doc = self._value[1] if self._value is not None else packaged_fallback()
        self._value = (now, doc)
        return doc
