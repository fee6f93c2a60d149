"""Series, episodes, metadata edits and withdrawal over real HTTP on the local cloud; the catalog's
events observed on the platform bus (an EventBridge rule -> SQS queue made by the test), delivered
by the catalog table's stream through the outbox function."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

BASE = {
    "description": "Integration series",
    "genres": ["drama"],
    "cast": ["Test Cast"],
    "language": "en",
    "maturity_rating": "TV-14",
    "year": 2025,
}


@pytest.fixture(scope="module")
def api(endpoints: dict[str, Any]) -> str:
    return str(endpoints["api_url"])


@pytest.fixture(scope="module")
def admin(endpoints: dict[str, Any], http: requests.Session, api: str) -> dict[str, str]:
    r = http.post(api + "/accounts/login", json=endpoints["admin"])
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def viewer(http: requests.Session, api: str) -> dict[str, str]:
    creds = {"email": f"series-viewer-{time.time_ns()}@example.com", "password": "Vi3wer-password"}
    assert http.post(api + "/accounts", json=creds).status_code == 202
    # moto's ConfirmSignUp takes any code
    assert http.post(api + "/accounts/confirm", json={"email": creds["email"], "code": "000000"}).status_code == 201
    r = http.post(api + "/accounts/login", json=creds)
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def catalog_events(endpoints: dict[str, Any], aws: Any) -> str:
    """An SQS queue subscribed to everything the catalog announces on the platform bus."""
    sqs, events = aws("sqs"), aws("events")
    bus = next(iter(endpoints["resources"]["event_buses"].values()))
    url = sqs.create_queue(QueueName=f"catalog-observer-{time.time_ns()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="observe-catalog",
        EventBusName=bus,
        EventPattern=json.dumps(
            {"source": ["reelstack.catalog"], "detail-type": ["TitleUpdated", "TitleWithdrawn", "TitlePublished"]}
        ),
    )
    events.put_targets(Rule="observe-catalog", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


class Observed:
    """Everything the observer queue received so far (kept across waits)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []


@pytest.fixture(scope="module")
def observed() -> Observed:
    return Observed()


def wait_for_event(
    aws: Any, queue: str, observed: Observed, detail_type: str, title_id: str, version: int, timeout_s: float = 60
) -> dict[str, Any]:
    sqs = aws("sqs")
    deadline = time.monotonic() + timeout_s
    while True:
        for event in observed.events:
            d = event["detail"]
            if event["detail-type"] == detail_type and d["title_id"] == title_id and d["version"] == version:
                return event
        if time.monotonic() > deadline:
            raise AssertionError(f"no {detail_type} v{version} for {title_id}; saw {observed.events}")
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for m in messages:
            observed.events.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


def create(http: requests.Session, api: str, admin: dict[str, str], **fields: Any) -> str:
    r = http.post(api + "/titles", json={**BASE, **fields}, headers=admin)
    assert r.status_code == 201, r.text
    return str(r.json()["title_id"])


