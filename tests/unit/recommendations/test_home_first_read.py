"""GET /home's first round trip (logic level, in-memory stores): the viewer and the document in
one combined read, the warm viewer cache and its staleness bound (maturity safety included), the
fallbacks when the combined read or the document store fails, and the write-back of a live page
finishing before the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from home_world import DRAMA, KID, NEWBIE, Broken, World
from recommendations.logic.home import FirstRead, page_for
from recommendations.logic.ports import HistoryHead, StoredHome
from recommendations.logic.viewers import VIEWER_TTL_S, ViewerCache, first_read
from recommendations.models.exceptions import ProfileNotFound
from reelstack_common.errors import ServiceUnavailable
from reelstack_common.maturity import title_level
from reelstack_common.viewer import ProfileNotFound as Missing

USER = "u1"


@dataclass
class Account:
    """The accounts table as ``reelstack_common.viewer`` reads it: (user, profile) -> settings."""

    profiles: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    fail: bool = False
    reads: int = 0

    def viewer(self, user_id: str, profile_id: str) -> Any:
        from reelstack_common.viewer import viewer_from_items

        self.reads += 1
        if self.fail:
            raise Broken("accounts")
        p = self.profiles.get((user_id, profile_id))
        return viewer_from_items(user_id, profile_id, p, {"plan": "premium"} if p is not None else None)


@dataclass
class CombinedReads:
    """``PageReads`` over the fake accounts table and the world's home store."""

    account: Account
    w: World
    fail: bool = False
    calls: int = 0

    def viewer_and_home(self, user_id: str, profile_id: str) -> tuple[Any, StoredHome | None, HistoryHead | None]:
        self.calls += 1
        if self.fail:
            raise Broken("batch")
        v = self.account.viewer(user_id, profile_id)
        return v, *self.w.home.get_page(profile_id)




class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _setup(w: World) -> tuple[Account, CombinedReads, ViewerCache, Clock]:
    account = Account(
        {
            (USER, DRAMA): {"maturity_rating": "18+", "language": "en", "kids": False},
            (USER, NEWBIE): {"maturity_rating": "18+", "language": "en", "kids": False},
            (USER, KID): {"maturity_rating": "7+", "language": "en", "kids": True},
        }
    )
    clock = Clock()
    return account, CombinedReads(account, w), ViewerCache(ttl_s=VIEWER_TTL_S, clock=clock), clock


def _page(w: World, reads: CombinedReads, cache: ViewerCache | None, profile: str, **kw: Any) -> Any:
    return page_for(
        lambda: first_read(USER, profile, reads.account.viewer, reads=reads, cache=cache), profile, w.deps(), **kw
    )


def test_viewer_and_document_come_in_one_combined_read(w: World) -> None:
    account, reads, cache, _ = _setup(w)
    page = _page(w, reads, None, DRAMA)
    assert page.source == "precomputed" and page.rows
    assert reads.calls == 1 and w.home.page_reads == 1  # the combined read's own document read, no second one
    assert account.reads == 1


def test_without_a_history_head_the_page_reads_the_history_once_and_seeds_it(w: World) -> None:
    from recommendations.logic.ports import ViewState

    _, reads, _, _ = _setup(w)
    now = w.now[0]
    w.history.views[DRAMA] = [
        ViewState(DRAMA, "c04", now - 60, position_s=600, duration_s=5400, percent=11.1),
        ViewState(DRAMA, "c05", now - 7200, position_s=5400, duration_s=5400, percent=100, finished=True),
    ]
    w.history.reads = 0
    first = _page(w, reads, None, DRAMA)
    assert first.source == "live"  # the history changed since the document was built
    assert w.history.reads == 1
    head = w.home.head(DRAMA)  # newest first: every title in one part, what is in progress in the other
    assert head is not None and [v.title_id for v in head.titles.views] == ["c04", "c05"]
    assert [v.finished for v in head.titles.views] == [False, True]
    assert head.progress.views == (w.history.views[DRAMA][0],)
    again = _page(w, reads, None, DRAMA)  # the combined read alone: the head instead of the table
    assert (reads.calls, w.home.page_reads, w.history.reads) == (2, 2, 1)
    assert again.source == "precomputed" and again.rows == first.rows
    w.history.views[DRAMA].append(ViewState(DRAMA, "c06", now, position_s=60, duration_s=5400, percent=1.1))
    third = _page(w, reads, None, DRAMA)  # the table moved, the head did not (no projector here)
    assert third.source == "precomputed" and w.history.reads == 1


