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
that table. A service that reads other items on the same request can fetch the two viewer items in
its own BatchGetItem (``viewer_keys``, then ``viewer_from_items``): one round trip for all of them
(the home page does; it then needs ``dynamodb:BatchGetItem`` on this table).
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


def viewer_keys(user_id: str, profile_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """The accounts-table keys of the caller's profile item and account item, in that order."""
    return _key(user_id, f"PROFILE#{profile_id}"), _key(user_id, "ACCOUNT")


def _item(table: Any, user_id: str, sk: str, consistent: bool) -> dict[str, Any] | None:
    item: dict[str, Any] | None = table.get_item(Key=_key(user_id, sk), ConsistentRead=consistent).get("Item")
    return item


def _valid_request(user_id: str, profile_id: str) -> bool:
    return bool(user_id) and bool(profile_id) and len(profile_id) <= 128


def _profile(user_id: str, profile_id: str, table_name: str | None, consistent: bool) -> tuple[Any, dict[str, Any]]:
    """The accounts table and the caller's profile item; ProfileNotFound when there is none."""
    if not _valid_request(user_id, profile_id):
        raise ProfileNotFound(profile_id)
    table = dynamo.table(table_name or os.environ["ACCOUNTS_TABLE"])
    profile = _item(table, user_id, f"PROFILE#{profile_id}", consistent)
    if profile is None:
        raise ProfileNotFound(profile_id)
    return table, profile


def _maturity_rating(profile: dict[str, Any]) -> str:
    # A profile item always carries its rating; if one ever does not, fail closed.
    return str(profile.get("maturity_rating", "7+" if profile.get("kids", False) else "ALL"))


def viewer_from_items(
    user_id: str, profile_id: str, profile: dict[str, Any] | None, account: dict[str, Any] | None
) -> Viewer:
    """The Viewer from the two items of ``viewer_keys`` (as read, None when absent). Raises
    ProfileNotFound when either is missing, exactly as ``load_viewer`` does."""
    if not _valid_request(user_id, profile_id) or profile is None or account is None:
        raise ProfileNotFound(profile_id)
    kids = bool(profile.get("kids", False))
    return Viewer(
        account_id=user_id,
        profile_id=profile_id,
        profile_name=str(profile.get("name", "")),
        kids=kids,
        maturity_rating=_maturity_rating(profile),
        language=str(profile.get("language", "en")),
        plan=PLANS.get(str(account.get("plan", DEFAULT_PLAN)), PLANS[DEFAULT_PLAN]),
        subscription_status=str(account.get("subscription_status", ACTIVE)),
    )


def load_profile_level(
    user_id: str, profile_id: str, *, table_name: str | None = None, consistent: bool = False
) -> int:
    """The highest maturity level the caller's profile may see, from the profile item alone (one
    GetItem: a service that needs no plan or subscription, such as search, skips the account
    item). Raises ProfileNotFound as ``load_viewer`` does; an item without a rating fails closed."""
    _table, profile = _profile(user_id, profile_id, table_name, consistent)
    return profile_level(_maturity_rating(profile))


def load_viewer(user_id: str, profile_id: str, *, table_name: str | None = None, consistent: bool = False) -> Viewer:
    """The caller's profile and account. Raises ProfileNotFound when either is missing, so a
    profile of another account answers exactly like an unknown one."""
    table, profile = _profile(user_id, profile_id, table_name, consistent)
    account = _item(table, user_id, "ACCOUNT", consistent)
    return viewer_from_items(user_id, profile_id, profile, account)
