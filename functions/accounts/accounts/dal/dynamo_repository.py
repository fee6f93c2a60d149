"""DynamoDB adapter of ``AccountsRepository`` (single table ``$ACCOUNTS_TABLE``).

Item layout (keys ``pk``/``sk`` S; GSI ``gsi1`` on ``gsi1pk``/``gsi1sk`` S, projection ALL; TTL
attribute ``expires_at``):

=====================  ==================  =================  ==================================
item                   pk                  sk                 other attributes
=====================  ==================  =================  ==================================
email reservation      EMAIL#<email>       EMAIL              type=email, status pending|active,
                                                              token (pending only), user_id,
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
                                                              decline_code, created_at, settled_at
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
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError
from reelstack_common import dynamo

from accounts.logic.clock import iso
from accounts.logic.ports import AccountsRepository
from accounts.models.domain import Account, Invoice, InvoiceStatus, Profile, SubscriptionStatus
from accounts.models.exceptions import ConcurrentUpdate, EmailTaken

BILLING_SHARDS = 8
GSI1 = "gsi1"
_CONFLICT_RETRIES = 4


def account_pk(user_id: str) -> str:
    return f"ACCOUNT#{user_id}"


def email_pk(email: str) -> str:
    return f"EMAIL#{email.lower()}"


def billing_shard(user_id: str) -> int:
    return int(hashlib.sha256(user_id.encode()).hexdigest()[:8], 16) % BILLING_SHARDS


def _billing_keys(user_id: str) -> dict[str, str]:
    return {"gsi1pk": f"BILLING#{billing_shard(user_id)}", "gsi1sk": account_pk(user_id)}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _account(item: Mapping[str, Any]) -> Account:
    return Account(
        user_id=item["user_id"],
        email=item["email"],
        plan=item["plan"],
        subscription_status=SubscriptionStatus(item.get("subscription_status", "active")),
        cancel_at_period_end=bool(item.get("cancel_at_period_end", False)),
        payment_method=item.get("payment_method", "pm_card_visa"),
        profile_count=int(_plain(item.get("profile_count", 0))),
        created_at=item.get("created_at", ""),
        updated_at=item.get("updated_at", ""),
    )


def _profile(item: Mapping[str, Any]) -> Profile:
    return Profile(
        user_id=item["user_id"],
        profile_id=item["profile_id"],
        name=item["name"],
        kids=bool(item.get("kids", False)),
        maturity_rating=item["maturity_rating"],
        language=item.get("language", "en"),
        avatar=item.get("avatar"),
        version=int(_plain(item.get("version", 1))),
        created_at=item.get("created_at", ""),
        updated_at=item.get("updated_at", ""),
    )


def _profile_item(p: Profile) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": account_pk(p.user_id),
        "sk": f"PROFILE#{p.profile_id}",
        "type": "profile",
        "user_id": p.user_id,
        "profile_id": p.profile_id,
        "name": p.name,
        "kids": p.kids,
        "maturity_rating": p.maturity_rating,
        "language": p.language,
        "version": p.version,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }
    if p.avatar is not None:
        item["avatar"] = p.avatar
    return item


def _invoice(item: Mapping[str, Any]) -> Invoice:
    return Invoice(
        user_id=item["user_id"],
        period=item["period"],
        invoice_id=item["invoice_id"],
        plan=item["plan"],
        amount_cents=int(_plain(item["amount_cents"])),
        currency=item["currency"],
        status=InvoiceStatus(item["status"]),
        payment_reference=item.get("payment_reference"),
        decline_code=item.get("decline_code"),
        created_at=item.get("created_at", ""),
        settled_at=item.get("settled_at"),
    )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class DynamoAccountsRepository(AccountsRepository):
    def __init__(self, table_name: str) -> None:
        self.table = dynamo.table(table_name)

    # --- transactions with retry on TransactionConflict ----------------------------------------

    def _transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction; None on success, else the per-item cancellation codes."""
        for attempt in range(_CONFLICT_RETRIES):
            try:
                self.table.transact_write(items)
                return None
            except ClientError as error:
                if _code(error) != "TransactionCanceledException":
                    raise
                codes = dynamo.cancellation_codes(error)
                if "ConditionalCheckFailed" in codes or "TransactionConflict" not in codes:
                    return codes or ["Unknown"]
                time.sleep(0.02 * (2**attempt))  # another transaction held one of the items
        raise ConcurrentUpdate()

    # --- sign-up --------------------------------------------------------------------------------

    def reserve_email(self, email: str, token: str, expires_at: int) -> None:
        try:
            self.table.put_item(
                Item={
                    "pk": email_pk(email),
                    "sk": "EMAIL",
                    "type": "email",
                    "status": "pending",
                    "token": token,
                    "expires_at": expires_at,
                },
                # An expired pending reservation (TTL deletion lags) is free to take.
                ConditionExpression="attribute_not_exists(pk) OR (#s = :pending AND expires_at < :now)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":pending": "pending", ":now": int(time.time())},
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                raise EmailTaken() from None
            raise

    def release_email(self, email: str, token: str) -> None:
        try:
            self.table.delete_item(
                Key={"pk": email_pk(email), "sk": "EMAIL"},
                ConditionExpression="#t = :token",
                ExpressionAttributeNames={"#t": "token"},
                ExpressionAttributeValues={":token": token},
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise

    def create_account(self, account: Account, reservation_token: str) -> None:
        item = {
            "pk": account_pk(account.user_id),
            "sk": "ACCOUNT",
            "type": "account",
            "user_id": account.user_id,
            "email": account.email,
            "plan": account.plan,
            "subscription_status": str(account.subscription_status),
            "cancel_at_period_end": account.cancel_at_period_end,
            "payment_method": account.payment_method,
            "profile_count": account.profile_count,
            "created_at": account.created_at,
            "updated_at": account.updated_at,
            **(_billing_keys(account.user_id) if account.billable else {}),
        }
        codes = self._transact(
            [
                {
                    "Update": {
                        "Key": {"pk": email_pk(account.email), "sk": "EMAIL"},
                        "UpdateExpression": "SET #s = :active, user_id = :uid REMOVE expires_at, #t",
                        "ConditionExpression": "#t = :token AND #s = :pending",
                        "ExpressionAttributeNames": {"#s": "status", "#t": "token"},
                        "ExpressionAttributeValues": {
                            ":active": "active",
                            ":pending": "pending",
                            ":uid": account.user_id,
                            ":token": reservation_token,
                        },
                    }
                },
                {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )
        if codes is not None:
            if codes and codes[0] == "ConditionalCheckFailed":
                raise EmailTaken()  # our reservation expired and someone else took the email
            raise RuntimeError(f"account creation cancelled: {codes}")

    # --- accounts -------------------------------------------------------------------------------

    def get_account(self, user_id: str, *, consistent: bool = False) -> Account | None:
        item = self.table.get_item(
            Key={"pk": account_pk(user_id), "sk": "ACCOUNT"}, ConsistentRead=consistent
        ).get("Item")
        return _account(item) if item else None

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
        try:
            response = self.table.update_item(
                Key={"pk": account_pk(user_id), "sk": "ACCOUNT"},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=(
                    "attribute_exists(pk) AND subscription_status = :expected AND "
                    "(attribute_not_exists(profile_count) OR profile_count <= :max)"
                ),
                ExpressionAttributeNames={"#plan": "plan"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return _account(response["Attributes"])

    def request_cancel(self, user_id: str) -> Account | None:
        try:
            response = self.table.update_item(
                Key={"pk": account_pk(user_id), "sk": "ACCOUNT"},
                UpdateExpression="SET cancel_at_period_end = :true, updated_at = :now",
                ConditionExpression="attribute_exists(pk) AND subscription_status IN (:active, :past_due)",
                ExpressionAttributeValues={
                    ":true": True,
                    ":now": iso(),
                    ":active": "active",
                    ":past_due": "past_due",
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return _account(response["Attributes"])

    # --- profiles -------------------------------------------------------------------------------

    def list_profiles(self, user_id: str, *, consistent: bool = False) -> list[Profile]:
        items = self.table.query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": account_pk(user_id), ":prefix": "PROFILE#"},
            ConsistentRead=consistent,
        )
        return sorted((_profile(i) for i in items), key=lambda p: (p.created_at, p.profile_id))

    def get_profile(self, user_id: str, profile_id: str, *, consistent: bool = False) -> Profile | None:
        item = self.table.get_item(
            Key={"pk": account_pk(user_id), "sk": f"PROFILE#{profile_id}"}, ConsistentRead=consistent
        ).get("Item")
        return _profile(item) if item else None

    def add_profile(self, profile: Profile, *, plan: str, max_profiles: int) -> bool:
        codes = self._transact(
            [
                {
                    "Update": {
                        "Key": {"pk": account_pk(profile.user_id), "sk": "ACCOUNT"},
                        "UpdateExpression": (
                            "SET profile_count = if_not_exists(profile_count, :zero) + :one, "
                            "updated_at = :now"
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
                },
                {"Put": {"Item": _profile_item(profile), "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )
        if codes is None:
            return True
        if codes[:1] == ["ConditionalCheckFailed"]:
            return False
        raise RuntimeError(f"profile creation cancelled: {codes}")

    def replace_profile(self, profile: Profile, *, expected_version: int) -> bool:
        try:
            self.table.put_item(
                Item=_profile_item(profile),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": expected_version},
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delete_profile(self, user_id: str, profile_id: str) -> bool:
        profile_key = {"pk": account_pk(user_id), "sk": f"PROFILE#{profile_id}"}
        codes = self._transact(
            [
                {"Delete": {"Key": profile_key, "ConditionExpression": "attribute_exists(pk)"}},
                {
                    "Update": {
                        "Key": {"pk": account_pk(user_id), "sk": "ACCOUNT"},
                        "UpdateExpression": "SET profile_count = profile_count - :one, updated_at = :now",
                        "ConditionExpression": "profile_count > :zero",
                        "ExpressionAttributeValues": {":one": 1, ":zero": 0, ":now": iso()},
                    }
                },
            ]
        )
        if codes is None:
            return True
        if codes[:1] == ["ConditionalCheckFailed"]:
            return False
        # The profile exists but the counter is already 0 (should not happen): drop the profile anyway.
        self.table.delete_item(Key=profile_key)
        return True

    # --- billing --------------------------------------------------------------------------------

    def list_invoices(self, user_id: str) -> list[Invoice]:
        items = self.table.query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": account_pk(user_id), ":prefix": "INVOICE#"},
            ScanIndexForward=False,
        )
        return [_invoice(i) for i in items]

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

    def create_invoice(self, invoice: Invoice) -> bool:
        item: dict[str, Any] = {
            "pk": account_pk(invoice.user_id),
            "sk": f"INVOICE#{invoice.period}",
            "type": "invoice",
            "user_id": invoice.user_id,
            "invoice_id": invoice.invoice_id,
            "period": invoice.period,
            "plan": invoice.plan,
            "amount_cents": invoice.amount_cents,
            "currency": invoice.currency,
            "status": str(invoice.status),
            "created_at": invoice.created_at,
        }
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_invoice(self, user_id: str, period: str) -> Invoice | None:
        item = self.table.get_item(
            Key={"pk": account_pk(user_id), "sk": f"INVOICE#{period}"}, ConsistentRead=True
        ).get("Item")
        return _invoice(item) if item else None

    def settle_invoice(self, invoice: Invoice, account_status: SubscriptionStatus) -> None:
        values: dict[str, Any] = {
            ":status": str(invoice.status),
            ":pending": "pending",
            ":ref": invoice.payment_reference or "",
            ":at": invoice.settled_at or iso(),
        }
        sets = ["#s = :status", "payment_reference = :ref", "settled_at = :at"]
        if invoice.decline_code:
            sets.append("decline_code = :decline")
            values[":decline"] = invoice.decline_code
        codes = self._transact(
            [
                {
                    "Update": {
                        "Key": {"pk": account_pk(invoice.user_id), "sk": f"INVOICE#{invoice.period}"},
                        "UpdateExpression": "SET " + ", ".join(sets),
                        "ConditionExpression": "#s = :pending",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": values,
                    }
                },
                {
                    "Update": {
                        "Key": {"pk": account_pk(invoice.user_id), "sk": "ACCOUNT"},
                        "UpdateExpression": "SET subscription_status = :status, updated_at = :now",
                        "ConditionExpression": "attribute_exists(pk) AND subscription_status <> :canceled",
                        "ExpressionAttributeValues": {
                            ":status": str(account_status),
                            ":now": iso(),
                            ":canceled": "canceled",
                        },
                    }
                },
            ]
        )
        if codes is not None:
            raise RuntimeError(f"invoice settlement cancelled: {codes}")

    def finish_cancellation(self, user_id: str) -> bool:
        try:
            self.table.update_item(
                Key={"pk": account_pk(user_id), "sk": "ACCOUNT"},
                UpdateExpression=(
                    "SET subscription_status = :canceled, cancel_at_period_end = :false, updated_at = :now "
                    "REMOVE gsi1pk, gsi1sk"
                ),
                ConditionExpression="cancel_at_period_end = :true",
                ExpressionAttributeValues={
                    ":canceled": "canceled",
                    ":false": False,
                    ":true": True,
                    ":now": iso(),
                },
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True
