"""Who the page is for: the caller's own profile (contract A), or 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reelstack_common.errors import ServiceUnavailable

from recommendations.logic.home import HomeViewer
from recommendations.models.exceptions import ProfileNotFound

ViewerLoader = Callable[[str, str], Any]  # reelstack_common.viewer.load_viewer's shape


def viewer_for(user_id: str, profile_id: str, load: ViewerLoader) -> HomeViewer:
    from reelstack_common.viewer import ProfileNotFound as Missing

    try:
        v = load(user_id, profile_id)
    except Missing as exc:
        raise ProfileNotFound() from exc
    except Exception as exc:  # the accounts table itself: ownership cannot be checked
        raise ServiceUnavailable("Profiles are unavailable; try again") from exc
    return HomeViewer(profile_id=v.profile_id, language=v.language, maturity_rating=v.maturity_rating, kids=v.kids)
