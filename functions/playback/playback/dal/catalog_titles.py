"""Read-only adapter of ``Titles`` over the catalog table (the catalog service owns it; contract D).

Keys as in functions/catalog/catalog/dal/dynamo_titles.py: a title is ``pk = TITLE#<id>``,
``sk = META``; a series' episode slots are ``pk = TITLE#<series_id>``,
``sk = EPISODE#<season:03d>#<number:04d>`` with ``episode_id``, in episode order. The per-plan
media tiers are the item's ``playback_tiers`` (contract B, written by the transcoder).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from reelstack_common import dynamo

from playback.logic.ports import Titles
from playback.models.domain import Tier, Title

META = "META"
EPISODE_PREFIX = "EPISODE#"
_BATCH = 100  # BatchGetItem's limit


def _key(title_id: str) -> dict[str, str]:
    return {"pk": f"TITLE#{title_id}", "sk": META}


def episode_sk(season: int, number: int) -> str:
    return f"{EPISODE_PREFIX}{season:03d}#{number:04d}"


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value if not isinstance(value, Decimal) else str(value))
    except (TypeError, ValueError):
        return None


def _tiers(raw: Any) -> tuple[Tier, ...]:
    tiers = []
    for entry in raw or []:
        if not isinstance(entry, Mapping):
            continue
        height, prefix, master = _int(entry.get("max_height")), entry.get("prefix"), entry.get("master")
        if height is None or not isinstance(prefix, str) or not isinstance(master, str):
            continue  # a malformed tier is skipped, never guessed
        tiers.append(Tier(max_height=height, prefix=prefix, master=master))
    return tuple(sorted(tiers, key=lambda t: t.max_height))


def title_from_item(item: Mapping[str, Any]) -> Title:
    return Title(
        title_id=str(item.get("title_id") or str(item["pk"]).removeprefix("TITLE#")),
        name=str(item.get("title", "")),
        status=str(item.get("status", "")),
        maturity_rating=item.get("maturity_rating"),
        duration_s=_float(item.get("duration_s")),
        kind=str(item.get("kind") or "movie"),
        series_id=item.get("series_id"),
        season=_int(item.get("season")),
        number=_int(item.get("number")),
        tiers=_tiers(item.get("playback_tiers")),
        segment_seconds=_float(item.get("segment_seconds")),
    )


class CatalogTitles(Titles):
    def __init__(self, table_name: str) -> None:
        self.table = dynamo.table(table_name)
        self.table_name = table_name

    def get(self, title_id: str) -> Title | None:
        item = self.table.get_item(Key=_key(title_id)).get("Item")
        return title_from_item(item) if item else None

    def get_many(self, title_ids: Iterable[str]) -> dict[str, Title]:
        ids = sorted(set(title_ids))
        found: dict[str, Title] = {}
        for start in range(0, len(ids), _BATCH):
            request: dict[str, Any] = {
                self.table_name: {"Keys": [dynamo.serialize(_key(t)) for t in ids[start : start + _BATCH]]}
            }
            while request:
                out = dynamo.client().batch_get_item(RequestItems=request)
                for wire in out.get("Responses", {}).get(self.table_name, []):
                    title = title_from_item(dynamo.deserialize(wire))
                    found[title.title_id] = title
                request = out.get("UnprocessedKeys") or {}
        return found

    def next_episode(self, series_id: str, season: int, number: int) -> Title | None:
        out = self.table.query(
            KeyConditionExpression="pk = :pk AND sk > :after",
            ExpressionAttributeValues={":pk": f"TITLE#{series_id}", ":after": episode_sk(season, number)},
            Limit=1,
        )
        slots = [i for i in out.get("Items", []) if str(i.get("sk", "")).startswith(EPISODE_PREFIX)]
        if not slots or not slots[0].get("episode_id"):
            return None  # the last episode (the next key is the series' episode count)
        return self.get(str(slots[0]["episode_id"]))