def test_the_warm_viewer_is_reused_within_its_ttl_then_read_again(w: World) -> None:
    account, reads, cache, clock = _setup(w)
    _page(w, reads, cache, DRAMA)
    assert (reads.calls, account.reads) == (1, 1)
    clock.t += VIEWER_TTL_S - 0.01
    page = _page(w, reads, cache, DRAMA)
    assert page.source == "precomputed" and (reads.calls, account.reads) == (1, 1)  # cached: document read alone
    clock.t += 0.01  # the TTL has passed
    _page(w, reads, cache, DRAMA)
    assert (reads.calls, account.reads) == (2, 2)


def test_a_cached_viewer_never_answers_another_account() -> None:
    from home_world import viewer

    clock = Clock()
    cache = ViewerCache(ttl_s=5.0, clock=clock)
    cache.put("u1", "p1", viewer("p1"))
    assert cache.get("u1", "p1") is not None
    assert cache.get("u2", "p1") is None


def test_a_profile_switched_to_kids_sees_no_adult_title_once_the_bound_has_passed(w: World) -> None:
    account, reads, cache, clock = _setup(w)
    adult = _page(w, reads, cache, DRAMA)
    assert any(title_level(i.get("maturity_rating")) == 3 for r in adult.rows for i in r["items"])
    account.profiles[(USER, DRAMA)] = {"maturity_rating": "7+", "language": "en", "kids": True}
    clock.t += VIEWER_TTL_S  # the staleness bound (without DAX; DAX adds its record TTL)
    kids = _page(w, reads, cache, DRAMA)
    assert kids.source == "live" and kids.rows  # the stored page was built for a looser setting
    assert all(title_level(i.get("maturity_rating")) <= 1 for r in kids.rows for i in r["items"])


def test_a_profile_that_is_not_the_callers_is_404_and_is_not_cached(w: World) -> None:
    account, reads, cache, _ = _setup(w)
    for _ in range(2):
        with pytest.raises(ProfileNotFound):
            _page(w, reads, cache, "someone-elses")
    assert reads.calls == 2  # a 404 is never served from the cache


def test_the_combined_read_failing_reads_the_viewer_alone_and_the_store_fault_gives_the_fallback(w: World) -> None:
    account, reads, cache, _ = _setup(w)
    reads.fail = True
    page = _page(w, reads, cache, DRAMA)
    assert page.source == "precomputed"  # only the combined read failed: single reads served it
    w.home.fail = True  # the document store is what fails: the fallback, marked
    cache = ViewerCache(ttl_s=VIEWER_TTL_S, clock=Clock())
    page = _page(w, reads, cache, DRAMA)
    assert page.fallback and page.body()["fallback"] is True and page.fallback_reason == "store" and page.rows
    page = _page(w, reads, cache, DRAMA)  # cached viewer, failing store: still the fallback
    assert page.fallback and page.fallback_reason == "store"


def test_the_accounts_table_failing_is_503_not_a_fallback(w: World) -> None:
    account, reads, cache, _ = _setup(w)
    account.fail = True
    with pytest.raises(ServiceUnavailable):
        _page(w, reads, cache, DRAMA)


def test_a_live_page_is_written_back_before_the_answer_and_a_failed_write_still_answers(w: World) -> None:
    account, reads, cache, _ = _setup(w)
    del w.home.docs[NEWBIE]
    page = _page(w, reads, cache, NEWBIE)
    assert page.source == "live" and w.home.docs[NEWBIE].doc_json  # written when page_for returns
    del w.home.docs[NEWBIE]
    errors: list[Exception] = []

    def broken_put(_home: StoredHome) -> None:
        raise Broken("put")

    w.home.put = broken_put  # type: ignore[method-assign]
    page = _page(w, reads, cache, NEWBIE, on_write_error=errors.append)
    assert page.source == "live" and page.rows and not page.fallback
    assert len(errors) == 1 and isinstance(errors[0], Broken)


def test_first_read_without_a_combined_reader_uses_the_viewer_loader() -> None:
    from home_world import viewer

    def load(_u: str, p: str) -> Any:
        if p == "gone":
            raise Missing(p)
        return type("V", (), {"profile_id": p, "language": "en", "maturity_rating": "18+", "kids": False})()

    read = first_read(USER, DRAMA, load)
    assert read == FirstRead(viewer(DRAMA)) and not read.stored_read
    with pytest.raises(ProfileNotFound):
        first_read(USER, "gone", load)


def test_a_page_without_document_reads_the_ratings_once_and_their_failure_gives_the_fallback(w: World) -> None:
    account, reads, cache, _ = _setup(w)
    del w.home.docs[DRAMA]
    calls: list[str] = []
    real = w.ratings.for_profile

    def counted(profile_id: str) -> Any:
        calls.append(profile_id)
        return real(profile_id)

    w.ratings.for_profile = counted  # type: ignore[method-assign]
    page = _page(w, reads, cache, DRAMA)
    assert page.source == "live" and calls == [DRAMA]  # started early (no document), read once
    del w.home.docs[DRAMA]
    w.ratings.fail = True
    w.ratings.for_profile = real  # type: ignore[method-assign]
    page = _page(w, reads, cache, DRAMA)
    assert page.fallback and page.fallback_reason == "store"


