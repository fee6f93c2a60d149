"""The home page over real HTTP on the local cloud: the demo seed (``local.seed``: MovieLens titles in
the catalog table, demo profiles with their histories as ratings, the lake, a campaign) and one run of
the training workflow through Step Functions, then GET /home, ratings and campaigns through both
edges, and the fallback under an injected fault (the function's HOME_TABLE pointed at a missing
table through UpdateFunctionConfiguration, as an operator's mistake or a lost table would)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from local.seed import DEMO_EMAIL, DEMO_PASSWORD, seed, wait_for_execution


def _login(endpoints: dict[str, Any], http: requests.Session, email: str, password: str) -> dict[str, str]:
    r = http.post(endpoints["api_url"] + "/accounts/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def seeded(endpoints: dict[str, Any]) -> dict[str, Any]:
    return seed(endpoints, log=lambda m: print(m, flush=True))


@pytest.fixture(scope="module")
def demo(endpoints: dict[str, Any], http: requests.Session, seeded: dict[str, Any]) -> dict[str, str]:
    return _login(endpoints, http, DEMO_EMAIL, DEMO_PASSWORD)


@pytest.fixture(scope="module")
def admin(endpoints: dict[str, Any], http: requests.Session) -> dict[str, str]:
    return _login(endpoints, http, endpoints["admin"]["email"], endpoints["admin"]["password"])


@pytest.fixture(scope="module")
def stranger(endpoints: dict[str, Any], http: requests.Session) -> dict[str, str]:
    email, password = f"stranger-{uuid.uuid4().hex[:8]}@example.com", "Str4nger-Pass"
    r = http.post(endpoints["api_url"] + "/accounts", json={"email": email, "password": password})
    assert r.status_code == 202, r.text
    r = http.post(endpoints["api_url"] + "/accounts/confirm", json={"email": email, "code": "000000"})
    assert r.status_code == 201, r.text
    return _login(endpoints, http, email, password)


def _profile(seeded: dict[str, Any], user: int) -> str:
    return next(p for p, u in seeded["profiles"].items() if u == user)


def _home(endpoints: dict[str, Any], http: requests.Session, headers: dict[str, str], profile: str,
          base: str = "api_url") -> requests.Response:  # fmt: skip
    return http.get(endpoints[base] + "/home", params={"profile_id": profile}, headers=headers)


def test_a_rerun_of_the_same_cutoff_is_the_same_model_and_writes_nothing(
    endpoints: dict[str, Any], aws: Callable[[str], Any], seeded: dict[str, Any]
) -> None:
    """Idempotent per model version: the rerun reuses the model and writes nothing; every document
    the first run built is the same item afterwards. First in the module: the tests after it rate,
    view and break the store, which rightly make pages stale for the next run."""
    sfn = aws("stepfunctions")
    arn = next(v for k, v in endpoints["resources"]["outputs"].items() if k.endswith(".HomeStateMachineArn"))
    home_table = next(n for lid, n in endpoints["resources"]["tables"].items() if "HomeTable" in lid)
    version = seeded["model"]["model_version"]
    ddb = aws("dynamodb")

    def docs() -> dict[str, Any]:
        found: dict[str, Any] = {}
        kwargs: dict[str, Any] = {
            "TableName": home_table, "ConsistentRead": True,
            "FilterExpression": "sk = :doc AND model_version = :v",
            "ExpressionAttributeValues": {":doc": {"S": DOC_SK}, ":v": {"S": version}},
        }  # fmt: skip
        while True:
            page = ddb.scan(**kwargs)
            found.update({i["pk"]["S"]: i for i in page["Items"]})
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    before = docs()
    # The first run built every demo page (and, on the session's shared cloud, the browser tests'
    # profiles' pages too).
    assert {f"HOME#{pid}" for pid in seeded["profiles"]} <= before.keys(), before.keys()
    run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"cutoff": _cutoff_of(version)}))
    out = wait_for_execution(sfn, run["executionArn"])
    assert out["model_version"] == version and out.get("reused") is True
    assert all(b["written"] == 0 for b in out["built"]) and sum(b["skipped"] for b in out["built"]) >= len(before)
    after = docs()
    assert {pk: after.get(pk) for pk in before} == before


@pytest.mark.parametrize("base", ["api_url", "alb_url"])
def test_a_demo_profile_with_history_gets_personal_rows_after_the_model_run(
    endpoints: dict[str, Any], http: requests.Session, demo: dict[str, str], seeded: dict[str, Any], base: str
) -> None:
    assert seeded["model"]["model_version"]
    r = _home(endpoints, http, demo, _profile(seeded, 13), base)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["fallback"] is False and body["source"] in ("precomputed", "live")
    assert body["model_version"] == seeded["model"]["model_version"]
    kinds = [row["kind"] for row in body["rows"]]
    assert "because_you_watched" in kinds and "similar_interests" in kinds, kinds
    sponsored = [row for row in body["rows"] if row["kind"] == "sponsored"]
    assert len(sponsored) == 1 and sponsored[0]["sponsored"] is True
    shown = [i["title_id"] for row in body["rows"] for i in row["items"]]
    assert len(shown) == len(set(shown))


def test_the_kids_profile_sees_only_kids_titles(
    endpoints: dict[str, Any], http: requests.Session, demo: dict[str, str], seeded: dict[str, Any]
) -> None:
    body = _home(endpoints, http, demo, _profile(seeded, 1)).json()
    ratings = {i["maturity_rating"] for row in body["rows"] for i in row["items"]}
    assert body["rows"] and ratings <= {"G", "PG"}, ratings
    assert not [row for row in body["rows"] if row["kind"] == "sponsored"]  # not in the campaign's audiences


def test_a_rating_is_validated_and_makes_the_page_live(
    endpoints: dict[str, Any], http: requests.Session, demo: dict[str, str], seeded: dict[str, Any]
) -> None:
    profile = _profile(seeded, 405)
    before = _home(endpoints, http, demo, profile).json()
    first = next(i["title_id"] for row in before["rows"] if row["kind"] == "because_you_watched" for i in row["items"])
    path = f"/profiles/{profile}/ratings/{first}"
    for base in ("api_url", "alb_url"):
        bad = http.put(endpoints[base] + path, json={"thumb": "sideways"}, headers=demo)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    assert http.put(endpoints["api_url"] + path, json={"thumb": "up", "x": 1}, headers=demo).status_code == 400
    r = http.put(endpoints["alb_url"] + path, json={"thumb": "down"}, headers=demo)
    assert r.status_code == 200, r.text
    after = _home(endpoints, http, demo, profile).json()
    assert after["source"] == "live"
    assert first not in [i["title_id"] for row in after["rows"] for i in row["items"]]
    assert http.delete(endpoints["api_url"] + path, headers=demo).status_code == 204


def test_another_accounts_profile_is_404_everywhere(
    endpoints: dict[str, Any], http: requests.Session, stranger: dict[str, str], seeded: dict[str, Any]
) -> None:
    profile = _profile(seeded, 13)
    any_title = next(iter(seeded["titles"].values()))
    for base in ("api_url", "alb_url"):
        r = _home(endpoints, http, stranger, profile, base)
        assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
        r = http.put(endpoints[base] + f"/profiles/{profile}/ratings/{any_title}", json={"thumb": "up"},
                     headers=stranger)  # fmt: skip
        assert r.status_code == 404


def test_campaign_bad_input_is_400_and_viewers_cannot_manage_campaigns(
    endpoints: dict[str, Any], http: requests.Session, admin: dict[str, str], demo: dict[str, str],
    seeded: dict[str, Any],
) -> None:  # fmt: skip
    titles = list(seeded["titles"].values())[:2]
    good = {"name": "Test", "title_ids": titles, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z"}
    url = endpoints["api_url"] + "/campaigns"
    for bad, code in (
        ({"ends_at": "2025-12-01T00:00:00Z"}, "VALIDATION_ERROR"),
        ({"title_ids": [*titles, "0" * 32]}, "UNKNOWN_TITLES"),
        ({"priority": "high"}, "VALIDATION_ERROR"),
    ):
        r = http.post(url, json={**good, **bad}, headers=admin)
        assert r.status_code == 400 and r.json()["error"]["code"] == code, r.text
    assert http.post(url, json=good, headers=demo).status_code == 403
    r = http.post(endpoints["alb_url"] + "/campaigns", json=good, headers=admin)
    assert r.status_code == 201, r.text
    assert http.delete(url + "/" + r.json()["campaign_id"], headers=admin).status_code == 204


DOC_SK = "DOC"  # recommendations.dal.home_table.DOC_SK: a profile's page is HOME#<profile>/DOC


def _cutoff_of(version: str) -> int:
    import calendar

    return calendar.timegm(time.strptime(version.split("-")[0], "%Y%m%dT%H%M%SZ"))


@pytest.fixture
def broken_store(endpoints: dict[str, Any], aws: Callable[[str], Any]) -> Iterator[None]:
    lam = aws("lambda")
    name = next(n for lid, n in endpoints["resources"]["functions"].items() if lid.startswith("HomeApiFunction"))
    env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {**env, "HOME_TABLE": "gone"}})
    try:
        yield
    finally:
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": env})


def test_the_fallback_rows_answer_when_the_store_fails(
    endpoints: dict[str, Any], http: requests.Session, demo: dict[str, str], seeded: dict[str, Any],
    broken_store: None,
) -> None:  # fmt: skip
    r = _home(endpoints, http, demo, _profile(seeded, 13))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["fallback"] is True and body["source"] == "fallback"
    assert body["rows"] and all(row["items"] for row in body["rows"])
    kids = _home(endpoints, http, demo, _profile(seeded, 1)).json()
    assert kids["fallback"] is True
    assert {i["maturity_rating"] for row in kids["rows"] for i in row["items"]} <= {"G", "PG"}


def test_views_on_the_playback_stream_make_a_title_trend(
    endpoints: dict[str, Any], http: requests.Session, demo: dict[str, str], seeded: dict[str, Any],
    aws: Callable[[str], Any],
) -> None:  # fmt: skip
    """Contract E end to end: start events on the Kinesis view stream reach the trending consumer
    (the local cloud delivers the mapping), and the next pages (after the function's 30 s trending
    cache) show the title first in Trending now."""
    profile = _profile(seeded, 13)
    before = _home(endpoints, http, demo, profile).json()
    new_row = next(row for row in before["rows"] if row["kind"] == "new")
    title = new_row["items"][0]["title_id"]  # in no personal row, allowed for the profile
    stream = next(iter(endpoints["resources"]["kinesis_streams"].values()))
    kinesis = aws("kinesis")
    now = time.time()
    # The cloud is the session's one: the browser tests play their own titles on it before this
    # test (a handful of starts each), so this title gets clearly more views than any of them.
    for k in range(30):
        event = {
            "event": "start",
            "session_id": f"s{k}",
            "profile_id": f"viewer{k}",
            "account_id": "a",
            "title_id": title,
            "position_s": 0,
            "duration_s": 5400,
            "seq": 1,
            "ts": now,
            "language": "en",
        }
        kinesis.put_record(StreamName=stream, Data=json.dumps(event).encode(), PartitionKey=f"viewer{k}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = _home(endpoints, http, demo, profile).json()
        trend = next((row for row in body["rows"] if row["kind"] == "trending"), None)
        if trend and trend["items"][0]["title_id"] == title:
            break
        time.sleep(3)
    else:
        raise AssertionError(f"{title} never reached Trending now: {json.dumps(body)[:500]}")
    assert title not in [i["title_id"] for row in body["rows"] if row["kind"] == "new" for i in row["items"]]


def test_a_watch_state_reaches_the_page_through_the_history_head(
    endpoints: dict[str, Any], http: requests.Session, demo: dict[str, str], seeded: dict[str, Any],
    aws: Callable[[str], Any],
) -> None:  # fmt: skip
    """Contract E -> the history projector: a watch state as the playback service writes it reaches
    the profile's history head (HOME#<id>/HISTORY and PROGRESS) through the playback table's stream,
    and the next page shows it in Continue watching, scored live because the history changed."""
    profile = _profile(seeded, 405)
    before = _home(endpoints, http, demo, profile).json()  # seeds the head from the playback table
    title = next(row for row in before["rows"] if row["kind"] == "new")["items"][0]["title_id"]
    tables = endpoints["resources"]["tables"]
    playback = next(n for lid, n in tables.items() if lid.startswith("PlaybackTable"))
    home_table = next(n for lid, n in tables.items() if "HomeTable" in lid)
    ddb = aws("dynamodb")
    now = int(time.time())
    at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now))
    ddb.put_item(TableName=playback, Item={
        "pk": {"S": f"PROFILE#{profile}"}, "sk": {"S": f"TITLE#{title}"}, "type": {"S": "state"},
        "profile_id": {"S": profile}, "title_id": {"S": title}, "account_id": {"S": "a"}, "kind": {"S": "movie"},
        "position_s": {"N": "600"}, "duration_s": {"N": "5400"}, "percent": {"N": "11.11"},
        "finished": {"BOOL": False}, "updated_at": {"S": at}, "session_id": {"S": "s1"}, "seq": {"N": "7"},
    })  # fmt: skip

    def part(sk: str) -> list[Any]:
        item = ddb.get_item(TableName=home_table, Key={"pk": {"S": f"HOME#{profile}"}, "sk": {"S": sk}},
                            ConsistentRead=True).get("Item")  # fmt: skip
        return json.loads(item["views"]["S"]) if item else []

    deadline = time.monotonic() + 60  # the stream is polled four times a second
    while title not in [v[0] for v in part("PROGRESS")] and time.monotonic() < deadline:
        time.sleep(0.25)
    assert [v for v in part("HISTORY") if v[0] == title] == [[title, float(now), 0]]  # [title, updated_at, finished]
    assert [v[:3] for v in part("PROGRESS") if v[0] == title] == [[title, float(now), 600.0]]  # [.., position]
    page = _home(endpoints, http, demo, profile).json()
    assert page["source"] == "live"
    cw = next(row for row in page["rows"] if row["kind"] == "continue_watching")
    assert cw["items"][0]["title_id"] == title and cw["items"][0]["position_s"] == 600.0
