"""Explicit taste: a profile's thumbs (up, down, love) on titles it may see."""

from __future__ import annotations

from collections.abc import Callable

from reelstack_common.maturity import title_level

from recommendations.logic.ports import HomeStore, Rating, RatingStore, TitleSource
from recommendations.models.exceptions import TitleNotFound


def _check_title(title_id: str, level: int, titles: TitleSource) -> None:
    """The title must be READY and within the profile's maturity: a kids profile cannot even learn
    that an adult title exists by rating it."""
    found = titles.get_many([title_id]).get(title_id)
    if found is None or not found.ready or title_level(found.maturity_rating) > level:
        raise TitleNotFound()


def rate(
    profile_id: str,
    level: int,
    title_id: str,
    thumb: str,
    *,
    titles: TitleSource,
    ratings: RatingStore,
    home: HomeStore,
    clock: Callable[[], float],
) -> Rating:
    _check_title(title_id, level, titles)
    rating = Rating(profile_id, title_id, thumb, clock())
    ratings.put(rating)
    # The stored page no longer reflects the profile's taste: the next GET /home recomputes it.
    home.mark_ratings_changed(profile_id, rating.rated_at)
    return rating


def unrate(
    profile_id: str, title_id: str, *, ratings: RatingStore, home: HomeStore, clock: Callable[[], float]
) -> None:
    """Idempotent: removing a rating that does not exist is not an error."""
    ratings.delete(profile_id, title_id)
    home.mark_ratings_changed(profile_id, clock())
