"""The caller's profile's maturity level, through the shared viewer read contract
(reelstack_common.viewer): the profile item alone (search needs no plan or subscription), kept
in a warm-function cache for ``VIEWER_CACHE_TTL_S`` seconds (default 5; reelstack_common.ttl_cache).

Staleness bound: a profile switched to kids stops finding adult titles within that TTL (plus DAX's
item-cache TTL when DAX is configured). Entries are keyed by (user, profile): a cached level never
answers another account, and only found profiles are kept (a 404 is read again next time).
"""

from __future__ import annotations

from reelstack_common.ttl_cache import TtlCache, viewer_ttl_s
from reelstack_common.viewer import ProfileNotFound as NoSuchProfile
from reelstack_common.viewer import load_profile_level

from search.models.errors import ProfileNotFound

_levels: TtlCache[tuple[str, str], int] | None = None


def levels() -> TtlCache[tuple[str, str], int]:
    global _levels
    if _levels is None:
        _levels = TtlCache(viewer_ttl_s())
    return _levels


def reset() -> None:
    """Forget the cache (tests; a new TTL from the environment)."""
    global _levels
    _levels = None


def max_level(user_id: str, profile_id: str) -> int:
    """The highest maturity level the caller's profile may see; 404 when it is not the caller's."""
    cache = levels()
    hit = cache.get((user_id, profile_id))
    if hit is not None:
        return hit
    read_at = cache.now()
    try:
        level = load_profile_level(user_id, profile_id)
    except NoSuchProfile:
        raise ProfileNotFound() from None
    cache.put((user_id, profile_id), level, read_at)
    return level
