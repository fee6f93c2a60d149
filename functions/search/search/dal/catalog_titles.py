"""``CatalogTitles`` over the catalog table (read-only: GetItem and Scan).

Item layout is the catalog's (functions/catalog/catalog/dal/dynamo_titles.py): ``pk =
TITLE#{title_id}``, ``sk = META``. Search reads it, never writes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from search.logic.ports import CatalogTitles

META = "META"
TITLE_PREFIX = "TITLE#"


class DynamoCatalogTitles(CatalogTitles):
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, title_id: str) -> dict[str, Any] | None:
        response = self._table.get_item(Key={"pk": f"{TITLE_PREFIX}{title_id}", "sk": META}, ConsistentRead=True)
        item = response.get("Item")
        return dict(item) if item else None

    def scan(self) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "ConsistentRead": True,
            "FilterExpression": "sk = :meta AND begins_with(pk, :title)",
            "ExpressionAttributeValues": {":meta": META, ":title": TITLE_PREFIX},
        }
        while True:
            page = self._table.scan(**kwargs)
            yield from page.get("Items", [])
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last
