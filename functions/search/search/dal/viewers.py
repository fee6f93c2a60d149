"""The caller's profile, through the shared viewer read contract (reelstack_common.viewer)."""

from __future__ import annotations

from reelstack_common.viewer import ProfileNotFound as NoSuchProfile
from reelstack_common.viewer import load_viewer

from search.models.errors import ProfileNotFound


def max_level(user_id: str, profile_id: str) -> int:
    """The highest maturity level the caller's profile may see; 404 when it is not the caller's."""
    try:
        return load_viewer(user_id, profile_id).max_level
    except NoSuchProfile:
        raise ProfileNotFound() from None
