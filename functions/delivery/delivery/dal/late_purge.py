"""The withdrawal's second, delayed purge: a message to the purge queue itself with ``DelaySeconds``
(the function may ``sqs:SendMessage`` on that queue only). Its body is the withdrawal event with
``"late": true``, which the handler reads as "purge again under the late reference"."""

from __future__ import annotations

import json
from typing import Any

from delivery.models.events import TITLE_WITHDRAWN, TitleWithdrawn

LATE_MARK = "late"
SQS_MAX_DELAY_S = 900


def late_body(detail: TitleWithdrawn) -> str:
    return json.dumps({"detail-type": TITLE_WITHDRAWN, "source": "reelstack.delivery",
                       "detail": detail.model_dump(mode="json"), LATE_MARK: True})


class SqsLatePurges:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        if not queue_url:
            raise ValueError("PURGE_QUEUE_URL is not set")
        self.queue_url = queue_url
        self._client = client

    def _sqs(self) -> Any:
        if self._client is None:
            import boto3  # noqa: PLC0415 -- built on first use only

            self._client = boto3.client("sqs")
        return self._client

    def schedule(self, detail: TitleWithdrawn, delay_s: int) -> None:
        self._sqs().send_message(
            QueueUrl=self.queue_url,
            MessageBody=late_body(detail),
            DelaySeconds=max(0, min(SQS_MAX_DELAY_S, int(delay_s))),
        )
