"""Plans, subscription changes and the monthly billing run."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import datetime

from aws_lambda_powertools import Logger

from accounts.logic import plans
from accounts.logic.clock import iso
from accounts.logic.ports import AccountsRepository, ChargeRequest, PaymentProvider
from accounts.models.domain import Account, BillingSummary, Invoice, InvoiceStatus, SubscriptionStatus
from accounts.models.exceptions import AccountNotFound, ConcurrentUpdate, NotSubscribed, ProfileLimit
from accounts.models.input import ChangeSubscriptionRequest

logger = Logger(child=True)

_MAX_ATTEMPTS = 3
# Longer than the billing function can live (Lambda's 15-minute ceiling): a live run never loses
# its lease; a crashed run's pending invoice is charged again by the first run after it expires.
CHARGE_LEASE_SECONDS = 15 * 60
_INVOICE_NAMESPACE = uuid.UUID("5d0c8a4e-53b2-4c3f-9a53-6f1f2d7c9b10")


def list_plans() -> list[plans.Plan]:
    return list(plans.PLANS.values())


def change_subscription(
    user_id: str, request: ChangeSubscriptionRequest, repo: AccountsRepository
) -> Account:
    """Switch plan (and optionally payment method); resumes a canceled or canceling subscription.

    A past-due subscription stays past due: only a successful charge clears it.
    """
    target = plans.plan(request.plan)
    for _ in range(_MAX_ATTEMPTS):
        account = repo.get_account(user_id, consistent=True)
        if account is None:
            raise AccountNotFound()
        if account.profile_count > target.max_profiles:
            raise ProfileLimit(
                f"The {target.id} plan allows {target.max_profiles} profiles; "
                f"delete {account.profile_count - target.max_profiles} first"
            )
        status = account.subscription_status
        new_status = SubscriptionStatus.ACTIVE if status == SubscriptionStatus.CANCELED else status
        # Conditional on the profile count (a concurrent profile create cannot sneak past the
        # downgrade) and on the status we based the decision on.
        updated = repo.change_plan(
            user_id,
            plan=target.id,
            max_profiles=target.max_profiles,
            expected_status=status,
            new_status=new_status,
            payment_method=request.payment_method,
        )
        if updated is not None:
            return updated
    raise ConcurrentUpdate()


def cancel_subscription(user_id: str, repo: AccountsRepository) -> Account:
    updated = repo.request_cancel(user_id)
    if updated is None:
        if repo.get_account(user_id, consistent=True) is None:
            raise AccountNotFound()
        raise NotSubscribed()
    return updated


def get_subscription(user_id: str, repo: AccountsRepository) -> Account:
    account = repo.get_account(user_id)
    if account is None:
        raise AccountNotFound()
    return account


def list_invoices(user_id: str, repo: AccountsRepository) -> list[Invoice]:
    return repo.list_invoices(user_id)


def billing_period(event_time: str | None, fallback: datetime) -> str:
    """YYYY-MM of the scheduled event's ``time`` (ISO-8601), else of ``fallback``."""
    if event_time:
        moment = datetime.fromisoformat(event_time.replace("Z", "+00:00"))
        return moment.strftime("%Y-%m")
    return fallback.strftime("%Y-%m")


def invoice_id(user_id: str, period: str) -> str:
    # Deterministic: the same account and period always get the same id (the charge's idempotency key).
    return "inv_" + uuid.uuid5(_INVOICE_NAMESPACE, f"{user_id}/{period}").hex


def run_billing(
    period: str, repo: AccountsRepository, payments: PaymentProvider, shards: Sequence[int] | None = None
) -> BillingSummary:
    """Invoice every billable account once for ``period``. Safe to run any number of times.

    ``shards`` limits the run to some billing-index partitions, so a scheduler can fan the work
    out (one invocation per shard) when one invocation no longer fits the Lambda timeout.
    """
    summary = BillingSummary(period=period)
    for user_id in repo.billable_account_ids(shards):
        try:
            _bill_account(user_id, period, repo, payments, summary)
        except Exception:
            # One bad account must not stop the run; the next run retries it (pending invoice).
            logger.exception("billing failed for account", extra={"user_id": user_id, "period": period})
            summary.failed += 1
            summary.failures.append(user_id)
    logger.info("billing run finished", extra={"summary": summary.__dict__})
    return summary


def _bill_account(
    user_id: str, period: str, repo: AccountsRepository, payments: PaymentProvider, summary: BillingSummary
) -> None:
    account = repo.get_account(user_id, consistent=True)
    if account is None or not account.billable:
        return
    existing = repo.get_invoice(user_id, period)
    if existing is not None and existing.status != InvoiceStatus.PENDING:
        # This period is already billed (and paid for): a pending cancellation waits for the next one.
        summary.already_invoiced += 1
        return
    if existing is None and account.cancel_at_period_end:
        # A new period begins without renewing: the subscription ends now, nothing is charged.
        if repo.finish_cancellation(user_id):
            summary.canceled += 1
        return
    plan = plans.plan(account.plan)
    invoice = existing or Invoice(
        user_id=user_id,
        period=period,
        invoice_id=invoice_id(user_id, period),
        plan=plan.id,
        amount_cents=plan.monthly_price_cents,
        currency=plan.currency,
        created_at=iso(),
    )
    # Only the holder of the invoice's charging lease calls the provider. Losing the lease means a
    # concurrent run issued the invoice or is charging it: that account is done, not failed.
    moment = int(time.time())
    lease_until = moment + CHARGE_LEASE_SECONDS
    if existing is None:
        leased = repo.create_invoice(invoice, lease_until=lease_until)
    else:
        leased = repo.claim_invoice(user_id, period, lease_until=lease_until, now=moment)
    if not leased:
        summary.already_invoiced += 1
        return
    # A pending invoice left by a run that died before settling is charged again with the same
    # idempotency key (the invoice id), so the provider cannot charge twice.
    result = payments.charge(
        ChargeRequest(
            account_id=user_id,
            amount_cents=invoice.amount_cents,
            currency=invoice.currency,
            payment_method=account.payment_method,
            idempotency_key=invoice.invoice_id,
            description=f"Reelstack {invoice.plan} {period}",
        )
    )
    invoice.payment_reference = result.reference
    invoice.settled_at = iso()
    if result.approved:
        invoice.status, account_status = InvoiceStatus.PAID, SubscriptionStatus.ACTIVE
    else:
        invoice.status, account_status = InvoiceStatus.DECLINED, SubscriptionStatus.PAST_DUE
        invoice.decline_code = result.decline_code
    if not repo.settle_invoice(invoice, account_status):
        # Our lease ran out and a later run settled it (with the same idempotency key): done.
        summary.already_invoiced += 1
        return
    summary.invoiced += 1
    if not result.approved:
        summary.declined += 1
