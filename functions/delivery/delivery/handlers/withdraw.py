"""Withdrawal purge: ``TitleWithdrawn`` (EventBridge -> SQS) -> the title's media out of the CDN's
caches. Handler string: ``delivery.handlers.withdraw.lambda_handler``.

Each SQS record's body is one EventBridge event; records fail one by one (partial batch response):
a purge the CDN did not take is redelivered by SQS and lands in the dead-letter queue after
maxReceiveCount. An event that can never be processed (``BadEvent``) is logged and dropped.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from delivery import wiring
from delivery.handlers.observability import logger, metrics, tracer
from delivery.logic.withdraw import withdraw_title
from delivery.models.errors import BadEvent
from delivery.models.events import TITLE_WITHDRAWN, TitleWithdrawn

processor = BatchProcessor(event_type=EventType.SQS)


def parse(body: str) -> TitleWithdrawn:
    try:
        event = json.loads(body)
    except json.JSONDecodeError as exc:
        raise BadEvent("body is not JSON") from exc
    if not isinstance(event, dict) or event.get("detail-type") != TITLE_WITHDRAWN:
        raise BadEvent(f"not a {TITLE_WITHDRAWN} event")
    try:
        return TitleWithdrawn.model_validate(event.get("detail"))
    except ValidationError as exc:
        raise BadEvent(f"invalid detail: {exc.errors()[0].get('loc')}") from exc


def _record(record: SQSRecord) -> None:
    try:
        detail = parse(record.body)
    except BadEvent as exc:
        logger.warning("event dropped", extra={"reason": str(exc)[:200], "message_id": record.message_id})
        return
    result = withdraw_title(detail, wiring.ledger(), wiring.purger())
    logger.info("withdrawal", extra={"title_id": result.title_id, "version": result.version,
                                     "outcome": result.outcome})
    if result.outcome == "purged":
        metrics.add_metric(name="WithdrawnTitlesPurged", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
