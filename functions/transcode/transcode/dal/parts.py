"""DynamoDB adapter of `PartIndex`: the parts table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from transcode.dal.dynamo import to_dynamo
from transcode.logic.ports import PartIndex
from transcode.models.errors import TransientError


def part_pk(title_id: str, rendition: str) -> str:
    return f"{title_id}#{rendition}"


class DynamoPartIndex(PartIndex):
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

    def __init__(self, table: Any) -> None:
        self.table = table  # a boto3 DynamoDB Table resource

    def put(self, title_id: str, rendition: str, parts: Sequence[Mapping[str, Any]]) -> int:
        pk = part_pk(title_id, rendition)
        with self.table.batch_writer(overwrite_by_pkeys=["title_format", "part_num"]) as batch:
            for part in parts:
                batch.put_item(Item=to_dynamo({**part, "title_format": pk}))
        return len(parts)

    def delete(self, title_id: str, rendition: str, numbers: Sequence[int]) -> int:
        self._delete(part_pk(title_id, rendition), numbers)
        return len(numbers)

    def truncate(self, title_id: str, rendition: str, count: int) -> int:
        stale = [n for n in self.part_numbers(title_id, rendition) if n >= count]
        self._delete(part_pk(title_id, rendition), stale)
        return len(stale)

    def delete_rendition(self, title_id: str, rendition: str) -> int:
        try:
            numbers = self.part_numbers(title_id, rendition)
            self._delete(part_pk(title_id, rendition), numbers)
        except ClientError as exc:
            raise TransientError(f"could not delete the part rows of {title_id} {rendition}: {exc}") from exc
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

    def _delete(self, pk: str, numbers: Sequence[int]) -> None:
        if not numbers:
            return
        with self.table.batch_writer() as batch:
            for n in numbers:
                batch.delete_item(Key={"title_format": pk, "part_num": n})
