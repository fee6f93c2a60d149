"""Delaying an SQS record's next delivery (ChangeMessageVisibility): a record that failed because
the CDN is busy comes back after a chosen delay instead of the queue's visibility timeout. The
function's event source mapping already grants ChangeMessageVisibility and GetQueueUrl on its queue."""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)


class SqsRedelivery:
    def __init__(self, client: Any = None) -> None:
        self._client = client
        self._urls: dict[str, str] = {}

    def _sqs(self, region: str) -> Any:
        if self._client is None:
            import boto3  # noqa: PLC0415 -- built on first use only

            self._client = boto3.client("sqs", region_name=region)
        return self._client

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> bool:
        """Best effort: False (logged) when SQS did not take it; the record then comes back after
        the queue's own visibility timeout, which is only sooner."""
        try:
            _, _, _, region, account, name = queue_arn.split(":", 5)
            sqs = self._sqs(region)
            if queue_arn not in self._urls:
                self._urls[queue_arn] = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.change_message_visibility(
                QueueUrl=self._urls[queue_arn], ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except (ValueError, ClientError, BotoCoreError) as exc:
            log.warning("could not delay the record's redelivery (%s); the queue's visibility applies",
                        type(exc).__name__)
            return False
        return True
