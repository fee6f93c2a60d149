"""The prefill ledger: one item per title, ``pk = "PREFILL#{title_id}"``, holding the newest version
claimed, its state (FILLING under a lease, DONE, FAILED) and when.

Every transition is one conditional write, so concurrent deliveries of the same event cannot both
claim it, and nothing depends on reading first (the function may only PutItem/UpdateItem).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from delivery.models.prefill import ClaimOutcome

FILLING, DONE, FAILED = "FILLING", "DONE", "FAILED"


def _pk(title_id: str) -> str:
    return f"PREFILL#{title_id}"


class DynamoPrefillLedger:
    def __init__(self, table: Any) -> None:
        self.table = table  # boto3 Table resource

    def claim(self, title_id: str, version: int, *, now: float, lease_s: int) -> ClaimOutcome:
        try:
            self.table.put_item(
                Item={
                    "pk": _pk(title_id),
                    "title_id": title_id,
                    "version": version,
                    "state": FILLING,
                    "lease_until": int(now) + lease_s,
                    "updated_at": int(now),
                },
                # New title, newer version, or this version's earlier attempt failed / its lease ran out.
                ConditionExpression=(
                    "attribute_not_exists(pk) OR #v < :v OR "
                    "(#v = :v AND #s <> :done AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#v": "version", "#s": "state"},
                ExpressionAttributeValues={":v": version, ":done": DONE, ":now": int(now)},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item") or {}
            state = (old.get("state") or {}).get("S")
            held = int((old.get("version") or {}).get("N", "-1"))
            if held == version and state == FILLING:
                return ClaimOutcome.BUSY
            return ClaimOutcome.DONE
        return ClaimOutcome.CLAIMED

    def _finish(self, title_id: str, version: int, now: float, state: str, extra: dict[str, Any]) -> None:
        names = {"#v": "version", "#s": "state", **{f"#{k}": k for k in extra}}
        values = {":v": version, ":filling": FILLING, ":state": state, ":now": int(now)}
        values.update({f":{k}": v for k, v in extra.items()})
        sets = ["#s = :state", "updated_at = :now", *(f"#{k} = :{k}" for k in extra)]
        try:
            self.table.update_item(
                Key={"pk": _pk(title_id)},
                UpdateExpression="SET " + ", ".join(sets),
                # Only our own claim: a newer version's claim is left alone.
                ConditionExpression="#v = :v AND #s = :filling",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def complete(self, title_id: str, version: int, *, now: float, filled: int, size: int) -> None:
        self._finish(title_id, version, now, DONE, {"filled": filled, "bytes": size})

    def release(self, title_id: str, version: int, *, now: float) -> None:
        # lease_until 0: the retry may claim at once.
        self._finish(title_id, version, now, FAILED, {"lease_until": 0})
