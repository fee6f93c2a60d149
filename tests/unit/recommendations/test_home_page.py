"""GET /home's rules at the logic level (in-memory stores): row order, serve-time rules, staleness
and live compute, the fallback under each injected fault, the document size bound."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from home_world import DAY, DRAMA, FAMILY, KID, NEWBIE, NOW, Broken, World, viewer
from recommendations.logic import documents, ratings, trending
from recommendations.logic.home import HomePage, home_page
from recommendations.logic.ports import CampaignRecord, DependencyFailed, ViewState
from reelstack_common.maturity import title_level


def ids(page: HomePage) -> list[str]:
    return [i["title_id"] for r in page.rows for i in r["items"]]


def kinds(page: HomePage) -> list[str]:
    return [r["kind"] for r in page.rows]


def _campaign(w: World, title_ids: tuple[str, ...], **kw: object) -> None:
    c = CampaignRecord(
        "camp1",
        "Summer picks",
        title_ids,
        "2020-01-01T00:00:00+00:00",
        "2030-01-01T00:00:00+00:00",
        created_at="x",
        updated_at="x",
    )
    w.campaigns.put(replace(c, **kw))  # type: ignore[arg-type]


def _trend(w: World, *title_ids: str) -> None:
    views = [trending.View(t, NOW - k * 60, "en") for k, t in enumerate(title_ids)]
    trending.record_views(views, w.trending, lambda _: {}, NOW)


def _unused(w: World, profile_id: str, n: int) -> list[str]:
    """Titles the profile's document does not hold (so a serve-time row can show them)."""
    doc = json.loads(w.home.docs[profile_id].doc_json or "{}")
    personal = ("because_you_watched", "similar_interests")
    held = {t for r in doc["rows"] if r["kind"] in personal for t in r["title_ids"]}
    held |= {r.title_id for r in w.ratings.for_profile(profile_id)}
    return [t for t in sorted(w.titles.titles) if t not in held][:n]


def test_a_profile_with_history_gets_its_rows_in_display_order(w: World) -> None:
    # A film in progress: the history changed since the job, so the page is scored now.
    watching = sorted(r.title_id for r in w.ratings.for_profile(FAMILY))[0]
    w.history.views[FAMILY] = [ViewState(FAMILY, watching, NOW - 3600, position_s=600, duration_s=5400, percent=11)]
    assert home_page(viewer(FAMILY), w.deps()).source == "live"
    # Then a live campaign and trending views from the stream, on titles the page does not hold.
    free = _unused(w, FAMILY, 8)
    assert len(free) == 8 and watching not in free
    _campaign(w, (free[0], free[1]))
    _trend(w, *free[2:])
    page = home_page(viewer(FAMILY), w.deps())
    assert page.source == "precomputed"  # the written-back document
    assert kinds(page)[0] == "continue_watching"
    order = [k for k in kinds(page) if k != "because_you_watched"]
    assert order == ["continue_watching", "similar_interests", "trending", "sponsored", "new"]
    assert kinds(page).index("because_you_watched") < kinds(page).index("similar_interests")
    cw = page.rows[0]["items"][0]
    assert (cw["title_id"], cw["position_s"], cw["percent"]) == (watching, 600, 11)
    sponsored = next(r for r in page.rows if r["kind"] == "sponsored")
    assert sponsored["sponsored"] is True and sponsored["campaign_id"] == "camp1"
    assert [i["title_id"] for i in sponsored["items"]] == free[:2]
    trend = next(r for r in page.rows if r["kind"] == "trending")
    assert [i["title_id"] for i in trend["items"]][:2] == free[2:4]
    # Personal rows come from the family cluster's titles.
    similar = next(r for r in page.rows if r["kind"] == "similar_interests")
    assert all(i["title_id"].startswith("a") for i in similar["items"][:5])


def test_no_title_shows_twice_and_sponsored_titles_are_claimed_first(w: World) -> None:
    _trend(w, "a04", "a10", "a12", "c01")
    _campaign(w, ("a04", "a10"))
    page = home_page(viewer(FAMILY), w.deps())
    assert len(ids(page)) == len(set(ids(page)))
    sponsored = next(r for r in page.rows if r["kind"] == "sponsored")
    assert [i["title_id"] for i in sponsored["items"]] == ["a04", "a10"]


def test_the_stored_document_is_served_when_nothing_changed(w: World) -> None:
    page = home_page(viewer(DRAMA), w.deps())
    assert page.source == "precomputed" and not page.fallback
    assert page.model_version == w.home.pointer.model_version  # type: ignore[union-attr]
    assert w.home.puts == 4  # nothing written back: the job's four documents only


