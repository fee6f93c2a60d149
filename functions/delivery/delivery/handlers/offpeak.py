"""Off-peak fill: an EventBridge schedule -> the most popular READY titles, whole, through the CDN.
Handler string: ``delivery.handlers.offpeak.lambda_handler``.

The day (UTC, from the scheduled event's ``time``) names the ledger, so every run of one day's
window resumes the same fill: titles DONE are skipped, a title cut short by the clock is claimed
again. The run stops starting fetches ``_RESERVE_MS`` before Lambda's deadline.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from delivery import wiring
from delivery.handlers.observability import logger, metrics, tracer
from delivery.logic.offpeak import run_offpeak

# One object may take 3 attempts x 10 s plus backoff (dal/cdn_http.py), then the ledger write.
_RESERVE_MS = 40_000
_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})T")


def fill_day(event: Any, now: datetime | None = None) -> str:
    """The scheduled event's day (UTC); today's when the event has no usable ``time``."""
    when = event.get("time") if isinstance(event, dict) else None
    match = _DAY.match(when) if isinstance(when, str) else None
    return match.group(1) if match else (now or datetime.now(UTC)).strftime("%Y-%m-%d")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    day = fill_day(event)
    prefill = wiring.policy_from_env()
    result = run_offpeak(
        day,
        wiring.popularity(),
        wiring.catalog(),
        lambda title_id: wiring.cdn_for_title(title_id, grant_ttl_s=prefill.lease_s + 300),
        wiring.ledger(prefix=f"OFFPEAK#{day}#"),
        wiring.offpeak_policy_from_env(),
        prefill,
        should_stop=lambda: context.get_remaining_time_in_millis() < _RESERVE_MS,
    )
    summary = {
        "day": result.day,
        "source": result.source,
        "selected": len(result.picks),
        "filled": len(result.filled),
        "already": len(result.already),
        "failed": result.failed[:20],
        "objects": result.objects,
        "bytes": result.bytes,
        "stopped": result.stopped,
    }
    logger.info("offpeak fill", extra=summary)
    metrics.add_metric(name="OffpeakTitles", unit=MetricUnit.Count, value=len(result.filled))
    metrics.add_metric(name="OffpeakBytes", unit=MetricUnit.Bytes, value=result.bytes)
    return summary
