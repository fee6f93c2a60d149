"""Profiles: CRUD, kids cap, plan cap (atomic, concurrent), isolation between accounts."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.unit.accounts.conftest import Cloud, User


def count(cloud: Cloud, user: User) -> int:
    item = cloud.table.get_item(Key={"pk": f"ACCOUNT#{user.user_id}", "sk": "ACCOUNT"})["Item"]
    return int(item.get("profile_count", 0))


def profile_items(cloud: Cloud, user: User) -> list[dict[str, Any]]:
    return [
        i for i in cloud.items() if i["pk"] == f"ACCOUNT#{user.user_id}" and i["sk"].startswith("PROFILE#")
    ]


def test_profile_crud(cloud: Cloud, edge: str) -> None:
    user = cloud.user("crud@example.com", plan="standard")
    tok = user.access_token
    status, created = cloud.invoke(
        "POST", "/profiles", {"name": "Ann", "language": "pt-BR", "avatar": "fox"}, token=tok, edge=edge
    )
    assert status == 201
    pid = created["profile_id"]
    assert created == {
        "profile_id": pid,
        "name": "Ann",
        "kids": False,
        "maturity_rating": "18+",
        "language": "pt-BR",
        "avatar": "fox",
    }
    assert cloud.invoke("GET", f"/profiles/{pid}", token=tok, edge=edge) == (200, created)
    assert cloud.invoke("GET", "/profiles", token=tok, edge=edge) == (200, {"profiles": [created]})

    status, patched = cloud.invoke(
        "PATCH", f"/profiles/{pid}", {"name": "Annie", "maturity_rating": "13+"}, token=tok, edge=edge
    )
    assert status == 200
    assert patched == {**created, "name": "Annie", "maturity_rating": "13+"}
    assert cloud.invoke("GET", f"/profiles/{pid}", token=tok, edge=edge) == (200, patched)
    assert count(cloud, user) == 1

    status, body = cloud.invoke("DELETE", f"/profiles/{pid}", token=tok, edge=edge)
    assert status == 204 and body is None
    assert cloud.invoke("GET", f"/profiles/{pid}", token=tok, edge=edge)[0] == 404
    assert cloud.invoke("DELETE", f"/profiles/{pid}", token=tok, edge=edge)[0] == 404
    assert count(cloud, user) == 0
    assert profile_items(cloud, user) == []


def test_kids_profiles_are_capped_to_kids_rating(cloud: Cloud) -> None:
    user = cloud.user("kids@example.com", plan="premium")
    tok = user.access_token
    status, kid = cloud.invoke(
        "POST", "/profiles", {"name": "Kid", "kids": True, "maturity_rating": "18+"}, token=tok
    )
    assert status == 201 and kid["maturity_rating"] == "7+"
    status, default_kid = cloud.invoke("POST", "/profiles", {"name": "Kid2", "kids": True}, token=tok)
    assert default_kid["maturity_rating"] == "7+"
    status, young = cloud.invoke(
        "POST", "/profiles", {"name": "Tot", "kids": True, "maturity_rating": "ALL"}, token=tok
    )
    assert young["maturity_rating"] == "ALL"
    # Raising a kids profile's rating through PATCH is capped too...
    status, patched = cloud.invoke(
        "PATCH", f"/profiles/{kid['profile_id']}", {"maturity_rating": "16+"}, token=tok
    )
    assert status == 200 and patched["maturity_rating"] == "7+"
    # ...and turning an adult profile into a kids profile lowers its rating.
    status, adult = cloud.invoke("POST", "/profiles", {"name": "Adult"}, token=tok)
    status, now_kid = cloud.invoke("PATCH", f"/profiles/{adult['profile_id']}", {"kids": True}, token=tok)
    assert now_kid == {**adult, "kids": True, "maturity_rating": "7+"}


@pytest.mark.parametrize(("plan", "cap"), [("basic", 2), ("standard", 4), ("premium", 5)])
def test_plan_caps_profiles(cloud: Cloud, plan: str, cap: int) -> None:
    user = cloud.user(f"cap-{plan}@example.com", plan=plan)
    for i in range(cap):
        assert cloud.invoke("POST", "/profiles", {"name": f"P{i}"}, token=user.access_token)[0] == 201
    status, body = cloud.invoke("POST", "/profiles", {"name": "one too many"}, token=user.access_token)
    assert status == 409
    assert body["error"]["code"] == "PROFILE_LIMIT"
    assert count(cloud, user) == cap
    assert len(profile_items(cloud, user)) == cap
    # Deleting one frees a slot.
    first = cloud.invoke("GET", "/profiles", token=user.access_token)[1]["profiles"][0]
    assert cloud.invoke("DELETE", f"/profiles/{first['profile_id']}", token=user.access_token)[0] == 204
    assert cloud.invoke("POST", "/profiles", {"name": "again"}, token=user.access_token)[0] == 201


def test_concurrent_creates_at_the_limit_exactly_one_wins(cloud: Cloud) -> None:
    """Two requests racing for the last slot: the transaction lets exactly one through.

    The race runs at the logic layer from threads (Powertools resolvers keep the current event in
    class state, so one Lambda process never handles two events at once; separate Lambda
    instances share only DynamoDB, which is what races here).
    """
    from accounts.dal.dynamo_repository import DynamoAccountsRepository
    from accounts.logic import profiles
    from accounts.models.exceptions import ProfileLimit
    from accounts.models.input import CreateProfileRequest

    for round_ in range(5):
        user = cloud.user(f"race{round_}@example.com", plan="basic")
        assert cloud.invoke("POST", "/profiles", {"name": "first"}, token=user.access_token)[0] == 201
        barrier = threading.Barrier(3)
        results: list[str] = []

        def create(
            name: str, user: User = user, barrier: threading.Barrier = barrier, results: list[str] = results
        ) -> None:
            repo = DynamoAccountsRepository("accounts-test")  # one "Lambda instance" each
            barrier.wait()
            try:
                profiles.create_profile(user.user_id, CreateProfileRequest(name=name), repo)
                results.append("created")
            except ProfileLimit:
                results.append("limit")

        threads = [threading.Thread(target=create, args=(f"racer{i}",)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["created", "limit", "limit"]
        assert count(cloud, user) == 2
        assert len(profile_items(cloud, user)) == 2


def test_other_accounts_profiles_are_invisible(cloud: Cloud, edge: str) -> None:
    alice = cloud.user("alice@example.com")
    bob = cloud.user("bob@example.com")
    _, profile = cloud.invoke("POST", "/profiles", {"name": "Alice"}, token=alice.access_token)
    pid = profile["profile_id"]
    for method, body in (("GET", None), ("PATCH", {"name": "pwned"}), ("DELETE", None)):
        status, err = cloud.invoke(method, f"/profiles/{pid}", body, token=bob.access_token, edge=edge)
        assert status == 404, (method, err)
        assert err["error"]["code"] == "NOT_FOUND"
    assert cloud.invoke("GET", "/profiles", token=bob.access_token, edge=edge) == (200, {"profiles": []})
    assert cloud.invoke("GET", f"/profiles/{pid}", token=alice.access_token)[1]["name"] == "Alice"
    assert count(cloud, alice) == 1 and count(cloud, bob) == 0


def test_patch_validation(cloud: Cloud) -> None:
    user = cloud.user("patch@example.com")
    _, profile = cloud.invoke("POST", "/profiles", {"name": "P"}, token=user.access_token)
    path = f"/profiles/{profile['profile_id']}"
    for bad in (
        {"name": ""},
        {"kids": "maybe"},
        {"maturity_rating": "X"},
        {"language": "english!"},
        {"owner": "x"},
    ):
        status, body = cloud.invoke("PATCH", path, bad, token=user.access_token)
        assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR", bad
    assert cloud.invoke("GET", path, token=user.access_token)[1] == profile


def test_profiles_require_a_token(cloud: Cloud, edge: str) -> None:
    for method, path in (
        ("GET", "/profiles"),
        ("POST", "/profiles"),
        ("GET", "/profiles/x"),
        ("DELETE", "/profiles/x"),
    ):
        status, body = cloud.invoke(method, path, {"name": "x"} if method == "POST" else None, edge=edge)
        assert status == 401 and body["error"]["code"] == "UNAUTHORIZED"
    assert cloud.items() == []
