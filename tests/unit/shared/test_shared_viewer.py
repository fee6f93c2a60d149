"""reelstack_common.viewer / maturity / plans: the read contract other services hold on the
accounts table. Items are written by the accounts service's own repository, so a change to its
item layout breaks these tests instead of silently breaking playback, search and home."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from accounts.dal.dynamo_repository import DynamoAccountsRepository
from accounts.models.domain import Account, Profile, SubscriptionStatus
from moto import mock_aws
from reelstack_common import dynamo
from reelstack_common.maturity import ADULTS, LITTLE_KIDS, OLDER_KIDS, TEENS, allows, profile_level, title_level
from reelstack_common.plans import PLANS, height_caps, resolution_height
from reelstack_common.ttl_cache import TtlCache
from reelstack_common.viewer import ProfileNotFound, load_profile_level, load_viewer

from tests.unit.tables import create_single_table

TABLE = "accounts-test"


@pytest.fixture
def repo() -> Iterator[DynamoAccountsRepository]:
    with mock_aws():
        dynamo.reset()
        create_single_table(boto3.resource("dynamodb"), TABLE)
        repository = DynamoAccountsRepository(TABLE)
        yield repository
        dynamo.reset()


def _account(repo: DynamoAccountsRepository, user_id: str, plan: str, status: SubscriptionStatus) -> None:
    account = Account(user_id=user_id, email=f"{user_id}@example.com", plan=plan, subscription_status=status)
    repo.reserve_email(account.email, "tok", 2_000_000_000, plan=plan, retake_after=2_000_000_000)
    repo.create_account(account, "tok")


def _profile(
    repo: DynamoAccountsRepository, user_id: str, profile_id: str, *, kids: bool, rating: str, plan: str
) -> None:
    profile = Profile(user_id=user_id, profile_id=profile_id, name=profile_id.title(), kids=kids,
                      maturity_rating=rating, language="pt-BR")
    assert repo.add_profile(profile, plan=plan, max_profiles=PLANS[plan].max_profiles)


def test_load_viewer_reads_what_the_accounts_service_wrote(repo: DynamoAccountsRepository) -> None:
    _account(repo, "u1", "standard", SubscriptionStatus.PAST_DUE)
    _profile(repo, "u1", "kid", kids=True, rating="7+", plan="standard")
    viewer = load_viewer("u1", "kid", table_name=TABLE, consistent=True)
    assert (viewer.account_id, viewer.profile_id, viewer.profile_name) == ("u1", "kid", "Kid")
    assert viewer.kids and viewer.maturity_rating == "7+" and viewer.language == "pt-BR"
    assert viewer.plan == PLANS["standard"] and viewer.max_height == 1080
    assert viewer.subscription_status == "past_due" and not viewer.subscription_active
    assert viewer.max_level == OLDER_KIDS


def test_load_profile_level_reads_the_profile_item_alone(repo: DynamoAccountsRepository) -> None:
    _account(repo, "u1", "standard", SubscriptionStatus.ACTIVE)
    _profile(repo, "u1", "kid", kids=True, rating="7+", plan="standard")
    _profile(repo, "u1", "grown", kids=False, rating="18+", plan="standard")
    assert load_profile_level("u1", "kid", table_name=TABLE, consistent=True) == OLDER_KIDS
    assert load_profile_level("u1", "grown", table_name=TABLE, consistent=True) == ADULTS
    for user, profile in (("u2", "kid"), ("u1", "nobody"), ("u1", ""), ("u1", "x" * 129)):
        with pytest.raises(ProfileNotFound):
            load_profile_level(user, profile, table_name=TABLE, consistent=True)


def test_ttl_cache_expires_is_bounded_and_can_be_off() -> None:
    now = [0.0]
    cache: TtlCache[str, int] = TtlCache(5.0, clock=lambda: now[0], max_entries=3)
    cache.put("a", 1)
    now[0] = 4.9
    assert cache.get("a") == 1
    now[0] = 5.0
    assert cache.get("a") is None
    for k in "bcd":
        cache.put(k, 2)
    cache.put("e", 3)  # a fourth distinct key: starts over rather than grow
    assert [cache.get(k) for k in "bcde"] == [None, None, None, 3]
    # The bound counts from when the read started: a read that took 4 s keeps its value 1 s more,
    # and a slow read of an older state never replaces an entry read later.
    slow: TtlCache[str, int] = TtlCache(5.0, clock=lambda: now[0])
    now[0] = 100.0
    started = slow.now()
    now[0] = 104.0
    slow.put("p", 1, started)
    now[0] = 104.9
    assert slow.get("p") == 1
    now[0] = 105.0
    assert slow.get("p") is None
    slow.put("p", 2, 104.0)  # read from 104 to 105
    slow.put("p", 1, 103.0)  # an older read that finished later
    assert slow.get("p") == 2
    off: TtlCache[str, int] = TtlCache(0)
    off.put("a", 1)
    assert off.get("a") is None


def test_another_accounts_profile_is_not_found(repo: DynamoAccountsRepository) -> None:
    _account(repo, "u1", "basic", SubscriptionStatus.ACTIVE)
    _account(repo, "u2", "basic", SubscriptionStatus.ACTIVE)
    _profile(repo, "u1", "p1", kids=False, rating="18+", plan="basic")
    assert load_viewer("u1", "p1", table_name=TABLE, consistent=True).subscription_active
    for user, profile in (("u2", "p1"), ("u1", "nope"), ("ghost", "p1"), ("u1", ""), ("u1", "x" * 200)):
        with pytest.raises(ProfileNotFound):
            load_viewer(user, profile, table_name=TABLE, consistent=True)


@pytest.mark.parametrize(
    ("rating", "level"),
    [("TV-Y", LITTLE_KIDS), ("G", LITTLE_KIDS), ("PG", OLDER_KIDS), ("tv-y7", OLDER_KIDS),
     ("PG-13", TEENS), ("TV-14", TEENS), ("R", ADULTS), ("TV-MA", ADULTS), ("NR", ADULTS), (None, ADULTS)],
)
def test_title_levels_fail_closed(rating: str | None, level: int) -> None:
    assert title_level(rating) == level


def test_profile_levels_and_allows() -> None:
    assert [profile_level(m) for m in ("ALL", "7+", "13+", "16+", "18+", "bogus", None)] == [0, 1, 2, 2, 3, 0, 0]
    assert allows("7+", "TV-Y7") and not allows("7+", "PG-13")
    assert allows("18+", "TV-MA") and not allows("16+", "R") and allows("18+", None)


def test_plan_heights_and_caps() -> None:
    assert [p.max_height for p in PLANS.values()] == [720, 1080, 2160]
    assert height_caps() == (720, 1080, 2160)
    with pytest.raises(ValueError):
        resolution_height("HD")
