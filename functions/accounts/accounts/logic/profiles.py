"""Viewer profiles: plan caps enforced atomically, kids profiles capped to a kids-safe rating."""

from __future__ import annotations

import uuid

from accounts.logic import plans
from accounts.logic.clock import iso
from accounts.logic.ports import AccountsRepository
from accounts.models.domain import Profile
from accounts.models.exceptions import AccountNotFound, ConcurrentUpdate, ProfileLimit, ProfileNotFound
from accounts.models.input import CreateProfileRequest, UpdateProfileRequest

_MAX_ATTEMPTS = 3


def list_profiles(user_id: str, repo: AccountsRepository) -> list[Profile]:
    return repo.list_profiles(user_id)


def get_profile(user_id: str, profile_id: str, repo: AccountsRepository) -> Profile:
    # The key contains the caller's user id: another account's profile is simply not found.
    profile = repo.get_profile(user_id, profile_id)
    if profile is None:
        raise ProfileNotFound()
    return profile


def create_profile(user_id: str, request: CreateProfileRequest, repo: AccountsRepository) -> Profile:
    rating = request.maturity_rating or (
        plans.KIDS_MAX_RATING if request.kids else plans.ADULT_DEFAULT_RATING
    )
    now = iso()
    profile = Profile(
        user_id=user_id,
        profile_id=uuid.uuid4().hex,
        name=request.name,
        kids=request.kids,
        maturity_rating=plans.cap_rating(rating, request.kids),
        language=request.language,
        avatar=request.avatar,
        created_at=now,
        updated_at=now,
    )
    for _ in range(_MAX_ATTEMPTS):
        account = repo.get_account(user_id, consistent=True)
        if account is None:
            raise AccountNotFound()
        cap = plans.plan(account.plan).max_profiles
        if account.profile_count >= cap:
            raise ProfileLimit(f"The {account.plan} plan allows {cap} profiles")
        # The transaction re-checks count < cap and plan unchanged: the read above is only advisory.
        if repo.add_profile(profile, plan=account.plan, max_profiles=cap):
            return profile
    # Every attempt lost a race (a concurrent create took the last slot, or the plan changed).
    account = repo.get_account(user_id, consistent=True)
    cap = plans.plan(account.plan).max_profiles if account else 0
    raise ProfileLimit(f"The {account.plan if account else 'current'} plan allows {cap} profiles")


def update_profile(
    user_id: str, profile_id: str, request: UpdateProfileRequest, repo: AccountsRepository
) -> Profile:
    changes = request.model_dump(exclude_unset=True)
    for key in ("name", "kids", "maturity_rating", "language"):
        if key in changes and changes[key] is None:
            del changes[key]  # explicit null only makes sense for the optional avatar
    for _ in range(_MAX_ATTEMPTS):
        current = repo.get_profile(user_id, profile_id, consistent=True)
        if current is None:
            raise ProfileNotFound()
        updated = Profile(**{**current.__dict__, **changes})
        # Leaving kids mode keeps the (kids-safe) rating: adult content is unlocked only explicitly.
        updated.maturity_rating = plans.cap_rating(updated.maturity_rating, updated.kids)
        updated.version = current.version + 1
        updated.updated_at = iso()
        if repo.replace_profile(updated, expected_version=current.version):
            return updated
    raise ConcurrentUpdate()


def delete_profile(user_id: str, profile_id: str, repo: AccountsRepository) -> None:
    if not repo.delete_profile(user_id, profile_id):
        raise ProfileNotFound()
