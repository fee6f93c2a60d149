"""The plan catalogue (shared: reelstack_common.plans) and the profile maturity ladder."""

from __future__ import annotations

# The plans themselves are shared (playback and infra enforce them too): re-exported here so the
# accounts code keeps one import.
from reelstack_common.plans import DEFAULT_PLAN, PLAN_IDS, PLANS, Plan, plan

__all__ = ["DEFAULT_PLAN", "PLAN_IDS", "PLANS", "Plan", "plan", "MATURITY_RATINGS", "KIDS_MAX_RATING",
           "ADULT_DEFAULT_RATING", "cap_rating"]

# Ordered from most to least restrictive.
MATURITY_RATINGS: tuple[str, ...] = ("ALL", "7+", "13+", "16+", "18+")
KIDS_MAX_RATING = "7+"
ADULT_DEFAULT_RATING = "18+"


def cap_rating(rating: str, kids: bool) -> str:
    """Kids profiles never exceed ``KIDS_MAX_RATING``; other profiles keep their rating."""
    if kids and MATURITY_RATINGS.index(rating) > MATURITY_RATINGS.index(KIDS_MAX_RATING):
        return KIDS_MAX_RATING
    return rating
