"""DynamoDB stream delivery to Lambda (local/streams.py) against a scripted DynamoDB Streams client:
the event shape Lambda sends, batch size, in-order retries of a failed batch, partial batch
responses, and recovery from an iterator DynamoDB Local rejects."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

from local.streams import StreamMapping, StreamPoller, is_stream_arn, lambda_record

ARN = "arn:aws:dynamodb:ddblocal:000000000000:table/T/stream/2026-11-29T00:00:00.000"


def _record(seq: int) -> dict[str, Any]:
    return {
        "eventID": f"e{seq}", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "ddblocal",
        "dynamodb": {"ApproximateCreationDateTime": dt.datetime(2026, 11, 29, tzinfo=dt.UTC),
                     "Keys": {"id": {"S": f"k{seq}"}}, "NewImage": {"id": {"S": f"k{seq}"}, "b": {"B": b"\x01"}},
                     "SequenceNumber": f"{seq:021d}", "SizeBytes": 10, "StreamViewType": "NEW_IMAGE"},
    }


class _Trimmed(Exception):
    pass


class _Expired(Exception):
    pass


class FakeStreams:
    """One shard holding `records`; an iterator is the index of the next record."""

    class exceptions:  # noqa: N801 — the boto3 client attribute it stands in for
        TrimmedDataAccessException = _Trimmed
        ExpiredIteratorException = _Expired

    def __init__(self, records: list[dict[str, Any]], trim_first: bool = False) -> None:
        self.records, self.trim_first, self.iterator_requests = records, trim_first, []

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "s1"}]}}

    def get_shard_iterator(self, **kw: Any) -> dict[str, Any]:
        self.iterator_requests.append(kw)
        kind = kw["ShardIteratorType"]
        if kind == "LATEST":
            return {"ShardIterator": str(len(self.records))}
        if kind == "AFTER_SEQUENCE_NUMBER":
            seqs = [r["dynamodb"]["SequenceNumber"] for r in self.records]
            return {"ShardIterator": str(seqs.index(kw["SequenceNumber"]) + 1)}
        return {"ShardIterator": "0"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803 — boto3's names
        if self.trim_first:
            self.trim_first = False
            raise _Trimmed
        start = int(ShardIterator)
        return {"Records": self.records[start:start + Limit], "NextShardIterator": str(min(start + Limit,
                                                                                           len(self.records)))}


class Recorder:
    def __init__(self, answers: list[tuple[bool, Any]] | None = None) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.answers = answers or []

    def __call__(self, name: str, event: dict[str, Any]) -> tuple[bool, Any]:
        self.calls.append((name, [r["dynamodb"]["SequenceNumber"][-1] for r in event["Records"]]))
        return self.answers.pop(0) if self.answers else (True, "null")


def _drain(poller: StreamPoller, rounds: int = 5) -> None:
    poller._discover(poller.m.starting_position)
    for _ in range(rounds):
        for sid, it in list(poller._iterators.items()):
            if it is not None:
                poller._poll_shard(sid, it)


class NoBackoff(threading.Event):
    def wait(self, timeout: float | None = None) -> bool:
        return False  # retries at once; never stopped


def _poller(fake: FakeStreams, invoke: Any, **mapping: Any) -> StreamPoller:
    m = StreamMapping(function_name="fn", stream_arn=ARN, **mapping)
    return StreamPoller(fake, invoke, m, "us-east-1", NoBackoff())


def test_the_event_is_what_lambda_sends() -> None:
    rec = lambda_record(_record(1), ARN, "us-east-1")
    assert rec["eventSourceARN"] == ARN and rec["awsRegion"] == "us-east-1"
    assert rec["dynamodb"]["ApproximateCreationDateTime"] == 1795910400
    assert rec["dynamodb"]["NewImage"]["b"] == {"B": "AQ=="}
    json.dumps(rec)  # the worker protocol is JSON


def test_batches_respect_batch_size_and_order_from_trim_horizon() -> None:
    invoke = Recorder()
    _drain(_poller(FakeStreams([_record(i) for i in range(1, 6)]), invoke, batch_size=2,
                   starting_position="TRIM_HORIZON"))
    assert invoke.calls == [("fn", ["1", "2"]), ("fn", ["3", "4"]), ("fn", ["5"])]


def test_latest_skips_what_was_written_before_the_mapping() -> None:
    fake = FakeStreams([_record(1)])
    invoke = Recorder()
    poller = _poller(fake, invoke, starting_position="LATEST")
    poller._discover("LATEST")
    fake.records.append(_record(2))
    _drain(poller)
    assert invoke.calls == [("fn", ["2"])]


def test_a_failed_batch_is_retried_before_later_records() -> None:
    invoke = Recorder([(False, {"errorType": "Boom"}), (True, "null")])
    _drain(_poller(FakeStreams([_record(1), _record(2)]), invoke, starting_position="TRIM_HORIZON"))
    assert invoke.calls == [("fn", ["1", "2"]), ("fn", ["1", "2"])]


def test_max_retries_drops_the_batch_and_moves_on() -> None:
    invoke = Recorder([(False, {})] * 3)
    _drain(_poller(FakeStreams([_record(1), _record(2)]), invoke, batch_size=1, max_retries=1,
                   starting_position="TRIM_HORIZON"))
    # Record 1 fails twice (the try and one retry) and is dropped; record 2 fails once, then succeeds.
    assert invoke.calls == [("fn", ["1"]), ("fn", ["1"]), ("fn", ["2"]), ("fn", ["2"])]


def test_partial_batch_response_retries_from_the_first_failed_record() -> None:
    failed = json.dumps({"batchItemFailures": [{"itemIdentifier": f"{2:021d}"}]})
    invoke = Recorder([(True, failed), (True, '{"batchItemFailures": []}')])
    _drain(_poller(FakeStreams([_record(i) for i in (1, 2, 3)]), invoke, report_item_failures=True,
                   starting_position="TRIM_HORIZON"))
    assert invoke.calls == [("fn", ["1", "2", "3"]), ("fn", ["2", "3"])]


def test_a_rejected_iterator_resumes_without_losing_records() -> None:
    fake = FakeStreams([_record(1), _record(2)], trim_first=True)
    invoke = Recorder()
    _drain(_poller(fake, invoke, starting_position="TRIM_HORIZON"))
    assert invoke.calls == [("fn", ["1", "2"])]
    assert fake.iterator_requests[-1]["ShardIteratorType"] == "TRIM_HORIZON"


def test_template_properties_and_stream_arns() -> None:
    m = StreamMapping.from_template({"EventSourceArn": ARN, "BatchSize": 10, "StartingPosition": "TRIM_HORIZON",
                                     "FunctionResponseTypes": ["ReportBatchItemFailures"],
                                     "MaximumRetryAttempts": 2}, "fn")
    assert (m.batch_size, m.starting_position, m.report_item_failures, m.max_retries) == (10, "TRIM_HORIZON",
                                                                                          True, 2)
    assert is_stream_arn(ARN) and not is_stream_arn("arn:aws:sqs:us-east-1:123456789012:q")
