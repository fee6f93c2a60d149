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
        self.table = dynamo.table(table_name)

    def put(self, r: Rating) -> None:
        self.table.put_item(
            Item={"profile_id": r.profile_id, "title_id": r.title_id, "thumb": r.thumb, "rated_at": decimal(r.rated_at)}
        )

    def delete(self, profile_id: str, title_id: str) -> None:
        self.table.delete_item(Key={"profile_id": profile_id, "title_id": title_id})

    def for_profile(self, profile_id: str) -> list[Rating]:
        # Consistent: a thumb given a moment ago must shape the page computed because of it.
        items = self.table.query_all(
            KeyConditionExpression="profile_id = :p", ExpressionAttributeValues={":p": profile_id}, ConsistentRead=True
        )
        return [_rating(i) for i in items]

    def scan_all(self) -> Iterator[Rating]:
        kwargs: dict[str, Any] = {}
        while True:
            page = self.table.scan(**kwargs)
            for item in page.get("Items", []):
                yield _rating(item)
            if not page.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
