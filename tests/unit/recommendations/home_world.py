"""In-memory stores behind the home service's ports, filled from ``recs_world``'s planted world,
and a trained model: what the logic tests of the home page, the job and trending share."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from recommendations.logic.caches import CampaignCache, FallbackCache, ModelCache, TitleCache, TrendingCache
from recommendations.logic.home import HomeDeps, HomeViewer
from recommendations.logic.ports import (
    CampaignRecord,
    CatalogTitle,
    HeadPart,
    HistoryHead,
    ModelPointer,
    ProfileFacts,
    Rating,
    StoredHome,
    Trending,
    ViewState,
)
from recommendations.logic.training import JobDeps
from recs_world import DAY, NOW, catalog, interactions


class Broken(Exception):
    """An injected store failure."""


class Faulty:
    """Mixin: ``fail = True`` makes every call raise."""

    fail = False

    def _check(self) -> None:
        if self.fail:
            raise Broken(type(self).__name__)


def catalog_titles() -> dict[str, CatalogTitle]:
    out = {}
    for i, t in enumerate(catalog().titles):
        out[t.title_id] = CatalogTitle(
            t.title_id,
            t.name,
            "READY",
            t.language,
            t.maturity,
            t.genres,
            t.cast,
            t.description,
            2000 + i % 20,
            created_at=f"2026-01-01T00:00:{i:02d}Z",
        )
    # Titles nobody has watched yet, unlike anything else (French documentaries): free for the
    # serve-time rows (trending, sponsored, new) in tests.
    for k in range(30):
        tid = f"x{k:02d}"
        out[tid] = CatalogTitle(
            tid,
            f"Documentary {k}",
            "READY",
            "fr",
            "PG",
            ("documentary",),
            (f"narrator{k}",),
            "",
            2020,
            created_at=f"2026-02-01T00:00:{k:02d}Z",
        )
    return out


class Titles(Faulty):
    def __init__(self, titles: dict[str, CatalogTitle]) -> None:
        self.titles = titles
        self.reads = 0

    def get_many(self, title_ids: Sequence[str]) -> dict[str, CatalogTitle]:
        self._check()
        self.reads += 1
        return {t: self.titles[t] for t in title_ids if t in self.titles}

    def ready_titles(self) -> list[CatalogTitle]:
        self._check()
        return [t for t in self.titles.values() if t.ready]

    def newest_ready(self, limit: int) -> list[CatalogTitle]:
        self._check()
        return sorted(self.ready_titles(), key=lambda t: t.created_at, reverse=True)[:limit]


class History(Faulty):
    def __init__(self) -> None:
        self.views: dict[str, list[ViewState]] = {}

    def for_profile(self, profile_id: str, consistent: bool = False) -> list[ViewState]:
        self._check()
        self.reads = getattr(self, "reads", 0) + 1
        return list(self.views.get(profile_id, []))

    def scan_all(self) -> Iterator[ViewState]:
        self._check()
        for vs in self.views.values():
            yield from vs


class Ratings(Faulty):
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Rating] = {}

    def put(self, rating: Rating) -> None:
        self._check()
        self.items[(rating.profile_id, rating.title_id)] = rating

    def delete(self, profile_id: str, title_id: str) -> None:
        self._check()
        self.items.pop((profile_id, title_id), None)

    def for_profile(self, profile_id: str) -> list[Rating]:
        self._check()
        return [r for (p, _), r in sorted(self.items.items()) if p == profile_id]

    def scan_all(self) -> Iterator[Rating]:
        self._check()
        yield from list(self.items.values())


class Home(Faulty):
    def __init__(self) -> None:
        self.docs: dict[str, StoredHome] = {}
        self.parts: dict[tuple[str, str], HeadPart] = {}  # (profile, "titles" | "progress")
        self.pointer: ModelPointer | None = None
        self.puts = 0
        self.page_reads = 0

    def get(self, profile_id: str) -> StoredHome | None:
        self._check()
        return self.docs.get(profile_id)

    def head(self, profile_id: str) -> HistoryHead | None:
        titles, progress = self.parts.get((profile_id, "titles")), self.parts.get((profile_id, "progress"))
        return HistoryHead(profile_id, titles, progress) if titles and progress else None

    def get_page(self, profile_id: str) -> tuple[StoredHome | None, HistoryHead | None]:
        self._check()
        self.page_reads += 1
        return self.docs.get(profile_id), self.head(profile_id)

    def get_part(self, profile_id: str, kind: str) -> HeadPart | None:
        self._check()
        return self.parts.get((profile_id, kind))

    def put_part(self, part: HeadPart, expected_rev: int | None) -> bool:
        self._check()
        have = self.parts.get((part.profile_id, part.kind))
        if (have.rev if have is not None else None) != expected_rev:
            return False
        self.parts[(part.profile_id, part.kind)] = part
        return True

    def put(self, home: StoredHome) -> None:
        self._check()
        self.puts += 1
        self.docs[home.profile_id] = home

    def put_document(self, home: StoredHome, expected_ratings_at: float | None) -> bool:
        self._check()
        have = self.docs.get(home.profile_id)
        if (have.ratings_at if have is not None else None) != expected_ratings_at:
            return False  # a rating was marked after the page read the item
        self.put(home)
        return True

    def put_many(self, homes: Iterable[StoredHome]) -> int:
        n = 0
        for h in homes:
            self.put(h)
            n += 1
        return n

    def versions(self, profile_ids: Sequence[str]) -> dict[str, StoredHome]:
        self._check()
        return {p: self.docs[p] for p in profile_ids if p in self.docs}

    def mark_ratings_changed(self, profile_id: str, at: float) -> None:
        self._check()
        have = self.docs.get(profile_id) or StoredHome(profile_id, None)
        self.docs[profile_id] = replace(have, ratings_at=at)

    def current_model(self) -> ModelPointer | None:
        self._check()
        return self.pointer

    def set_current_model(self, pointer: ModelPointer) -> None:
        self._check()
        self.pointer = pointer


class Campaigns(Faulty):
    def __init__(self) -> None:
        self.items: dict[str, CampaignRecord] = {}

    def put(self, c: CampaignRecord) -> None:
        self._check()
        self.items[c.campaign_id] = c

    def get(self, campaign_id: str) -> CampaignRecord | None:
        self._check()
        return self.items.get(campaign_id)

    def delete(self, campaign_id: str) -> bool:
        self._check()
        return self.items.pop(campaign_id, None) is not None

    def list(self) -> list[CampaignRecord]:
        self._check()
        return list(self.items.values())


class TrendingMem(Faulty):
    def __init__(self) -> None:
        self.items: dict[str, Trending] = {}
        self.conflicts = 0  # the next N replaces lose the race

    def get(self, language: str) -> Trending | None:
        self._check()
        t = self.items.get(language)
        return Trending(t.language, t.at, dict(t.counts), t.revision) if t else None

    def replace(self, trending: Trending, expected_revision: int) -> bool:
        self._check()
        if self.conflicts:
            self.conflicts -= 1
            return False
        have = self.items.get(trending.language)
        if (have.revision if have else 0) != expected_revision:
            return False
        self.items[trending.language] = Trending(
            trending.language, trending.at, dict(trending.counts), expected_revision + 1
        )
        return True


class Blobs(Faulty):
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        self._check()
        return self.objects.get(key)

    def put(self, key: str, body: bytes) -> None:
        self._check()
        self.objects[key] = body

    def list(self, prefix: str) -> list[str]:
        self._check()
        return sorted(k for k in self.objects if k.startswith(prefix))


class Profiles:
    def __init__(self, facts: list[ProfileFacts]) -> None:
        self.facts = facts

    def all_profiles(self) -> Iterator[ProfileFacts]:
        yield from self.facts


# The profiles with accounts: a drama fan and a family fan from the planted clusters (their
# histories are ratings, as the demo seed writes them), a kids profile, a new profile.
DRAMA, FAMILY, KID, NEWBIE = "drama00", "family00", "kid", "newbie"


@dataclass
class World:
    titles: Titles
    history: History
    ratings: Ratings
    home: Home
    campaigns: Campaigns
    trending: TrendingMem
    blobs: Blobs
    profiles: Profiles
    now: list[float] = field(default_factory=lambda: [NOW])

    def clock(self) -> float:
        return self.now[0]

    def job(self) -> JobDeps:
        return JobDeps(self.titles, self.history, self.ratings, self.profiles, self.blobs, self.home)

    def deps(self) -> HomeDeps:
        return HomeDeps(
            home=self.home,
            history=self.history,
            ratings=self.ratings,
            titles=TitleCache(self.titles, clock=self.clock),
            campaigns=CampaignCache(self.campaigns, clock=self.clock),
            trending=TrendingCache(self.trending, clock=self.clock),
            models=ModelCache(self.home, self.blobs, clock=self.clock),
            fallback=FallbackCache(self.blobs, clock=self.clock),
            clock=self.clock,
        )


def viewer(profile_id: str, *, language: str = "en", maturity: str = "18+", kids: bool = False) -> HomeViewer:
    return HomeViewer(profile_id, language, maturity, kids)


def world() -> World:
    """The planted world: background profiles in the lake, two account profiles with ratings."""
    w = World(
        Titles(catalog_titles()),
        History(),
        Ratings(),
        Home(),
        Campaigns(),
        TrendingMem(),
        Blobs(),
        Profiles(
            [
                ProfileFacts("acc1", DRAMA, "en", "18+", False),
                ProfileFacts("acc1", FAMILY, "en", "18+", False),
                ProfileFacts("acc1", KID, "en", "7+", True),
                ProfileFacts("acc2", NEWBIE, "en", "18+", False),
            ]
        ),
    )
    lake = []
    for e in interactions():
        if e.profile_id in (DRAMA, FAMILY):
            w.ratings.put(Rating(e.profile_id, e.title_id, "up", e.ts))
        else:
            lake.append(json.dumps({"profile_id": e.profile_id, "title_id": e.title_id, "ts": e.ts}))
    w.blobs.put("lake/world.jsonl", "\n".join(lake).encode())
    return w


def trained(w: World | None = None) -> tuple[World, dict[str, Any]]:
    """``w`` after one full job run (train, every batch, publish) at NOW."""
    from recommendations.logic import training

    w = w or world()
    out = training.train(w.job(), NOW, profiles_per_batch=2)
    for item in out["batches"]:
        training.build_batch(w.job(), item["model_version"], item["batch"])
    training.publish(w.job(), out["model_version"])
    return w, out


__all__ = ["DAY", "DRAMA", "FAMILY", "KID", "NEWBIE", "NOW", "Broken", "World", "trained", "viewer", "world"]
