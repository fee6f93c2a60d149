"""Who the page is for: the caller's own profile (contract A), or 404.

GET /home reads the viewer in the same round trip as the stored document (``first_read``) and
keeps it in a warm-function cache for ``VIEWER_TTL_S`` seconds. Staleness bound: a change to a
profile (its maturity setting, kids flag, language) reaches GET /home within ``VIEWER_TTL_S``
without DAX, and within ``VIEWER_TTL_S`` + DAX's record TTL with DAX (the cached copy may have
come from DAX's item cache); both are 5 s (infra: VIEWER_CACHE_TTL_S <= the DAX cluster's
record-ttl-millis), so a profile switched to kids stops seeing adult rows within 10 s at most.
Entries are keyed by (user, profile): a cached viewer never answers another account. Ratings
(writes) do not use the cache: they check the profile as it is now.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from reelstack_common.errors import ServiceUnavailable
from reelstack_common.ttl_cache import MAX_ENTRIES, TtlCache, viewer_ttl_s
from reelstack_common.ttl_cache import VIEWER_TTL_S as VIEWER_TTL_S  # the default, re-exported for tests

from recommendations.logic.home import FirstRead, HomeViewer
from recommendations.logic.ports import PageReads
from recommendations.models.exceptions import ProfileNotFound

ViewerLoader = Callable[[str, str], Any]  # reelstack_common.viewer.load_viewer's shape


def home_viewer(v: Any) -> HomeViewer:
    """A ``reelstack_common.viewer.Viewer`` as the page needs it."""
    return HomeViewer(profile_id=v.profile_id, language=v.language, maturity_rating=v.maturity_rating, kids=v.kids)


def viewer_for(user_id: str, profile_id: str, load: ViewerLoader) -> HomeViewer:
    from reelstack_common.viewer import ProfileNotFound as Missing

    try:
        v = load(user_id, profile_id)
    except Missing as exc:
        raise ProfileNotFound() from exc
    except Exception as exc:  # the accounts table itself: ownership cannot be checked
        raise ServiceUnavailable("Profiles are unavailable; try again") from exc
    return home_viewer(v)


class ViewerCache:
    """(user id, profile id) -> HomeViewer for ``ttl_s`` seconds (``reelstack_common.ttl_cache``).
    Only found profiles are kept: a 404 is read again next time."""

    def __init__(
        self,
        ttl_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._cache: TtlCache[tuple[str, str], HomeViewer] = TtlCache(
            viewer_ttl_s() if ttl_s is None else ttl_s, clock, max_entries
        )

    @property
    def ttl_s(self) -> float:
        return self._cache.ttl_s

    def get(self, user_id: str, profile_id: str) -> HomeViewer | None:
        return self._cache.get((user_id, profile_id))

    def now(self) -> float:
        return self._cache.now()

    def put(self, user_id: str, profile_id: str, viewer: HomeViewer, read_at: float | None = None) -> None:
        """``read_at``: ``now()`` taken before the read (the staleness bound counts from it)."""
        self._cache.put((user_id, profile_id), viewer, read_at)


def first_read(
    user_id: str,
    profile_id: str,
    load: ViewerLoader,
    *,
    reads: PageReads | None = None,
    cache: ViewerCache | None = None,
) -> FirstRead:
    """The viewer (cached, or read together with the document: one round trip), or 404 / 503.

    If the combined read fails, the failing table is unknown: the viewer is read alone, which
    answers 503 when the accounts table is what failed; otherwise the page goes on and reads the
    document alone, whose failure gives the fallback rows as before."""
    from reelstack_common.viewer import ProfileNotFound as Missing

    if cache is not None:
        hit = cache.get(user_id, profile_id)
        if hit is not None:
            return FirstRead(hit)
    read_at = cache.now() if cache is not None else None
    if reads is not None:
        try:
            v, stored, head = reads.viewer_and_home(user_id, profile_id)
        except Missing as exc:
            raise ProfileNotFound() from exc
        except Exception:  # noqa: S110 -- told apart by the single reads below
            pass
        else:
            who = home_viewer(v)
            if cache is not None:
                cache.put(user_id, profile_id, who, read_at)
            return FirstRead(who, stored, stored_read=True, head=head)
    who = viewer_for(user_id, profile_id, load)
    if cache is not None:
        cache.put(user_id, profile_id, who, read_at)
    return FirstRead(who)
