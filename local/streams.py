"""Deliver DynamoDB stream records to Lambda, as Lambda's event source mappings do.

DynamoDB is served by DynamoDB Local, which records streams but invokes nothing (moto delivered
records only for its own tables). Here each stream mapping from the template gets a poller: it
reads every shard in order (from LATEST or TRIM_HORIZON, as the mapping says; shards that appear
later from their start), invokes the function synchronously with batches of up to BatchSize
records in the event shape Lambda sends, and on a function error retries the same batch (forever,
as Lambda does by default, or MaximumRetryAttempts times) before moving on. With
ReportBatchItemFailures the retry starts at the first failed record.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("reelstack.local")

POLL_S = 0.25  # Lambda polls each DynamoDB stream shard at a base rate of four times a second
# Shards change rarely (a DynamoDB stream shard closes after hours; Kinesis reshards on request): the
# shard list is read again this often, or at once when a shard has ended. Reading it on every poll
# cost the local cloud's process a describe call four times a second per mapping, in the same GIL
# as the API front doors (idle CPU and request tails: docs/benchmarks.md, issue 15).
DISCOVER_S = 5.0


@dataclass
class StreamMapping:
    function_name: str
    stream_arn: str
    batch_size: int = 100
    starting_position: str = "LATEST"
    enabled: bool = True
    max_retries: int = -1  # -1: until it succeeds (Lambda's default for stream sources)
    report_item_failures: bool = False

    @classmethod
    def from_template(cls, props: dict[str, Any], function_name: str) -> StreamMapping:
        if props.get("FilterCriteria"):
            log.warning("stream mapping for %s: FilterCriteria is not applied locally", function_name)
        return cls(
            function_name=function_name,
            stream_arn=props["EventSourceArn"],
            batch_size=int(props.get("BatchSize", 100)),
            starting_position=str(props.get("StartingPosition", "LATEST")),
            enabled=bool(props.get("Enabled", True)),
            max_retries=int(props.get("MaximumRetryAttempts", -1)),
            report_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
        )


def is_stream_arn(arn: str) -> bool:
    return ":dynamodb:" in arn and "/stream/" in arn


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it: epoch seconds, base64 binaries, the source ARN."""
    rec = _jsonable(record)
    rec["awsRegion"] = region
    rec["eventSourceARN"] = stream_arn
    return dict(rec)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    return value


class StreamPoller:
    poll_s = POLL_S  # the wait after a poll that delivered nothing

    def __init__(self, streams_client: Any, invoke: Any, mapping: StreamMapping, region: str,
                 stop: threading.Event) -> None:
        self.client, self.invoke, self.m, self.region, self.stop = streams_client, invoke, mapping, region, stop
        self._iterators: dict[str, str | None] = {}  # shard id -> next iterator (None: shard finished)
        self._last_seq: dict[str, str] = {}  # shard id -> sequence number of the last record delivered

    def start(self) -> threading.Thread:
        # Shards open now start at the mapping's position; created before the thread runs.
        self._discover(self.m.starting_position)
        t = threading.Thread(target=self._run, daemon=True, name=f"stream->{self.m.function_name}")
        t.start()
        return t

    def _discover(self, position: str) -> None:
        shards: list[dict[str, Any]] = []
        args: dict[str, Any] = {"StreamArn": self.m.stream_arn}
        while True:
            desc = self.client.describe_stream(**args)["StreamDescription"]
            shards += desc.get("Shards", [])
            last = desc.get("LastEvaluatedShardId")
            if not last:
                break
            args["ExclusiveStartShardId"] = last
        for shard in shards:
            sid = shard["ShardId"]
            if sid in self._iterators:
                continue
            self._iterators[sid] = self.client.get_shard_iterator(
                StreamArn=self.m.stream_arn, ShardId=sid, ShardIteratorType=position
            )["ShardIterator"]

    def _run(self) -> None:
        next_discovery = time.monotonic() + DISCOVER_S  # start() has just read the shard list
        ended_seen = 0
        while not self.stop.is_set():
            try:
                ended = sum(it is None for it in self._iterators.values())  # a shard ends when its child begins
                if ended > ended_seen or time.monotonic() >= next_discovery:
                    self._discover("TRIM_HORIZON")  # a shard born after start-up is read from its start
                    next_discovery, ended_seen = time.monotonic() + DISCOVER_S, ended
                delivered = False
                for sid, iterator in list(self._iterators.items()):
                    if iterator is not None:
                        delivered |= self._poll_shard(sid, iterator)
            except Exception:
                log.exception("stream %s -> %s: polling failed", self.m.stream_arn, self.m.function_name)
                self.stop.wait(1.0)
                continue
            if not delivered:
                self.stop.wait(self.poll_s)

    def _poll_shard(self, sid: str, iterator: str) -> bool:
        try:
            out = self.client.get_records(ShardIterator=iterator, Limit=self.m.batch_size)
        except (self.client.exceptions.TrimmedDataAccessException, self.client.exceptions.ExpiredIteratorException):
            # DynamoDB Local sometimes rejects an iterator taken on a shard that was still empty;
            # an idle iterator also expires. Resume after the last record delivered.
            self._iterators[sid] = self._resume(sid)
            return False
        self._iterators[sid] = out.get("NextShardIterator")
        records = [lambda_record(r, self.m.stream_arn, self.region) for r in out.get("Records", [])]
        if records:
            self._deliver(records)
            self._last_seq[sid] = records[-1]["dynamodb"]["SequenceNumber"]
        return bool(records)

    def _resume(self, sid: str) -> str:
        args: dict[str, Any] = {"StreamArn": self.m.stream_arn, "ShardId": sid}
        if sid in self._last_seq:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self._last_seq[sid])
        else:
            args["ShardIteratorType"] = "TRIM_HORIZON"
        return str(self.client.get_shard_iterator(**args)["ShardIterator"])

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        attempt = 0
        while records and not self.stop.is_set():
            ok, payload = self.invoke(self.m.function_name, {"Records": records})
            if ok:
                records = self._unprocessed(records, payload)
                if not records:
                    return
            attempt += 1
            if 0 <= self.m.max_retries < attempt:
                log.warning("stream %s -> %s: dropping %d record(s) after %d retries", self.m.stream_arn,
                            self.m.function_name, len(records), self.m.max_retries)
                return
            log.warning("stream -> %s failed (attempt %d): %s", self.m.function_name, attempt,
                        payload if not ok else "batch item failures")
            self.stop.wait(min(30.0, 0.5 * 2 ** min(attempt, 6)))

    def _unprocessed(self, records: list[dict[str, Any]], payload: Any) -> list[dict[str, Any]]:
        if not self.m.report_item_failures:
            return []
        try:
            failures = json.loads(payload or "null") if isinstance(payload, str) else payload
            first = [f["itemIdentifier"] for f in (failures or {}).get("batchItemFailures", [])]
        except (ValueError, TypeError, KeyError, AttributeError):
            return records  # an unreadable response fails the whole batch, as in Lambda
        if not first:
            return []
        seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
        start = min((seqs.index(s) for s in first if s in seqs), default=0)
        return records[start:]


def start_pollers(streams_client: Any, invoke: Any, mappings: list[StreamMapping], region: str,
                  stop: threading.Event) -> list[threading.Thread]:
    return [StreamPoller(streams_client, invoke, m, region, stop).start() for m in mappings if m.enabled]
