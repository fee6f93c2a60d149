"""Who is watching: the caller's account and one of its profiles, read for the services that act
on a profile's behalf (playback, search, the home page).

The accounts table is the accounts service's; this module is its documented read contract
(docs/architecture.md, "Accounts table"): ``pk = ACCOUNT#<user_id>`` with ``sk = ACCOUNT`` (plan,
subscription_status) and ``sk = PROFILE#<profile_id>`` (name, kids, maturity_rating, language).
Both live in the caller's partition, so a profile id taken from another account is simply not
found: ownership needs no separate check and leaks nothing about other accounts.

Reads are eventually consistent and go through ``reelstack_common.dynamo`` (DAX when configured):
a profile created a moment ago may take up to a second to be visible here, and a plan change
reaches playback within the cache TTL. Needs env ``ACCOUNTS_TABLE`` and ``dynamodb:GetItem`` on
that table (``BatchGetItem`` when DAX is off is not used: two GetItems keep the grant minimal).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from reelstack_common import dynamo
from reelstack_common.maturity import profile_level
from reelstack_common.plans import DEFAULT_PLAN, PLANS, Plan

ACTIVE = "active"


class ProfileNotFound(LookupError):
    """The profile does not exist in the caller's account (or the account does not exist)."""


@dataclass(frozen=True)
class Viewer:
    account_id: str
    profile_id: str
    profile_name: str
    kids: bool
    maturity_rating: str
    language: str
    plan: Plan
    subscription_status: str

    @property
    def max_level(self) -> int:
        """The highest maturity level (reelstack_common.maturity) this profile may see."""
        return profile_level(self.maturity_rating)

    @property
    def max_height(self) -> int:
        return self.plan.max_height

    @property
    def subscription_active(self) -> bool:
        return self.subscription_status == ACTIVE


def _key(user_id: str, sk: str) -> dict[str, str]:
    return {"pk": f"ACCOUNT#{user_id}", "sk": sk}


def _item(table: Any, user_id: str, sk: str, consistent: bool) -> dict[str, Any] | None:
    item: dict[str, Any] | None = table.get_item(Key=_key(user_id, sk), ConsistentRead=consistent).get("Item")
    return item


def load_viewer(
    user_id: str, profile_id: str, *, table_name: str | None = None, consistent: bool = False
) -> Viewer:
    """The caller's profile and account. Raises ProfileNotFound when either is missing, so a
    profile of another account answers exactly like an unknown one."""
    if not user_id or not profile_id or len(profile_id) > 128:
        raise ProfileNotFound(profile_id)
    table = dynamo.table(table_name or os.environ["ACCOUNTS_TABLE"])
    profile = _item(table, user_id, f"PROFILE#{profile_id}", consistent)
    if profile is None:
        raise ProfileNotFound(profile_id)
    account = _item(table, user_id, "ACCOUNT", consistent)
    if account is None:
        raise ProfileNotFound(profile_id)
    kids = bool(profile.get("kids", False))
    return Viewer(
        account_id=user_id,
        profile_id=profile_id,
        profile_name=str(profile.get("name", "")),
        kids=kids,
        # A profile item always carries its rating; if one ever does not, fail closed.
        maturity_rating=str(profile.get("maturity_rating", "7+" if kids else "ALL")),
        language=str(profile.get("language", "en")),
        plan=PLANS.get(str(account.get("plan", DEFAULT_PLAN)), PLANS[DEFAULT_PLAN]),
        subscription_status=str(account.get("subscription_status", ACTIVE)),
    )
