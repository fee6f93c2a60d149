"""delivery.handlers.prefill: SQS records of TitlePublished events -> fills, with partial batch
failures (retry, then the DLQ), dropped bad events, and the signer read from Secrets Manager."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from reelstack_common import cdn_signing

from tests.unit.delivery.conftest import KEY_ID, FakeCdnServer, published_event, title_objects
from tests.unit.events import LambdaContext as _BaseContext


class LambdaContext(_BaseContext):
    """A prefill runs minutes (timeout 5 min); ``remaining_ms`` sets how much is left."""

    remaining_ms = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _record(body: Any) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "rh",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:prefill",
        "awsRegion": "us-east-1",
    }


@pytest.fixture
def handler(
    cdn_server: FakeCdnServer, private_pem: bytes, ledger_table: Any, monkeypatch: pytest.MonkeyPatch
) -> Any:
    boto3.client("secretsmanager").create_secret(Name="reelstack/cdn-signing-key", SecretString=private_pem.decode())
    monkeypatch.setenv("PREFILL_TABLE", ledger_table.name)
    monkeypatch.setenv("CDN_URL", cdn_server.url)
    monkeypatch.setenv("CDN_KEY_PAIR_ID", KEY_ID)
    monkeypatch.setenv("CDN_SIGNING_KEY_SECRET", "reelstack/cdn-signing-key")
    monkeypatch.setenv("PREFILL_SECONDS", "20")
    monkeypatch.delenv("CDN_SIGNING_KEY_STAGE", raising=False)
    cdn_signing.clear_cache()
    from delivery import wiring
    from delivery.handlers import prefill

    wiring.reset()
    yield prefill.lambda_handler
    wiring.reset()
    cdn_signing.clear_cache()


def test_a_batch_fills_each_title_once_and_drops_bad_events(handler: Any, cdn_server: FakeCdnServer) -> None:
    cdn_server.objects = title_objects("T1", duration_s=40) | title_objects("T2", duration_s=40)
    records = [
        _record(published_event("T1")),
        _record(published_event("T1")),  # the same event delivered twice
        _record(published_event("T2", version=4)),
        _record("not json"),
        _record({"detail-type": "TitleUpdated", "detail": {"title_id": "T1"}}),
        _record(published_event("../etc")),
        _record(published_event("T3", manifest_path="work/T3/master.m3u8")),
        # A series' announcement (catalog outbox): no media, nothing fetched, not an error.
        _record({"detail-type": "TitlePublished", "detail": {"title_id": "S1", "version": 1, "kind": "series"}}),
    ]
    response = handler({"Records": records}, LambdaContext())
    assert response == {"batchItemFailures": []}
    fetched = Counter(cdn_server.fetched())
    assert max(fetched.values()) == 1
    assert fetched["titles/T1/hls/master.m3u8"] == 1 and fetched["titles/T2/hls/master.m3u8"] == 1
    # PREFILL_SECONDS=20 from the environment: segments 0..16 s (5 per rendition).
    assert sum(k.startswith("titles/T1/") and k.endswith(".m4s") for k in fetched) == 5 * 5
    assert not any(k.startswith(("work/", "titles/T3", "titles/S1")) for k in fetched)
    assert cdn_server.refusals == []


def test_a_failing_fill_is_reported_for_retry(handler: Any, cdn_server: FakeCdnServer) -> None:
    cdn_server.objects = title_objects("T1", duration_s=40) | title_objects("T2", duration_s=40)
    cdn_server.fail["titles/T2/hls/cap2160/2160p/init.mp4"] = [500] * 10
    good, bad = _record(published_event("T1")), _record(published_event("T2"))
    response = handler({"Records": [good, bad]}, LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    # The redelivery succeeds once the CDN recovers; the good title is not filled again.
    cdn_server.fail.clear()
    before = Counter(cdn_server.fetched())
    response = handler({"Records": [_record(published_event("T1")), bad]}, LambdaContext())
    assert response == {"batchItemFailures": []}
    after = Counter(cdn_server.fetched())
    assert after["titles/T1/hls/master.m3u8"] == before["titles/T1/hls/master.m3u8"] == 1


def test_near_the_deadline_nothing_starts_and_the_record_is_retried(
    handler: Any, cdn_server: FakeCdnServer
) -> None:
    cdn_server.objects = title_objects("T1", duration_s=40)
    record = _record(published_event("T1"))
    context = LambdaContext()
    context.remaining_ms = 10_000
    # A batch whose every record failed fails the invocation (Powertools): SQS retries the message.
    with pytest.raises(BatchProcessingError):
        handler({"Records": [record]}, context)
    assert not any(k.endswith(".m4s") for k in cdn_server.fetched())
    # The lease was released: the redelivery, with time, fills the title.
    assert handler({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}
    assert any(k.endswith(".m4s") for k in cdn_server.fetched())


def test_the_handler_imports_without_environment() -> None:
    import importlib
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDN_", "PREFILL_", "AWS_"))}
    code = "import delivery.handlers.prefill"
    result = subprocess.run([sys.executable, "-c", code], env={**env, "PYTHONPATH": os.pathsep.join(sys.path)},
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert importlib.import_module("delivery.handlers.prefill")
