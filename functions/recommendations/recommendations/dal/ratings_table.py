"""Ratings (``$RATINGS_TABLE``: ``profile_id`` S partition, ``title_id`` S sort; thumb, rated_at).

Its own table so that training scans exactly the ratings (the home table's documents are far
larger), and a profile's ratings are one Query.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reelstack_common import dynamo

from recommendations.dal.values import decimal, num
from recommendations.logic.ports import Rating


def _rating(item: dict[str, Any]) -> Rating:
    return Rating(
        str(item["profile_id"]), str(item["title_id"]), str(item.get("thumb", "up")), num(item.get("rated_at"))
    )


class DynamoRatingStore:
    def __init__(self, table_name: str) -> None:
        self.name = table_name
        self.table = dynamo.table(table_name)

    def put(self, r: Rating) -> None:
        self.table.put_item(
            Item={"profile_id": r.profile_id, "title_id": r.title_id, "thumb": r.thumb, "rated_at": decimal(r.rated_at)}
        )

    def delete(self, profile_id: str, title_id: str) -> None:
        self.table.delete_item(Key={"profile_id": profile_id, "title_id": title_id})

    def for_profile(self, profile_id: str) -> list[Rating]:
        """Consistent: a thumb given a moment ago must shape the page computed because of it.

        The live page's one large read (a heavy rater has hundreds of items), so it is lean: the
        low-level client (consistent reads never go through DAX anyway), the three attributes it
        uses (the key is known), and the wire format read directly instead of the resource's
        Decimal conversion per attribute. Measured on the local cloud for a 636-rating profile:
        p50 38 ms through the resource, 29 ms this way (DynamoDB Local's own time: ~12 ms)."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "profile_id = :p",
            "ExpressionAttributeValues": {":p": {"S": profile_id}},
            "ProjectionExpression": "title_id, thumb, rated_at",
            "ConsistentRead": True,
        }
        out: list[Rating] = []
        client = dynamo.client()
        while True:
            page = client.query(**kwargs)
            for item in page.get("Items", []):
                at = item.get("rated_at", {})
                thumb = item.get("thumb", {}).get("S", "up")
                out.append(Rating(profile_id, item["title_id"]["S"], thumb, num(at.get("N") or at.get("S"))))
            if not page.get("LastEvaluatedKey"):
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def scan_all(self) -> Iterator[Rating]:
        kwargs: dict[str, Any] = {}
        while True:
            page = self.table.scan(**kwargs)
            for item in page.get("Items", []):
                yield _rating(item)
            if not page.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
