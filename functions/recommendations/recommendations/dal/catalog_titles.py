"""Catalog titles, read-only (``$CATALOG_TABLE``; keys as in functions/catalog/catalog/dal/
dynamo_titles.py: ``pk = TITLE#<id>``, ``sk = META``; GSI ``gsi1``: ``gsi1pk = STATUS#<status>``,
``gsi1sk = <created_at>#<title_id>``)."""

from __future__ import annotations

from typing import Any

from reelstack_common import dynamo

from recommendations.dal.values import opt_int
from recommendations.logic.ports import CatalogTitle

_FIELDS = "title_id, title, #s, #l, maturity_rating, genres, #c, description, #y, created_at, kind"
_NAMES = {"#s": "status", "#l": "language", "#c": "cast", "#y": "year"}


def catalog_title(item: dict[str, Any]) -> CatalogTitle:
    return CatalogTitle(
        title_id=str(item.get("title_id") or str(item.get("pk", "")).removeprefix("TITLE#")),
        name=str(item.get("title", "")),
        status=str(item.get("status", "")),
        language=str(item.get("language") or "und"),
        maturity_rating=item.get("maturity_rating"),
        genres=tuple(str(g) for g in item.get("genres", []) or []),
        cast=tuple(str(c) for c in item.get("cast", []) or []),
        description=str(item.get("description", "") or ""),
        year=opt_int(item.get("year")),
        created_at=str(item.get("created_at", "")),
        kind=str(item.get("kind", "movie")),
    )


class DynamoCatalogTitles:
    def __init__(self, table_name: str) -> None:
        self.name = table_name
        self.table = dynamo.table(table_name)

    def get_many(self, title_ids: list[str] | tuple[str, ...] | Any) -> dict[str, CatalogTitle]:
        ids = [t for t in dict.fromkeys(title_ids) if isinstance(t, str) and 0 < len(t) <= 128]
        out: dict[str, CatalogTitle] = {}
        client = dynamo.client()
        for k in range(0, len(ids), 100):  # BatchGetItem's limit
            request: dict[str, Any] = {
                self.name: {
                    "Keys": [dynamo.serialize({"pk": f"TITLE#{t}", "sk": "META"}) for t in ids[k : k + 100]],
                    "ProjectionExpression": "pk, " + _FIELDS,
                    "ExpressionAttributeNames": _NAMES,
                }
            }
            while request:
                answer = client.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(self.name, []):
                    t = catalog_title(dynamo.deserialize(raw))
                    out[t.title_id] = t
                request = answer.get("UnprocessedKeys") or {}
        return out

    def _ready(self, limit: int | None) -> list[CatalogTitle]:
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": "STATUS#READY"},
            "ScanIndexForward": False,  # newest first (gsi1sk starts with created_at)
        }
        if limit is not None:
            kwargs["Limit"] = limit
            items = self.table.query(**kwargs).get("Items", [])
        else:
            items = self.table.query_all(**kwargs)
        # Episodes are reached through their series: the home page recommends movies and series.
        return [t for t in (catalog_title(i) for i in items) if t.kind != "episode"]

    def ready_titles(self) -> list[CatalogTitle]:
        return self._ready(None)

    def newest_ready(self, limit: int) -> list[CatalogTitle]:
        return self._ready(limit)
