"""reelstack_common.dynamo: reads through DAX when configured, writes/transactions via DynamoDB."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from reelstack_common import dynamo


class RecordingDax:
    """Stands in for amazondax: no DAX data plane exists locally, so record what reaches it and
    answer from DynamoDB (a cache hit and a miss return the same data)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.endpoints: list[str] = []

    def resource(self, endpoint_url: str) -> Any:
        self.endpoints.append(endpoint_url)
        recorder = self

        class Resource:
            def Table(self, name: str) -> Any:  # noqa: N802 - boto3's spelling
                real = boto3.resource("dynamodb").Table(name)

                class Table:
                    def __getattr__(self, op: str) -> Any:
                        recorder.calls.append(op)
                        return getattr(real, op)

                return Table()

            @property
            def meta(self) -> Any:
                real = boto3.client("dynamodb")

                class Client:
                    def __getattr__(self, op: str) -> Any:
                        recorder.calls.append(op)
                        return getattr(real, op)

                return types.SimpleNamespace(client=Client())

        return Resource()


@pytest.fixture
def table_name(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.delenv("DAX_ENDPOINT", raising=False)
    with mock_aws():
        dynamo.reset()
        boto3.client("dynamodb").create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield "t"
    dynamo.reset()


@pytest.fixture
def dax(monkeypatch: pytest.MonkeyPatch) -> RecordingDax:
    fake = RecordingDax()
    module = types.ModuleType("amazondax")
    module.AmazonDaxClient = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "amazondax", module)
    monkeypatch.setenv("DAX_ENDPOINT", "dax://reelstack.abc123.dax-clusters.us-east-1.amazonaws.com:9111")
    dynamo.reset()
    return fake


def test_plain_dynamodb_without_dax(table_name: str) -> None:
    t = dynamo.table(table_name)
    assert not t.uses_dax
    t.put_item(Item={"pk": "a", "sk": "1", "n": 1})
    assert t.get_item(Key={"pk": "a", "sk": "1"})["Item"]["n"] == 1


def test_reads_go_through_dax_writes_do_not(table_name: str, dax: RecordingDax) -> None:
    t = dynamo.table(table_name)
    assert t.uses_dax
    assert dax.endpoints == ["dax://reelstack.abc123.dax-clusters.us-east-1.amazonaws.com:9111"]
    t.put_item(Item={"pk": "a", "sk": "1", "n": 1})
    t.update_item(
        Key={"pk": "a", "sk": "1"}, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": 2}
    )
    t.transact_write(
        [
            {
                "Put": {
                    "Item": {"pk": "a", "sk": "2", "n": 3},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "ConditionCheck": {
                    "Key": {"pk": "a", "sk": "1"},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ]
    )
    assert dax.calls == []  # no write touched DAX
    assert t.get_item(Key={"pk": "a", "sk": "1"})["Item"]["n"] == 2
    assert len(t.query_all(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "a"})) == 2
    assert dax.calls == ["get_item", "query"]
    # Strongly consistent reads bypass the cache.
    t.get_item(Key={"pk": "a", "sk": "2"}, ConsistentRead=True)
    assert dax.calls == ["get_item", "query"]
    t.delete_item(Key={"pk": "a", "sk": "2"})
    assert dax.calls == ["get_item", "query"]


def test_conditional_failure_helpers(table_name: str) -> None:
    from botocore.exceptions import ClientError

    t = dynamo.table(table_name)
    t.put_item(Item={"pk": "a", "sk": "1"})
    with pytest.raises(ClientError) as single:
        t.put_item(Item={"pk": "a", "sk": "1"}, ConditionExpression="attribute_not_exists(pk)")
    assert dynamo.is_conditional_check_failure(single.value)
    with pytest.raises(ClientError) as txn:
        t.transact_write(
            [
                {"Put": {"Item": {"pk": "b", "sk": "1"}}},
                {"Put": {"Item": {"pk": "a", "sk": "1"}, "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )
    assert dynamo.is_conditional_check_failure(txn.value)
    assert dynamo.cancellation_codes(txn.value) == ["None", "ConditionalCheckFailed"]
    assert "Item" not in t.get_item(Key={"pk": "b", "sk": "1"})  # all or nothing


def _two_tables(table_name: str) -> str:
    boto3.client("dynamodb").create_table(
        TableName="other",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamo.table(table_name).put_item(Item={"pk": "a", "sk": "1", "n": 1})
    dynamo.table("other").put_item(Item={"id": "x", "tags": ["k"]})
    return "other"


def test_batch_get_reads_several_tables_in_one_call(table_name: str) -> None:
    other = _two_tables(table_name)
    found = dynamo.batch_get({
        table_name: {"Keys": [{"pk": "a", "sk": "1"}, {"pk": "a", "sk": "missing"}]},
        other: {"Keys": [{"id": "x"}], "ProjectionExpression": "id"},
    })  # fmt: skip
    assert found == {table_name: [{"pk": "a", "sk": "1", "n": 1}], other: [{"id": "x"}]}


def test_batch_get_goes_through_dax_when_configured(table_name: str, dax: RecordingDax) -> None:
    other = _two_tables(table_name)
    found = dynamo.batch_get({table_name: {"Keys": [{"pk": "a", "sk": "1"}]}, other: {"Keys": [{"id": "x"}]}})
    assert found[table_name][0]["n"] == 1 and found[other][0]["id"] == "x"
    assert dax.calls == ["batch_get_item"]


def test_batch_get_backs_off_on_unprocessed_keys_and_gives_up(
    table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_tables(table_name)
    sleeps: list[float] = []
    monkeypatch.setattr(dynamo.time, "sleep", sleeps.append)
    calls: list[dict[str, Any]] = []
    real = dynamo.client()

    class Throttled:
        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
            calls.append(RequestItems)
            if len(calls) < 3:  # everything comes back unprocessed twice, then DynamoDB answers
                return {"Responses": {}, "UnprocessedKeys": RequestItems}
            return dict(real.batch_get_item(RequestItems=RequestItems))

    monkeypatch.setattr(dynamo, "_low_level_reader", Throttled)
    found = dynamo.batch_get({table_name: {"Keys": [{"pk": "a", "sk": "1"}]}})
    assert found[table_name][0]["n"] == 1 and len(calls) == 3 and len(sleeps) == 2
    assert all(0 <= s <= dynamo.BATCH_GET_BACKOFF_S * 2 ** i for i, s in enumerate(sleeps))

    class Always(Throttled):
        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
            calls.append(RequestItems)
            return {"Responses": {}, "UnprocessedKeys": RequestItems}

    monkeypatch.setattr(dynamo, "_low_level_reader", Always)
    calls.clear()
    with pytest.raises(dynamo.UnprocessedKeysLeft):
        dynamo.batch_get({table_name: {"Keys": [{"pk": "a", "sk": "1"}]}})
    assert len(calls) == dynamo.BATCH_GET_ATTEMPTS
