"""View history: the playback service's watch-state items (contract E; ``$PLAYBACK_TABLE``,
layout in functions/playback/playback/dal/dynamo_playback.py): ``pk = PROFILE#<profile_id>``,
``sk = TITLE#<title_id>``, ``type = state``, position_s, duration_s, percent, finished,
updated_at (ISO 8601). Read-only. Without ``PLAYBACK_TABLE`` (playback not deployed) the history
is empty."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reelstack_common import dynamo

from recommendations.dal.values import num
from recommendations.logic.ports import ViewState


def view_state(item: dict[str, Any]) -> ViewState:
    return ViewState(
        profile_id=str(item.get("profile_id") or str(item.get("pk", "")).removeprefix("PROFILE#")),
        title_id=str(item.get("title_id") or str(item.get("sk", "")).removeprefix("TITLE#")),
        updated_at=num(item.get("updated_at")),
        position_s=num(item.get("position_s")),
        duration_s=num(item.get("duration_s")),
        percent=num(item.get("percent")),
        finished=bool(item.get("finished", False)),
    )


class DynamoViewHistory:
    def __init__(self, table_name: str | None) -> None:
        self.table = dynamo.table(table_name) if table_name else None

    def for_profile(self, profile_id: str, consistent: bool = False) -> list[ViewState]:
        """Every watch state of the profile (``consistent``: read-after-write, never through DAX)."""
        if self.table is None:
            return []
        items = self.table.query_all(
            KeyConditionExpression="pk = :p AND begins_with(sk, :t)",
            ExpressionAttributeValues={":p": f"PROFILE#{profile_id}", ":t": "TITLE#"},
            ConsistentRead=consistent,
        )
        return [view_state(i) for i in items]

    def scan_all(self) -> Iterator[ViewState]:
        if self.table is None:
            return
        kwargs: dict[str, Any] = {
            "FilterExpression": "#t = :state",
            "ExpressionAttributeNames": {"#t": "type"},
            "ExpressionAttributeValues": {":state": "state"},
        }
        while True:
            page = self.table.scan(**kwargs)
            for item in page.get("Items", []):
                yield view_state(item)
            if not page.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
