"""Indexer: catalog events (EventBridge -> SQS) -> index writes. Handler string:
``search.handlers.indexer.lambda_handler``.

Each SQS record's body is one EventBridge event. Records fail one by one (partial batch
response): a failed record is redelivered by SQS and, after the queue's maxReceiveCount, lands in
the dead-letter queue. An event that can never be indexed (``BadEvent``) is logged and dropped.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from search.handlers.observability import logger, metrics, tracer
from search.logic.indexing import BadEvent, index_event
from search.wiring import catalog, title_index

processor = BatchProcessor(event_type=EventType.SQS)


def _record(record: SQSRecord) -> None:
    try:
        event = json.loads(record.body)
        result = index_event(event, catalog(), title_index())
    except (BadEvent, json.JSONDecodeError) as exc:
        logger.warning("event dropped", extra={"reason": str(exc)[:200], "message_id": record.message_id})
        return
    logger.info(
        "indexed",
        extra={"title_id": result.title_id, "version": result.version, "written": result.written,
               "skipped": result.skipped},
    )  # fmt: skip


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=_record, processor=processor, context=context))
