"""The catalog HTTP contract, end to end through the Lambda handler against moto."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from tests.unit.catalog.catalog_support import BUCKET, Catalog

# Powertools warns when an invocation publishes no custom metric; these handlers publish none.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

NEW_TITLE = {
    "title": "The Long Take",
    "description": "One shot, no cuts.",
    "genres": ["drama", "thriller"],
    "cast": ["A. Actor", "B. Actress"],
    "language": "en",
    "maturity_rating": "PG-13",
    "year": 2024,
}


def create(cloud: Catalog, **overrides: Any) -> str:
    status, body = cloud.invoke("POST", "/titles", {**NEW_TITLE, **overrides})
    assert status == 201, body
    return str(body["title_id"])


def set_status(table: Any, title_id: str, status: str, **extra: Any) -> None:
    """What the transcoding workflow does to the title item (status and gsi1pk move together)."""
    names = {"#status": "status", **{f"#{k}": k for k in extra}}
    values = {":s": status, ":g": f"STATUS#{status}", **{f":{k}": v for k, v in extra.items()}}
    sets = ", ".join(["#status = :s", "gsi1pk = :g", *(f"#{k} = :{k}" for k in extra)])
    table.update_item(
        Key={"pk": f"TITLE#{title_id}", "sk": "META"},
        UpdateExpression=f"SET {sets}",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def upload(cloud: Catalog, title_id: str, size_bytes: int = 1024, **kwargs: Any) -> tuple[int, Any]:
    """POST /titles/{id}/upload for a single PUT of ``size_bytes`` (the size is required)."""
    return cloud.invoke("POST", f"/titles/{title_id}/upload", {"size_bytes": size_bytes}, **kwargs)


def error_code(body: Any) -> str:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return str(body["error"]["code"])


# --- POST /titles -------------------------------------------------------------------------------


def test_admin_creates_title_in_uploading_state(cloud: Catalog) -> None:
    title_id = create(cloud)
    item = cloud.item(title_id)
    assert item["status"] == "UPLOADING"
    assert item["gsi1pk"] == "STATUS#UPLOADING"
    assert item["gsi1sk"] == f"{item['created_at']}#{title_id}"
    assert item["created_by"] == cloud.subs["admin"]
    assert item["genres"] == ["drama", "thriller"] and item["year"] == 2024


def test_non_admin_cannot_create(cloud: Catalog) -> None:
    status, body = cloud.invoke("POST", "/titles", NEW_TITLE, as_="viewer")
    assert (status, error_code(body)) == (403, "FORBIDDEN")


def test_anonymous_is_unauthorized(cloud: Catalog) -> None:
    status, body = cloud.invoke("POST", "/titles", NEW_TITLE, as_=None)
    assert (status, error_code(body)) == (401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "change",
    [
        {"year": 1700},
        {"maturity_rating": "XXX"},
        {"language": "English"},
        {"title": "   "},
        {"genres": "drama"},
        {"cast": [""]},
        {"unexpected": True},
    ],
    ids=["year", "rating", "language", "blank-title", "genres-not-list", "empty-cast-name", "unknown-field"],
)
def test_invalid_fields_are_rejected(cloud: Catalog, change: dict[str, Any]) -> None:
    status, body = cloud.invoke("POST", "/titles", {**NEW_TITLE, **change})
    assert (status, error_code(body)) == (400, "VALIDATION_ERROR")
    assert next(iter(change)) in body["error"]["message"]


def test_missing_required_field(cloud: Catalog) -> None:
    payload = {k: v for k, v in NEW_TITLE.items() if k != "maturity_rating"}
    status, body = cloud.invoke("POST", "/titles", payload)
    assert (status, error_code(body)) == (400, "VALIDATION_ERROR")


def test_malformed_json(cloud: Catalog) -> None:
    status, body = cloud.invoke("POST", "/titles", "{not json")
    assert (status, error_code(body)) == (400, "BAD_REQUEST")


# --- POST /titles/{title_id}/upload -------------------------------------------------------------


def test_upload_url_accepts_a_put_of_the_source(cloud: Catalog) -> None:
    title_id = create(cloud)
    payload = b"\x00\x00\x00\x18ftypmp42" + b"x" * 1000
    status, body = upload(cloud, title_id, len(payload))
    assert status == 200, body
    assert body["method"] == "PUT" and body["expires_in"] == 600
    assert body["headers"] == {"Content-Type": "application/octet-stream", "Content-Length": str(len(payload))}
    assert body["key"] == f"uploads/{title_id}/source"
    assert f"uploads/{title_id}/source" in body["upload_url"]

    put = requests.put(body["upload_url"], data=payload, headers=body["headers"], timeout=10)
    assert put.status_code == 200, put.text
    stored = boto3.client("s3").get_object(Bucket=BUCKET, Key=body["key"])
    assert stored["Body"].read() == payload
    assert stored["ContentType"] == "application/octet-stream"


def test_upload_with_known_size_signs_content_length(cloud: Catalog) -> None:
    title_id = create(cloud)
    payload = b"\x00" * 2048
    status, body = cloud.invoke("POST", f"/titles/{title_id}/upload", {"size_bytes": len(payload)})
    assert status == 200, body
    assert body["headers"] == {"Content-Type": "application/octet-stream", "Content-Length": "2048"}
    assert "content-length%3Bcontent-type%3Bhost" in body["upload_url"]  # signed, so S3 enforces it
    put = requests.put(body["upload_url"], data=payload, headers=body["headers"], timeout=10)
    assert put.status_code == 200, put.text
    assert cloud.s3.head_object(Bucket=BUCKET, Key=body["key"])["ContentLength"] == 2048


@pytest.mark.parametrize(
    ("request_body", "status", "code"),
    [
        ({"size_bytes": 50 * 1024**3 + 1}, 413, "SOURCE_TOO_LARGE"),
        ({"size_bytes": 5 * 1024**3 + 1}, 400, "USE_MULTIPART"),
        ({"size_bytes": 11 * 1024**3, "parts": 2}, 400, "INVALID_UPLOAD_PARTS"),
        ({"size_bytes": 0}, 400, "VALIDATION_ERROR"),
        # No size, no bound: a URL that takes any length is never issued (S3 enforces a signed one).
        ({}, 400, "VALIDATION_ERROR"),
        ({"parts": 2}, 400, "VALIDATION_ERROR"),
        # Every part but the last must hold at least 5 MiB.
        ({"size_bytes": 10 * 1024**2, "parts": 3}, 400, "INVALID_UPLOAD_PARTS"),
        ({"size_bytes": 51 * 1024**3, "parts": 20}, 413, "SOURCE_TOO_LARGE"),
    ],
    ids=[
        "over-max",
        "single-put-over-5GiB",
        "too-few-parts",
        "zero",
        "no-size",
        "parts-without-size",
        "parts-under-5MiB",
        "multipart-over-max",
    ],
)
def test_upload_size_is_checked_before_anything_changes(
    cloud: Catalog, request_body: dict[str, int], status: int, code: str
) -> None:
    title_id = create(cloud)
    set_status(cloud.table, title_id, "FAILED", failure_reason="earlier upload was corrupt")
    got, body = cloud.invoke("POST", f"/titles/{title_id}/upload", request_body)
    assert (got, error_code(body)) == (status, code)
    assert cloud.item(title_id)["status"] == "FAILED"  # not reopened by a refused request


def test_upload_url_uses_virtual_hosted_style_on_aws(cloud: Catalog) -> None:
    title_id = create(cloud)
    _, body = upload(cloud, title_id)
    assert body["upload_url"].startswith(f"https://{BUCKET}.s3.")


def test_upload_of_unknown_title_is_404(cloud: Catalog) -> None:
    status, body = upload(cloud, "0" * 32)
    assert (status, error_code(body)) == (404, "NOT_FOUND")
    status, body = upload(cloud, "not-an-id")
    assert (status, error_code(body)) == (404, "NOT_FOUND")


def test_upload_needs_admin(cloud: Catalog) -> None:
    title_id = create(cloud)
    status, body = upload(cloud, title_id, as_="viewer")
    assert (status, error_code(body)) == (403, "FORBIDDEN")


@pytest.mark.parametrize(("state", "code"), [("READY", "TITLE_PUBLISHED"), ("TRANSCODING", "TITLE_NOT_UPLOADABLE")])
def test_upload_conflicts_once_transcoding_started(cloud: Catalog, state: str, code: str) -> None:
    """A published source is never replaced (its renditions serve viewers); one being transcoded
    is frozen until the workflow settles. Either way the title is left exactly as it was."""
    title_id = create(cloud)
    set_status(cloud.table, title_id, state)
    before = cloud.item(title_id)
    for request in ({"size_bytes": 1024}, {"size_bytes": 20 * 1024**2, "parts": 2}):
        status, body = cloud.invoke("POST", f"/titles/{title_id}/upload", request)
        assert (status, error_code(body)) == (409, code)
        assert state in body["error"]["message"]
    assert cloud.item(title_id) == before
    assert "Uploads" not in cloud.s3.list_multipart_uploads(Bucket=BUCKET)  # none started


def test_completing_an_upload_of_a_published_title_is_refused(cloud: Catalog) -> None:
    title_id = create(cloud)
    set_status(cloud.table, title_id, "READY")
    status, body = cloud.invoke(
        "POST",
        f"/titles/{title_id}/upload/complete",
        body={"upload_id": "u-1", "parts": [{"part_number": 1, "etag": '"x"'}]},
    )
    assert (status, error_code(body)) == (409, "TITLE_PUBLISHED")


def test_failed_title_can_be_uploaded_again(cloud: Catalog) -> None:
    title_id = create(cloud)
    set_status(cloud.table, title_id, "FAILED", failure_reason="source has no video stream")
    status, _ = upload(cloud, title_id)
    assert status == 200
    item = cloud.item(title_id)
    assert item["status"] == "UPLOADING" and item["gsi1pk"] == "STATUS#UPLOADING"
    assert "failure_reason" not in item


def test_multipart_upload_round_trip(cloud: Catalog) -> None:
    title_id = create(cloud)
    size = 10 * 1024 * 1024 + 3
    status, body = cloud.invoke("POST", f"/titles/{title_id}/upload", {"parts": 2, "size_bytes": size})
    assert status == 200, body
    # The parts split the declared size (every part but the last >= 5 MiB); each URL signs its
    # part's Content-Length, so S3 takes no other length and the source cannot outgrow the size.
    assert [(p["part_number"], p["size_bytes"]) for p in body["parts"]] == [
        (1, 5 * 1024 * 1024 + 2),
        (2, 5 * 1024 * 1024 + 1),
    ]
    assert all("X-Amz-SignedHeaders=content-length%3Bhost" in p["upload_url"] for p in body["parts"])
    assert body["complete_path"] == f"/titles/{title_id}/upload/complete"

    chunks = [b"a" * body["parts"][0]["size_bytes"], b"b" * body["parts"][1]["size_bytes"]]
    etags = []
    for part, chunk in zip(body["parts"], chunks, strict=True):
        put = requests.put(part["upload_url"], data=chunk, timeout=30)
        assert put.status_code == 200, put.text
        etags.append(put.headers["ETag"])
    status, done = cloud.invoke(
        "POST",
        body["complete_path"],
        body={
            "upload_id": body["upload_id"],
            "parts": [{"part_number": n, "etag": e} for n, e in [(1, etags[0]), (2, etags[1])]],
        },
    )
    assert status == 200, done
    assert done == {"title_id": title_id, "key": f"uploads/{title_id}/source", "status": "UPLOADING"}
    obj = boto3.client("s3").head_object(Bucket=BUCKET, Key=done["key"])
    assert obj["ContentLength"] == sum(len(c) for c in chunks)


@pytest.mark.parametrize(
    ("s3_code", "status", "code"),
    [("NoSuchUpload", 404, "UPLOAD_NOT_FOUND"), ("InvalidPart", 400, "INVALID_UPLOAD_PARTS")],
)
def test_complete_maps_s3_refusals(
    cloud: Catalog, monkeypatch: pytest.MonkeyPatch, s3_code: str, status: int, code: str
) -> None:
    # moto raises a KeyError for an unknown upload id instead of S3's NoSuchUpload, so S3's
    # answer is simulated at the client boundary.
    def refuse(self: Any, **_: Any) -> None:
        raise ClientError({"Error": {"Code": s3_code, "Message": "refused"}}, "CompleteMultipartUpload")

    title_id = create(cloud)
    from catalog import wiring

    monkeypatch.setattr(type(wiring.catalog_service()._uploads._s3), "complete_multipart_upload", refuse)
    got_status, body = cloud.invoke(
        "POST",
        f"/titles/{title_id}/upload/complete",
        body={"upload_id": "u-1", "parts": [{"part_number": 1, "etag": '"x"'}]},
    )
    assert (got_status, error_code(body)) == (status, code)


def test_complete_rejects_unordered_parts(cloud: Catalog) -> None:
    title_id = create(cloud)
    parts = [{"part_number": 2, "etag": '"b"'}, {"part_number": 1, "etag": '"a"'}]
    status, body = cloud.invoke("POST", f"/titles/{title_id}/upload/complete", body={"upload_id": "u", "parts": parts})
    assert (status, error_code(body)) == (400, "INVALID_UPLOAD_PARTS")


def test_too_many_parts_is_rejected(cloud: Catalog) -> None:
    title_id = create(cloud)
    status, body = cloud.invoke("POST", f"/titles/{title_id}/upload", {"parts": 1001, "size_bytes": 10 * 1024**4})
    assert (status, error_code(body)) == (400, "VALIDATION_ERROR")


# --- GET /titles/{title_id} ---------------------------------------------------------------------


def test_admin_sees_any_status_viewer_only_ready(cloud: Catalog) -> None:
    title_id = create(cloud)
    status, body = cloud.invoke("GET", f"/titles/{title_id}")
    assert status == 200 and body["status"] == "UPLOADING"
    assert "renditions" not in body and "failure_reason" not in body

    status, body = cloud.invoke("GET", f"/titles/{title_id}", as_="viewer")
    assert (status, error_code(body)) == (404, "NOT_FOUND")

    renditions = [
        {"name": "1080p", "width": Decimal(1920), "height": Decimal(1080), "bandwidth": Decimal(6_000_000)},
        {"name": "360p", "width": Decimal(640), "height": Decimal(360), "bandwidth": Decimal(800_000)},
    ]
    set_status(
        cloud.table,
        title_id,
        "READY",
        duration_s=Decimal("5400.5"),
        renditions=renditions,
        manifest_path=f"titles/{title_id}/master.m3u8",
    )
    status, body = cloud.invoke("GET", f"/titles/{title_id}", as_="viewer")
    assert status == 200, body
    assert body == {
        "title_id": title_id,
        "kind": "movie",
        "version": 1,  # set_status writes as transcode did before versions: no bump
        **NEW_TITLE,
        "status": "READY",
        "duration_s": 5400.5,
        "renditions": [
            {"name": "1080p", "width": 1920, "height": 1080, "bandwidth": 6_000_000},
            {"name": "360p", "width": 640, "height": 360, "bandwidth": 800_000},
        ],
        "manifest_path": f"titles/{title_id}/master.m3u8",
    }


def test_failed_title_shows_reason_to_admin(cloud: Catalog) -> None:
    title_id = create(cloud)
    set_status(cloud.table, title_id, "FAILED", failure_reason="source longer than MAX_DURATION_S")
    status, body = cloud.invoke("GET", f"/titles/{title_id}")
    assert status == 200 and body["failure_reason"] == "source longer than MAX_DURATION_S"


def test_unknown_title_is_404(cloud: Catalog) -> None:
    status, body = cloud.invoke("GET", f"/titles/{'f' * 32}", as_="viewer")
    assert (status, error_code(body)) == (404, "NOT_FOUND")


# --- GET /titles --------------------------------------------------------------------------------


def test_list_pages_through_ready_titles_newest_first(cloud: Catalog) -> None:
    ids = [create(cloud, title=f"Title {i}") for i in range(5)]
    for title_id in ids[:3]:
        set_status(cloud.table, title_id, "READY")

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, body = cloud.invoke("GET", "/titles", as_="viewer", query=query)
        assert status == 200, body
        assert len(body["items"]) <= 2
        assert all(item["status"] == "READY" for item in body["items"])
        seen += [item["title_id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids[:3]))  # created later -> listed first
    assert pages >= 2


def test_admin_can_list_other_statuses_viewer_cannot(cloud: Catalog) -> None:
    title_id = create(cloud)
    status, body = cloud.invoke("GET", "/titles", query={"status": "UPLOADING"})
    assert status == 200 and [i["title_id"] for i in body["items"]] == [title_id]
    status, body = cloud.invoke("GET", "/titles", as_="viewer", query={"status": "UPLOADING"})
    assert (status, error_code(body)) == (403, "FORBIDDEN")


def _page_through(cloud: Catalog, *, as_: str, limit: int, **query: str) -> tuple[list[str], int]:
    seen: list[str] = []
    cursor, pages = None, 0
    while True:
        params = {"limit": str(limit), **query, **({"cursor": cursor} if cursor else {})}
        status, body = cloud.invoke("GET", "/titles", as_=as_, query=params)
        assert status == 200, body
        assert len(body["items"]) <= limit
        seen += [item["title_id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return seen, pages


def test_admin_default_listing_shows_every_status_newest_first(cloud: Catalog) -> None:
    ids = [create(cloud, title=f"Title {i}") for i in range(6)]
    for title_id, state in zip(ids, ["READY", "FAILED", "UPLOADING", "TRANSCODING", "READY", "UPLOADING"], strict=True):
        if state != "UPLOADING":
            set_status(cloud.table, title_id, state)
    seen, pages = _page_through(cloud, as_="admin", limit=4)
    assert seen == list(reversed(ids))  # the draft just created comes first
    assert pages == 2
    # A filter still narrows the admin's listing; a viewer still sees READY only.
    assert _page_through(cloud, as_="admin", limit=4, status="FAILED")[0] == [ids[1]]
    assert _page_through(cloud, as_="viewer", limit=4)[0] == [ids[4], ids[0]]


def test_admin_listing_sees_each_title_once_while_statuses_change(cloud: Catalog) -> None:
    ids = [create(cloud, title=f"Title {i}") for i in range(5)]  # all UPLOADING
    status, first = cloud.invoke("GET", "/titles", query={"limit": "2"})
    assert status == 200 and [i["title_id"] for i in first["items"]] == [ids[4], ids[3]]
    # Between pages the workflow moves a listed title and two unlisted ones to other partitions.
    set_status(cloud.table, ids[4], "TRANSCODING")
    set_status(cloud.table, ids[2], "READY")
    set_status(cloud.table, ids[0], "FAILED")
    rest, _ = _page_through(cloud, as_="admin", limit=2, cursor=first["next_cursor"])
    assert rest == [ids[2], ids[1], ids[0]]


def test_a_cursor_only_continues_its_own_listing(cloud: Catalog) -> None:
    for i in range(3):
        set_status(cloud.table, create(cloud, title=f"Title {i}"), "READY")
    _, everything = cloud.invoke("GET", "/titles", query={"limit": "1"})
    assert everything["next_cursor"]
    status, body = cloud.invoke("GET", "/titles", as_="viewer", query={"cursor": everything["next_cursor"]})
    assert (status, error_code(body)) == (400, "INVALID_CURSOR")


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%not-base64",
        "eyJwayI6IngifQ",  # {"pk":"x"}: wrong shape
        # the format before the all-status listing (a table key): no longer issued
        "eyJwayI6IlRJVExFIzEiLCJzayI6Ik1FVEEiLCJnc2kxcGsiOiJTVEFUVVMjUkVBRFkiLCJnc2kxc2siOiJ4In0",
        # a well-formed cursor of another listing (UPLOADING): must not be accepted for READY
        "eyJpbiI6WyJVUExPQURJTkciXSwiYmVmb3JlIjoiMjAyNi0wMS0wMVQwMDowMDowMC4wMDAwMDBaIzAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIn0",
    ],
    ids=["garbage", "wrong-shape", "old-table-key", "other-listing"],
)
def test_bad_cursor_is_400(cloud: Catalog, cursor: str) -> None:
    status, body = cloud.invoke("GET", "/titles", as_="viewer", query={"cursor": cursor})
    assert (status, error_code(body)) == (400, "INVALID_CURSOR")


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_bad_limit_is_400(cloud: Catalog, limit: str) -> None:
    status, body = cloud.invoke("GET", "/titles", as_="viewer", query={"limit": limit})
    assert (status, error_code(body)) == (400, "VALIDATION_ERROR")


def test_unknown_route_is_404(cloud: Catalog) -> None:
    status, body = cloud.invoke("DELETE", "/titles")
    assert status in (404, 405) and error_code(body) in ("NOT_FOUND", "METHOD_NOT_ALLOWED")


# --- both edges ---------------------------------------------------------------------------------


def test_same_contract_behind_http_api_and_alb(cloud: Catalog, edge: str) -> None:
    """HTTP API passes authorizer claims; the ALB passes the bearer token, verified in code."""
    status, body = cloud.invoke("POST", "/titles", NEW_TITLE, edge=edge)
    assert status == 201, body
    title_id = body["title_id"]
    assert cloud.item(title_id)["created_by"] == cloud.subs["admin"]

    status, body = cloud.invoke("POST", "/titles", NEW_TITLE, as_="viewer", edge=edge)
    assert (status, error_code(body)) == (403, "FORBIDDEN")
    status, body = cloud.invoke("GET", f"/titles/{title_id}", as_=None, edge=edge)
    assert (status, error_code(body)) == (401, "UNAUTHORIZED")
    status, body = cloud.invoke("GET", f"/titles/{title_id}", as_="viewer", edge=edge)
    assert (status, error_code(body)) == (404, "NOT_FOUND")

    status, body = upload(cloud, title_id, edge=edge)
    assert status == 200 and body["method"] == "PUT", body

    set_status(cloud.table, title_id, "READY")
    status, body = cloud.invoke("GET", f"/titles/{title_id}", as_="viewer", edge=edge)
    assert status == 200 and body["status"] == "READY"
    status, body = cloud.invoke("GET", "/titles", as_="viewer", edge=edge, query={"limit": "5"})
    assert status == 200 and [t["title_id"] for t in body["items"]] == [title_id]


def test_alb_rejects_a_forged_token(cloud: Catalog) -> None:
    header, payload, _signature = cloud.tokens["admin"].split(".")
    cloud.tokens["forged"] = f"{header}.{payload}.c2lnbmF0dXJl"
    status, body = cloud.invoke("GET", "/titles", as_="forged", edge="alb")
    assert (status, error_code(body)) == (401, "UNAUTHORIZED")


# --- contract document --------------------------------------------------------------------------


def test_openapi_schemas_come_from_the_models_the_routes_validate_with() -> None:
    """The resolver's OpenAPI is generated from the same models the routes validate with. (Which
    routes exist is the router's to say; tests/infra/test_openapi_contract.py checks the contract.)"""
    import json

    from catalog.handlers.http import lambda_handler

    resolver = lambda_handler.resolvers["http_api"]  # type: ignore[attr-defined]
    doc = json.loads(resolver.get_openapi_json_schema(title="Reelstack catalog", version="1"))
    schemas = doc["components"]["schemas"]
    # TitleView's null-dropping serializer must not hide its fields from the schema.
    assert {"title_id", "status", "renditions", "manifest_path"} <= set(schemas["TitleView"]["properties"])
    assert set(schemas["CreateTitleRequest"]["required"]) >= {"title", "language", "maturity_rating", "year"}
