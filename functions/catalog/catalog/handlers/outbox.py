"""The catalog table's stream -> the event bus (the outbox relay): parse -> relay -> respond.

Mapped with ReportBatchItemFailures: the answer names the first record whose event the bus did not
take, and Lambda delivers the batch again from it (retrying until it succeeds or the record ages
out to the mapping's on-failure queue), so a committed change is never lost to a failed PutEvents.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from boto3.dynamodb.types import TypeDeserializer

from catalog.handlers.observability import logger, metrics, tracer
from catalog.logic.outbox import Change
from catalog.wiring import outbox_relay

_deserializer = TypeDeserializer()


def _image(record: dict[str, Any], name: str) -> dict[str, Any] | None:
    image = record.get("dynamodb", {}).get(name)
    return {k: _deserializer.deserialize(v) for k, v in image.items()} if image else None


def change(record: dict[str, Any]) -> Change:
    return Change(
        sequence_number=str(record.get("dynamodb", {}).get("SequenceNumber", "")),
        old=_image(record, "OldImage"),
        new=_image(record, "NewImage"),
    )


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    failed = outbox_relay().relay([change(r) for r in records])
    if failed is not None:
        logger.warning("event bus did not take an announcement; the stream retries", extra={"sequence": failed})
        metrics.add_metric(name="OutboxPublishFailures", unit=MetricUnit.Count, value=1)
        return {"batchItemFailures": [{"itemIdentifier": failed}]}
    return {"batchItemFailures": []}
