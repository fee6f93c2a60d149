"""Maturity levels: one scale for catalog ratings and profile settings.

Catalog titles carry a content rating (MPA or US TV: "PG-13", "TV-MA", ...); profiles carry a
maturity setting ("ALL", "7+", "13+", "16+", "18+"; kids profiles are capped at "7+"). Both map
onto four levels -- little kids, older kids, teens, adults -- the tiers the recommendation engine
uses (engine/data.py), so playback, search and the home page agree on what a profile may see.

Fail closed on both sides: an unknown or missing title rating counts as adult content, an unknown
profile setting as the most restrictive level.
"""

from __future__ import annotations

LITTLE_KIDS, OLDER_KIDS, TEENS, ADULTS = 0, 1, 2, 3

_RATING_LEVEL: dict[str, int] = {
    "TV-Y": LITTLE_KIDS, "TV-G": LITTLE_KIDS, "G": LITTLE_KIDS,
    "TV-Y7": OLDER_KIDS, "TV-Y7-FV": OLDER_KIDS, "PG": OLDER_KIDS, "TV-PG": OLDER_KIDS,
    "PG-13": TEENS, "TV-14": TEENS,
    "R": ADULTS, "NC-17": ADULTS, "TV-MA": ADULTS,
}  # fmt: skip

# "16+" has no level of its own: no rating sits between TV-14/PG-13 and R/TV-MA (both 17+).
_PROFILE_LEVEL: dict[str, int] = {"ALL": LITTLE_KIDS, "7+": OLDER_KIDS, "13+": TEENS, "16+": TEENS, "18+": ADULTS}


def title_level(rating: str | None) -> int:
    """Level of a catalog rating; unknown or missing -> ADULTS (an unrated title never reaches kids)."""
    if rating is None:
        return ADULTS
    return _RATING_LEVEL.get(rating.strip().upper(), ADULTS)


def profile_level(maturity: str | None) -> int:
    """Highest level a profile setting allows; unknown or missing -> LITTLE_KIDS."""
    if maturity is None:
        return LITTLE_KIDS
    return _PROFILE_LEVEL.get(maturity.strip().upper(), LITTLE_KIDS)


def allows(profile_maturity: str | None, title_rating: str | None) -> bool:
    return title_level(title_rating) <= profile_level(profile_maturity)


def ratings_up_to(level: int) -> tuple[str, ...]:
    """The catalog ratings at or below ``level``: a filter a query can use (``rating IN (...)``)."""
    return tuple(r for r, lv in _RATING_LEVEL.items() if lv <= level)
