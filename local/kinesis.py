"""Deliver Kinesis data stream records to Lambda, as Lambda's event source mappings do.

Kinesis streams live in moto, whose Lambda event source mappings know only SQS and DynamoDB
streams. Here each Kinesis mapping from the template gets a poller (the DynamoDB-stream poller of
local/streams.py with Kinesis' calls and record shape): every shard is read in order from LATEST
or TRIM_HORIZON (a shard that appears later, from its start), the function is invoked
synchronously with batches of up to BatchSize records shaped as Lambda sends them
(``kinesis.data`` base64, ``eventSource`` "aws:kinesis", ``eventID`` "<shard>:<sequence>"), and a
failed batch is retried (until it succeeds, or MaximumRetryAttempts times) before moving on. With
ReportBatchItemFailures the retry starts at the first failed sequence number.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
from dataclasses import asdict, dataclass
from typing import Any

from local.streams import StreamMapping, StreamPoller

log = logging.getLogger("reelstack.local")


@dataclass
class KinesisMapping(StreamMapping):
    """A mapping from a Kinesis stream (``stream_arn``) to a function; same options as a DynamoDB one."""

    @classmethod
    def from_template(cls, props: dict[str, Any], function_name: str) -> KinesisMapping:
        return cls(**asdict(StreamMapping.from_template(props, function_name)))

    @property
    def stream_name(self) -> str:
        return self.stream_arn.rsplit("/", 1)[-1]


def is_kinesis_arn(arn: str) -> bool:
    return arn.startswith("arn:") and ":kinesis:" in arn and ":stream/" in arn


def lambda_record(record: dict[str, Any], shard_id: str, stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it from a Kinesis stream."""
    arrived = record.get("ApproximateArrivalTimestamp")
    data = record["Data"]
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": record["SequenceNumber"],
            "data": base64.b64encode(data if isinstance(data, bytes) else str(data).encode()).decode(),
            "approximateArrivalTimestamp": arrived.timestamp() if isinstance(arrived, dt.datetime) else arrived,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{record['SequenceNumber']}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/local-lambda",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


class KinesisPoller(StreamPoller):
    """StreamPoller over the Kinesis API (moto) instead of DynamoDB Streams."""

    m: KinesisMapping
    poll_s = 1.0  # Lambda polls each Kinesis shard at a base rate of once per second

    def _discover(self, position: str) -> None:
        shards: list[dict[str, Any]] = []
        args: dict[str, Any] = {"StreamName": self.m.stream_name}
        while True:
            out = self.client.list_shards(**args)
            shards += out.get("Shards", [])
            token = out.get("NextToken")
            if not token:
                break
            args = {"NextToken": token}
        for shard in shards:
            sid = shard["ShardId"]
            if sid in self._iterators:
                continue
            self._iterators[sid] = self.client.get_shard_iterator(
                StreamName=self.m.stream_name, ShardId=sid, ShardIteratorType=position
            )["ShardIterator"]

    def _poll_shard(self, sid: str, iterator: str) -> bool:
        try:
            out = self.client.get_records(ShardIterator=iterator, Limit=self.m.batch_size)
        except self.client.exceptions.ExpiredIteratorException:
            self._iterators[sid] = self._resume(sid)
            return False
        self._iterators[sid] = out.get("NextShardIterator")
        records = [lambda_record(r, sid, self.m.stream_arn, self.region) for r in out.get("Records", [])]
        if records:
            self._deliver(records)
            self._last_seq[sid] = records[-1]["kinesis"]["sequenceNumber"]
        return bool(records)

    def _resume(self, sid: str) -> str:
        args: dict[str, Any] = {"StreamName": self.m.stream_name, "ShardId": sid}
        if sid in self._last_seq:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=self._last_seq[sid])
        else:
            args["ShardIteratorType"] = "TRIM_HORIZON"
        return str(self.client.get_shard_iterator(**args)["ShardIterator"])

    def _unprocessed(self, records: list[dict[str, Any]], payload: Any) -> list[dict[str, Any]]:
        # The DynamoDB poller reads record["dynamodb"]["SequenceNumber"]; present the same shape.
        shaped = [{**r, "dynamodb": {"SequenceNumber": r["kinesis"]["sequenceNumber"]}} for r in records]
        rest = super()._unprocessed(shaped, payload)
        return [{k: v for k, v in r.items() if k != "dynamodb"} for r in rest]


def start_pollers(kinesis_client: Any, invoke: Any, mappings: list[KinesisMapping], region: str,
                  stop: threading.Event) -> list[threading.Thread]:
    return [KinesisPoller(kinesis_client, invoke, m, region, stop).start() for m in mappings if m.enabled]
