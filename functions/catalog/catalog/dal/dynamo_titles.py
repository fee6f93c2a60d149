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
_NOT_STORED_IN_RECORD = {"pk", "sk", "gsi1pk", "gsi1sk", "entity"}
# gsi1sk is "{created_at}#{title_id}" (27 + 1 + 32 characters); a cursor holds one.
_MAX_SORT_KEY_CHARS = 128


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

    def list_titles(
        self, statuses: Sequence[TitleStatus], *, limit: int, cursor: str | None
    ) -> tuple[list[TitleRecord], str | None]:
        # One status partition is one Query; several are a k-way merge on gsi1sk. The cursor is the
        # gsi1sk of the last title served and each partition resumes strictly below it, so a title
        # that changes status (moves partition) between two pages is neither served twice nor
        # skipped: everything above the cursor was served, everything below was not.
        before = _decode_cursor(cursor, statuses) if cursor is not None else None
        items: list[dict[str, Any]] = []
        more = False
        for status in statuses:
            partition_items, partition_more = self._query_partition(status, limit=limit, before=before)
            items += partition_items
            more = more or partition_more
        items.sort(key=lambda item: str(item["gsi1sk"]), reverse=True)
        page = items[:limit]
        more = more or len(items) > limit
        next_cursor = _encode_cursor(statuses, str(page[-1]["gsi1sk"])) if more and page else None
        return [_record(item) for item in page], next_cursor

    def _query_partition(
        self, status: TitleStatus, *, limit: int, before: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` items of one status, newest first, below ``before``; and whether more follow."""
        condition = "gsi1pk = :pk"
        values = {":pk": status_pk(status)}
        if before is not None:
            condition += " AND gsi1sk < :before"
            values[":before"] = before
        response = self._table.query(
            IndexName=GSI1,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,  # newest first: gsi1sk starts with created_at
            Limit=limit,
        )
        return list(response.get("Items", [])), bool(response.get("LastEvaluatedKey"))


def _listing(statuses: Sequence[TitleStatus]) -> list[str]:
    return sorted(str(s) for s in statuses)


def _encode_cursor(statuses: Sequence[TitleStatus], before: str) -> str:
    raw = json.dumps({"in": _listing(statuses), "before": before}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, statuses: Sequence[TitleStatus]) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise InvalidCursorError() from exc
    # A cursor continues only the listing that issued it (same statuses): the key condition
    # already confines every read to those partitions, this keeps a viewer's READY listing from
    # accepting positions taken from an admin's.
    if (
        not isinstance(data, dict)
        or set(data) != {"in", "before"}
        or data["in"] != _listing(statuses)
        or not isinstance(data["before"], str)
        or not 0 < len(data["before"]) <= _MAX_SORT_KEY_CHARS
    ):
        raise InvalidCursorError()
    return data["before"]
