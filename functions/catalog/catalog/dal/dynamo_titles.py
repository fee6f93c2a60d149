"""Titles in the catalog single table.

Item layout (the contract with the transcoding workflow, which updates the same item, and with the
consumers that read it; docs/architecture.md has the full table):

* title: ``pk = TITLE#{title_id}``, ``sk = META``, ``entity = title``; ``kind`` (movie | series |
  episode), ``version`` (1 at creation, +1 in the same write as every change), episodes also
  ``series_id``, ``season``, ``number``.
* ``gsi1pk = STATUS#{status}``, ``gsi1sk = {created_at}#{title_id}`` -- every status change must
  rewrite ``gsi1pk`` together with ``status`` so the per-status listing stays exact.
* episode slot: ``pk = TITLE#{series_id}``, ``sk = EPISODE#{season:03d}#{number:04d}``,
  ``entity = episode_slot``, ``episode_id`` -- the uniqueness of (series, season, number) and the
  series' episode index in order (one Query); written in one transaction with the episode.
* episode count: ``pk = TITLE#{series_id}``, ``sk = EPISODES``, ``live`` -- the number of slots,
  kept in the same transactions, so a series' withdrawal can require "no episodes left" atomically.

Outbox: a catalog write that must reach the event bus sets ``outbox_event`` (the detail-type) and
``outbox_version`` (= the new ``version``) in the same write. The table's stream carries the new
image to the outbox function (handlers/outbox.py), which publishes it and is retried by Lambda until
EventBridge takes it: a committed change is announced at least once, and a failed PutEvents never
loses it. Transcode's later writes bump ``version`` past ``outbox_version``, so they announce nothing
here (transcode publishes its own events).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError
from reelstack_common.dynamo import cancellation_codes, deserialize

from catalog.dal.interface import (
    TITLE_UPDATED,
    TITLE_WITHDRAWN,
    ContendedWrite,
    EpisodeSlotTaken,
    InvalidCursorError,
    SeriesHasEpisodes,
    SeriesUnavailable,
    TitleMissing,
    TitleStateConflict,
    VersionMismatch,
)
from catalog.models.titles import TitleKind, TitleRecord, TitleStatus

META = "META"
GSI1 = "gsi1"
EPISODE_PREFIX = "EPISODE#"
EPISODE_COUNT = "EPISODES"
_NOT_STORED_IN_RECORD = {"pk", "sk", "gsi1pk", "gsi1sk", "entity", "outbox_event", "outbox_version"}
# gsi1sk is "{created_at}#{title_id}" (27 + 1 + 32 characters); a cursor holds one.
_MAX_SORT_KEY_CHARS = 128
_CONFLICT_RETRIES = 4
# version + 1 in the same write as the change (missing on items older than versions: 0 + 1).
_BUMP = "version = if_not_exists(version, :zero) + :one"
# the outbox marker names the version this write creates (SET operands read the old item).
_ANNOUNCE = "outbox_event = :event, outbox_version = if_not_exists(version, :zero) + :one"


def title_pk(title_id: str) -> str:
    return f"TITLE#{title_id}"


def title_key(title_id: str) -> dict[str, str]:
    return {"pk": title_pk(title_id), "sk": META}


def episode_sk(season: int, number: int) -> str:
    return f"{EPISODE_PREFIX}{season:03d}#{number:04d}"


def season_prefix(season: int) -> str:
    return f"{EPISODE_PREFIX}{season:03d}#"


def _wire_string(value: Any) -> Any:
    """An attribute from a low-level response ({"S": "READY"}) or a resource one ("READY")."""
    if isinstance(value, dict) and len(value) == 1:
        ((_, inner),) = value.items()
        return inner
    return value


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


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

    def _item(self, record: TitleRecord) -> dict[str, Any]:
        item = record.model_dump(mode="json", exclude_none=True)
        item.update(
            pk=title_pk(record.title_id),
            sk=META,
            entity="title",
            gsi1pk=status_pk(record.status),
            gsi1sk=f"{record.created_at}#{record.title_id}",
        )
        return item

    def create(self, record: TitleRecord, *, announce: str | None = None) -> None:
        item = self._item(record)
        if announce:
            item.update(outbox_event=announce, outbox_version=record.version)
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")

    def create_episode(self, record: TitleRecord) -> None:
        assert record.series_id is not None and record.season is not None and record.number is not None
        series = record.series_id
        items = [
            # The series must exist, be a series and be READY; the series' withdrawal writes this item,
            # so a concurrent withdrawal and creation cannot both commit.
            {
                "ConditionCheck": {
                    "Key": title_key(series),
                    "ConditionExpression": "attribute_exists(pk) AND kind = :series AND #status = :ready",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":series": TitleKind.SERIES.value, ":ready": TitleStatus.READY.value},
                }
            },
            {
                "Put": {
                    "Item": {
                        "pk": title_pk(series),
                        "sk": episode_sk(record.season, record.number),
                        "entity": "episode_slot",
                        "episode_id": record.title_id,
                        "season": record.season,
                        "number": record.number,
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "Key": {"pk": title_pk(series), "sk": EPISODE_COUNT},
                    "UpdateExpression": "SET entity = :entity ADD live :one",
                    "ExpressionAttributeValues": {":entity": "episode_count", ":one": 1},
                }
            },
            {"Put": {"Item": self._item(record), "ConditionExpression": "attribute_not_exists(pk)"}},
        ]
        codes = self._transact(items)
        if codes is None:
            return
        if codes[0] == "ConditionalCheckFailed":
            raise SeriesUnavailable(series)
        if codes[1] == "ConditionalCheckFailed":
            raise EpisodeSlotTaken(episode_sk(record.season, record.number))
        raise RuntimeError(f"episode transaction cancelled: {codes}")

    def get(self, title_id: str) -> TitleRecord | None:
        # Strongly consistent: an admin who just created a title asks for an upload URL next.
        response = self._table.get_item(Key=title_key(title_id), ConsistentRead=True)
        item = response.get("Item")
        return _record(item) if item else None

    def get_many(self, title_ids: Sequence[str]) -> list[TitleRecord]:
        keys = [title_key(t) for t in dict.fromkeys(title_ids)]
        if not keys:
            return []
        client = self._table.meta.client  # the Table resource has no batch read of its own
        name = self._table.name
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {name: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(8):
            response = client.batch_get_item(RequestItems=request)
            found += response.get("Responses", {}).get(name, [])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.02 * (2**attempt))  # throttled: back off, as the SDK advises
        else:
            raise ContendedWrite()
        return [_record(item) for item in found]

    def reopen_for_upload(self, title_id: str, *, allowed_from: Sequence[TitleStatus], now: str) -> TitleRecord:
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":uploading": TitleStatus.UPLOADING.value,
            ":gsi1pk": status_pk(TitleStatus.UPLOADING),
            ":now": now,
            ":series": TitleKind.SERIES.value,
            ":zero": 0,
            ":one": 1,
        }
        allowed = []
        for i, wanted in enumerate(allowed_from):
            values[f":from{i}"] = wanted.value
            allowed.append(f":from{i}")
        try:
            response = self._table.update_item(
                Key=title_key(title_id),
                UpdateExpression=(
                    f"SET #status = :uploading, gsi1pk = :gsi1pk, updated_at = :now, {_BUMP} REMOVE failure_reason"
                ),
                # A series has no source: never uploadable, whatever its status.
                ConditionExpression=(
                    f"attribute_exists(pk) AND #status IN ({', '.join(allowed)}) "
                    "AND (attribute_not_exists(kind) OR kind <> :series)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item")
            if not old:
                raise TitleMissing(title_id) from exc
            # The low-level error carries attribute values in wire format ({"S": "READY"}).
            kind = _wire_string(old.get("kind")) or TitleKind.MOVIE.value
            raise TitleStateConflict(str(_wire_string(old.get("status"))), str(kind)) from exc
        return _record(response["Attributes"])

    def update_metadata(
        self, title_id: str, changes: dict[str, object], *, expected_version: int | None, now: str
    ) -> TitleRecord:
        names = {f"#f{i}": name for i, name in enumerate(changes)}
        values: dict[str, Any] = {f":f{i}": value for i, value in enumerate(changes.values())}
        values.update(
            {":now": now, ":zero": 0, ":one": 1, ":event": TITLE_UPDATED, ":withdrawn": TitleStatus.WITHDRAWN.value}
        )
        names["#status"] = "status"
        sets = [f"#f{i} = :f{i}" for i in range(len(changes))]
        # A withdrawn title never changes again (withdrawal is final).
        condition = "attribute_exists(pk) AND #status <> :withdrawn"
        if expected_version is not None:
            condition += " AND version = :expected"
            values[":expected"] = expected_version
        try:
            response = self._table.update_item(
                Key=title_key(title_id),
                UpdateExpression=f"SET {', '.join(sets)}, updated_at = :now, {_BUMP}, {_ANNOUNCE}",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item")
            if not old:
                raise TitleMissing(title_id) from exc
            # The error carries the item in wire format ({"N": "3"}), unlike the resource's results.
            raise VersionMismatch(_record(deserialize(old))) from exc
        return _record(response["Attributes"])

    def withdraw(self, record: TitleRecord, *, now: str) -> TitleRecord:
        title_id = record.title_id
        withdrawn = TitleStatus.WITHDRAWN.value
        # Only if the title is exactly as the caller read it: same status (transcode's writes may
        # predate versions) and same version. Versions of items that predate them are absent (0).
        same = "attribute_exists(pk) AND #status = :was AND " + (
            "version = :version" if record.version else "attribute_not_exists(version)"
        )
        values: dict[str, Any] = {
            ":was": record.status.value, ":withdrawn": withdrawn, ":g": status_pk(withdrawn),
            ":now": now, ":zero": 0, ":one": 1, ":event": TITLE_WITHDRAWN,
        }  # fmt: skip
        if record.version:
            values[":version"] = record.version
        update = {
            "Key": title_key(title_id),
            "UpdateExpression": f"SET #status = :withdrawn, gsi1pk = :g, updated_at = :now, withdrawn_at = :now, "
            f"{_BUMP}, {_ANNOUNCE}",
            "ConditionExpression": same,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
        }
        items: list[dict[str, Any]] = [{"Update": update}]
        if record.kind is TitleKind.SERIES:
            items.append({"ConditionCheck": {
                "Key": {"pk": title_pk(title_id), "sk": EPISODE_COUNT},
                "ConditionExpression": "attribute_not_exists(pk) OR live = :zero",
                "ExpressionAttributeValues": {":zero": 0},
            }})  # fmt: skip
        elif record.kind is TitleKind.EPISODE and record.series_id and record.season and record.number:
            # A withdrawn episode gives its place back (a replacement can take it) and no longer
            # counts against its series' withdrawal.
            series = record.series_id
            items.append({"Delete": {
                "Key": {"pk": title_pk(series), "sk": episode_sk(record.season, record.number)},
                "ConditionExpression": "episode_id = :id",
                "ExpressionAttributeValues": {":id": title_id},
            }})  # fmt: skip
            items.append({"Update": {
                "Key": {"pk": title_pk(series), "sk": EPISODE_COUNT},
                "UpdateExpression": "ADD live :minus",
                "ExpressionAttributeValues": {":minus": -1},
            }})  # fmt: skip
        codes = self._transact(items)
        if codes is None:
            current = self.get(title_id)
            assert current is not None
            return current
        if codes[0] == "ConditionalCheckFailed":
            raise VersionMismatch(self.get(title_id))
        if record.kind is TitleKind.SERIES and codes[1] == "ConditionalCheckFailed":
            raise SeriesHasEpisodes(self._live_episodes(title_id))
        raise RuntimeError(f"withdrawal cancelled: {codes}")

    def _live_episodes(self, series_id: str) -> int:
        item = self._table.get_item(Key={"pk": title_pk(series_id), "sk": EPISODE_COUNT}, ConsistentRead=True)
        return int((item.get("Item") or {}).get("live", 0))

    def list_episodes(
        self, series_id: str, *, season: int | None, limit: int, after: str | None
    ) -> tuple[list[tuple[str, str]], bool]:
        prefix = season_prefix(season) if season is not None else EPISODE_PREFIX
        values: dict[str, Any] = {":pk": title_pk(series_id), ":prefix": prefix}
        condition = "pk = :pk AND begins_with(sk, :prefix)"
        kwargs: dict[str, Any] = {}
        if after is not None:
            # Resume strictly after the last slot served (ExclusiveStartKey needs only the keys).
            kwargs["ExclusiveStartKey"] = {"pk": title_pk(series_id), "sk": after}
        response = self._table.query(
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
            Limit=limit,
            **kwargs,
        )
        slots = [(str(i["sk"]), str(i["episode_id"])) for i in response.get("Items", [])]
        return slots, bool(response.get("LastEvaluatedKey"))

    def _transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction: None when it committed, else the per-item cancellation codes of a
        condition failure. Conflicts with other transactions are retried, then ``ContendedWrite``."""
        # The Table resource's client takes and returns plain Python values (boto3 registers its
        # (de)serializer on it): no wire-format conversion here.
        wire = [{op: {**spec, "TableName": self._table.name}} for entry in items for op, spec in entry.items()]
        for attempt in range(_CONFLICT_RETRIES):
            try:
                self._table.meta.client.transact_write_items(TransactItems=wire)
                return None
            except ClientError as exc:
                if _error_code(exc) != "TransactionCanceledException":
                    raise
                codes = cancellation_codes(exc)
                if "ConditionalCheckFailed" in codes:
                    return codes
                if "TransactionConflict" not in codes:
                    raise
                time.sleep(0.02 * (2**attempt))  # another transaction held one of the items
        raise ContendedWrite()

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