def test_series_episodes_edits_and_withdrawal(
    http: requests.Session,
    api: str,
    admin: dict[str, str],
    viewer: dict[str, str],
    aws: Any,
    catalog_events: str,
    observed: Observed,
) -> None:
    series = create(http, api, admin, kind="series", title="Integration Series")
    published = wait_for_event(aws, catalog_events, observed, "TitlePublished", series, 1)
    assert published["source"] == "reelstack.catalog"
    assert published["detail"] == {"title_id": series, "version": 1, "kind": "series", "status": "READY"}

    # A series has no source of its own.
    r = http.post(api + f"/titles/{series}/upload", json={"size_bytes": 1024}, headers=admin)
    assert r.status_code == 409 and r.json()["error"]["code"] == "SERIES_NOT_UPLOADABLE"

    second = create(http, api, admin, kind="episode", title="Two", series_id=series, season=1, number=2)
    first = create(http, api, admin, kind="episode", title="One", series_id=series, season=1, number=1)
    r = http.post(
        api + "/titles",
        json={**BASE, "kind": "episode", "title": "Dup", "series_id": series, "season": 1, "number": 2},
        headers=admin,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "EPISODE_EXISTS", r.text
    r = http.post(
        api + "/titles",
        json={**BASE, "kind": "episode", "title": "Orphan", "series_id": "0" * 32, "season": 1, "number": 1},
        headers=admin,
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "SERIES_NOT_FOUND", r.text

    # An episode is uploadable like a movie.
    r = http.post(api + f"/titles/{first}/upload", json={"size_bytes": 1024}, headers=admin)
    assert r.status_code == 200, r.text

    r = http.get(api + f"/titles/{series}/episodes", headers=admin)
    assert r.status_code == 200, r.text
    assert [(e["season"], e["number"], e["title_id"]) for e in r.json()["items"]] == [(1, 1, first), (1, 2, second)]
    # A viewer sees the published series, and none of its unpublished episodes.
    r = http.get(api + f"/titles/{series}", headers=viewer)
    assert r.status_code == 200 and r.json()["kind"] == "series"
    r = http.get(api + f"/titles/{series}/episodes", headers=viewer)
    assert r.status_code == 200 and r.json()["items"] == []
    assert http.get(api + f"/titles/{first}", headers=viewer).status_code == 404

    # A metadata edit bumps the version and is announced.
    patched_at = time.monotonic()
    r = http.patch(api + f"/titles/{series}", json={"title": "Renamed Series", "expected_version": 1}, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["version"]) == ("Renamed Series", 2)
    updated = wait_for_event(aws, catalog_events, observed, "TitleUpdated", series, 2)
    print(f"\nTitleUpdated on the bus {time.monotonic() - patched_at:.2f} s after the PATCH was sent")
    assert updated["detail"] == {"title_id": series, "version": 2, "kind": "series", "status": "READY"}
    r = http.patch(api + f"/titles/{series}", json={"year": 2020, "expected_version": 1}, headers=admin)
    assert r.status_code == 409 and r.json()["error"]["code"] == "VERSION_CONFLICT"
    assert http.get(api + f"/titles/{series}", headers=viewer).json()["title"] == "Renamed Series"

    # Withdrawal: not while episodes are live; then the series is gone for viewers.
    r = http.post(api + f"/titles/{series}/withdraw", headers=admin)
    assert r.status_code == 409 and r.json()["error"]["code"] == "SERIES_HAS_EPISODES"
    for episode in (first, second):
        r = http.post(api + f"/titles/{episode}/withdraw", headers=admin)
        assert r.status_code == 200 and r.json()["status"] == "WITHDRAWN", r.text
    r = http.post(api + f"/titles/{series}/withdraw", headers=admin)
    assert r.status_code == 200 and r.json()["version"] == 3, r.text
    withdrawn = wait_for_event(aws, catalog_events, observed, "TitleWithdrawn", series, 3)
    assert withdrawn["detail"]["status"] == "WITHDRAWN"
    episode_event = wait_for_event(aws, catalog_events, observed, "TitleWithdrawn", first, 3)  # created, reopened
    assert episode_event["detail"]["series_id"] == series

    assert http.get(api + f"/titles/{series}", headers=viewer).status_code == 404
    assert http.get(api + f"/titles/{series}/episodes", headers=viewer).status_code == 404
    listing = http.get(api + "/titles", headers=viewer, params={"limit": "100"}).json()
    assert series not in [t["title_id"] for t in listing["items"]]
    assert http.get(api + f"/titles/{series}", headers=admin).json()["status"] == "WITHDRAWN"
    # Each change was announced once per version: nothing but what the writes announced.
    mine = sorted(
        (e["detail"]["title_id"], e["detail"]["version"], e["detail-type"])
        for e in observed.events
        if e["detail"]["title_id"] == series
    )
    assert sorted(set(mine)) == [
        (series, 1, "TitlePublished"),
        (series, 2, "TitleUpdated"),
        (series, 3, "TitleWithdrawn"),
    ]


def test_concurrent_creates_of_one_episode_place_make_exactly_one(
    http: requests.Session, api: str, admin: dict[str, str]
) -> None:
    """The (series, season, number) slot is taken in the episode's transaction: 4 admins racing for
    S3E7 through the API (DynamoDB Local, transactions as in AWS) leave exactly one episode. (4: the
    local runtime runs at most 4 workers per function; more racers only queue for them, and cold
    workers on a loaded 2-core machine can exceed the function's 10 s timeout: warmed first.)"""
    from concurrent.futures import ThreadPoolExecutor

    series = create(http, api, admin, kind="series", title="Race Series")
    body = {**BASE, "kind": "episode", "title": "Racer", "series_id": series, "season": 3, "number": 7}

    def attempt(_: int) -> tuple[int, str]:
        r = requests.post(api + "/titles", json=body, headers=admin, timeout=60)
        return r.status_code, (r.json().get("error") or {}).get("code", "")

    with ThreadPoolExecutor(max_workers=4) as pool:
        # Ramp up 1, 2, 3, 4 concurrent reads: each round starts at most one new worker, so no cold
        # start competes with three others (a worker that times out is replaced, cold again).
        for concurrent in range(1, 5):
            list(
                pool.map(
                    lambda _: requests.get(api + f"/titles/{series}", headers=admin, timeout=60), range(concurrent)
                )
            )
        results = list(pool.map(attempt, range(4)))
    created = [r for r in results if r[0] == 201]
    refused = [r for r in results if r[0] == 409]
    assert len(created) == 1, results
    # The losers see the taken place, or (rarely) a transaction that kept colliding: both are 409.
    assert len(refused) == 3 and {code for _, code in refused} <= {"EPISODE_EXISTS", "CONCURRENT_UPDATE"}, results
    r = http.get(api + f"/titles/{series}/episodes", headers=admin)
    assert [(e["season"], e["number"]) for e in r.json()["items"]] == [(3, 7)]


def test_a_series_is_never_withdrawn_under_a_live_episode(
    http: requests.Session, api: str, admin: dict[str, str]
) -> None:
    """Withdrawing a series and creating its episode at the same moment: one of them loses, never
    both win (the series' ConditionCheck and the slot count are in the two transactions)."""
    from concurrent.futures import ThreadPoolExecutor

    for trial in range(8):
        series = create(http, api, admin, kind="series", title=f"Contested {trial}")
        episode = {**BASE, "kind": "episode", "title": "E", "series_id": series, "season": 1, "number": 1}
        with ThreadPoolExecutor(max_workers=2) as pool:
            withdrawal = pool.submit(
                lambda s=series: requests.post(api + f"/titles/{s}/withdraw", headers=admin, timeout=60)
            )
            creation = pool.submit(lambda e=episode: requests.post(api + "/titles", json=e, headers=admin, timeout=60))
            withdrawn, created = withdrawal.result(), creation.result()
        assert not (withdrawn.status_code == 200 and created.status_code == 201), (withdrawn.text, created.text)
        assert withdrawn.status_code in (200, 409) and created.status_code in (201, 404, 409)
