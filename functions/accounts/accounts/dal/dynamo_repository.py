"""DynamoDB adapter of ``AccountsRepository`` (single table ``$ACCOUNTS_TABLE``).

Item layout (keys ``pk``/``sk`` S; GSI ``gsi1`` on ``gsi1pk``/``gsi1sk`` S, projection ALL; TTL
attribute ``expires_at``):

=====================  ==================  =================  ==================================
item                   pk                  sk                 other attributes
=====================  ==================  =================  ==================================
email reservation      EMAIL#<email>       EMAIL              type=email, status pending|active,
                                                              token, plan, retake_after
                                                              (pending only: the sign-up
                                                              awaiting its code),
                                                              user_id (active),
                                                              expires_at (pending only, TTL)
account                ACCOUNT#<user_id>   ACCOUNT            type=account, user_id, email, plan,
                                                              subscription_status, cancel_at_
                                                              period_end, payment_method,
                                                              profile_count, created_at,
                                                              updated_at, gsi1pk/gsi1sk (sparse)
profile                ACCOUNT#<user_id>   PROFILE#<id>       type=profile, profile_id, name,
                                                              kids, maturity_rating, language,
                                                              avatar, version, created/updated_at
invoice                ACCOUNT#<user_id>   INVOICE#<YYYY-MM>  type=invoice, invoice_id, period,
                                                              plan, amount_cents, currency,
                                                              status, payment_reference,
                                                              decline_code, created_at, settled_at,
                                                              lease_until (charging lease)
=====================  ==================  =================  ==================================

* ``<email>`` is lower-cased. The reservation item is the uniqueness guard for emails (DynamoDB has
  no unique secondary constraint); the ``sub`` is the user id everywhere else.
* One partition per account holds the account, its profiles and invoices: ``GET /accounts/me`` is
  one GetItem + one Query, and the profile-cap transaction touches one partition.
* Billing index (sparse GSI): only billable accounts (status active or past_due) carry
  ``gsi1pk = BILLING#<shard>`` and ``gsi1sk = ACCOUNT#<user_id>``; canceling removes them. The
  billing run queries ``BILLING_SHARDS`` GSI partitions instead of scanning the table. The shard
  (a stable hash of the user id) spreads sign-up writes over several GSI partitions -- a single
  ``BILLING`` key would make one hot GSI partition whose throttling back-pressures the table.
  ``BILLING_SHARDS`` can only grow together with a backfill of the existing keys.
* The profile cap lives on the account item (``profile_count``) so that "count < cap" and the
  profile insert are one transaction.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, fields
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from reelstack_common import dynamo

from accounts.logic.clock import iso
from accounts.logic.plans import DEFAULT_PLAN
from accounts.logic.ports import AccountsRepository
from accounts.models.domain import (
    Account,
    Invoice,
    InvoiceStatus,
    PendingSignUp,
    Profile,
    SubscriptionStatus,
)
from accounts.models.exceptions import ConcurrentUpdate, EmailTaken

BILLING_SHARDS = 8
GSI1 = "gsi1"
_CONFLICT_RETRIES = 4
_R = TypeVar("_R", Account, Profile, Invoice)


class _Reservation(StrEnum):
    """``status`` of an email reservation item (a storage detail: the logic never sees it)."""

    PENDING = "pending"
    ACTIVE = "active"


class TransactionRejected(RuntimeError):
    """A transaction failed for a reason its caller did not ask about (a bug or corrupt data)."""


# --- keys ---------------------------------------------------------------------------------------


def account_pk(user_id: str) -> str:
    return f"ACCOUNT#{user_id}"


def email_pk(email: str) -> str:
    return f"EMAIL#{email.lower()}"


def _account_key(user_id: str) -> dict[str, str]:
    return {"pk": account_pk(user_id), "sk": "ACCOUNT"}


def _profile_key(user_id: str, profile_id: str) -> dict[str, str]:
    return {"pk": account_pk(user_id), "sk": f"PROFILE#{profile_id}"}


def _invoice_key(user_id: str, period: str) -> dict[str, str]:
    return {"pk": account_pk(user_id), "sk": f"INVOICE#{period}"}


def _email_key(email: str) -> dict[str, str]:
    return {"pk": email_pk(email), "sk": "EMAIL"}


def billing_shard(user_id: str) -> int:
    return int(hashlib.sha256(user_id.encode()).hexdigest()[:8], 16) % BILLING_SHARDS


def _billing_keys(user_id: str) -> dict[str, str]:
    return {"gsi1pk": f"BILLING#{billing_shard(user_id)}", "gsi1sk": account_pk(user_id)}


# --- items <-> records --------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _record(cls: type[_R], item: Mapping[str, Any]) -> _R:
    """The domain record ``cls`` from a stored item: its fields by name, absent ones defaulted.

    The records coerce their enums themselves (``__post_init__``), so status strings stay there.
    """
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: _plain(v) for k, v in item.items() if k in names})


def _item(record: Any, key: Mapping[str, str], kind: str) -> dict[str, Any]:
    """The stored item of a domain record: its key, its ``type`` and every field that is set."""
    values = {k: str(v) if isinstance(v, Enum) else v for k, v in asdict(record).items() if v is not None}
    return {**key, "type": kind, **values}


def _account_item(account: Account) -> dict[str, Any]:
    billing_keys = _billing_keys(account.user_id) if account.billable else {}
    return {**_item(account, _account_key(account.user_id), "account"), **billing_keys}


def _profile_item(p: Profile) -> dict[str, Any]:
    return _item(p, _profile_key(p.user_id, p.profile_id), "profile")


def _invoice_item(invoice: Invoice) -> dict[str, Any]:
    return _item(invoice, _invoice_key(invoice.user_id, invoice.period), "invoice")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class DynamoAccountsRepository(AccountsRepository):
    def __init__(self, table_name: str) -> None:
        self.table = dynamo.table(table_name)

    # --- the two ways a write can be refused ------------------------------------------------------

    @staticmethod
    def _conditional(write: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any] | None:
        """One conditional single-item write: its response, or None when the condition failed."""
        try:
            return write(**kwargs)
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return None
            raise

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        """Run a transaction whose FIRST item carries the condition the caller asks about.

        True when it committed, False when that first condition failed. Any other cancellation
        raises ``TransactionRejected``; conflicts with other transactions are retried, then
        ``ConcurrentUpdate``.
        """
        for attempt in range(_CONFLICT_RETRIES):
            try:
                self.table.transact_write(items)
                return True
            except ClientError as error:
                if _code(error) != "TransactionCanceledException":
                    raise
                codes = dynamo.cancellation_codes(error)
                if codes[:1] == ["ConditionalCheckFailed"]:
                    return False
                if "ConditionalCheckFailed" in codes or "TransactionConflict" not in codes:
                    raise TransactionRejected(f"transaction cancelled: {codes or ['Unknown']}") from None
                time.sleep(0.02 * (2**attempt))  # another transaction held one of the items
        raise ConcurrentUpdate()

    # --- sign-up --------------------------------------------------------------------------------

    def reserve_email(self, email: str, token: str, expires_at: int, *, plan: str, retake_after: int) -> None:
        reserved = self._conditional(
            self.table.put_item,
            Item={
                **_email_key(email),
                "type": "email",
                "status": str(_Reservation.PENDING),
                "token": token,
                "plan": plan,
                "retake_after": retake_after,
                "expires_at": expires_at,
            },
            # A pending reservation is free to take once its retake time (or expiry: TTL deletion
            # lags) has passed; an active one never is.
            ConditionExpression=(
                "attribute_not_exists(pk) OR (#s = :pending AND (retake_after < :now OR expires_at < :now))"
            ),
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":pending": str(_Reservation.PENDING), ":now": int(time.time())},
        )
        if reserved is None:
            raise EmailTaken()

    def get_pending_reservation(self, email: str) -> PendingSignUp | None:
        item = self.table.get_item(Key=_email_key(email), ConsistentRead=True).get("Item")
        if not item or item.get("status") != _Reservation.PENDING:
            return None
        return PendingSignUp(token=str(item["token"]), plan=str(item.get("plan", DEFAULT_PLAN)))

    def release_email(self, email: str, token: str) -> None:
        # Refused (None) when the token is not ours: then there is nothing of ours to release.
        self._conditional(
            self.table.delete_item,
            Key=_email_key(email),
            ConditionExpression="#t = :token",
            ExpressionAttributeNames={"#t": "token"},
            ExpressionAttributeValues={":token": token},
        )

    def create_account(self, account: Account, reservation_token: str) -> None:
        confirm_reservation = {
            "Update": {
                "Key": _email_key(account.email),
                "UpdateExpression": "SET #s = :active, user_id = :uid REMOVE expires_at, retake_after, #t, #p",
                "ConditionExpression": "#t = :token AND #s = :pending",
                "ExpressionAttributeNames": {"#s": "status", "#t": "token", "#p": "plan"},
                "ExpressionAttributeValues": {
                    ":active": str(_Reservation.ACTIVE),
                    ":pending": str(_Reservation.PENDING),
                    ":uid": account.user_id,
                    ":token": reservation_token,
                },
            }
        }
        put_account = {"Put": {"Item": _account_item(account), "ConditionExpression": "attribute_not_exists(pk)"}}
        if not self._transact([confirm_reservation, put_account]):
            raise EmailTaken()  # our reservation expired and someone else took the email

    # --- accounts -------------------------------------------------------------------------------

    def get_account(self, user_id: str, *, consistent: bool = False) -> Account | None:
        item = self.table.get_item(Key=_account_key(user_id), ConsistentRead=consistent).get("Item")
        return _record(Account, item) if item else None

    def change_plan(
        self,
        user_id: str,
        *,
        plan: str,
        max_profiles: int,
        expected_status: SubscriptionStatus,
        new_status: SubscriptionStatus,
        payment_method: str | None,
    ) -> Account | None:
        sets = [
            "#plan = :plan",
            "subscription_status = :new",
            "cancel_at_period_end = :false",
            "updated_at = :now",
        ]
        values: dict[str, Any] = {
            ":plan": plan,
            ":new": str(new_status),
            ":expected": str(expected_status),
            ":false": False,
            ":now": iso(),
            ":max": max_profiles,
        }
        if payment_method is not None:
            sets.append("payment_method = :pm")
            values[":pm"] = payment_method
        if new_status != SubscriptionStatus.CANCELED:
            sets += ["gsi1pk = :g1pk", "gsi1sk = :g1sk"]
            keys = _billing_keys(user_id)
            values[":g1pk"], values[":g1sk"] = keys["gsi1pk"], keys["gsi1sk"]
        response = self._conditional(
            self.table.update_item,
            Key=_account_key(user_id),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=(
                "attribute_exists(pk) AND subscription_status = :expected AND "
                "(attribute_not_exists(profile_count) OR profile_count <= :max)"
            ),
            ExpressionAttributeNames={"#plan": "plan"},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return _record(Account, response["Attributes"]) if response is not None else None

    def request_cancel(self, user_id: str) -> Account | None:
        response = self._conditional(
            self.table.update_item,
            Key=_account_key(user_id),
            UpdateExpression="SET cancel_at_period_end = :true, updated_at = :now",
            ConditionExpression="attribute_exists(pk) AND subscription_status IN (:active, :past_due)",
            ExpressionAttributeValues={
                ":true": True,
                ":now": iso(),
                ":active": str(SubscriptionStatus.ACTIVE),
                ":past_due": str(SubscriptionStatus.PAST_DUE),
            },
            ReturnValues="ALL_NEW",
        )
        return _record(Account, response["Attributes"]) if response is not None else None

    # --- profiles -------------------------------------------------------------------------------

    def _query_partition(self, user_id: str, prefix: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Every item of the account's partition whose sort key starts with ``prefix``."""
        return self.table.query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": account_pk(user_id), ":prefix": prefix},
            **kwargs,
        )

    def list_profiles(self, user_id: str, *, consistent: bool = False) -> list[Profile]:
        items = self._query_partition(user_id, "PROFILE#", ConsistentRead=consistent)
        return sorted((_record(Profile, i) for i in items), key=lambda p: (p.created_at, p.profile_id))

    def get_profile(self, user_id: str, profile_id: str, *, consistent: bool = False) -> Profile | None:
        item = self.table.get_item(Key=_profile_key(user_id, profile_id), ConsistentRead=consistent).get("Item")
        return _record(Profile, item) if item else None

    def add_profile(self, profile: Profile, *, plan: str, max_profiles: int) -> bool:
        count_under_cap = {
            "Update": {
                "Key": _account_key(profile.user_id),
                "UpdateExpression": (
                    "SET profile_count = if_not_exists(profile_count, :zero) + :one, updated_at = :now"
                ),
                "ConditionExpression": (
                    "attribute_exists(pk) AND #plan = :plan AND "
                    "(attribute_not_exists(profile_count) OR profile_count < :max)"
                ),
                "ExpressionAttributeNames": {"#plan": "plan"},
                "ExpressionAttributeValues": {
                    ":zero": 0,
                    ":one": 1,
                    ":now": iso(),
                    ":plan": plan,
                    ":max": max_profiles,
                },
            }
        }
        put_profile = {"Put": {"Item": _profile_item(profile), "ConditionExpression": "attribute_not_exists(pk)"}}
        return self._transact([count_under_cap, put_profile])

    def replace_profile(self, profile: Profile, *, expected_version: int) -> bool:
        replaced = self._conditional(
            self.table.put_item,
            Item=_profile_item(profile),
            ConditionExpression="version = :v",
            ExpressionAttributeValues={":v": expected_version},
        )
        return replaced is not None

    def delete_profile(self, user_id: str, profile_id: str) -> bool:
        delete = {
            "Delete": {"Key": _profile_key(user_id, profile_id), "ConditionExpression": "attribute_exists(pk)"}
        }
        # A profile with the counter already at 0 cannot exist: that transaction is rejected loudly.
        uncount = {
            "Update": {
                "Key": _account_key(user_id),
                "UpdateExpression": "SET profile_count = profile_count - :one, updated_at = :now",
                "ConditionExpression": "profile_count > :zero",
                "ExpressionAttributeValues": {":one": 1, ":zero": 0, ":now": iso()},
            }
        }
        return self._transact([delete, uncount])

    # --- billing --------------------------------------------------------------------------------

    def list_invoices(self, user_id: str) -> list[Invoice]:
        return [_record(Invoice, i) for i in self._query_partition(user_id, "INVOICE#", ScanIndexForward=False)]

    def billable_account_ids(self, shards: Sequence[int] | None = None) -> Iterator[str]:
        for shard in range(BILLING_SHARDS) if shards is None else shards:
            if not 0 <= shard < BILLING_SHARDS:
                raise ValueError(f"billing shard {shard} outside 0..{BILLING_SHARDS - 1}")
            for item in self.table.query_all(
                IndexName=GSI1,
                KeyConditionExpression="gsi1pk = :shard",
                ExpressionAttributeValues={":shard": f"BILLING#{shard}"},
                ProjectionExpression="user_id",
            ):
                yield str(item["user_id"])

    def create_invoice(self, invoice: Invoice, *, lease_until: int) -> bool:
        created = self._conditional(
            self.table.put_item,
            Item={**_invoice_item(invoice), "lease_until": lease_until},
            ConditionExpression="attribute_not_exists(pk)",
        )
        return created is not None

    def claim_invoice(self, user_id: str, period: str, *, lease_until: int, now: int) -> bool:
        claimed = self._conditional(
            self.table.update_item,
            Key=_invoice_key(user_id, period),
            UpdateExpression="SET lease_until = :until",
            ConditionExpression="#s = :pending AND (attribute_not_exists(lease_until) OR lease_until < :now)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":until": lease_until,
                ":now": now,
                ":pending": str(InvoiceStatus.PENDING),
            },
        )
        return claimed is not None

    def get_invoice(self, user_id: str, period: str) -> Invoice | None:
        item = self.table.get_item(Key=_invoice_key(user_id, period), ConsistentRead=True).get("Item")
        return _record(Invoice, item) if item else None

    def settle_invoice(self, invoice: Invoice, account_status: SubscriptionStatus) -> bool:
        values: dict[str, Any] = {
            ":status": str(invoice.status),
            ":pending": str(InvoiceStatus.PENDING),
            ":ref": invoice.payment_reference or "",
            ":at": invoice.settled_at or iso(),
        }
        sets = ["#s = :status", "payment_reference = :ref", "settled_at = :at"]
        if invoice.decline_code:
            sets.append("decline_code = :decline")
            values[":decline"] = invoice.decline_code
        settle = {
            "Update": {
                "Key": _invoice_key(invoice.user_id, invoice.period),
                "UpdateExpression": "SET " + ", ".join(sets),
                "ConditionExpression": "#s = :pending",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": values,
            }
        }
        account = {
            "Update": {
                "Key": _account_key(invoice.user_id),
                "UpdateExpression": "SET subscription_status = :status, updated_at = :now",
                "ConditionExpression": "attribute_exists(pk) AND subscription_status <> :canceled",
                "ExpressionAttributeValues": {
                    ":status": str(account_status),
                    ":now": iso(),
                    ":canceled": str(SubscriptionStatus.CANCELED),
                },
            }
        }
        return self._transact([settle, account])

    def finish_cancellation(self, user_id: str) -> bool:
        finished = self._conditional(
            self.table.update_item,
            Key=_account_key(user_id),
            UpdateExpression=(
                "SET subscription_status = :canceled, cancel_at_period_end = :false, updated_at = :now "
                "REMOVE gsi1pk, gsi1sk"
            ),
            ConditionExpression="cancel_at_period_end = :true",
            ExpressionAttributeValues={
                ":canceled": str(SubscriptionStatus.CANCELED),
                ":false": False,
                ":true": True,
                ":now": iso(),
            },
        )
        return finished is not None
