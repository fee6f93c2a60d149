"""The plan catalogue and the maturity ladder (static business configuration)."""

from __future__ import annotations

from dataclasses import dataclass


# Also the public shape of a plan: models/output.py's PlanList lists these as they are, so the
# fields are declared only here (and the docstring is the API contract's description).
@dataclass(frozen=True)
class Plan:
    """A plan: its monthly price and the profiles, concurrent streams and resolution it allows."""

    id: str
    name: str
    monthly_price_cents: int
    currency: str
    max_profiles: int
    max_concurrent_streams: int
    max_resolution: str


PLANS: dict[str, Plan] = {
    p.id: p
    for p in (
        Plan("basic", "Basic", 799, "USD", max_profiles=2, max_concurrent_streams=1, max_resolution="720p"),
        Plan(
            "standard",
            "Standard",
            1549,
            "USD",
            max_profiles=4,
            max_concurrent_streams=2,
            max_resolution="1080p",
        ),
        Plan(
            "premium",
            "Premium",
            2299,
            "USD",
            max_profiles=5,
            max_concurrent_streams=4,
            max_resolution="2160p",
        ),
    )
}
PLAN_IDS: tuple[str, ...] = tuple(PLANS)
DEFAULT_PLAN = "basic"

# Ordered from most to least restrictive.
MATURITY_RATINGS: tuple[str, ...] = ("ALL", "7+", "13+", "16+", "18+")
KIDS_MAX_RATING = "7+"
ADULT_DEFAULT_RATING = "18+"


def plan(plan_id: str) -> Plan:
    return PLANS[plan_id]


def cap_rating(rating: str, kids: bool) -> str:
    """Kids profiles never exceed ``KIDS_MAX_RATING``; other profiles keep their rating."""
    if kids and MATURITY_RATINGS.index(rating) > MATURITY_RATINGS.index(KIDS_MAX_RATING):
        return KIDS_MAX_RATING
    return rating
