"""Titles in the catalog single table.

Item layout (the contract with the transcoding workflow, which updates the same item):

* ``pk = TITLE#{title_id}``, ``sk = META``
* ``gsi1pk = STATUS#{status}``, ``gsi1sk = {created_at}#{title_id}`` -- every status change must
  rewrite ``gsi1pk`` together with ``status`` so the per-status listing stays exact.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from catalog.dal.interface import InvalidCursorError, TitleMissing, TitleStateConflict
from catalog.models.titles import TitleRecord, TitleStatus

META = "META"
GSI1 = "gsi1"
_KEY_ATTRS = ("pk", "sk", "gsi1pk", "gsi1sk")
_NOT_STORED_IN_RECORD = {*_KEY_ATTRS, "entity"}


def title_pk(title_id: str) -> str:
    return f"TITLE#{title_id}"


def status_pk(status: TitleStatus | str) -> str:
    return f"STATUS#{status}"


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: make them int/float before pydantic sees them."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _record(item: Mapping[str, Any]) -> TitleRecord:
    return TitleRecord.model_validate({k: _plain(v) for k, v in item.items() if k not in _NOT_STORED_IN_RECORD})


class DynamoTitleStore:
    """``TitleStore`` over a boto3 DynamoDB ``Table`` resource."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, record: TitleRecord) -> None:
        item = record.model_dump(mode="json", exclude_none=True)
        item.update(
            pk=title_pk(record.title_id),
            sk=META,
            entity="title",
            gsi1pk=status_pk(record.status),
            gsi1sk=f"{record.created_at}#{record.title_id}",
        )
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, title_id: str) -> TitleRecord | None:
        # Strongly consistent: an admin who just created a title asks for an upload URL next.
        response = self._table.get_item(Key={"pk": title_pk(title_id), "sk": META}, ConsistentRead=True)
        item = response.get("Item")
        return _record(item) if item else None

    def reopen_for_upload(self, title_id: str, *, allowed_from: Sequence[TitleStatus], now: str) -> TitleRecord:
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":uploading": TitleStatus.UPLOADING.value,
            ":gsi1pk": status_pk(TitleStatus.UPLOADING),
            ":now": now,
        }
        allowed = []
        for i, wanted in enumerate(allowed_from):
            values[f":from{i}"] = wanted.value
            allowed.append(f":from{i}")
        try:
            response = self._table.update_item(
                Key={"pk": title_pk(title_id), "sk": META},
                UpdateExpression="SET #status = :uploading, gsi1pk = :gsi1pk, updated_at = :now REMOVE failure_reason",
                ConditionExpression=f"attribute_exists(pk) AND #status IN ({', '.join(allowed)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item")
            if not old:
                raise TitleMissing(title_id) from exc
            current = old.get("status")
            # The low-level error carries attribute values in wire format ({"S": "READY"}).
            current = current.get("S") if isinstance(current, dict) else current
            raise TitleStateConflict(str(current)) from exc
        return _record(response["Attributes"])

    def list_by_status(
        self, status: TitleStatus, *, limit: int, cursor: str | None
    ) -> tuple[list[TitleRecord], str | None]:
        kwargs: dict[str, Any] = {
            "IndexName": GSI1,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": status_pk(status)},
            "ScanIndexForward": False,  # newest first: gsi1sk starts with created_at
            "Limit": limit,
        }
        if cursor is not None:
            kwargs["ExclusiveStartKey"] = _decode_cursor(cursor, status)
        response = self._table.query(**kwargs)
        records = [_record(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return records, (_encode_cursor(last) if last else None)


def _encode_cursor(last_evaluated_key: Mapping[str, Any]) -> str:
    raw = json.dumps({k: last_evaluated_key[k] for k in _KEY_ATTRS}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, status: TitleStatus) -> dict[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise InvalidCursorError() from exc
    # Only a key of this very listing is accepted: a crafted cursor must not become a way to
    # start reading another partition of the table.
    if (
        not isinstance(key, dict)
        or set(key) != set(_KEY_ATTRS)
        or not all(isinstance(v, str) for v in key.values())
        or key["gsi1pk"] != status_pk(status)
        or not key["pk"].startswith("TITLE#")
        or key["sk"] != META
    ):
        raise InvalidCursorError()
    return key
