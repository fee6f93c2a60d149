"""Storage records -> the engine's plain inputs (engine/data.py). No numpy here: the engine is
imported by the callers that score, so an HTTP cold start that serves a stored document never
loads it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from reelstack_common.maturity import profile_level

from recommendations.logic.history import finished as is_finished
from recommendations.logic.history import newest
from recommendations.logic.ports import CatalogTitle, Rating, ViewState

if TYPE_CHECKING:
    from recommendations.engine import Interaction, Profile, Title

# Explicit taste on the engine's 1-5 scale: "love" reaches EngineConfig.loved_rating (5), "up" its
# like threshold (4). "down" is not an interaction at all (it would count as a positive: every
# interaction is one for the CF models); the title is kept out of the profile's rows instead.
THUMB_RATING: dict[str, float] = {"love": 5.0, "up": 4.0}
TIERS = ("little_kids", "older_kids", "teens", "adults")  # engine/data.py TIERS, by level


def engine_title(t: CatalogTitle) -> Title:
    from recommendations.engine import Title

    return Title(
        title_id=t.title_id,
        name=t.name,
        genres=t.genres,
        cast=t.cast,
        language=t.language,
        maturity=t.maturity_rating or "TV-MA",  # unknown rating: adult (fail closed)
        description=t.description,
        published=t.ready,
        year=t.year,
    )


def interactions(profile_id: str, views: Iterable[ViewState], ratings: Iterable[Rating]) -> list[Interaction]:
    """One interaction per viewed title (its state item) and per rated title; a rating joins the
    viewing of the same title. Thumbs-down titles are left out (see THUMB_RATING)."""
    from recommendations.engine import Interaction

    rated = {r.title_id: r for r in ratings}
    out: list[Interaction] = []
    seen: set[str] = set()
    for v in views:
        r = rated.get(v.title_id)
        if r is not None and r.thumb == "down":
            continue
        seen.add(v.title_id)
        out.append(
            Interaction(
                profile_id,
                v.title_id,
                float(v.updated_at),
                finished=is_finished(v),
                rating=THUMB_RATING.get(r.thumb) if r is not None else None,
            )
        )
    for r in rated.values():
        if r.title_id in seen or r.thumb not in THUMB_RATING:
            continue
        # A rated title counts as seen: it is never offered back to the profile.
        out.append(Interaction(profile_id, r.title_id, float(r.rated_at), finished=True, rating=THUMB_RATING[r.thumb]))
    return out


def disliked(ratings: Iterable[Rating]) -> list[str]:
    return sorted(r.title_id for r in ratings if r.thumb == "down")


def history_key(views: Sequence[ViewState]) -> str:
    """What makes a stored document stale: the set of titles viewed and which are finished. Heartbeats
    (positions) do not change it, so a profile watching a film does not recompute its page every 5 s.
    Over the newest ``history.TITLES_CAP`` states: what the history head holds (logic/history.py),
    so a head and a full Query of the playback table give the same key."""
    lines = sorted(f"{v.title_id}:{int(is_finished(v))}" for v in newest(views))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def tier(profile_maturity: str | None, kids: bool) -> str:
    """The engine's tier name for a profile setting (reelstack_common.maturity levels)."""
    level = profile_level(profile_maturity)
    return TIERS[min(level, 1) if kids else level]


def attributes(language: str, maturity: str) -> tuple[str, ...]:
    """Profile facts the CF model learns from (EngineConfig.attribute_weight): language and tier."""
    return (f"lang:{language}", f"tier:{maturity}")


def engine_profile(
    profile_id: str,
    language: str,
    maturity_tier: str,
    kids: bool,
    history: Sequence[Interaction],
    excluded: Sequence[str] = (),
) -> Profile:
    from recommendations.engine import Profile

    return Profile(
        profile_id,
        language=language,
        maturity=maturity_tier,
        kids=kids,
        history=tuple(history),
        attributes=attributes(language, maturity_tier),
        excluded=tuple(excluded),
    )
