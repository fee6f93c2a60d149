"""Plans, subscription changes/cancellation, invoices and the scheduled billing run."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.unit.accounts.conftest import Cloud, User
from tests.unit.events import LambdaContext, scheduled_event

NOV = "2026-11-30T02:00:00Z"
DEC = "2026-12-01T02:00:00Z"


def run(when: str) -> dict[str, Any]:
    from accounts.handlers.billing_run import lambda_handler

    return lambda_handler(scheduled_event(when), LambdaContext())


def account_item(cloud: Cloud, user: User) -> dict[str, Any]:
    return dict(cloud.table.get_item(Key={"pk": f"ACCOUNT#{user.user_id}", "sk": "ACCOUNT"})["Item"])


def invoice_items(cloud: Cloud) -> list[dict[str, Any]]:
    return [i for i in cloud.items() if i["sk"].startswith("INVOICE#")]


def test_plans_are_public(cloud: Cloud, edge: str) -> None:
    status, body = cloud.invoke("GET", "/billing/plans", edge=edge)
    assert status == 200
    plans = {p["id"]: p for p in body["plans"]}
    assert list(plans) == ["basic", "standard", "premium"]
    assert [plans[p]["max_profiles"] for p in plans] == [2, 4, 5]
    for plan in plans.values():
        assert set(plan) == {
            "id",
            "name",
            "monthly_price_cents",
            "currency",
            "max_profiles",
            "max_concurrent_streams",
            "max_resolution",
        }
        assert isinstance(plan["monthly_price_cents"], int) and plan["currency"] == "USD"
    prices = [plans[p]["monthly_price_cents"] for p in plans]
    assert prices == sorted(prices)


def test_change_plan_and_payment_method(cloud: Cloud, edge: str) -> None:
    user = cloud.user("change@example.com")
    status, body = cloud.invoke(
        "PUT",
        "/billing/subscription",
        {"plan": "premium", "payment_method": "pm_card_mastercard"},
        token=user.access_token,
        edge=edge,
    )
    assert status == 200
    assert body == {
        "plan": "premium",
        "status": "active",
        "cancel_at_period_end": False,
        "payment_method": "pm_card_mastercard",
    }
    assert cloud.invoke("GET", "/accounts/me", token=user.access_token)[1]["plan"] == "premium"


def test_downgrade_below_profile_count_is_409(cloud: Cloud, edge: str) -> None:
    user = cloud.user("down@example.com", plan="standard")
    for i in range(3):
        assert cloud.invoke("POST", "/profiles", {"name": f"P{i}"}, token=user.access_token)[0] == 201
    status, body = cloud.invoke(
        "PUT", "/billing/subscription", {"plan": "basic"}, token=user.access_token, edge=edge
    )
    assert status == 409
    assert body["error"]["code"] == "PROFILE_LIMIT"
    assert account_item(cloud, user)["plan"] == "standard"
    # With one profile fewer the downgrade goes through.
    pid = cloud.invoke("GET", "/profiles", token=user.access_token)[1]["profiles"][0]["profile_id"]
    cloud.invoke("DELETE", f"/profiles/{pid}", token=user.access_token)
    assert cloud.invoke("PUT", "/billing/subscription", {"plan": "basic"}, token=user.access_token)[0] == 200
    assert account_item(cloud, user)["plan"] == "basic"


def test_cancel_at_period_end_then_canceled_by_the_next_run(cloud: Cloud, edge: str) -> None:
    user = cloud.user("cancel@example.com")
    status, body = cloud.invoke("DELETE", "/billing/subscription", token=user.access_token, edge=edge)
    assert status == 200
    assert body["status"] == "active" and body["cancel_at_period_end"] is True
    assert cloud.invoke("GET", "/accounts/me", token=user.access_token)[1]["subscription_status"] == "active"

    summary = run(NOV)
    assert summary["canceled"] == 1 and summary["invoiced"] == 0
    item = account_item(cloud, user)
    assert item["subscription_status"] == "canceled" and item["cancel_at_period_end"] is False
    assert "gsi1pk" not in item  # off the billing index
    assert invoice_items(cloud) == []
    # Canceling again is a conflict; later runs ignore the account.
    status, body = cloud.invoke("DELETE", "/billing/subscription", token=user.access_token)
    assert status == 409 and body["error"]["code"] == "NOT_SUBSCRIBED"
    assert run(DEC)["invoiced"] == 0
    # Re-subscribing puts it back on the index and the next period bills it.
    status, body = cloud.invoke("PUT", "/billing/subscription", {"plan": "standard"}, token=user.access_token)
    assert status == 200 and body["status"] == "active"
    assert run("2027-01-01T02:00:00Z")["invoiced"] == 1


def test_cancel_after_this_periods_invoice_waits_for_the_next_period(cloud: Cloud) -> None:
    user = cloud.user("later@example.com")
    assert run(NOV)["invoiced"] == 1
    cloud.invoke("DELETE", "/billing/subscription", token=user.access_token)
    # A daily schedule runs again in the same period: the paid period is honoured.
    assert run(NOV) == {
        "period": "2026-11",
        "invoiced": 0,
        "already_invoiced": 1,
        "declined": 0,
        "canceled": 0,
        "failed": 0,
    }
    assert account_item(cloud, user)["subscription_status"] == "active"
    assert run(DEC)["canceled"] == 1
    assert account_item(cloud, user)["subscription_status"] == "canceled"


def test_billing_run_twice_issues_one_invoice_per_account(cloud: Cloud) -> None:
    users = [
        cloud.user(f"bill{i}@example.com", plan=p) for i, p in enumerate(["basic", "standard", "premium"])
    ]
    first = run(NOV)
    assert first == {
        "period": "2026-11",
        "invoiced": 3,
        "already_invoiced": 0,
        "declined": 0,
        "canceled": 0,
        "failed": 0,
    }
    second = run("2026-11-30T23:59:59Z")
    assert second["invoiced"] == 0 and second["already_invoiced"] == 3
    invoices = invoice_items(cloud)
    assert len(invoices) == 3
    assert {i["sk"] for i in invoices} == {"INVOICE#2026-11"}
    assert sorted(int(i["amount_cents"]) for i in invoices) == [799, 1549, 2299]
    assert all(i["status"] == "paid" and i["payment_reference"].startswith("ch_local_") for i in invoices)

    status, body = cloud.invoke("GET", "/billing/invoices", token=users[1].access_token)
    assert status == 200
    [invoice] = body["invoices"]
    assert invoice["period"] == "2026-11" and invoice["amount_cents"] == 1549 and invoice["status"] == "paid"
    assert invoice["plan"] == "standard" and invoice["currency"] == "USD"
    # The next period gets its own invoice, listed newest first.
    assert run(DEC)["invoiced"] == 3
    periods = [
        i["period"]
        for i in cloud.invoke("GET", "/billing/invoices", token=users[1].access_token)[1]["invoices"]
    ]
    assert periods == ["2026-12", "2026-11"]


def test_declined_charge_marks_past_due(cloud: Cloud, edge: str) -> None:
    good = cloud.user("good@example.com")
    bad = cloud.user("bad@example.com")
    status, _ = cloud.invoke(
        "PUT",
        "/billing/subscription",
        {"plan": "basic", "payment_method": "pm_card_declined"},
        token=bad.access_token,
        edge=edge,
    )
    assert status == 200
    summary = run(NOV)
    assert summary["invoiced"] == 2 and summary["declined"] == 1
    assert account_item(cloud, bad)["subscription_status"] == "past_due"
    assert account_item(cloud, good)["subscription_status"] == "active"
    [invoice] = cloud.invoke("GET", "/billing/invoices", token=bad.access_token)[1]["invoices"]
    assert invoice["status"] == "declined" and invoice["decline_code"] == "card_declined"
    # Fixing the card does not forgive the debt by itself; the next successful charge does.
    status, body = cloud.invoke(
        "PUT",
        "/billing/subscription",
        {"plan": "basic", "payment_method": "pm_card_visa"},
        token=bad.access_token,
    )
    assert body["status"] == "past_due"
    assert run(DEC)["declined"] == 0
    assert account_item(cloud, bad)["subscription_status"] == "active"


def test_pending_invoice_from_a_crashed_run_is_settled_not_duplicated(cloud: Cloud) -> None:
    from accounts.dal.dynamo_repository import DynamoAccountsRepository
    from accounts.logic.billing import invoice_id
    from accounts.models.domain import Invoice

    user = cloud.user("crash@example.com")
    repo = DynamoAccountsRepository("accounts-test")
    crashed = Invoice(user.user_id, "2026-11", invoice_id(user.user_id, "2026-11"), "basic", 799, "USD")
    # The crashed run's charging lease is still live: the next run leaves the invoice alone...
    repo.create_invoice(crashed, lease_until=int(time.time()) + 600)
    assert run(NOV)["already_invoiced"] == 1
    assert [i["status"] for i in invoice_items(cloud)] == ["pending"]
    # ...and charges it (same idempotency key) once the lease has expired.
    cloud.table.update_item(
        Key={"pk": f"ACCOUNT#{user.user_id}", "sk": "INVOICE#2026-11"},
        UpdateExpression="SET lease_until = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 1},
    )
    summary = run(NOV)
    assert summary["invoiced"] == 1 and summary["already_invoiced"] == 0
    [invoice] = invoice_items(cloud)
    assert invoice["status"] == "paid"


def test_billing_uses_the_sparse_index_not_a_scan(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    from reelstack_common.dynamo import CacheAwareTable

    cloud.user("idx@example.com")

    def no_scan(self: object, **kwargs: object) -> None:
        raise AssertionError("billing must not scan the table")

    monkeypatch.setattr(CacheAwareTable, "scan", no_scan)
    assert run(NOV)["invoiced"] == 1


def test_billing_endpoints_require_a_token(cloud: Cloud, edge: str) -> None:
    for method, path, body in (
        ("PUT", "/billing/subscription", {"plan": "basic"}),
        ("DELETE", "/billing/subscription", None),
        ("GET", "/billing/invoices", None),
    ):
        status, out = cloud.invoke(method, path, body, edge=edge)
        assert status == 401 and out["error"]["code"] == "UNAUTHORIZED"


def test_billing_run_can_be_fanned_out_by_shard(cloud: Cloud) -> None:
    from accounts.dal.dynamo_repository import BILLING_SHARDS, billing_shard
    from accounts.handlers.billing_run import lambda_handler

    users = [cloud.user(f"shard{i}@example.com") for i in range(4)]
    total = 0
    for shard in range(BILLING_SHARDS):
        event = scheduled_event(NOV)
        event["detail"] = {"shards": [shard]}
        invoiced = lambda_handler(event, LambdaContext())["invoiced"]
        assert invoiced == sum(1 for u in users if billing_shard(u.user_id) == shard)
        total += invoiced
    assert total == 4
    assert run(NOV)["already_invoiced"] == 4


def test_billing_run_emits_invoice_metrics(cloud: Cloud, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    cloud.user("m1@example.com")
    capsys.readouterr()
    run(NOV)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf and emf[-1]["InvoicesIssued"] == [1.0] and emf[-1]["ChargesDeclined"] == [0.0]


def test_concurrent_billing_runs_charge_each_invoice_once_and_report_no_failure(cloud: Cloud) -> None:
    """Issue 10 item 2: the run that loses a race to an existing invoice has nothing left to do."""
    import threading

    from accounts.dal.payments import LocalPaymentProvider
    from accounts.logic import billing
    from accounts.logic.ports import ChargeRequest, ChargeResult
    from accounts.wiring import dependencies

    class CountingProvider(LocalPaymentProvider):
        def __init__(self) -> None:
            self.attempts: list[str] = []
            self._lock = threading.Lock()

        def charge(self, request: ChargeRequest) -> ChargeResult:
            with self._lock:
                self.attempts.append(request.idempotency_key)
            time.sleep(0.005)  # a provider answers in milliseconds: the other runs catch up meanwhile
            return super().charge(request)

    for i in range(6):
        cloud.user(f"race{i}@example.com")
    repo, provider = dependencies().repo, CountingProvider()
    runs = 4
    barrier = threading.Barrier(runs)
    summaries: list[Any] = []

    def one_run() -> None:
        barrier.wait()
        summaries.append(billing.run_billing("2026-11", repo, provider))

    threads = [threading.Thread(target=one_run) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    invoices = invoice_items(cloud)
    assert len(invoices) == 6 and all(i["status"] == "paid" for i in invoices)
    assert [s.failed for s in summaries] == [0] * runs, [s.failures for s in summaries]
    assert sorted(provider.attempts) == sorted(i["invoice_id"] for i in invoices)  # one attempt each
    assert sum(s.invoiced for s in summaries) == 6
    assert sum(s.invoiced + s.already_invoiced for s in summaries) == 6 * runs


def test_a_disabled_user_cannot_change_billing_after_the_cache_window(
    cloud: Cloud, edge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10 item 4: the token outlives the user; billing changes ask Cognito (cached)."""
    from reelstack_common import auth

    now = [1000.0]
    monkeypatch.setattr(auth.standing_cache, "clock", lambda: now[0])
    user = cloud.user("gone@example.com")
    change = {"plan": "premium"}
    assert cloud.invoke("PUT", "/billing/subscription", change, token=user.access_token, edge=edge)[0] == 200
    cloud.cognito.admin_disable_user(UserPoolId=cloud.pool_id, Username=user.email)
    now[0] += auth.STANDING_TTL_SECONDS
    status, body = cloud.invoke("PUT", "/billing/subscription", {"plan": "basic"}, token=user.access_token, edge=edge)
    assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED")
    status, body = cloud.invoke("DELETE", "/billing/subscription", token=user.access_token, edge=edge)
    assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED")
    assert account_item(cloud, user)["plan"] == "premium" and not account_item(cloud, user)["cancel_at_period_end"]
    # Reading stays possible until the token expires (the short access-token lifetime bounds it).
    assert cloud.invoke("GET", "/billing/subscription", token=user.access_token, edge=edge)[0] == 200