def test_a_new_view_makes_the_document_stale_then_it_is_live_computed_once(w: World) -> None:
    before = w.home.docs[DRAMA].history_key
    w.history.views[DRAMA] = [ViewState(DRAMA, "c04", NOW, finished=True, percent=100)]
    first = home_page(viewer(DRAMA), w.deps())
    assert first.source == "live"
    assert w.home.docs[DRAMA].history_key != before
    assert "c04" not in ids(first)  # finished: never offered again
    assert home_page(viewer(DRAMA), w.deps()).source == "precomputed"  # the write-back is used
    # A heartbeat (position only) does not make the page stale.
    w.history.views[DRAMA] = [ViewState(DRAMA, "c04", NOW + 5, position_s=99, finished=True, percent=100)]
    assert home_page(viewer(DRAMA), w.deps()).source == "precomputed"


def test_a_rating_makes_the_page_stale_and_thumbs_down_hides_the_title(w: World) -> None:
    page = home_page(viewer(DRAMA), w.deps())
    victim = ids(page)[0]
    w.now[0] = NOW + 60
    ratings.rate(DRAMA, 3, victim, "down", titles=w.titles, ratings=w.ratings, home=w.home, clock=w.clock)
    after = home_page(viewer(DRAMA), w.deps())
    assert after.source == "live"
    assert victim not in ids(after)
    # Trending is composed at serve time: the thumbed-down title stays out of it too.
    _trend(w, victim, "c01", "c03", "c05")
    assert victim not in ids(home_page(viewer(DRAMA), w.deps()))


def test_a_new_profile_is_scored_live_and_its_document_written_back(w: World) -> None:
    del w.home.docs[NEWBIE]
    page = home_page(viewer(NEWBIE), w.deps())
    assert page.source == "live" and page.rows
    assert "trending" in kinds(page) or "popular" in kinds(page)
    assert w.home.docs[NEWBIE].doc_json is not None


def test_maturity_and_availability_are_enforced_at_serve_time(w: World) -> None:
    # The kid reads the drama fan's document (as if the store held the wrong one): no R title leaks.
    w.home.docs[KID] = replace(w.home.docs[DRAMA], profile_id=KID, history_key=w.home.docs[KID].history_key)
    doc = json.loads(w.home.docs[KID].doc_json or "{}")
    doc["max_maturity_level"] = 0
    w.home.docs[KID] = replace(w.home.docs[KID], doc_json=json.dumps(doc))
    _trend(w, "d01", "d02", "d03", "a01")
    _campaign(w, ("d04", "a03"))
    page = home_page(viewer(KID, maturity="7+", kids=True), w.deps())
    assert page.source == "precomputed"
    shown = ids(page)
    assert shown and all(title_level(w.titles.titles[t].maturity_rating) <= 1 for t in shown)
    # A title withdrawn after the job ran disappears from a stored document at once.
    page = home_page(viewer(DRAMA), w.deps())
    gone = ids(page)[0]
    w.titles.titles[gone] = replace(w.titles.titles[gone], status="WITHDRAWN")
    assert gone not in ids(home_page(viewer(DRAMA), w.deps()))


def test_a_tightened_maturity_setting_rebuilds_the_page(w: World) -> None:
    page = home_page(viewer(DRAMA, maturity="13+"), w.deps())
    assert page.source == "live"
    assert all(title_level(w.titles.titles[t].maturity_rating) <= 2 for t in ids(page))


class DaxDown(Broken):
    pass


@pytest.mark.parametrize("fault", ["store", "dax", "artifact", "trending", "corrupt", "catalog", "playback"])
def test_every_dependency_fault_answers_the_fallback_rows(w: World, fault: str) -> None:
    deps = w.deps()
    if fault == "store":
        w.home.fail = True
    elif fault == "dax":

        def dax_get(_pid: str) -> None:
            raise DependencyFailed("dax", "connection refused")

        w.home.get = dax_get  # type: ignore[method-assign]
    elif fault == "artifact":
        del w.home.docs[NEWBIE]  # needs the model
        w.blobs.objects = {k: v for k, v in w.blobs.objects.items() if not k.endswith("model.pkl")}
    elif fault == "trending":
        w.trending.fail = True
    elif fault == "corrupt":
        w.home.docs[NEWBIE] = replace(w.home.docs[NEWBIE], doc_json='{"schema_version": 1, "rows": [{"kind": 3}]}')
    elif fault == "catalog":
        w.titles.fail = True
    elif fault == "playback":
        w.history.fail = True
    page = home_page(viewer(NEWBIE), deps)
    assert page.fallback and page.source == "fallback"
    assert page.fallback_reason == fault
    assert page.rows, "the job-built fallback rows are served"
    assert page.body()["fallback"] is True


def test_the_fallback_respects_the_profiles_maturity(w: World) -> None:
    w.home.fail = True
    page = home_page(viewer(KID, maturity="7+", kids=True), w.deps())
    assert page.fallback and page.rows
    assert all(title_level(i.get("maturity_rating")) <= 1 for r in page.rows for i in r["items"])
    adult = home_page(viewer(DRAMA), w.deps())
    assert any(title_level(i.get("maturity_rating")) == 3 for r in adult.rows for i in r["items"])


