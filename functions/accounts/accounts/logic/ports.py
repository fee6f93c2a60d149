"""Ports: what the logic needs from the outside world. Adapters live in ``accounts.dal``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from accounts.models.domain import Account, Invoice, PendingSignUp, Profile, SubscriptionStatus, Tokens


class AccountsRepository(ABC):
    """Accounts, email reservations, profiles and invoices (one DynamoDB table in production)."""

    # sign-up
    @abstractmethod
    def reserve_email(self, email: str, token: str, expires_at: int, *, plan: str, retake_after: int) -> None:
        """Claim ``email`` for a sign-up (remembering its plan) until it is confirmed or ``expires_at``.

        ``EmailTaken`` if an account holds it, or a pending sign-up younger than its ``retake_after``."""

    @abstractmethod
    def get_pending_reservation(self, email: str) -> PendingSignUp | None:
        """The sign-up waiting for its verification code, if any (the email is not active yet)."""

    @abstractmethod
    def release_email(self, email: str, token: str) -> None:
        """Undo ``reserve_email`` (only the holder of ``token`` can)."""

    @abstractmethod
    def create_account(self, account: Account, reservation_token: str) -> None:
        """Atomically confirm the email reservation and create the account."""

    # accounts
    @abstractmethod
    def get_account(self, user_id: str, *, consistent: bool = False) -> Account | None: ...

    @abstractmethod
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
        """Conditional update; None when the profile count exceeds ``max_profiles`` or the status moved."""

    @abstractmethod
    def request_cancel(self, user_id: str) -> Account | None:
        """Flag cancel-at-period-end; None unless the subscription is active or past due."""

    # profiles
    @abstractmethod
    def list_profiles(self, user_id: str, *, consistent: bool = False) -> list[Profile]: ...

    @abstractmethod
    def get_profile(self, user_id: str, profile_id: str, *, consistent: bool = False) -> Profile | None: ...

    @abstractmethod
    def add_profile(self, profile: Profile, *, plan: str, max_profiles: int) -> bool:
        """Atomically count and store the profile; False if the cap is reached or the plan changed."""

    @abstractmethod
    def replace_profile(self, profile: Profile, *, expected_version: int) -> bool:
        """Optimistic write; False if the stored version is not ``expected_version``."""

    @abstractmethod
    def delete_profile(self, user_id: str, profile_id: str) -> bool:
        """Atomically delete and uncount; False if there was no such profile."""

    # billing
    @abstractmethod
    def list_invoices(self, user_id: str) -> list[Invoice]: ...

    @abstractmethod
    def billable_account_ids(self, shards: Sequence[int] | None = None) -> Iterator[str]:
        """Ids of accounts that are not canceled (without a full-table scan).

        ``shards`` restricts the walk to some partitions of the billing index (fan-out)."""

    @abstractmethod
    def create_invoice(self, invoice: Invoice, *, lease_until: int) -> bool:
        """Issue the invoice, leased to the caller for charging until ``lease_until`` (epoch seconds).

        False when one exists for the same account and period (someone else issued it)."""

    @abstractmethod
    def claim_invoice(self, user_id: str, period: str, *, lease_until: int, now: int) -> bool:
        """Lease a pending invoice for charging; False unless it is pending and its lease has expired."""

    @abstractmethod
    def get_invoice(self, user_id: str, period: str) -> Invoice | None: ...

    @abstractmethod
    def settle_invoice(self, invoice: Invoice, account_status: SubscriptionStatus) -> bool:
        """Record the charge outcome on the invoice and the account status, atomically.

        False when the invoice is no longer pending (another run settled it)."""

    @abstractmethod
    def finish_cancellation(self, user_id: str) -> bool:
        """Move a cancel-at-period-end subscription to canceled; False if no longer flagged."""


@dataclass(frozen=True)
class IdentityUser:
    user_id: str
    groups: tuple[str, ...]


class IdentityProvider(ABC):
    """The credential store (Cognito). Passwords go here and nowhere else."""

    @abstractmethod
    def find_user(self, email: str) -> IdentityUser | None: ...

    @abstractmethod
    def sign_up(self, email: str, password: str) -> str:
        """Create an unconfirmed user and send it a verification code; returns its id (``sub``).

        Raises ``EmailTaken`` when the user exists, ``WeakPassword`` when the policy refuses it."""

    @abstractmethod
    def confirm_sign_up(self, email: str, code: str) -> None:
        """Confirm the user with its emailed code; ``InvalidCode`` for any refusal alike."""

    @abstractmethod
    def delete_user(self, email: str) -> None: ...

    @abstractmethod
    def authenticate(self, email: str, password: str) -> Tokens:
        """Raises ``InvalidCredentials`` for an unknown email or a wrong password alike."""

    @abstractmethod
    def refresh(self, refresh_token: str) -> Tokens:
        """New access and id tokens for a refresh token (which stays the same); raises
        ``InvalidRefreshToken`` for any refusal alike."""


@dataclass(frozen=True)
class ChargeRequest:
    account_id: str
    amount_cents: int
    currency: str
    payment_method: str
    idempotency_key: str  # the invoice id: retrying a charge never charges twice
    description: str


@dataclass(frozen=True)
class ChargeResult:
    approved: bool
    reference: str
    decline_code: str | None = None


class PaymentProvider(ABC):
    """The payment processor port (Stripe-like)."""

    @abstractmethod
    def charge(self, request: ChargeRequest) -> ChargeResult: ...
