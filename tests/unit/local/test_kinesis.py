"""Kinesis stream delivery to Lambda (local/kinesis.py) against moto's Kinesis: the event shape
Lambda sends, every shard in order, batch size, retries of a failed batch, partial batch responses."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.kinesis import KinesisMapping, is_kinesis_arn, start_pollers

STREAM = "views"


@pytest.fixture
def kinesis() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("kinesis", region_name="us-east-1")
        client.create_stream(StreamName=STREAM, ShardCount=2)
        yield client


def _arn(client: Any) -> str:
    return str(client.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"])


def _put(client: Any, n: int, keys: int = 5) -> list[dict[str, Any]]:
    sent = [{"profile_id": f"p{i % keys}", "n": i} for i in range(n)]
    for event in sent:
        client.put_record(StreamName=STREAM, Data=json.dumps(event).encode(), PartitionKey=event["profile_id"])
    return sent


class Recorder:
    def __init__(self, answers: list[Any] | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.answers = answers or []
        self.lock = threading.Lock()

    def __call__(self, function: str, event: dict[str, Any]) -> tuple[bool, Any]:
        with self.lock:
            self.batches.append(event["Records"])
            return self.answers.pop(0) if self.answers else (True, "null")

    def payloads(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(base64.b64decode(r["kinesis"]["data"])) for b in self.batches for r in b]


def _run(client: Any, recorder: Recorder, until: Any, **mapping: Any) -> None:
    stop = threading.Event()
    m = KinesisMapping(function_name="home-trending", stream_arn=_arn(client), **mapping)
    start_pollers(client, recorder, [m], "us-east-1", stop)
    deadline = time.monotonic() + 20
    while not until() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()


def test_every_record_once_in_shard_order_with_lambdas_shape(kinesis: Any) -> None:
    sent = _put(kinesis, 40)
    rec = Recorder()
    _run(kinesis, rec, lambda: len(rec.payloads()) >= 40, starting_position="TRIM_HORIZON", batch_size=7)
    got = rec.payloads()
    assert sorted(e["n"] for e in got) == list(range(40))
    assert max(len(b) for b in rec.batches) <= 7
    for key in {e["profile_id"] for e in sent}:  # one partition key = one shard = in order
        ns = [e["n"] for e in got if e["profile_id"] == key]
        assert ns == sorted(ns)
    record = rec.batches[0][0]
    assert record["eventSource"] == "aws:kinesis" and record["eventName"] == "aws:kinesis:record"
    assert record["eventSourceARN"] == _arn(kinesis) and record["awsRegion"] == "us-east-1"
    assert record["eventID"].endswith(":" + record["kinesis"]["sequenceNumber"])
    assert record["kinesis"]["partitionKey"].startswith("p")


def test_latest_skips_what_was_there_before(kinesis: Any) -> None:
    _put(kinesis, 5)
    rec = Recorder()
    stop = threading.Event()
    start_pollers(kinesis, rec, [KinesisMapping("fn", _arn(kinesis))], "us-east-1", stop)  # LATEST
    kinesis.put_record(StreamName=STREAM, Data=b'{"profile_id": "late", "n": 99}', PartitionKey="late")
    deadline = time.monotonic() + 20
    while not rec.payloads() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    assert [e["n"] for e in rec.payloads()] == [99]


def test_a_failed_batch_is_retried_then_partial_failures_resume_there(kinesis: Any) -> None:
    _put(kinesis, 3, keys=1)  # one shard, one batch
    rec = Recorder(answers=[(False, {"errorType": "Boom"})])
    _run(kinesis, rec, lambda: len(rec.batches) >= 2, starting_position="TRIM_HORIZON")
    assert [len(b) for b in rec.batches[:2]] == [3, 3]  # the same batch again

    kinesis.delete_stream(StreamName=STREAM)
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    _put(kinesis, 3, keys=1)
    first = Recorder()
    _run(kinesis, first, lambda: len(first.batches) >= 1, starting_position="TRIM_HORIZON")
    second_seq = first.batches[0][1]["kinesis"]["sequenceNumber"]
    rec = Recorder(answers=[(True, json.dumps({"batchItemFailures": [{"itemIdentifier": second_seq}]}))])
    _run(kinesis, rec, lambda: len(rec.batches) >= 2, starting_position="TRIM_HORIZON",
         report_item_failures=True)
    assert [[json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for r in b] for b in rec.batches[:2]] == [
        [0, 1, 2], [1, 2]]


def test_arn_recognition() -> None:
    assert is_kinesis_arn("arn:aws:kinesis:us-east-1:123456789012:stream/views")
    assert not is_kinesis_arn("arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026")
    assert not is_kinesis_arn("arn:aws:sqs:us-east-1:123456789012:q")
