"""Sign-up, login and the account view."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from aws_lambda_powertools import Logger

from accounts.logic.clock import iso
from accounts.logic.ports import AccountsRepository, IdentityProvider
from accounts.models.domain import Account, Profile, SubscriptionStatus, Tokens
from accounts.models.exceptions import AccountNotFound, EmailTaken, InvalidCode
from accounts.models.input import ConfirmSignUpRequest, CreateAccountRequest, LoginRequest, RefreshRequest

logger = Logger(child=True)

# A pending reservation lives as long as Cognito's confirmation code (24 h). A new sign-up for the
# same email may replace it after RETAKE_AFTER_SECONDS ("the code never came": a new user, a new
# code), so nobody can hold someone else's address for a day by signing it up first.
RESERVATION_TTL_SECONDS = 24 * 60 * 60
RETAKE_AFTER_SECONDS = 5 * 60
# Every sign-up answers no sooner than this (monotonic seconds), whether or not the email is known,
# so that timing tells nothing either. Above the slowest new-email path measured (see docs).
SIGN_UP_MIN_SECONDS = 0.6


def request_sign_up(
    request: CreateAccountRequest,
    repo: AccountsRepository,
    identity: IdentityProvider,
    *,
    min_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Start a sign-up: the identity provider sends a verification code to the email.

    The caller learns nothing about the email: a known one returns the same way (nothing happens;
    its owner keeps the account), no sooner than ``min_seconds`` after the start like every other.
    Order for a new email: reserve it (conditional put, carrying the plan) -> Cognito SignUp (an
    unconfirmed user). A failure undoes both, so a failed request leaves nothing behind.
    """
    started = clock()
    try:
        _start_sign_up(request, repo, identity)
    finally:
        floor = SIGN_UP_MIN_SECONDS if min_seconds is None else min_seconds
        remaining = floor - (clock() - started)
        if remaining > 0:
            sleep(remaining)


def _start_sign_up(request: CreateAccountRequest, repo: AccountsRepository, identity: IdentityProvider) -> None:
    email = request.email
    token = secrets.token_hex(16)
    try:
        now = int(time.time())
        repo.reserve_email(
            email, token, now + RESERVATION_TTL_SECONDS, plan=request.plan, retake_after=now + RETAKE_AFTER_SECONDS
        )
    except EmailTaken:
        logger.info("sign-up for an email that is taken or pending: nothing to do")
        return
    try:
        try:
            identity.sign_up(email, request.password)
        except EmailTaken:
            if not _remove_orphan(email, repo, identity):
                raise
            identity.sign_up(email, request.password)
    except EmailTaken:
        # Cognito knows the email from outside this flow (an admin, a seeded user): leave it be.
        repo.release_email(email, token)
        logger.info("sign-up for an email Cognito already holds: nothing to do")
    except Exception as failure:
        # SignUp did not succeed, so there is no user of ours to delete (one left by a lost
        # response is removed as an orphan by the next sign-up): release the reservation only.
        _compensate(repo, identity, email, token, created_user=False, failure=failure)
        raise


def confirm_sign_up(request: ConfirmSignUpRequest, repo: AccountsRepository, identity: IdentityProvider) -> str:
    """Finish a sign-up with the emailed code; returns the new user id (Cognito ``sub``).

    Cognito checks the code (the proof of owning the mailbox); then one transaction turns the
    pending reservation active and writes the account. If that fails, the confirmed Cognito user
    is deleted and the reservation released: the person signs up again, nothing is half-made.
    """
    email = request.email
    identity.confirm_sign_up(email, request.code)
    reservation = repo.get_pending_reservation(email)
    user = identity.find_user(email)
    if reservation is None or user is None:
        raise InvalidCode()  # confirmed long ago, or the code answered for a user outside this flow
    now = iso()
    account = Account(
        user_id=user.user_id,
        email=email,
        plan=reservation.plan,
        subscription_status=SubscriptionStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    try:
        repo.create_account(account, reservation.token)
    except Exception as failure:
        _compensate(repo, identity, email, reservation.token, created_user=True, failure=failure)
        raise
    logger.info("account created", extra={"user_id": user.user_id, "plan": account.plan})
    return user.user_id


def _remove_orphan(email: str, repo: AccountsRepository, identity: IdentityProvider) -> bool:
    """Delete a Cognito user left behind by a sign-up that was never confirmed (or died).

    We hold the email reservation, so no other sign-up for this email is in flight (a pending
    reservation outlives its code). A Cognito user with no account item and no group membership
    can therefore only be such a leftover -- it can never log in to a usable account.
    Group members (admins, operators) are never touched.
    """
    existing = identity.find_user(email)
    if existing is None or existing.groups:
        return False
    if repo.get_account(existing.user_id, consistent=True) is not None:
        return False
    logger.warning("removing the orphaned identity of an unfinished sign-up", extra={"orphan_id": existing.user_id})
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
    try:
        if created_user:
            identity.delete_user(email)
        repo.release_email(email, token)
    except Exception:
        # Leave the reservation to its TTL; the Cognito user (if the delete failed) is logged for cleanup.
        logger.exception(
            "sign-up compensation failed", extra={"created_user": created_user, "failure": type(failure).__name__}
        )


def log_in(request: LoginRequest, identity: IdentityProvider) -> Tokens:
    return identity.authenticate(request.email, request.password)


def refresh_session(request: RefreshRequest, identity: IdentityProvider) -> Tokens:
    return identity.refresh(request.refresh_token)


def get_account(user_id: str, repo: AccountsRepository) -> Account:
    account = repo.get_account(user_id)
    if account is None:
        raise AccountNotFound()
    return account


def me(user_id: str, repo: AccountsRepository) -> tuple[Account, list[Profile]]:
    return get_account(user_id, repo), repo.list_profiles(user_id)
