"""Sign-up, login and the account view."""

from __future__ import annotations

import secrets
import time

from aws_lambda_powertools import Logger

from accounts.logic.clock import iso
from accounts.logic.ports import AccountsRepository, IdentityProvider
from accounts.models.domain import Account, Profile, SubscriptionStatus, Tokens
from accounts.models.exceptions import AccountNotFound, EmailTaken
from accounts.models.input import CreateAccountRequest, LoginRequest

logger = Logger(child=True)

# A crashed sign-up must not hold an email forever: pending reservations expire (DynamoDB TTL).
RESERVATION_TTL_SECONDS = 15 * 60


def sign_up(request: CreateAccountRequest, repo: AccountsRepository, identity: IdentityProvider) -> str:
    """Create the Cognito user and the account; returns the user id (Cognito ``sub``).

    Order: reserve the email (conditional put: the uniqueness guard) -> Cognito user -> one
    transaction confirming the reservation and writing the account. Every failure after the
    reservation undoes what was done, so a failed request leaves neither a Cognito user nor a
    reservation behind.
    """
    email = request.email
    token = secrets.token_hex(16)
    repo.reserve_email(email, token, int(time.time()) + RESERVATION_TTL_SECONDS)
    user_id: str | None = None
    try:
        try:
            user_id = identity.create_user(email, request.password)
        except EmailTaken:
            if not _remove_orphan(email, repo, identity):
                raise
            user_id = identity.create_user(email, request.password)
        now = iso()
        account = Account(
            user_id=user_id,
            email=email,
            plan=request.plan,
            subscription_status=SubscriptionStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )
        repo.create_account(account, token)
    except Exception as failure:
        _compensate(repo, identity, email, token, created_user=user_id is not None, failure=failure)
        raise
    logger.info("account created", extra={"user_id": user_id, "plan": request.plan})
    return user_id


def _remove_orphan(email: str, repo: AccountsRepository, identity: IdentityProvider) -> bool:
    """Delete a Cognito user left behind by a sign-up that died before compensating.

    We hold the email reservation, so no other sign-up for this email is in flight (a pending
    reservation outlives any request by far). A Cognito user with no account item and no group
    membership can therefore only be such a leftover -- it can never log in to a usable account.
    Group members (admins, operators) are never touched.
    """
    existing = identity.find_user(email)
    if existing is None or existing.groups:
        return False
    if repo.get_account(existing.user_id, consistent=True) is not None:
        return False
    logger.warning("removing the orphaned identity of a failed sign-up", extra={"orphan_id": existing.user_id})
    identity.delete_user(email)
    return True


def _compensate(
    repo: AccountsRepository,
    identity: IdentityProvider,
    email: str,
    token: str,
    *,
    created_user: bool,
    failure: Exception,
) -> None:
    if isinstance(failure, EmailTaken) and not created_user:
        # Cognito already knew the email (an account created outside this flow): keep it.
        repo.release_email(email, token)
        return
    try:
        if created_user:
            identity.delete_user(email)
        repo.release_email(email, token)
    except Exception:
        # Leave the reservation to its TTL; the Cognito user (if the delete failed) is logged for cleanup.
        logger.exception("sign-up compensation failed", extra={"created_user": created_user})


def log_in(request: LoginRequest, identity: IdentityProvider) -> Tokens:
    return identity.authenticate(request.email, request.password)


def get_account(user_id: str, repo: AccountsRepository) -> Account:
    account = repo.get_account(user_id)
    if account is None:
        raise AccountNotFound()
    return account


def me(user_id: str, repo: AccountsRepository) -> tuple[Account, list[Profile]]:
    return get_account(user_id, repo), repo.list_profiles(user_id)
