"""Which per-plan media tier a session plays (contract B)."""

from __future__ import annotations

from collections.abc import Sequence

from playback.models.domain import Tier


def pick_tier(tiers: Sequence[Tier], max_height: int) -> Tier | None:
    """The tier with the largest ``max_height`` not above the plan's; the smallest tier if every
    tier is above it; None when the title has no tiers."""
    if not tiers:
        return None
    allowed = [t for t in tiers if t.max_height <= max_height]
    if allowed:
        return max(allowed, key=lambda t: t.max_height)
    return min(tiers, key=lambda t: t.max_height)


def part_number(position_s: float, segment_seconds: float) -> int:
    """The HLS segment index holding ``position_s`` (segments are ``segment_seconds`` long)."""
    if segment_seconds <= 0:
        return 0
    return int(position_s // segment_seconds)
