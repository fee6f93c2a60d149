"""Prefill: ``TitlePublished`` (EventBridge -> SQS) -> signed GETs through the CDN. Handler string:
``delivery.handlers.prefill.lambda_handler``.

Each SQS record's body is one EventBridge event. Records fail one by one (partial batch response):
a failed fill is redelivered by SQS and lands in the dead-letter queue after maxReceiveCount. An
event that can never be processed (``BadEvent``) is logged and dropped.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from delivery import wiring
from delivery.handlers.observability import logger, metrics, tracer
from delivery.logic.prefill import prefill_title
from delivery.models.errors import BadEvent
from delivery.models.events import TITLE_PUBLISHED, TitlePublished, event_detail
from delivery.models.prefill import ClaimOutcome

processor = BatchProcessor(event_type=EventType.SQS)
# Stop starting fetches this long before Lambda's deadline, so the lease is released in time: one
# fetch may take 3 attempts x 10 s plus backoff (dal/cdn_http.py).
_RESERVE_MS = 40_000
_context: dict[str, LambdaContext | None] = {"current": None}


def parse(body: str) -> TitlePublished:
    return event_detail(body, TITLE_PUBLISHED, TitlePublished)[0]


def _out_of_time() -> bool:
    context = _context["current"]
    return context is not None and context.get_remaining_time_in_millis() < _RESERVE_MS


def _record(record: SQSRecord) -> None:
    try:
        detail = parse(record.body)
        policy = wiring.policy_from_env()
        cdn = wiring.cdn_for_title(detail.title_id, grant_ttl_s=policy.lease_s + 300)
        result = prefill_title(detail, cdn, wiring.ledger(), policy, should_stop=_out_of_time)
    except BadEvent as exc:
        logger.warning("event dropped", extra={"reason": str(exc)[:200], "message_id": record.message_id})
        return
    logger.info(
        "prefill",
        extra={
            "title_id": result.title_id,
            "version": result.version,
            "outcome": result.outcome.value,
            "renditions": result.renditions,
            "filled": result.filled,
            "bytes": result.bytes,
            "missing": result.missing[:10],
            "media_unchanged": result.media_unchanged,
        },
    )
    if result.outcome is ClaimOutcome.CLAIMED:
        metrics.add_metric(name="PrefillObjects", unit=MetricUnit.Count, value=result.filled)
        metrics.add_metric(name="PrefillBytes", unit=MetricUnit.Bytes, value=result.bytes)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    _context["current"] = context
    try:
        return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
    finally:
        _context["current"] = None
