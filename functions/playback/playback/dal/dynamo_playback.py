"""DynamoDB adapter of ``PlaybackStore`` (single table ``$PLAYBACK_TABLE``).

Item layout (keys ``pk``/``sk`` S; GSI ``gsi1`` on ``gsi1pk``/``gsi1sk`` S, projection ALL; TTL
attribute ``expires_at``):

==================  ====================  ==============  =========================================
item                pk                    sk              other attributes
==================  ====================  ==============  =========================================
session             SESSION#<session_id>  SESSION         type=session, account_id, profile_id,
                                                          title_id, kind, series_id?, season?,
                                                          number?, language?, duration_s,
                                                          segment_seconds, lease_expires_at,
                                                          last_seq, applied, position_s, state,
                                                          rendition?, buffer_s?, ended, created_at,
                                                          grant_prefix, grant_expires_at,
                                                          expires_at (TTL: lease + 7 d)
lease set           ACCOUNT#<account_id>  LEASES          type=leases, account_id, leases (map
                                                          session_id -> lease_expires_at at start)
watch state         PROFILE#<profile_id>  TITLE#<title>   type=state, profile_id, account_id,
                                                          title_id, kind, series_id?, season?,
                                                          number?, position_s, duration_s,
                                                          percent, finished, part_number,
                                                          updated_at, session_id, seq,
                                                          gsi1pk=PROFILE#<profile_id> and
                                                          gsi1sk=<updated_at>#<title_id> unless
                                                          it is a finished movie (sparse index)
==================  ====================  ==============  =========================================

Stream leases. The lease of a session is its ``lease_expires_at`` (renewed by heartbeats, on the
session item only). The account's lease set names the sessions that hold a slot; starting a session
is one transaction: put the session, add it to the set, remove the set's lapsed or ended sessions,
on the condition ``size(leases) < limit + removed`` and that every removed entry is still there.
The condition compares with the set as it is at commit time, so N concurrent starts on a plan of
L streams commit exactly min(N, L - live) times; a lapsed lease never comes back (a heartbeat
renews only while ``lease_expires_at > now``), so removing it cannot free a live slot. TTL only
cleans up old session items: it is never the check.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from reelstack_common import dynamo

from playback.logic.ports import PlaybackStore
from playback.models.domain import Heartbeat, HeartbeatOutcome, HeartbeatResult, Session, WatchState
from playback.models.errors import ConcurrentUpdate

log = logging.getLogger(__name__)

GSI1 = "gsi1"
SESSION_RETENTION_S = 7 * 24 * 3600  # old session items go by TTL a week after their lease
_ATTEMPTS = 8


def session_key(session_id: str) -> dict[str, str]:
    return {"pk": f"SESSION#{session_id}", "sk": "SESSION"}


def lease_key(account_id: str) -> dict[str, str]:
    return {"pk": f"ACCOUNT#{account_id}", "sk": "LEASES"}


def state_key(profile_id: str, title_id: str) -> dict[str, str]:
    return {"pk": f"PROFILE#{profile_id}", "sk": f"TITLE#{title_id}"}


def profile_index_pk(profile_id: str) -> str:
    return f"PROFILE#{profile_id}"


def _number(value: float | int) -> Decimal | int:
    # boto3 refuses floats; str() keeps the decimal the client sent (0.1 stays 0.1).
    return value if isinstance(value, int) else Decimal(str(value))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _stored(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _number(v) if isinstance(v, float) else v for k, v in values.items() if v is not None}


def _session(item: Mapping[str, Any]) -> Session:
    names = {f.name for f in fields(Session)}
    return Session(**{k: _plain(v) for k, v in item.items() if k in names})


def _state(item: Mapping[str, Any]) -> WatchState:
    names = {f.name for f in fields(WatchState)}
    return WatchState(**{k: _plain(v) for k, v in item.items() if k in names})


def _request_token(session: Session, attempt: int) -> str:
    """The idempotency token of one attempt of a start's transaction: deterministic (a retry of the
    same request carries it), 36 characters (DynamoDB's limit)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"reelstack:playback:start:{session.session_id}:{attempt}"))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _old_item(error: ClientError) -> dict[str, Any] | None:
    """The item a failed condition saw (ReturnValuesOnConditionCheckFailure=ALL_OLD), as Python."""
    wire = error.response.get("Item")
    return dynamo.deserialize(wire) if wire else None


class DynamoPlaybackStore(PlaybackStore):
    def __init__(self, table_name: str) -> None:
        self.table = dynamo.table(table_name)
        self.table_name = table_name

    # --- sessions and leases --------------------------------------------------------------------

    def _lease_expiries(self, session_ids: list[str]) -> dict[str, int]:
        """Effective lease expiry of each session (0 when ended or gone), read consistently."""
        if not session_ids:
            return {}
        keys = [dynamo.serialize(session_key(s)) for s in session_ids]
        found: dict[str, int] = {}
        request: dict[str, Any] = {
            self.table_name: {
                "Keys": keys,
                "ConsistentRead": True,
                "ProjectionExpression": "pk, lease_expires_at, ended",
            }
        }
        for _ in range(_ATTEMPTS):
            out = dynamo.client().batch_get_item(RequestItems=request)
            for wire in out.get("Responses", {}).get(self.table_name, []):
                item = dynamo.deserialize(wire)
                sid = str(item["pk"]).removeprefix("SESSION#")
                found[sid] = 0 if item.get("ended") else int(item.get("lease_expires_at", 0))
            request = out.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.01)
        return {s: found.get(s, 0) for s in session_ids}

    def open_session(self, session: Session, *, limit: int, now: int) -> bool:
        item = {
            **session_key(session.session_id),
            "type": "session",
            **_stored(asdict(session)),
            "expires_at": session.lease_expires_at + SESSION_RETENTION_S,
        }
        for attempt in range(_ATTEMPTS):
            lease_item = self.table.get_item(Key=lease_key(session.account_id), ConsistentRead=True).get("Item")
            held = {str(k): int(v) for k, v in ((lease_item or {}).get("leases") or {}).items()}
            expiries = self._lease_expiries(sorted(held))
            lapsed = [sid for sid, until in expiries.items() if until <= now]
            if len(held) - len(lapsed) >= limit:
                return False
            if lease_item is None:
                lease_op: dict[str, Any] = {
                    "Put": {
                        "Item": {
                            **lease_key(session.account_id),
                            "type": "leases",
                            "account_id": session.account_id,
                            "leases": {session.session_id: session.lease_expires_at},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            else:
                names = {"#new": session.session_id} | {f"#r{i}": sid for i, sid in enumerate(lapsed)}
                update = "SET leases.#new = :until"
                condition = "size(leases) < :cap"
                if lapsed:
                    update += " REMOVE " + ", ".join(f"leases.#r{i}" for i in range(len(lapsed)))
                    condition += "".join(f" AND attribute_exists(leases.#r{i})" for i in range(len(lapsed)))
                lease_op = {
                    "Update": {
                        "Key": lease_key(session.account_id),
                        "UpdateExpression": update,
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": {":until": session.lease_expires_at, ":cap": limit + len(lapsed)},
                    }
                }
            try:
                self.table.transact_write(
                    [lease_op, {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}],
                    # botocore retries a timed-out or dropped call by itself: with the same token,
                    # DynamoDB answers a replay of a transaction it committed (within 10 min) with
                    # success instead of running it again. One token per attempt: each attempt's
                    # transaction differs (the set is read again), and a token names one request.
                    ClientRequestToken=_request_token(session, attempt),
                )
                return True
            except ClientError as error:
                code = _code(error)
                if code not in ("TransactionCanceledException", "TransactionInProgressException"):
                    raise
                if code == "TransactionCanceledException" and "ConditionalCheckFailed" in dynamo.cancellation_codes(
                    error
                ):
                    # A replay that reached DynamoDB without the token's protection (or after its
                    # 10 minutes) fails on the item its own first try put: that is a commit.
                    if self._stored(session):
                        return True
                    if dynamo.cancellation_codes(error)[1:2] == ["ConditionalCheckFailed"]:
                        raise RuntimeError("session id collision") from None
                # The set changed since it was read (a start, an end, a reclaim) or another
                # transaction held it (or this one's first try is still running): read again and
                # re-decide (a first try that commits meanwhile is found above or in the set).
                time.sleep(random.uniform(0, 0.01 * (2**attempt)))  # noqa: S311 - jitter, not crypto
        raise ConcurrentUpdate()

    def _stored(self, session: Session) -> bool:
        """Whether this very start's session item is stored (same account and creation time)."""
        item = self.table.get_item(
            Key=session_key(session.session_id), ConsistentRead=True, ProjectionExpression="account_id, created_at"
        ).get("Item")
        return item is not None and (item.get("account_id"), item.get("created_at")) == (
            session.account_id,
            session.created_at,
        )

    def abandon_session(self, session: Session, *, now: int) -> None:
        try:
            self.table.update_item(
                Key=session_key(session.session_id),
                UpdateExpression="SET ended = :true, lease_expires_at = :now",
                # This start's own item only (the id is random, but a stranger's item is never touched).
                ConditionExpression="account_id = :me AND created_at = :created",
                ExpressionAttributeValues={
                    ":true": True, ":now": now, ":me": session.account_id, ":created": session.created_at,
                },
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            return  # never stored: the transaction did not commit, so the set does not name it either
        self._forget_lease(session.account_id, session.session_id)

    def _forget_lease(self, account_id: str, session_id: str) -> None:
        """Drop an ended session from the account's lease set. Bookkeeping only: an ended session's
        slot is already free (a start counts it as lapsed and removes it then), so a failure here is
        logged, not raised, and never undoes the end that came before it."""
        try:
            self.table.update_item(
                Key=lease_key(account_id),
                UpdateExpression="REMOVE leases.#s",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": session_id},
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                log.warning("lease set of %s not updated (%s); the next start removes %s", account_id,
                            _code(error), session_id)
        except BotoCoreError as error:
            log.warning("lease set of %s not updated (%s); the next start removes %s", account_id,
                        type(error).__name__, session_id)

    def renew(
        self, session_id: str, account_id: str, beat: Heartbeat, *, now: int, lease_until: int, min_duration_s: float
    ) -> HeartbeatOutcome:
        sets = [
            "position_s = :p",
            "#st = :s",
            "last_seq = :seq",
            "lease_expires_at = :until",
            "expires_at = :ttl",
        ]
        values: dict[str, Any] = {
            ":p": _number(beat.position_s),
            ":s": str(beat.state),
            ":seq": beat.seq,
            ":until": lease_until,
            ":ttl": lease_until + SESSION_RETENTION_S,
            ":me": account_id,
            ":false": False,
            ":now": now,
            ":mind": _number(min_duration_s),
            ":one": 1,
        }
        if beat.rendition is not None:
            sets.append("rendition = :r")
            values[":r"] = beat.rendition
        if beat.buffer_s is not None:
            sets.append("buffer_s = :b")
            values[":b"] = _number(beat.buffer_s)
        try:
            out = self.table.update_item(
                Key=session_key(session_id),
                UpdateExpression="SET " + ", ".join(sets) + " ADD applied :one",
                ConditionExpression=(
                    "account_id = :me AND ended = :false AND lease_expires_at > :now "
                    "AND duration_s >= :mind AND last_seq < :seq"
                ),
                ExpressionAttributeNames={"#st": "state"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            old = _old_item(error)
            if old is None or old.get("account_id") != account_id:
                return HeartbeatOutcome(HeartbeatResult.NOT_FOUND)
            stored = _session(old)
            if stored.ended or stored.lease_expires_at <= now:
                return HeartbeatOutcome(HeartbeatResult.EXPIRED, stored)
            if stored.duration_s < min_duration_s:
                return HeartbeatOutcome(HeartbeatResult.OUT_OF_RANGE, stored)
            return HeartbeatOutcome(HeartbeatResult.STALE, stored, stored.lease_expires_at)
        return HeartbeatOutcome(HeartbeatResult.APPLIED, _session(out["Attributes"]), lease_until)

    def extend_grant(self, session_id: str, expires_at: int) -> None:
        try:
            self.table.update_item(
                Key=session_key(session_id),
                UpdateExpression="SET grant_expires_at = :e",
                ConditionExpression="attribute_exists(pk) AND grant_expires_at < :e",
                ExpressionAttributeValues={":e": expires_at},
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise  # else a concurrent heartbeat recorded a later grant: keep that one

    def end_session(self, session_id: str, account_id: str, *, now: int) -> Session | None:
        try:
            out = self.table.update_item(
                Key=session_key(session_id),
                # The lease ends now (a later start reclaims the slot even if the set keeps the id).
                UpdateExpression="SET ended = :true, lease_expires_at = :now",
                ConditionExpression="account_id = :me",
                ExpressionAttributeValues={":true": True, ":now": now, ":me": account_id},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            return None
        before = _session(out["Attributes"])
        self._forget_lease(account_id, session_id)
        return before

    # --- watch states ---------------------------------------------------------------------------

    def save_state(self, state: WatchState, *, fill_only: bool = False) -> bool:
        values = _stored({k: v for k, v in asdict(state).items()})
        names = {f"#{k}": k for k in values}
        sets = [f"#{k} = :{k}" for k in values]
        expression_values = {f":{k}": v for k, v in values.items()}
        expression_values[":type"] = "state"
        sets.append("#type = :type")
        names["#type"] = "type"
        # A finished movie leaves the continue-watching index; episodes stay (the next one is offered).
        if state.finished and not state.series_id:
            tail = " REMOVE gsi1pk, gsi1sk"
        else:
            sets += ["gsi1pk = :gpk", "gsi1sk = :gsk"]
            expression_values[":gpk"] = profile_index_pk(state.profile_id)
            expression_values[":gsk"] = f"{state.updated_at}#{state.title_id}"
            tail = ""
        try:
            self.table.update_item(
                Key=state_key(state.profile_id, state.title_id),
                UpdateExpression="SET " + ", ".join(sets) + tail,
                # Out of order within one session: the newer seq stays. Across sessions: the latest.
                # Filling in a missed write: only where this session's older seq (or nothing) is, never
                # over another session's state written since.
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#session_id = :session_id AND #seq < :seq)"
                    if fill_only
                    else "attribute_not_exists(pk) OR #session_id <> :session_id OR #seq < :seq"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=expression_values,
            )
            return True
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            return False

    def get_state(self, profile_id: str, title_id: str) -> WatchState | None:
        item = self.table.get_item(Key=state_key(profile_id, title_id), ConsistentRead=True).get("Item")
        return _state(item) if item else None

    def recent_states(self, profile_id: str, limit: int) -> list[WatchState]:
        out = self.table.query(
            IndexName=GSI1,
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": profile_index_pk(profile_id)},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_state(item) for item in out.get("Items", [])]