def test_a_rating_marked_while_the_page_is_scored_keeps_the_page_stale(w: World) -> None:
    from home_world import NOW
    from recommendations.logic import ratings as ratings_logic

    account, reads, cache, _ = _setup(w)
    w.home.mark_ratings_changed(DRAMA, NOW + 10)  # a rating after the job's document: stale
    w.now[0] = NOW + 15
    real = w.ratings.for_profile
    victim = next(iter(w.titles.titles))

    def rated_meanwhile(profile_id: str) -> Any:
        got = real(profile_id)
        # A thumbs-down lands after the page read the item and the ratings (another request).
        ratings_logic.rate(
            DRAMA, 3, victim, "down", titles=w.titles, ratings=w.ratings, home=w.home, clock=lambda: NOW + 20
        )
        return got

    w.ratings.for_profile = rated_meanwhile  # type: ignore[method-assign]
    assert _page(w, reads, cache, DRAMA).source == "live"
    # The write-back lost the race: the new mark stays (an unconditional write would have put back
    # NOW + 10 <= data_at NOW + 15, and the thumbs-down would never reach the page).
    assert w.home.docs[DRAMA].ratings_at == NOW + 20
    w.ratings.for_profile = real  # type: ignore[method-assign]
    w.now[0] = NOW + 25
    page = _page(w, reads, cache, DRAMA)
    assert page.source == "live"  # scored again, now with the thumbs-down
    assert victim not in [i["title_id"] for r in page.rows for i in r["items"]]
    assert _page(w, reads, cache, DRAMA).source == "precomputed"


def test_a_live_page_reuses_the_ratings_read_under_the_same_mark_and_rereads_after_a_rating(w: World) -> None:
    from home_world import NOW
    from recommendations.logic import ratings as ratings_logic
    from recommendations.logic.caches import RatingsCache

    account, reads, cache, clock = _setup(w)
    queries: list[str] = []
    real = w.ratings.for_profile

    def counted(profile_id: str) -> Any:
        queries.append(profile_id)
        return real(profile_id)

    w.ratings.for_profile = counted  # type: ignore[method-assign]
    rc = RatingsCache(w.ratings, clock=clock, ttl_s=60.0)
    deps = w.deps()
    deps.ratings_cache = rc

    def page() -> Any:
        return page_for(
            lambda: first_read(USER, DRAMA, account.viewer, reads=reads, cache=cache), DRAMA, deps, on_write_error=None
        )

    def live_again() -> None:  # the document goes stale for a reason other than ratings (a view)
        stored = w.home.docs[DRAMA]
        w.home.docs[DRAMA] = StoredHome(DRAMA, stored.doc_json, stored.model_version, "other-history",
                                        stored.data_at, stored.ratings_at)  # fmt: skip

    live_again()
    assert page().source == "live" and queries == [DRAMA]
    live_again()
    assert page().source == "live" and queries == [DRAMA]  # same mark: no second Query
    victim = next(iter(w.titles.titles))
    w.now[0] = NOW + 10
    ratings_logic.rate(DRAMA, 3, victim, "down", titles=w.titles, ratings=w.ratings, home=w.home, clock=lambda: NOW + 5)
    later = page()
    assert later.source == "live" and queries == [DRAMA, DRAMA]  # a new mark: read again
    assert victim not in [i["title_id"] for r in later.rows for i in r["items"]]
    live_again()
    clock.t += 60.0  # past the TTL, even under the same mark
    assert page().source == "live" and len(queries) == 3
    del w.home.docs[DRAMA]  # no item at all (mark None): read under None, then reused under None
    page()
    del w.home.docs[DRAMA]
    page()
    assert len(queries) == 4


def test_the_ratings_cache_is_bounded_and_can_be_turned_off(w: World) -> None:
    from recommendations.logic.caches import RatingsCache

    reads: list[str] = []
    real = w.ratings.for_profile

    def counted(profile_id: str) -> Any:
        reads.append(profile_id)
        return real(profile_id)

    w.ratings.for_profile = counted  # type: ignore[method-assign]
    off = RatingsCache(w.ratings, ttl_s=0.0)
    off.for_profile(DRAMA, 1.0)
    off.for_profile(DRAMA, 1.0)
    assert len(reads) == 2
    n = len(real(DRAMA))
    small = RatingsCache(w.ratings, ttl_s=60.0, max_ratings=n)
    small.for_profile(DRAMA, 1.0)
    small.for_profile("family00", 1.0)  # over the bound: the cache starts over
    small.for_profile(DRAMA, 1.0)
    assert reads[2:] == [DRAMA, "family00", DRAMA]
