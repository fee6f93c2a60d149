"""The history projector: the playback table's DynamoDB stream (NEW_AND_OLD_IMAGES) -> each
profile's history head in the home table (``HOME#<id>`` / ``HISTORY`` and ``PROGRESS``,
logic/history.py), which GET /home reads together with the document in one round trip. The old
image tells a record that matters (a new title, a finish, a 30-s step) from a plain heartbeat
without reading anything.

Only watch-state records count (``pk = PROFILE#<id>``, ``sk = TITLE#<title>``: contract E); the
mapping filters the rest out in AWS and they are skipped here too (the local cloud does not apply
FilterCriteria). Records are grouped by profile, oldest first, and each profile is one
read-modify-write. A profile whose write fails reports its first record as the batch item failure:
Lambda resumes the shard there, and what is applied again is applied idempotently.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reelstack_common import dynamo

from recommendations.dal.playback_history import view_state
from recommendations.handlers.observability import logger
from recommendations.logic import history
from recommendations.logic.ports import ViewState
from recommendations.wiring import dependencies

PROFILE, TITLE = "PROFILE#", "TITLE#"


def changes_by_profile(event: dict[str, Any]) -> dict[str, list[tuple[str, history.Change]]]:
    """profile id -> [(sequence number, change)], in the order of the batch (a shard's order)."""
    out: dict[str, list[tuple[str, history.Change]]] = {}
    for record in event.get("Records", []):
        change = record.get("dynamodb") or {}
        keys = dynamo.deserialize(change.get("Keys") or {})
        pk, sk = str(keys.get("pk", "")), str(keys.get("sk", ""))
        if not (pk.startswith(PROFILE) and sk.startswith(TITLE)):
            continue
        profile_id, title_id = pk.removeprefix(PROFILE), sk.removeprefix(TITLE)
        state, old = (_state(change.get(k), profile_id, title_id) for k in ("NewImage", "OldImage"))
        if record.get("eventName") == "REMOVE":
            state = None
        seq = str(change.get("SequenceNumber", ""))
        out.setdefault(profile_id, []).append((seq, history.Change(title_id, state, old)))
    return out


def _state(image: dict[str, Any] | None, profile_id: str, title_id: str) -> ViewState | None:
    if not image:
        return None
    # the item's keys name the state, whatever its other attributes say
    return replace(view_state(dynamo.deserialize(image)), profile_id=profile_id, title_id=title_id)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    deps = dependencies().home
    failures: list[str] = []
    written = 0
    for profile_id, records in changes_by_profile(event).items():
        try:
            written += history.project(profile_id, [c for _, c in records], home=deps.home, history=deps.history)
        except Exception as exc:
            logger.warning(
                "history head not updated: retrying from the profile's first record",
                extra={"profile_id": profile_id, "error": f"{type(exc).__name__}: {exc}"},
            )
            failures.append(records[0][0])
    logger.info("history heads updated", extra={"written": written, "failed": len(failures)})
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failures]}
