"""Series and episodes, versions, metadata edits and withdrawal: through the handler against moto."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.catalog.catalog_support import Catalog
from tests.unit.catalog.test_catalog_http import NEW_TITLE, create, error_code, set_status, upload

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

SERIES = {**NEW_TITLE, "kind": "series", "title": "The Long Series"}


def episode(series_id: str, season: int, number: int, **overrides: Any) -> dict[str, Any]:
    return {
        **NEW_TITLE,
        "kind": "episode",
        "title": f"S{season}E{number}",
        "series_id": series_id,
        "season": season,
        "number": number,
        **overrides,
    }


def slots(cloud: Catalog, series_id: str) -> list[str]:
    items = cloud.table.query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :e)",
        ExpressionAttributeValues={":pk": f"TITLE#{series_id}", ":e": "EPISODE#"},
    )["Items"]
    return [str(i["sk"]) for i in items]


def live_count(cloud: Catalog, series_id: str) -> int:
    item = cloud.table.get_item(Key={"pk": f"TITLE#{series_id}", "sk": "EPISODES"}).get("Item") or {}
    return int(item.get("live", 0))


# --- kinds at creation ------------------------------------------------------------------------


def test_a_movie_is_still_the_default_and_starts_at_version_1(cloud: Catalog) -> None:
    title_id = create(cloud)
    item = cloud.item(title_id)
    assert (item["kind"], item["version"], item["status"]) == ("movie", 1, "UPLOADING")
    assert "outbox_event" not in item  # nothing to announce: viewers cannot see it yet


def test_a_series_is_published_at_creation_and_announced(cloud: Catalog) -> None:
    series_id = create(cloud, **{k: v for k, v in SERIES.items() if k not in NEW_TITLE or k == "title"})
    item = cloud.item(series_id)
    assert (item["kind"], item["status"], item["gsi1pk"], item["version"]) == ("series", "READY", "STATUS#READY", 1)
    assert (item["outbox_event"], item["outbox_version"]) == ("TitlePublished", 1)
    status, body = cloud.invoke("GET", f"/titles/{series_id}", as_="viewer")
    assert status == 200 and body["kind"] == "series" and body["version"] == 1
    assert "outbox_event" not in body


def test_a_series_is_never_uploadable(cloud: Catalog) -> None:
    series_id = create(cloud, kind="series")
    status, body = upload(cloud, series_id)
    assert (status, error_code(body)) == (409, "SERIES_NOT_UPLOADABLE")
    status, body = cloud.invoke(
        "POST", f"/titles/{series_id}/upload/complete", {"upload_id": "x", "parts": [{"part_number": 1, "etag": "e"}]}
    )
    assert (status, error_code(body)) == (409, "SERIES_NOT_UPLOADABLE")
    assert cloud.item(series_id)["status"] == "READY" and cloud.item(series_id)["version"] == 1


def test_episodes_are_created_in_their_slots_and_are_uploadable(cloud: Catalog) -> None:
    series_id = create(cloud, kind="series")
    first = create(cloud, **episode(series_id, 1, 1))
    second = create(cloud, **episode(series_id, 1, 2))
    item = cloud.item(first)
    assert (item["kind"], item["series_id"], item["season"], item["number"]) == ("episode", series_id, 1, 1)
    assert item["status"] == "UPLOADING" and item["version"] == 1
    assert slots(cloud, series_id) == ["EPISODE#001#0001", "EPISODE#001#0002"]
    assert live_count(cloud, series_id) == 2
    status, body = upload(cloud, second)
    assert status == 200, body
    assert cloud.item(second)["version"] == 2  # back to UPLOADING is a change of the item


def test_a_duplicate_episode_number_is_refused_and_writes_nothing(cloud: Catalog) -> None:
    series_id = create(cloud, kind="series")
    create(cloud, **episode(series_id, 2, 5))
    status, body = cloud.invoke("POST", "/titles", episode(series_id, 2, 5, title="Impostor"))
    assert (status, error_code(body)) == (409, "EPISODE_EXISTS")
    assert live_count(cloud, series_id) == 1
    titles = cloud.table.scan()["Items"]
    assert [t["title"] for t in titles if t.get("entity") == "title" and t["kind"] == "episode"] == ["S2E5"]


@pytest.mark.parametrize("parent", ["missing", "movie", "withdrawn"])
def test_an_episode_needs_an_existing_live_series(cloud: Catalog, parent: str) -> None:
    if parent == "missing":
        series_id = "f" * 32
    elif parent == "movie":
        series_id = create(cloud)
    else:
        series_id = create(cloud, kind="series")
        assert cloud.invoke("POST", f"/titles/{series_id}/withdraw")[0] == 200
    status, body = cloud.invoke("POST", "/titles", episode(series_id, 1, 1))
    assert (status, error_code(body)) == (404, "SERIES_NOT_FOUND")
    assert slots(cloud, series_id) == []


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "episode"},  # no place
        {"kind": "episode", "series_id": "a" * 32, "season": 0, "number": 1},
        {"kind": "episode", "series_id": "a" * 32, "season": 1, "number": 0},
        {"kind": "episode", "series_id": "not-an-id", "season": 1, "number": 1},
        {"kind": "movie", "season": 1},  # a place on something that is not an episode
        {"kind": "series", "series_id": "a" * 32},
        {"kind": "documentary"},
    ],
)
def test_malformed_kinds_and_places_are_400(cloud: Catalog, payload: dict[str, Any]) -> None:
    status, body = cloud.invoke("POST", "/titles", {**NEW_TITLE, **payload})
    assert (status, error_code(body)) == (400, "VALIDATION_ERROR")


# --- episodes listing ---------------------------------------------------------------------------


def test_episodes_come_in_season_then_number_order_and_page(cloud: Catalog) -> None:
    series_id = create(cloud, kind="series")
    made = {}
    for season, number in [(2, 1), (1, 10), (1, 2), (1, 1), (10, 3)]:
        made[(season, number)] = create(cloud, **episode(series_id, season, number))
    seen: list[tuple[int, int]] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, body = cloud.invoke("GET", f"/titles/{series_id}/episodes", query=params)
        assert status == 200, body
        seen += [(e["season"], e["number"]) for e in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [(1, 1), (1, 2), (1, 10), (2, 1), (10, 3)] and pages == 3
    status, body = cloud.invoke("GET", f"/titles/{series_id}/episodes", query={"season": "1"})
    assert [e["number"] for e in body["items"]] == [1, 2, 10]


def test_a_viewer_sees_only_ready_episodes(cloud: Catalog) -> None:
    series_id = create(cloud, kind="series")
    ids = [create(cloud, **episode(series_id, 1, n)) for n in range(1, 6)]
    for n in (2, 5):
        set_status(cloud.table, ids[n - 1], "READY")
    status, body = cloud.invoke("GET", f"/titles/{series_id}/episodes", as_="viewer", query={"limit": "1"})
    assert status == 200 and [e["number"] for e in body["items"]] == [2]  # skips the unpublished first
    status, body = cloud.invoke(
        "GET", f"/titles/{series_id}/episodes", as_="viewer", query={"limit": "1", "cursor": body["next_cursor"]}
    )
    assert [e["number"] for e in body["items"]] == [5]
    status, body = cloud.invoke("GET", f"/titles/{series_id}/episodes")
    assert len(body["items"]) == 5  # an admin sees every status


def test_episodes_of_what_is_not_a_visible_series(cloud: Catalog) -> None:
    movie = create(cloud)
    set_status(cloud.table, movie, "READY")
    status, body = cloud.invoke("GET", f"/titles/{movie}/episodes", as_="viewer")
    assert (status, error_code(body)) == (404, "SERIES_NOT_FOUND")
    status, body = cloud.invoke("GET", f"/titles/{'e' * 32}/episodes", as_="viewer")
    assert (status, error_code(body)) == (404, "NOT_FOUND")


def test_an_episode_cursor_continues_only_its_own_listing(cloud: Catalog) -> None:
    series_id = create(cloud, kind="series")
    other = create(cloud, kind="series")
    for n in (1, 2):
        create(cloud, **episode(series_id, 1, n))
    _, body = cloud.invoke("GET", f"/titles/{series_id}/episodes", query={"limit": "1"})
    cursor = body["next_cursor"]
    for path, query in [
        (f"/titles/{other}/episodes", {"cursor": cursor}),
        (f"/titles/{series_id}/episodes", {"cursor": cursor, "season": "1"}),
        (f"/titles/{series_id}/episodes", {"cursor": "bm90LWpzb24"}),
    ]:
        status, body = cloud.invoke("GET", path, query=query)
        assert (status, error_code(body)) == (400, "INVALID_CURSOR")


# --- PATCH /titles/{id} ---------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields_and_bumps_the_version(cloud: Catalog) -> None:
    title_id = create(cloud)
    status, body = cloud.invoke("PATCH", f"/titles/{title_id}", {"title": "  A New Name ", "year": 2023})
    assert status == 200, body
    assert (body["title"], body["year"], body["version"]) == ("A New Name", 2023, 2)
    assert body["description"] == NEW_TITLE["description"] and body["cast"] == NEW_TITLE["cast"]
    item = cloud.item(title_id)
    assert (item["version"], item["outbox_event"], item["outbox_version"]) == (2, "TitleUpdated", 2)
    assert item["updated_at"] > item["created_at"]


def test_patch_with_the_expected_version(cloud: Catalog) -> None:
    title_id = create(cloud)
    assert cloud.invoke("PATCH", f"/titles/{title_id}", {"genres": ["comedy"], "expected_version": 1})[0] == 200
    status, body = cloud.invoke("PATCH", f"/titles/{title_id}", {"genres": ["horror"], "expected_version": 1})
    assert (status, error_code(body)) == (409, "VERSION_CONFLICT")
    assert "version 2" in body["error"]["message"]
    assert cloud.item(title_id)["genres"] == ["comedy"] and cloud.item(title_id)["version"] == 2


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"expected_version": 1},
        {"kind": "series"},
        {"season": 2},
        {"status": "READY"},
        {"title": None},
        {"maturity_rating": "XXX"},
        {"year": 3000},
        {"genres": ["x"] * 11},
    ],
    ids=["empty", "only-version", "kind", "season", "status", "null", "rating", "year", "genres"],
)
def test_patch_rejects_bad_bodies_and_changes_nothing(cloud: Catalog, change: dict[str, Any]) -> None:
    title_id = create(cloud)
    before = cloud.item(title_id)
    status, body = cloud.invoke("PATCH", f"/titles/{title_id}", change)
    assert (status, error_code(body)) == (400, "VALIDATION_ERROR")
    assert cloud.item(title_id) == before


def test_patch_is_for_admins_and_existing_titles(cloud: Catalog) -> None:
    title_id = create(cloud)
    status, body = cloud.invoke("PATCH", f"/titles/{title_id}", {"year": 2000}, as_="viewer")
    assert (status, error_code(body)) == (403, "FORBIDDEN")
    status, body = cloud.invoke("PATCH", f"/titles/{'a' * 32}", {"year": 2000})
    assert (status, error_code(body)) == (404, "NOT_FOUND")
    assert cloud.table.get_item(Key={"pk": f"TITLE#{'a' * 32}", "sk": "META"}).get("Item") is None


# --- withdrawal ---------------------------------------------------------------------------------


def test_withdrawal_hides_a_title_from_viewers_for_good(cloud: Catalog) -> None:
    title_id = create(cloud)
    set_status(cloud.table, title_id, "READY")
    status, body = cloud.invoke("POST", f"/titles/{title_id}/withdraw")
    assert status == 200 and body["status"] == "WITHDRAWN" and body["version"] == 2
    item = cloud.item(title_id)
    assert (item["gsi1pk"], item["outbox_event"], item["outbox_version"]) == ("STATUS#WITHDRAWN", "TitleWithdrawn", 2)
    assert cloud.invoke("GET", f"/titles/{title_id}", as_="viewer")[0] == 404
    _, listing = cloud.invoke("GET", "/titles", as_="viewer")
    assert title_id not in [t["title_id"] for t in listing["items"]]
    _, listing = cloud.invoke("GET", "/titles", query={"status": "WITHDRAWN"})
    assert [t["title_id"] for t in listing["items"]] == [title_id]
    # A retry answers the same and changes nothing; the source cannot come back.
    status, again = cloud.invoke("POST", f"/titles/{title_id}/withdraw")
    assert status == 200 and again["version"] == 2 and cloud.item(title_id)["version"] == 2
    status, body = upload(cloud, title_id)
    assert (status, error_code(body)) == (409, "TITLE_NOT_UPLOADABLE")


def test_a_transcoding_title_cannot_be_withdrawn(cloud: Catalog) -> None:
    title_id = create(cloud)
    set_status(cloud.table, title_id, "TRANSCODING")
    status, body = cloud.invoke("POST", f"/titles/{title_id}/withdraw")
    assert (status, error_code(body)) == (409, "TITLE_BUSY")
    assert cloud.item(title_id)["status"] == "TRANSCODING"


def test_withdrawal_is_for_admins(cloud: Catalog) -> None:
    title_id = create(cloud)
    status, body = cloud.invoke("POST", f"/titles/{title_id}/withdraw", as_="viewer")
    assert (status, error_code(body)) == (403, "FORBIDDEN")
    assert cloud.invoke("POST", f"/titles/{'b' * 32}/withdraw")[0] == 404


def test_a_series_is_withdrawn_only_once_its_episodes_are(cloud: Catalog) -> None:
    series_id = create(cloud, kind="series")
    first = create(cloud, **episode(series_id, 1, 1))
    status, body = cloud.invoke("POST", f"/titles/{series_id}/withdraw")
    assert (status, error_code(body)) == (409, "SERIES_HAS_EPISODES")
    assert cloud.item(series_id)["status"] == "READY"

    assert cloud.invoke("POST", f"/titles/{first}/withdraw")[0] == 200
    assert slots(cloud, series_id) == [] and live_count(cloud, series_id) == 0
    # the place is free again: a replacement episode takes it
    replacement = create(cloud, **episode(series_id, 1, 1, title="Recut"))
    assert cloud.invoke("POST", f"/titles/{replacement}/withdraw")[0] == 200
    status, body = cloud.invoke("POST", f"/titles/{series_id}/withdraw")
    assert status == 200 and body["status"] == "WITHDRAWN"
    assert cloud.invoke("GET", f"/titles/{series_id}/episodes", as_="viewer")[0] == 404


def test_a_withdrawn_title_is_not_edited(cloud: Catalog) -> None:
    title_id = create(cloud)
    assert cloud.invoke("POST", f"/titles/{title_id}/withdraw")[0] == 200
    before = cloud.item(title_id)
    status, body = cloud.invoke("PATCH", f"/titles/{title_id}", {"title": "Back from the dead"})
    assert (status, error_code(body)) == (409, "TITLE_WITHDRAWN")
    assert cloud.item(title_id) == before


def test_items_from_before_kinds_and_versions_are_movies_at_version_0(cloud: Catalog) -> None:
    old_id = create(cloud)
    cloud.table.update_item(
        Key={"pk": f"TITLE#{old_id}", "sk": "META"}, UpdateExpression="REMOVE kind, version"
    )  # as written by the code before this change
    set_status(cloud.table, old_id, "READY")
    status, body = cloud.invoke("GET", f"/titles/{old_id}", as_="viewer")
    assert status == 200 and (body["kind"], body["version"]) == ("movie", 0)
    status, body = cloud.invoke("POST", f"/titles/{old_id}/withdraw")
    assert status == 200 and (body["status"], body["version"]) == ("WITHDRAWN", 1)
    assert cloud.item(old_id)["outbox_version"] == 1


@pytest.mark.parametrize("edge", ["http", "alb"])
def test_the_new_routes_behind_both_edges(cloud: Catalog, edge: str) -> None:
    series_id = create(cloud, kind="series")
    status, body = cloud.invoke("POST", "/titles", episode(series_id, 1, 1), edge=edge)
    assert status == 201, body
    status, body = cloud.invoke("GET", f"/titles/{series_id}/episodes", edge=edge)
    assert status == 200 and len(body["items"]) == 1
    status, body = cloud.invoke("PATCH", f"/titles/{series_id}", {"year": 1999}, edge=edge)
    assert status == 200 and body["version"] == 2
    status, body = cloud.invoke("POST", f"/titles/{series_id}/withdraw", as_="viewer", edge=edge)
    assert (status, error_code(body)) == (403, "FORBIDDEN")
    status, body = cloud.invoke("PATCH", f"/titles/{series_id}", {"year": 1999}, as_=None, edge=edge)
    assert (status, error_code(body)) == (401, "UNAUTHORIZED")
