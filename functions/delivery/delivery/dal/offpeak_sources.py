"""What the off-peak fill reads, read-only, from other services' tables.

- Popularity: the home service's trending items (``$HOME_TABLE``, ``pk = "TRENDING"``,
  ``sk = "LANG#<language>"``, ``counts`` = JSON ``{title_id: [day, week]}``, time-decayed; layout in
  functions/recommendations/recommendations/dal/home_table.py). One Query; the week counts of every
  language are summed.
- Titles: the catalog table (``$CATALOG_TABLE``, ``pk = "TITLE#<id>"``, ``sk = "META"``; GSI ``gsi1``:
  ``gsi1pk = "STATUS#<status>"``, ``gsi1sk = "<created_at>#<id>"``; functions/catalog/catalog/dal/
  dynamo_titles.py). The item carries what TitlePublished carries (version, manifest_path,
  playback_tiers, kind, duration_s).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from reelstack_common import dynamo

from delivery.models.events import TitlePublished

_MAX_LANGUAGES_READ = 1000


class TrendingPopularity:
    def __init__(self, home_table: str) -> None:
        self.table = dynamo.table(home_table)

    def scores(self) -> dict[str, float]:
        items = self.table.query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": "TRENDING"},
            Limit=_MAX_LANGUAGES_READ,
        ).get("Items", [])
        out: dict[str, float] = {}
        for item in items:
            try:
                counts = json.loads(str(item.get("counts") or "{}"))
            except json.JSONDecodeError:
                continue
            if not isinstance(counts, dict):
                continue
            for title_id, value in counts.items():
                try:
                    week = float(value[1])
                except (TypeError, ValueError, IndexError):
                    continue
                if week > 0:
                    out[str(title_id)] = out.get(str(title_id), 0.0) + week
        return out


def _published(item: dict[str, Any]) -> TitlePublished | None:
    if item.get("status") != "READY" or not item.get("manifest_path"):
        return None
    try:
        return TitlePublished.model_validate(
            {
                "title_id": item.get("title_id") or str(item.get("pk", "")).removeprefix("TITLE#"),
                "version": int(item.get("version") or 0),
                "manifest_path": item.get("manifest_path"),
                "playback_tiers": item.get("playback_tiers") or [],
                "kind": item.get("kind") or "movie",
                "duration_s": float(item["duration_s"]) if item.get("duration_s") is not None else None,
            }
        )
    except (ValidationError, TypeError, ValueError):
        return None


class CatalogReadyTitles:
    def __init__(self, catalog_table: str) -> None:
        self.name = catalog_table
        self.table = dynamo.table(catalog_table)

    def ready_titles(self, title_ids: Sequence[str]) -> dict[str, TitlePublished]:
        ids = [t for t in dict.fromkeys(title_ids) if isinstance(t, str) and 0 < len(t) <= 128]
        client = dynamo.client()
        out: dict[str, TitlePublished] = {}
        for k in range(0, len(ids), 100):  # BatchGetItem's limit
            request: dict[str, Any] = {
                self.name: {"Keys": [dynamo.serialize({"pk": f"TITLE#{t}", "sk": "META"}) for t in ids[k : k + 100]]}
            }
            while request:
                answer = client.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(self.name, []):
                    title = _published(dynamo.deserialize(raw))
                    if title is not None:
                        out[title.title_id] = title
                request = answer.get("UnprocessedKeys") or {}
        return out

    def newest_ready(self, limit: int) -> list[str]:
        items = self.table.query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues={":pk": "STATUS#READY"},
            ScanIndexForward=False,  # gsi1sk starts with created_at: newest first
            Limit=limit,
        ).get("Items", [])
        return [str(i.get("title_id") or str(i.get("pk", "")).removeprefix("TITLE#")) for i in items]
