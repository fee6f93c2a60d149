"""The outbox relay: which stream records become events, and that a failed PutEvents is retried by
the stream (the handler names the first record the bus did not take)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from catalog.logic.outbox import Announcement, Change, OutboxRelay, announcement
from moto import mock_aws

from tests.unit.events import LambdaContext

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

TITLE = "1" * 32


def image(version: int, *, event: str | None = "TitleUpdated", outbox_version: int | None = None, **extra: Any) -> dict:
    item: dict[str, Any] = {
        "pk": f"TITLE#{TITLE}", "sk": "META", "title_id": TITLE, "kind": "movie", "status": "READY",
        "version": version, **extra,
    }  # fmt: skip
    if event:
        item.update(outbox_event=event, outbox_version=version if outbox_version is None else outbox_version)
    return item


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (image(1, event=None), image(2), ("TitleUpdated", 2)),  # an edit
        (None, image(1, event="TitlePublished", kind="series"), ("TitlePublished", 1)),  # a series is born
        (image(2), image(3, outbox_version=2, status="READY"), None),  # transcode wrote after the edit
        (image(2), image(2), None),  # same version (a change that did not version): nothing new
        (image(1, event=None), image(2, event=None), None),  # nothing to announce
        (image(1), None, None),  # a removal
    ],
    ids=["edit", "series", "later-transcode-write", "same-version", "unmarked", "removed"],
)
def test_what_is_announced(old: dict | None, new: dict | None, expected: tuple[str, int] | None) -> None:
    result = announcement(Change("1", old, new))
    assert (result and (result.detail_type, result.detail["version"])) == (expected or None)


def test_slot_items_are_never_announced() -> None:
    slot = {"pk": f"TITLE#{TITLE}", "sk": "EPISODE#001#0001", "outbox_event": "X", "version": 1, "outbox_version": 1}
    assert announcement(Change("1", None, slot)) is None


def test_every_detail_carries_title_id_version_kind_status_and_the_series() -> None:
    new = image(4, event="TitleWithdrawn", kind="episode", status="WITHDRAWN", series_id="2" * 32)
    result = announcement(Change("1", image(3), new))
    assert result == Announcement(
        "TitleWithdrawn",
        {"title_id": TITLE, "version": 4, "kind": "episode", "status": "WITHDRAWN", "series_id": "2" * 32},
    )


class FlakyBus:
    """Takes announcements until ``fail_at`` (an index over everything ever published)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at
        self.seen: list[Announcement] = []

    def publish(self, announcements: Sequence[Announcement]) -> list[bool]:
        taken = []
        for a in announcements:
            ok = self.fail_at is None or len(self.seen) != self.fail_at
            self.seen.append(a)
            taken.append(ok)
        return taken


def _edits(n: int) -> list[Change]:
    return [Change(str(100 + v), image(v - 1, event=None), image(v)) for v in range(2, 2 + n)]


def test_the_relay_reports_the_first_change_the_bus_refused() -> None:
    changes = _edits(25)  # three PutEvents calls of at most 10
    assert OutboxRelay(FlakyBus()).relay(changes) is None
    bus = FlakyBus(fail_at=13)
    assert OutboxRelay(bus).relay(changes) == changes[13].sequence_number
    assert len(bus.seen) == 20  # stopped after the chunk that failed; the rest comes again


# --- the handler against moto's EventBridge (rule -> SQS) -----------------------------------------


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "EVENT_BUS_NAME": "reelstack-events",
        "POWERTOOLS_SERVICE_NAME": "catalog",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from catalog import wiring

    wiring.reset()
    with mock_aws():
        events, sqs = boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        events.create_event_bus(Name="reelstack-events")
        url = sqs.create_queue(QueueName="observer")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="all", EventBusName="reelstack-events", EventPattern=json.dumps({"source": ["reelstack.catalog"]})
        )
        events.put_targets(Rule="all", EventBusName="reelstack-events", Targets=[{"Id": "q", "Arn": arn}])
        yield sqs, url
    wiring.reset()


def _record(old: dict | None, new: dict | None, sequence: str) -> dict[str, Any]:
    ser = TypeSerializer()
    dynamodb: dict[str, Any] = {"SequenceNumber": sequence, "Keys": {"pk": {"S": f"TITLE#{TITLE}"}}}
    if old:
        dynamodb["OldImage"] = {k: ser.serialize(v) for k, v in old.items()}
    if new:
        dynamodb["NewImage"] = {k: ser.serialize(v) for k, v in new.items()}
    return {"eventName": "MODIFY" if old else "INSERT", "eventSource": "aws:dynamodb", "dynamodb": dynamodb}


def test_the_handler_puts_the_events_on_the_bus(bus: Any) -> None:
    from catalog.handlers.outbox import lambda_handler

    sqs, url = bus
    event = {
        "Records": [_record(image(1, event=None), image(2), "1"), _record(image(2), image(3, outbox_version=2), "2")]
    }
    assert lambda_handler(event, LambdaContext()) == {"batchItemFailures": []}
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in messages]
    assert [(b["source"], b["detail-type"], b["detail"]["version"]) for b in bodies] == [
        ("reelstack.catalog", "TitleUpdated", 2)
    ]


def test_the_handler_asks_for_a_retry_when_the_bus_is_unreachable(bus: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog.handlers.outbox import lambda_handler

    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")  # moto refuses PutEvents to an unknown bus
    from catalog import wiring

    wiring.reset()
    event = {"Records": [_record(image(1, event=None), image(2), "7"), _record(image(2, event=None), image(3), "8")]}
    assert lambda_handler(event, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": "7"}]}
