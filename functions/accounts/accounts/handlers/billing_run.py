"""Billing run (EventBridge scheduled event).

Handler string: ``accounts.handlers.billing_run.lambda_handler``.

The period is the YYYY-MM of the event's ``time``; running twice for a period issues nothing new.
An optional ``detail.shards`` (list of ints) restricts the run to those billing-index shards, for
fanning a large run out over several invocations.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from accounts.handlers.observability import logger, metrics, tracer
from accounts.logic import billing
from accounts.logic.clock import now
from accounts.wiring import dependencies


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    period = billing.billing_period((event or {}).get("time"), now())
    logger.append_keys(period=period)
    shards = ((event or {}).get("detail") or {}).get("shards")
    if shards is not None and not (isinstance(shards, list) and all(isinstance(s, int) for s in shards)):
        raise ValueError("detail.shards must be a list of integers")
    deps = dependencies()
    summary = billing.run_billing(period, deps.repo, deps.payments, shards)
    metrics.add_metric(name="InvoicesIssued", unit=MetricUnit.Count, value=summary.invoiced)
    metrics.add_metric(name="ChargesDeclined", unit=MetricUnit.Count, value=summary.declined)
    metrics.add_metric(name="BillingFailures", unit=MetricUnit.Count, value=summary.failed)
    return {
        "period": summary.period,
        "invoiced": summary.invoiced,
        "already_invoiced": summary.already_invoiced,
        "declined": summary.declined,
        "canceled": summary.canceled,
        "failed": summary.failed,
    }
