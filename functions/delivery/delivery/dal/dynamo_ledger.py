"""The prefill ledger: one item per title, ``pk = "PREFILL#{title_id}"`` (off-peak fill:
``"OFFPEAK#{day}#{title_id}"``), holding the newest version
claimed, its state (FILLING under a lease, DONE, FAILED; PURGING then WITHDRAWN once the title is
withdrawn, at the withdrawal's version, so no prefill of an older version claims it again) and when.

Every transition is one conditional write, so concurrent deliveries of the same event cannot both
claim it, and nothing depends on reading first (the function may only UpdateItem). ``media`` is the
digest of the init/segment keys of the last DONE fill.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from delivery.models.prefill import Claim, ClaimOutcome

FILLING, DONE, FAILED = "FILLING", "DONE", "FAILED"
PURGING, WITHDRAWN = "PURGING", "WITHDRAWN"


class DynamoPrefillLedger:
    """``prefix`` names the ledger: ``PREFILL#`` for fills on publish, ``OFFPEAK#<day>#`` for one
    day's off-peak fill (a title is filled at most once per day; the next day starts afresh)."""

    def __init__(self, table: Any, prefix: str = "PREFILL#") -> None:
        self.table = table  # boto3 Table resource
        self.prefix = prefix

    def _pk(self, title_id: str) -> str:
        return f"{self.prefix}{title_id}"

    def claim(self, title_id: str, version: int, *, now: float, lease_s: int) -> Claim:
        try:
            # An update, not a put: it leaves ``media`` (the last DONE fill's digest) in place, so a
            # failed attempt of a newer version does not forget what the edges already hold.
            replaced = self.table.update_item(
                Key={"pk": self._pk(title_id)},
                UpdateExpression="SET title_id = :t, #v = :v, #s = :filling, lease_until = :lease, updated_at = :now",
                # New title, newer version, or this version's earlier attempt failed / its lease ran
                # out. Never a withdrawal's version (PURGING/WITHDRAWN carry lease_until 0, so the
                # lease test alone would let a TitlePublished of that version prefill a withdrawn title).
                ConditionExpression=(
                    "attribute_not_exists(pk) OR #v < :v OR "
                    "(#v = :v AND NOT #s IN (:done, :purging, :withdrawn) AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#v": "version", "#s": "state"},
                ExpressionAttributeValues={
                    ":t": title_id,
                    ":v": version,
                    ":filling": FILLING,
                    ":done": DONE,
                    ":purging": PURGING,
                    ":withdrawn": WITHDRAWN,
                    ":now": int(now),
                    ":lease": int(now) + lease_s,
                },
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item") or {}
            state = (old.get("state") or {}).get("S")
            held = int((old.get("version") or {}).get("N", "-1"))
            if held == version and state == FILLING:
                return Claim(ClaimOutcome.BUSY)
            return Claim(ClaimOutcome.DONE)
        old_item = replaced.get("Attributes") or {}
        previous = old_item.get("media")
        return Claim(ClaimOutcome.CLAIMED, str(previous) if previous else None)

    def _finish(self, title_id: str, version: int, now: float, state: str, extra: dict[str, Any]) -> None:
        names = {"#v": "version", "#s": "state", **{f"#{k}": k for k in extra}}
        values = {":v": version, ":filling": FILLING, ":state": state, ":now": int(now)}
        values.update({f":{k}": v for k, v in extra.items()})
        sets = ["#s = :state", "updated_at = :now", *(f"#{k} = :{k}" for k in extra)]
        try:
            self.table.update_item(
                Key={"pk": self._pk(title_id)},
                UpdateExpression="SET " + ", ".join(sets),
                # Only our own claim: a newer version's claim is left alone.
                ConditionExpression="#v = :v AND #s = :filling",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def complete(self, title_id: str, version: int, *, now: float, filled: int, size: int, media: str) -> None:
        self._finish(title_id, version, now, DONE, {"filled": filled, "bytes": size, "media": media})

    def release(self, title_id: str, version: int, *, now: float) -> None:
        # lease_until 0: the retry may claim at once.
        self._finish(title_id, version, now, FAILED, {"lease_until": 0})

    # --- withdrawal ------------------------------------------------------------------------------

    def begin_withdrawal(self, title_id: str, version: int, *, now: float) -> bool:
        try:
            self.table.update_item(
                Key={"pk": self._pk(title_id)},
                UpdateExpression="SET title_id = :t, #v = :v, #s = :purging, lease_until = :zero, updated_at = :now",
                # Any prefill state of an older version is superseded (a late TitlePublished then finds
                # a newer version and fetches nothing); this version's finished purge is kept.
                ConditionExpression="attribute_not_exists(pk) OR #v < :v OR (#v = :v AND #s <> :withdrawn)",
                ExpressionAttributeNames={"#v": "version", "#s": "state"},
                ExpressionAttributeValues={
                    ":t": title_id, ":v": version, ":purging": PURGING, ":withdrawn": WITHDRAWN, ":zero": 0,
                    ":now": int(now),
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False  # purged already (a redelivery), or a newer version is recorded
        return True

    def finish_withdrawal(self, title_id: str, version: int, *, now: float) -> None:
        try:
            self.table.update_item(
                Key={"pk": self._pk(title_id)},
                UpdateExpression="SET #s = :withdrawn, updated_at = :now",
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "version", "#s": "state"},
                ExpressionAttributeValues={":v": version, ":withdrawn": WITHDRAWN, ":now": int(now)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
