"""The accounts / profiles / billing contract, over real HTTP against the local cloud (both edges)."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

PASSWORD = "Corr3ct-Horse-Battery"
# Cognito emails the code; moto sends nothing and its ConfirmSignUp accepts any code.
CODE = "000000"


class Client:
    def __init__(self, http: requests.Session, base: str) -> None:
        self.http, self.base, self.token = http, base, ""

    def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
             headers: dict[str, str] | None = None) -> requests.Response:
        h = {"content-type": "application/json"}
        if self.token:
            h["authorization"] = f"Bearer {self.token}"
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        return self.http.request(method, self.base + path, data=data, headers=h, timeout=60)

    def sign_up(self, plan: str = "basic") -> tuple[str, str]:
        email = f"user-{uuid.uuid4().hex[:10]}@example.com"
        r = self.call("POST", "/accounts", {"email": email, "password": PASSWORD, "plan": plan})
        assert r.status_code == 202, r.text
        r = self.call("POST", "/accounts/confirm", {"email": email, "code": CODE})
        assert r.status_code == 201, r.text
        user_id = r.json()["user_id"]
        r = self.call("POST", "/accounts/login", {"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]
        return email, user_id


def _assert_error(r: requests.Response, status: int, code: str | None = None) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    err = r.json()["error"]
    assert set(err) >= {"code", "message"} and err["message"]
    if code:
        assert err["code"] == code
    assert "Traceback" not in r.text


@pytest.fixture(params=["api_url", "alb_url"])
def client(request: pytest.FixtureRequest, endpoints: dict[str, Any], http: requests.Session) -> Client:
    return Client(http, endpoints[request.param])


def _table_items(aws: Any, endpoints: dict[str, Any]) -> int:
    name = next(n for lid, n in endpoints["resources"]["tables"].items() if "Accounts" in lid)
    return int(aws("dynamodb").scan(TableName=name, Select="COUNT")["Count"])


def _users(aws: Any, endpoints: dict[str, Any]) -> int:
    pool = next(iter(endpoints["resources"]["user_pools"].values()))
    return len(aws("cognito-idp").list_users(UserPoolId=pool)["Users"])


def test_sign_up_login_me(client: Client) -> None:
    email, user_id = client.sign_up(plan="standard")
    r = client.call("GET", "/accounts/me")
    assert r.status_code == 200
    me = r.json()
    assert me["user_id"] == user_id and me["email"] == email
    assert me["plan"] == "standard" and me["subscription_status"] == "active" and me["profiles"] == []

    # A known email gets the answer a new one gets (issue 10 item 3); only its owner's code confirms.
    dup = client.call("POST", "/accounts", {"email": email.upper(), "password": PASSWORD})
    new = client.call("POST", "/accounts", {"email": "new-" + email, "password": PASSWORD})
    assert (dup.status_code, dup.json()) == (new.status_code, new.json()) and dup.status_code == 202
    _assert_error(client.call("POST", "/accounts/confirm", {"email": email, "code": CODE}), 400, "INVALID_CODE")
    wrong = client.call("POST", "/accounts/login", {"email": email, "password": PASSWORD + "x"})
    unknown = client.call("POST", "/accounts/login", {"email": "nobody-" + email, "password": PASSWORD})
    _assert_error(wrong, 401)
    _assert_error(unknown, 401)
    assert wrong.json()["error"] == unknown.json()["error"]  # no account enumeration


def test_no_password_is_stored(client: Client, aws: Any, endpoints: dict[str, Any]) -> None:
    client.sign_up()
    name = next(n for lid, n in endpoints["resources"]["tables"].items() if "Accounts" in lid)
    dump = json.dumps(aws("dynamodb").scan(TableName=name)["Items"])
    assert PASSWORD not in dump


def test_profiles_crud_limit_and_isolation(client: Client, http: requests.Session) -> None:
    client.sign_up(plan="basic")  # basic: 2 profiles
    a = client.call("POST", "/profiles", {"name": "Ana", "language": "es"})
    assert a.status_code == 201, a.text
    kid = client.call("POST", "/profiles", {"name": "Kiddo", "kids": True})
    assert kid.status_code == 201
    assert kid.json()["kids"] is True
    _assert_error(client.call("POST", "/profiles", {"name": "Third"}), 409, "PROFILE_LIMIT")

    pid = a.json()["profile_id"]
    r = client.call("PATCH", f"/profiles/{pid}", {"name": "Ana María"})
    assert r.status_code == 200 and r.json()["name"] == "Ana María"
    assert client.call("GET", f"/profiles/{pid}").json()["language"] == "es"
    assert len(client.call("GET", "/profiles").json()["profiles"]) == 2

    other = Client(http, client.base)
    other.sign_up()
    for method in ("GET", "PATCH", "DELETE"):
        r = other.call(method, f"/profiles/{pid}", {"name": "x"} if method == "PATCH" else None)
        _assert_error(r, 404)
    assert client.call("GET", f"/profiles/{pid}").status_code == 200

    assert client.call("DELETE", f"/profiles/{pid}").status_code == 204
    _assert_error(client.call("GET", f"/profiles/{pid}"), 404)
    # The slot freed by the delete can be used again.
    assert client.call("POST", "/profiles", {"name": "Again"}).status_code == 201


def test_profile_cap_is_atomic_under_concurrency(endpoints: dict[str, Any], http: requests.Session) -> None:
    client = Client(http, endpoints["api_url"])
    client.sign_up(plan="basic")
    assert client.call("POST", "/profiles", {"name": "First"}).status_code == 201
    # One slot left; several creates race for it.
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda i: client.call("POST", "/profiles", {"name": f"Racer {i}"}).status_code,
                              range(4)))
    assert sorted(codes) == [201, 409, 409, 409], codes
    assert len(client.call("GET", "/profiles").json()["profiles"]) == 2


def test_plans_are_public_and_complete(client: Client) -> None:
    r = client.call("GET", "/billing/plans")
    assert r.status_code == 200
    plans = {p["id"]: p for p in r.json()["plans"]}
    assert {"basic", "standard", "premium"} <= set(plans)
    assert plans["basic"]["max_profiles"] == 2 and plans["premium"]["max_profiles"] == 5
    for p in plans.values():
        assert p["monthly_price_cents"] > 0 and p["max_concurrent_streams"] >= 1 and p["max_resolution"]
    assert plans["basic"]["monthly_price_cents"] < plans["premium"]["monthly_price_cents"]


def _run_billing(aws: Any, endpoints: dict[str, Any], period_time: str) -> dict[str, Any]:
    fn = next(n for lid, n in endpoints["resources"]["functions"].items() if lid.startswith("Billing"))
    event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "123456789012", "time": period_time, "region": "us-east-1", "resources": [], "detail": {}}
    r = aws("lambda").invoke(FunctionName=fn, Payload=json.dumps(event).encode())
    payload = json.loads(r["Payload"].read())
    assert "FunctionError" not in r, payload
    return payload  # type: ignore[no-any-return]


def test_subscription_and_billing_run(endpoints: dict[str, Any], http: requests.Session, aws: Any) -> None:
    payer = Client(http, endpoints["api_url"])
    payer.sign_up(plan="basic")
    r = payer.call("PUT", "/billing/subscription", {"plan": "premium"})
    assert r.status_code == 200 and r.json()["plan"] == "premium"

    decliner = Client(http, endpoints["alb_url"])
    decliner.sign_up(plan="standard")
    r = decliner.call("PUT", "/billing/subscription", {"plan": "standard", "payment_method": "pm_card_declined"})
    assert r.status_code == 200, r.text

    quitter = Client(http, endpoints["api_url"])
    quitter.sign_up()
    r = quitter.call("DELETE", "/billing/subscription")
    assert r.status_code == 200 and r.json()["cancel_at_period_end"] is True

    period_time = f"2031-{time.time_ns() % 12 + 1:02d}-01T02:00:00Z"
    first = _run_billing(aws, endpoints, period_time)
    second = _run_billing(aws, endpoints, period_time)
    assert first["invoiced"] >= 2 and first["declined"] >= 1
    assert second["invoiced"] == 0 and second["declined"] == 0
    assert second["already_invoiced"] >= first["invoiced"]

    invoices = payer.call("GET", "/billing/invoices").json()["invoices"]
    assert len([i for i in invoices if i["period"] == period_time[:7]]) == 1
    inv = invoices[0]
    assert inv["plan"] == "premium" and inv["status"] in ("paid", "PAID")

    declined = decliner.call("GET", "/billing/invoices").json()["invoices"]
    assert len(declined) == 1 and declined[0]["status"].lower() == "declined"
    assert decliner.call("GET", "/accounts/me").json()["subscription_status"] == "past_due"


def test_bad_inputs_are_4xx_with_the_error_shape_and_write_nothing(
    client: Client, aws: Any, endpoints: dict[str, Any]
) -> None:
    items_before, users_before = _table_items(aws, endpoints), _users(aws, endpoints)
    cases: list[tuple[str, str, Any, bytes | None, int]] = [
        ("POST", "/accounts", None, b"{not json", 400),
        ("POST", "/accounts", {"email": "x@example.com"}, None, 400),
        ("POST", "/accounts", {"email": "not-an-email", "password": PASSWORD}, None, 400),
        ("POST", "/accounts", {"email": "weak@example.com", "password": "short"}, None, 400),
        ("POST", "/accounts", {"email": "weak@example.com", "password": "alllowercase1"}, None, 400),
        ("POST", "/accounts", {"email": 42, "password": PASSWORD}, None, 400),
        ("POST", "/accounts", {"email": "p@example.com", "password": PASSWORD, "plan": "diamond"}, None, 400),
        ("POST", "/accounts", [1, 2, 3], None, 400),
        ("POST", "/accounts", None, json.dumps({"email": "big@example.com", "password": PASSWORD,
                                                "pad": "x" * 200_000}).encode(), 413),
        ("POST", "/accounts/login", {"email": "a@example.com"}, None, 400),
    ]
    for method, path, body, raw, status in cases:
        r = client.call(method, path, body, raw)
        _assert_error(r, status)
    assert _table_items(aws, endpoints) == items_before
    assert _users(aws, endpoints) == users_before

    client.sign_up()
    items_before = _table_items(aws, endpoints)
    for body, raw in [(None, b"[]"), ({"name": 7}, None), ({"name": "ok", "kids": "maybe"}, None),
                      ({"name": ""}, None), ({"name": "ok", "maturity_rating": "XXX"}, None),
                      ({"name": "ok", "unknown_field": 1}, None)]:
        _assert_error(client.call("POST", "/profiles", body, raw), 400)
    _assert_error(client.call("PUT", "/billing/subscription", {"plan": 3}), 400)
    assert _table_items(aws, endpoints) == items_before


def test_password_guessing_meets_cognitos_lockout(client: Client) -> None:
    """Issue 10 item 6: 5 failures lock the user name (1 s, doubling); the right password waits too."""
    email, _ = client.sign_up()
    client.token = ""
    wrong = {"email": email, "password": PASSWORD + "x"}
    for _ in range(5):
        _assert_error(client.call("POST", "/accounts/login", wrong), 401, "INVALID_CREDENTIALS")
    # Two more failures, each after its lockout ran out: the lockout is now 4 s, ample for the next call.
    for pause in (1.2, 2.2):
        time.sleep(pause)
        _assert_error(client.call("POST", "/accounts/login", wrong), 401, "INVALID_CREDENTIALS")
    right = client.call("POST", "/accounts/login", {"email": email, "password": PASSWORD})
    _assert_error(right, 429, "TOO_MANY_ATTEMPTS")


def test_a_disabled_admin_cannot_create_titles_after_the_cache_window(
    endpoints: dict[str, Any], http: requests.Session, aws: Any
) -> None:
    """Issue 10 item 4: the admin's token stays valid, but Cognito (asked every 10 s) says disabled."""
    admin = Client(http, endpoints["api_url"])
    email, _ = admin.sign_up()
    pool = next(iter(endpoints["resources"]["user_pools"].values()))
    idp = aws("cognito-idp")
    idp.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName="admins")
    admin.token = admin.call("POST", "/accounts/login", {"email": email, "password": PASSWORD}).json()["access_token"]
    title = {"title": "Standing check", "description": "d", "genres": ["drama"], "cast": ["Test Pattern"],
             "language": "en", "maturity_rating": "PG", "year": 2025}
    assert admin.call("POST", "/titles", title).status_code == 201
    idp.admin_disable_user(UserPoolId=pool, Username=email)
    time.sleep(10.5)  # reelstack_common.auth.STANDING_TTL_SECONDS, plus a margin
    for base in (endpoints["api_url"], endpoints["alb_url"]):
        admin.base = base
        _assert_error(admin.call("POST", "/titles", title), 401)