def test_before_the_first_run_the_packaged_fallback_offers_the_newest_titles() -> None:
    from home_world import world

    w = world()  # never trained: no model, no documents, no job-built fallback
    page = home_page(viewer(NEWBIE), w.deps())
    assert page.fallback and page.fallback_reason == "model"
    assert [r["kind"] for r in page.rows] == ["new"]
    w.titles.fail = True
    assert home_page(viewer(NEWBIE), w.deps()).rows == []  # still 200-able: empty, marked fallback


def test_the_largest_possible_document_is_far_below_dynamodbs_item_limit() -> None:
    long_id = "t" * documents.MAX_ID_CHARS
    rows = [
        {
            "row_id": f"byw-{long_id}",
            "kind": "because_you_watched",
            "title": "B" * 1000,
            "anchor_title_id": long_id,
            "title_ids": [f"{k:02d}" + long_id[2:] for k in range(50)] + ["x" * 500],
        }
        for _ in range(documents.MAX_ROWS + 5)
    ]
    doc = documents.bound_document(
        {
            "profile_id": "p" * 500,
            "generated_at": "2026-11-30T00:00:00+00:00",
            "model_version": "m" * 500,
            "rows": rows,
        },
        [f"{k:03d}" + long_id[3:] for k in range(2000)],
    )
    doc["max_maturity_level"] = 3
    size = len(documents.dumps(doc).encode())
    assert len(doc["rows"]) == documents.MAX_ROWS
    assert all(len(r["title_ids"]) == documents.MAX_ROW_ITEMS for r in doc["rows"])
    assert all("x" * 500 not in r["title_ids"] for r in doc["rows"])  # an over-long id is dropped, not cut
    assert size <= documents.WORST_CASE_BYTES < documents.DYNAMODB_ITEM_LIMIT // 4


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"schema_version": 2, "rows": []}',
        '{"schema_version": 1}',
        '{"schema_version": 1, "rows": [{"kind": "trending", "title_ids": [1]}]}',
    ],
)
def test_a_corrupt_document_is_refused(text: str) -> None:
    with pytest.raises(documents.CorruptDocument):
        documents.parse(text)


def test_the_documents_the_job_writes_parse_and_fit_the_bound(base: World) -> None:
    for stored in base.home.docs.values():
        assert stored.doc_json is not None
        documents.parse(stored.doc_json)
        assert len(stored.doc_json.encode()) <= documents.WORST_CASE_BYTES
    assert DAY > 0


def test_thumbs_down_titles_are_kept_out_of_the_ranking_not_cut_from_full_rows(base: World) -> None:
    from recommendations.logic import mapping
    from recommendations.logic.home import build_document

    loaded = base.deps().models.current()
    assert loaded is not None
    history = mapping.interactions(FAMILY, [], base.ratings.for_profile(FAMILY))
    plain = build_document(loaded.models, "v", FAMILY, "en", "adults", False, history, [], NOW)
    similar = next(r for r in plain["rows"] if r["kind"] == "similar_interests")["title_ids"]
    disliked = similar[:10]  # the ten titles it would have offered first
    doc = build_document(loaded.models, "v", FAMILY, "en", "adults", False, history, disliked, NOW)
    row = next(r for r in doc["rows"] if r["kind"] == "similar_interests")["title_ids"]
    assert not set(row) & set(disliked)
    assert len(row) == len(similar)  # the row is filled from the next-best titles


def test_page_for_reads_concurrently_but_answers_only_the_owner(w: World) -> None:
    from recommendations.logic.home import FirstRead, page_for
    from recommendations.models.exceptions import ProfileNotFound

    def not_yours() -> Any:
        raise ProfileNotFound()

    with pytest.raises(ProfileNotFound):
        page_for(not_yours, DRAMA, w.deps())
    page = page_for(lambda: FirstRead(viewer(DRAMA)), DRAMA, w.deps())
    assert page.source == "precomputed" and page.rows
    w.history.fail = True  # the first page seeded the history head: the playback table is not read
    assert page_for(lambda: FirstRead(viewer(DRAMA)), DRAMA, w.deps()).source == "precomputed"
    w.home.parts.clear()  # without a head, a failed history read gives the fallback, not an error
    assert page_for(lambda: FirstRead(viewer(DRAMA)), DRAMA, w.deps()).fallback_reason == "playback"
    assert not w.home.parts  # and seeds nothing


def test_a_failed_history_seed_does_not_change_the_answer(w: World) -> None:
    from recommendations.logic.home import FirstRead, page_for

    def refuse(part: Any, expected_rev: Any) -> bool:
        raise RuntimeError("throttled")

    w.home.put_part = refuse  # type: ignore[method-assign]
    errors: list[Exception] = []
    page = page_for(lambda: FirstRead(viewer(DRAMA)), DRAMA, w.deps(), on_write_error=errors.append)
    assert page.source == "precomputed" and page.rows and not page.fallback
    assert len(errors) == 2 and all("throttled" in str(e) for e in errors)  # both parts, logged
    assert not w.home.parts  # and the next page reads the playback table again
