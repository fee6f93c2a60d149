"""Typed, AWS-free inputs of the recommendation engine.

Everything the engine needs arrives as these plain values; the service layer (later) maps its
DynamoDB items onto them. Timestamps are epoch seconds (float) and ``now`` is always passed in
explicitly, never read from the clock, so identical inputs give identical outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Netflix-style maturity tiers. A rating maps to the tier it belongs to; a profile's cap is a
# tier (or a rating, read as "up to this rating's tier").
TIERS: tuple[str, ...] = ("little_kids", "older_kids", "teens", "adults")
_RATING_TIER: dict[str, int] = {
    "TV-Y": 0, "TV-G": 0, "G": 0,
    "TV-Y7": 1, "TV-Y7-FV": 1, "PG": 1, "TV-PG": 1,
    "PG-13": 2, "TV-14": 2,
    "R": 3, "NC-17": 3, "TV-MA": 3,
}  # fmt: skip
KIDS_MAX_LEVEL = 1  # a kids profile sees little-kids and older-kids titles only
ADULT_LEVEL = len(TIERS) - 1


def maturity_level(rating: str | None) -> int:
    """Tier index of a rating or tier name. Unknown or missing ratings count as adult content:
    an unrated title must never leak into a kids row."""
    if rating is None:
        return ADULT_LEVEL
    key = rating.strip()
    if key in _RATING_TIER:
        return _RATING_TIER[key]
    lowered = key.lower()
    if lowered in TIERS:
        return TIERS.index(lowered)
    return _RATING_TIER.get(key.upper(), ADULT_LEVEL)


@dataclass(frozen=True, slots=True)
class Title:
    title_id: str
    name: str
    genres: tuple[str, ...] = ()
    cast: tuple[str, ...] = ()  # actors, directors, ... any people tokens
    language: str = "en"
    maturity: str = "TV-MA"
    description: str = ""
    published: bool = True
    available_from: float | None = None  # epoch seconds; None = no start restriction
    available_until: float | None = None  # epoch seconds; None = no end
    year: int | None = None  # release year, if known

    @property
    def level(self) -> int:
        return maturity_level(self.maturity)

    @property
    def is_kids(self) -> bool:
        return self.level <= KIDS_MAX_LEVEL

    def is_available(self, now: float) -> bool:
        if not self.published:
            return False
        if self.available_from is not None and now < self.available_from:
            return False
        return not (self.available_until is not None and now >= self.available_until)


@dataclass(frozen=True, slots=True)
class Interaction:
    """One viewing (or rating) event. ``weight`` is a confidence (watch fraction, ...);
    ``finished`` marks a title the profile completed, which the row builder never shows again;
    ``rating`` is the profile's explicit rating of the title (stars, thumbs), None if it gave none."""

    profile_id: str
    title_id: str
    ts: float
    weight: float = 1.0
    finished: bool = True
    rating: float | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    profile_id: str
    language: str = "en"
    maturity: str = "adults"  # a tier name or a rating: the highest content the profile may see
    kids: bool = False
    history: tuple[Interaction, ...] = ()
    # Facts the CF model can use (``fit_models(profile_attributes=...)``), e.g. "region:eu".
    attributes: tuple[str, ...] = ()
    # Titles never to show that are not history (a thumbs-down): kept out of every row, not scored.
    excluded: tuple[str, ...] = ()

    @property
    def max_level(self) -> int:
        level = maturity_level(self.maturity)
        # The kids flag wins over a looser rating set by mistake.
        return min(level, KIDS_MAX_LEVEL) if self.kids else level

    def finished_ids(self) -> frozenset[str]:
        return frozenset(i.title_id for i in self.history if i.finished) | frozenset(self.excluded)

    def recent_title_ids(self) -> list[str]:
        """Distinct titles, most recent first; ties broken by title id for determinism."""
        latest: dict[str, float] = {}
        for i in self.history:
            if i.ts > latest.get(i.title_id, float("-inf")):
                latest[i.title_id] = i.ts
        return [t for t, _ in sorted(latest.items(), key=lambda kv: (-kv[1], kv[0]))]


@dataclass(frozen=True, slots=True)
class Campaign:
    """A sponsored placement. Empty ``languages`` / ``audiences`` mean "everyone"; audiences are
    tier names or ratings and match the profile's maturity tier."""

    campaign_id: str
    name: str
    title_ids: tuple[str, ...]
    starts_at: float
    ends_at: float
    languages: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    priority: int = 0

    def is_live(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def targets(self, profile: Profile) -> bool:
        if self.languages and profile.language not in self.languages:
            return False
        return not (self.audiences and profile.max_level not in {maturity_level(a) for a in self.audiences})


@dataclass(frozen=True, slots=True)
class Catalog:
    """Titles in a fixed, sorted order: the position of a title is its column in every model."""

    titles: tuple[Title, ...]
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.titles, key=lambda t: t.title_id))
        if len({t.title_id for t in ordered}) != len(ordered):
            raise ValueError("duplicate title_id in catalog")
        object.__setattr__(self, "titles", ordered)
        object.__setattr__(self, "index", {t.title_id: i for i, t in enumerate(ordered)})

    @classmethod
    def of(cls, titles: Iterable[Title]) -> Catalog:
        return cls(tuple(titles))

    def __len__(self) -> int:
        return len(self.titles)

    def ids(self) -> Sequence[str]:
        return [t.title_id for t in self.titles]
