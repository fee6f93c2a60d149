"""Withdrawal purge: ``TitleWithdrawn`` (EventBridge -> SQS) -> the title's media out of the CDN's
caches. Handler string: ``delivery.handlers.withdraw.lambda_handler``.

Each SQS record's body is one EventBridge event; records fail one by one (partial batch response):
a purge the CDN did not take is redelivered by SQS and lands in the dead-letter queue after
maxReceiveCount. A purge CloudFront throttles (too many invalidations in progress) comes back after a
growing delay (``ChangeMessageVisibility``). A record is attempted only while the invocation has time
for one more CDN call within its timeouts; the rest are returned for redelivery untouched. An event
that can never be processed (``BadEvent``) is logged and dropped.
"""

from __future__ import annotations

import random
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from delivery import wiring
from delivery.dal.late_purge import LATE_MARK
from delivery.dal.purge import WORST_CALL_S
from delivery.handlers.observability import logger, metrics, tracer
from delivery.logic.withdraw import late_purge, throttled_delay_s, withdraw_title
from delivery.models.errors import BadEvent, OutOfTime, PurgeThrottled
from delivery.models.events import TITLE_WITHDRAWN, TitleWithdrawn, event_detail

# A batch whose records all failed (one throttled withdrawal, a batch out of time) is answered with
# the failures like any other, not an invocation error: the records' own retry and delay apply.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def parse(body: str) -> tuple[TitleWithdrawn, bool]:
    """The withdrawal, and whether this is its second, delayed purge (``delivery.dal.late_purge``)."""
    detail, event = event_detail(body, TITLE_WITHDRAWN, TitleWithdrawn)
    return detail, event.get(LATE_MARK) is True


def _record(record: SQSRecord, context: LambdaContext) -> None:
    try:
        detail, late = parse(record.body)
    except BadEvent as exc:
        logger.warning("event dropped", extra={"reason": str(exc)[:200], "message_id": record.message_id})
        return
    if context.get_remaining_time_in_millis() < WORST_CALL_S * 1000:
        raise OutOfTime(f"less than {WORST_CALL_S} s left: {detail.title_id} is redelivered")
    try:
        if late:
            result = late_purge(detail, wiring.purger())
        else:
            result = withdraw_title(detail, wiring.ledger(), wiring.purger(), late=wiring.late_purges(),
                                    late_delay_s=wiring.late_purge_delay_s())
    except PurgeThrottled:
        receives = int(record.attributes.approximate_receive_count or 1)
        delay = throttled_delay_s(receives, random.random())  # noqa: S311 - spreading, not crypto
        wiring.redelivery().delay(record.event_source_arn, record.receipt_handle, delay)
        logger.warning("purge throttled", extra={"title_id": detail.title_id, "receives": receives,
                                                 "retry_in_s": delay})
        metrics.add_metric(name="PurgesThrottled", unit=MetricUnit.Count, value=1)
        raise
    logger.info("withdrawal", extra={"title_id": result.title_id, "version": result.version,
                                     "outcome": result.outcome})
    if result.outcome == "purged":
        metrics.add_metric(name="WithdrawnTitlesPurged", unit=MetricUnit.Count, value=1)
    elif result.outcome == "late_purged":
        metrics.add_metric(name="WithdrawnTitlesPurgedLate", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=lambda record: _record(record, context), processor=processor, context=context
    )
