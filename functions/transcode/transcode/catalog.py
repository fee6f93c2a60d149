"""The title item (catalog table) and the part index (parts table). boto3 only.

Status changes are conditional writes that keep the `gsi1` status index in step. A run owns the
title through `transcode_job_id` (the id of the S3 event that started it): when a newer upload of
the same title starts another run, the older run can neither publish nor clean up.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from transcode.errors import Superseded, TitleNotFound

log = logging.getLogger(__name__)

UPLOADING, TRANSCODING, READY, FAILED = "UPLOADING", "TRANSCODING", "READY", "FAILED"


def title_key(title_id: str) -> dict[str, str]:
    return {"pk": f"TITLE#{title_id}", "sk": "META"}


def part_pk(title_id: str, rendition: str) -> str:
    return f"{title_id}#{rendition}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@functools.cache
def _resource() -> Any:
    return boto3.resource("dynamodb")


def _table(name: str) -> Any:
    return _resource().Table(name)


def to_dynamo(value: Any) -> Any:
    """Floats become Decimals (DynamoDB has no float type), recursively."""
    if isinstance(value, float):
        return Decimal(str(round(value, 6)))
    if isinstance(value, Mapping):
        return {k: to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class Titles:
    def __init__(self, table_name: str) -> None:
        self.table = _table(table_name)

    def get(self, title_id: str) -> dict[str, Any] | None:
        item = self.table.get_item(Key=title_key(title_id), ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    def claim(self, title_id: str, job_id: str, source_etag: str | None) -> str | None:
        """UPLOADING -> TRANSCODING, owned by `job_id`. Returns None when claimed, else the status
        that refused the claim (the title is not waiting for its source).

        Only a title waiting for its source may be claimed: a presigned PUT stays valid for its
        lifetime, and a reused one must not unpublish a READY title, take over a running transcode
        or revive a FAILED one. A retried probe of the same job finds its own claim and keeps it.
        """
        try:
            self.table.update_item(
                Key=title_key(title_id),
                UpdateExpression=("SET #s = :s, gsi1pk = :g, transcode_job_id = :j, source_etag = :e, "
                                  "updated_at = :now, gsi1sk = if_not_exists(gsi1sk, :gsk) "
                                  "REMOVE failure_reason"),
                ConditionExpression=("attribute_exists(pk) AND (#s = :waiting OR "
                                     "(#s = :s AND transcode_job_id = :j))"),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": TRANSCODING, ":g": f"STATUS#{TRANSCODING}", ":j": job_id,
                                           ":e": source_etag or "", ":now": now_iso(),
                                           ":gsk": f"{now_iso()}#{title_id}", ":waiting": UPLOADING},
            )
            return None
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        item = self.get(title_id)
        if item is None:
            raise TitleNotFound(f"Title {title_id} does not exist in the catalog: create the title "
                                "before uploading its video.")
        return str(item.get("status"))

    def record_outputs(self, title_id: str, job_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        """Set output attributes; returns their previous values (an earlier upload's renditions)."""
        names = {f"#a{i}": k for i, k in enumerate(attrs)}
        values = {f":a{i}": to_dynamo(v) for i, v in enumerate(attrs.values())}
        sets = ", ".join(f"#a{i} = :a{i}" for i in range(len(attrs)))
        return self._owned_update(title_id, job_id, f"SET {sets}, updated_at = :now",
                                  names, {**values, ":now": now_iso()}, allowed=(TRANSCODING,))

    def mark_ready(self, title_id: str, job_id: str) -> None:
        # READY -> READY is allowed so a retried publish step is idempotent.
        self._owned_update(title_id, job_id, "SET #s = :ready, gsi1pk = :g, updated_at = :now",
                           {"#s": "status"}, {":ready": READY, ":g": f"STATUS#{READY}", ":now": now_iso()},
                           allowed=(TRANSCODING, READY))

    def mark_failed(self, title_id: str, job_id: str | None, reason: str) -> bool:
        """FAILED with a reason, only if `job_id` claimed the title. Returns whether it was marked.

        A job that never claimed the title (a failure before the claim, an upload for a title that
        was not waiting for its source) must not fail it: its outputs belong to another run."""
        if not job_id:
            return False
        condition = "attribute_exists(pk) AND transcode_job_id = :j"
        values: dict[str, Any] = {":f": FAILED, ":g": f"STATUS#{FAILED}", ":r": reason[:1000],
                                  ":now": now_iso(), ":j": job_id}
        try:
            self.table.update_item(
                Key=title_key(title_id),
                UpdateExpression="SET #s = :f, gsi1pk = :g, failure_reason = :r, updated_at = :now "
                                 "REMOVE manifest_path, renditions, quality, duration_s",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise

    def _owned_update(self, title_id: str, job_id: str, expression: str, names: dict[str, str],
                      values: dict[str, Any], *, allowed: Sequence[str]) -> dict[str, Any]:
        status_values = {f":st{i}": s for i, s in enumerate(allowed)}
        try:
            resp = self.table.update_item(
                Key=title_key(title_id),
                UpdateExpression=expression,
                ConditionExpression=(f"attribute_exists(pk) AND transcode_job_id = :job AND "
                                     f"#status IN ({', '.join(status_values)})"),
                ExpressionAttributeNames={**names, "#status": "status"},
                ExpressionAttributeValues={**values, **status_values, ":job": job_id},
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise Superseded(f"title {title_id} is no longer owned by run {job_id} "
                                 "(a newer upload started, or the title was deleted)") from exc
            raise
        return from_dynamo(resp.get("Attributes") or {})


class Parts:
    """The part index: one item per HLS media segment of one rendition.

    Key: partition `title_format` = "{title_id}#{rendition}", sort `part_num` (N) — the seed's
    ((movie_id, format), part). All parts of one rendition share a partition ordered by part
    number, so "parts 120..130 of the 720p rendition" or "every part of this rendition" is one
    Query (range on the sort key) and a rendition can be replaced or removed by querying its
    partition. The alternative, a single partition key (movie_id, format, part), spreads load
    perfectly but leaves only GetItem: listing or deleting a rendition's parts would need a Scan
    or a GSI, and prefetching the next N parts would be N reads. A popular title's partition is
    read-hot, which is what the CDN (segments) and DAX (index reads) are for; there is no LSI, so
    no 10 GB item-collection limit applies.
    """

    def __init__(self, table_name: str) -> None:
        self.table = _table(table_name)

    def replace(self, title_id: str, rendition: str, parts: Sequence[Mapping[str, Any]]) -> int:
        """Write parts 0..n-1 (overwriting) and delete any part >= n left by an earlier run."""
        pk = part_pk(title_id, rendition)
        with self.table.batch_writer(overwrite_by_pkeys=["title_format", "part_num"]) as batch:
            for num, part in enumerate(parts):
                batch.put_item(Item=to_dynamo({**part, "title_format": pk, "part_num": num}))
        stale = [n for n in self.part_numbers(title_id, rendition) if n >= len(parts)]
        self._delete(pk, stale)
        return len(parts)

    def delete_rendition(self, title_id: str, rendition: str) -> int:
        numbers = self.part_numbers(title_id, rendition)
        self._delete(part_pk(title_id, rendition), numbers)
        return len(numbers)

    def part_numbers(self, title_id: str, rendition: str) -> list[int]:
        numbers: list[int] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("title_format").eq(part_pk(title_id, rendition)),
            "ProjectionExpression": "part_num",
            "ConsistentRead": True,
        }
        while True:
            resp = self.table.query(**kwargs)
            numbers += [int(item["part_num"]) for item in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp:
                return numbers
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def query(self, title_id: str, rendition: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("title_format").eq(part_pk(title_id, rendition)),
            "ConsistentRead": True,
        }
        while True:
            resp = self.table.query(**kwargs)
            items += [from_dynamo(i) for i in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def _delete(self, pk: str, numbers: Sequence[int]) -> None:
        if not numbers:
            return
        with self.table.batch_writer() as batch:
            for n in numbers:
                batch.delete_item(Key={"title_format": pk, "part_num": n})
