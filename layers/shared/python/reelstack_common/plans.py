"""The plan catalogue: what each subscription plan allows (static business configuration).

Shared because more than the accounts service enforces it: playback counts concurrent streams
and caps the resolution a session can reach, and infra derives the media layout's plan tiers from
the plans' heights (``height_caps``)."""

from __future__ import annotations

from dataclasses import dataclass


# Also the public shape of a plan: the accounts API lists these as they are, so the fields are
# declared only here (and the docstring is the API contract's description).
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

    @property
    def max_height(self) -> int:
        """The nominal height of ``max_resolution`` ("1080p" -> 1080): the largest rendition this
        plan may play."""
        return resolution_height(self.max_resolution)


def resolution_height(resolution: str) -> int:
    """"720p" -> 720. Raises ValueError on anything else, so a typo in a plan fails at import."""
    text = resolution.strip().lower()
    if not text.endswith("p") or not text[:-1].isdigit():
        raise ValueError(f"not a resolution like '1080p': {resolution!r}")
    return int(text[:-1])


PLANS: dict[str, Plan] = {
    p.id: p
    for p in (
        Plan("basic", "Basic", 799, "USD", max_profiles=2, max_concurrent_streams=1, max_resolution="720p"),
        Plan("standard", "Standard", 1549, "USD", max_profiles=4, max_concurrent_streams=2, max_resolution="1080p"),
        Plan("premium", "Premium", 2299, "USD", max_profiles=5, max_concurrent_streams=4, max_resolution="2160p"),
    )
}
PLAN_IDS: tuple[str, ...] = tuple(PLANS)
DEFAULT_PLAN = "basic"


def plan(plan_id: str) -> Plan:
    return PLANS[plan_id]


def height_caps() -> tuple[int, ...]:
    """The distinct plan height caps, ascending (720, 1080, 2160): the media layout nests
    renditions by these so one signed wildcard grant covers exactly what a plan may play."""
    return tuple(sorted({p.max_height for p in PLANS.values()}))
