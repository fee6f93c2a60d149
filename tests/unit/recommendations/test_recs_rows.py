"""Row-builder rules, each with an input built to tempt the builder into breaking it."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from recommendations.engine import (
    Campaign,
    Catalog,
    Interaction,
    Profile,
    RowConfig,
    build_fallback,
    build_home,
    fit_models,
    maturity_level,
)

from tests.unit.recommendations.recs_world import DAY, NOW, catalog, interactions


@pytest.fixture(scope="module")
def models():
    return fit_models(interactions(), catalog(), NOW)


def ids(doc) -> list[str]:
    return [t for r in doc["rows"] for t in r["title_ids"]]


def drama_fan(n: int = 4, finished: bool = True) -> Profile:
    hist = tuple(Interaction("fan", f"d{k:02d}", NOW - (10 - k) * DAY, finished=finished) for k in range(1, n + 1))
    return Profile("fan", language="en", maturity="adults", history=hist)


def test_personal_rows_follow_the_taste_cluster(models):
    doc = build_home(drama_fan(), models, now=NOW, config=RowConfig(row_size=8))
    kinds = [r["kind"] for r in doc["rows"]]
    assert kinds[0] == "similar_interests"
    assert "because_you_watched" in kinds and "trending" in kinds
    first = doc["rows"][0]["title_ids"]
    assert all(t.startswith("d") for t in first[:8])
    byw = next(r for r in doc["rows"] if r["kind"] == "because_you_watched")
    # Anchored on the most recent title, and the row shares its genre.
    assert byw["anchor_title_id"] == "d04" and byw["title"] == "Because you watched Drama 4"
    assert all(t.startswith("d") for t in byw["title_ids"])


def test_never_above_the_profile_maturity(models):
    # A teen who loves dramas: every drama is R. They are the CF's best guess and in a campaign.
    teen = replace(drama_fan(), maturity="teens")
    camp = Campaign("c1", "Sponsored", ("d10", "c01", "d11"), NOW - DAY, NOW + DAY)
    doc = build_home(teen, models, [camp], now=NOW)
    cat = models.catalog
    shown = ids(doc)
    assert shown, "the teen still gets rows"
    assert all(cat.titles[cat.index[t]].level <= maturity_level("teens") for t in shown)
    sponsored = [r for r in doc["rows"] if r["sponsored"]]
    assert sponsored and sponsored[0]["title_ids"] == ["c01"]


def test_kids_profile_sees_only_kids_titles(models):
    # The kids flag wins even over a wrongly set adult rating, and over an adult history.
    kid = replace(drama_fan(), profile_id="kid", maturity="adults", kids=True)
    doc = build_home(kid, models, [Campaign("c", "Sponsored", ("d09", "a03"), 0, NOW + DAY)], now=NOW)
    cat = models.catalog
    assert ids(doc) and all(cat.titles[cat.index[t]].is_kids for t in ids(doc))


def test_never_an_unpublished_or_unavailable_title():
    cat = catalog()
    # Make the trending burst title unpublished, d09 not yet released, d05 expired.
    titles = [
        replace(t, published=False) if t.title_id == "c07"
        else replace(t, available_from=NOW + DAY) if t.title_id == "d09"
        else replace(t, available_until=NOW - 1) if t.title_id == "d05"
        else t
        for t in cat.titles
    ]  # fmt: skip
    m = fit_models(interactions(), Catalog.of(titles), NOW)
    camp = Campaign("c", "Sponsored", ("c07", "d09", "d05", "c02"), NOW - DAY, NOW + DAY)
    for p in (drama_fan(), Profile("new", language="es")):
        shown = set(ids(build_home(p, m, [camp], now=NOW)))
        assert shown and not shown & {"c07", "d09", "d05"}
    assert not {"c07", "d09", "d05"} & set(ids(build_fallback(m, now=NOW, max_maturity="adults")))


def test_nothing_already_finished_but_unfinished_titles_may_return(models):
    fan = drama_fan(n=10)
    assert not set(ids(build_home(fan, models, now=NOW))) & fan.finished_ids()
    partial = drama_fan(n=10, finished=False)
    assert set(ids(build_home(partial, models, now=NOW))) & {i.title_id for i in partial.history}


def test_no_title_in_two_rows(models):
    # Trending, popular, CF and a campaign all want the same titles.
    camp = Campaign("c", "Sponsored", ("d00", "c07", "d05"), NOW - DAY, NOW + DAY)
    for p in (drama_fan(), Profile("new"), replace(drama_fan(), kids=True)):
        shown = ids(build_home(p, models, [camp], now=NOW, config=RowConfig(row_size=8)))
        assert len(shown) == len(set(shown))
    fb = ids(build_fallback(models, now=NOW))
    assert len(fb) == len(set(fb))


@pytest.mark.parametrize(
    ("start", "end", "live"),
    [
        (NOW - DAY, NOW + DAY, True),
        (NOW + 1, NOW + DAY, False),
        (NOW - DAY, NOW, False),
        (NOW - 2 * DAY, NOW - DAY, False),
    ],
)
def test_sponsored_only_inside_flight_dates(models, start, end, live):
    camp = Campaign("spring", "Sponsored: Spring picks", ("c01", "c02"), start, end)
    doc = build_home(drama_fan(), models, [camp], now=NOW)
    rows = [r for r in doc["rows"] if r["kind"] == "sponsored"]
    assert bool(rows) is live
    if live:
        assert rows[0]["sponsored"] is True and rows[0]["campaign_id"] == "spring"
        assert rows[0]["title_ids"] == ["c01", "c02"]  # the advertiser's order
    assert all(r["sponsored"] is False for r in doc["rows"] if r["kind"] != "sponsored")


def test_sponsored_targeting_by_language_and_audience(models):
    es_only = Campaign("es", "Patrocinado", ("c01", "c03"), NOW - DAY, NOW + DAY, languages=("es",))
    adults = Campaign("ad", "Sponsored", ("c01", "c03"), NOW - DAY, NOW + DAY, audiences=("adults",))
    en_adult = drama_fan()
    assert not [r for r in build_home(en_adult, models, [es_only], now=NOW)["rows"] if r["sponsored"]]
    assert [r for r in build_home(en_adult, models, [adults], now=NOW)["rows"] if r["sponsored"]]
    teen = replace(en_adult, maturity="TV-14")
    assert not [r for r in build_home(teen, models, [adults], now=NOW)["rows"] if r["sponsored"]]


def test_profile_without_history_gets_trending_rows_in_its_language(models):
    doc = build_home(Profile("new", language="es", maturity="adults"), models, now=NOW)
    assert doc["rows"][0]["kind"] == "trending"
    cat = models.catalog
    first = doc["rows"][0]["title_ids"]
    assert first[0] == "c07"  # the burst
    assert all(cat.titles[cat.index[t]].language == "es" for t in first)
    assert {r["kind"] for r in doc["rows"]} <= {"trending", "popular", "sponsored"}


def test_identical_inputs_identical_document():
    a = fit_models(interactions(), catalog(), NOW)
    b = fit_models(list(reversed(interactions())), catalog(), NOW)  # input order must not matter
    camps = [Campaign("x", "S", ("c01", "c02"), 0, NOW + DAY), Campaign("y", "S", ("c03",), 0, NOW + DAY)]
    for p in (drama_fan(), Profile("new", language="en")):
        da = json.dumps(build_home(p, a, camps, now=NOW), sort_keys=True)
        db = json.dumps(build_home(p, b, list(reversed(camps)), now=NOW), sort_keys=True)
        assert da == db
    assert json.dumps(build_fallback(a, now=NOW)) == json.dumps(build_fallback(b, now=NOW))


def test_fallback_is_popular_and_maturity_safe(models):
    small = RowConfig(row_size=8)
    doc = build_fallback(models, now=NOW, config=small)
    cat = models.catalog
    assert doc["fallback"] is True and doc["profile_id"] is None
    shown = ids(doc)
    assert shown and all(cat.titles[cat.index[t]].level == 0 for t in shown)
    assert [r["kind"] for r in doc["rows"]] == ["trending", "popular"]
    assert not any(r["sponsored"] for r in doc["rows"])
    adult = build_fallback(models, now=NOW, max_maturity="adults", config=small)
    assert adult["rows"][0]["title_ids"][0] == "c07"  # the burst
    assert adult["rows"][1]["title_ids"][0] == "d00"  # the all-time favourite


def test_document_shape_is_json_ready(models):
    doc = build_home(drama_fan(), models, [Campaign("c", "S", ("c01",), 0, NOW + DAY)], now=NOW)
    json.dumps(doc)
    assert doc["schema_version"] == 1 and doc["profile_id"] == "fan"
    for r in doc["rows"]:
        assert {"row_id", "kind", "title", "title_ids", "sponsored"} <= r.keys()
        assert len(r["title_ids"]) <= RowConfig().row_size
    assert len({r["row_id"] for r in doc["rows"]}) == len(doc["rows"])
