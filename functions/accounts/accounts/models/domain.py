"""Domain records passed between logic and the data-access layer (no storage details)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


class InvoiceStatus(StrEnum):
    PENDING = "pending"  # issued, charge not settled yet (a crashed run resumes it)
    PAID = "paid"
    DECLINED = "declined"


DEFAULT_PAYMENT_METHOD = "pm_card_visa"


@dataclass
class Account:
    user_id: str
    email: str
    plan: str
    subscription_status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    cancel_at_period_end: bool = False
    payment_method: str = DEFAULT_PAYMENT_METHOD
    profile_count: int = 0
    created_at: str = ""
    updated_at: str = ""

    def __post_init__(self) -> None:
        self.subscription_status = SubscriptionStatus(self.subscription_status)  # stored as its string

    @property
    def billable(self) -> bool:
        return self.subscription_status != SubscriptionStatus.CANCELED


@dataclass
class Profile:
    user_id: str
    profile_id: str
    name: str
    kids: bool
    maturity_rating: str
    language: str
    avatar: str | None = None
    version: int = 1
    created_at: str = ""
    updated_at: str = ""


@dataclass
class Invoice:
    user_id: str
    period: str  # YYYY-MM
    invoice_id: str
    plan: str
    amount_cents: int
    currency: str
    status: InvoiceStatus = InvoiceStatus.PENDING
    payment_reference: str | None = None
    decline_code: str | None = None
    created_at: str = ""
    settled_at: str | None = None

    def __post_init__(self) -> None:
        self.status = InvoiceStatus(self.status)  # stored as its string


@dataclass(frozen=True)
class PendingSignUp:
    """A sign-up waiting for its verification code: the reservation token and the chosen plan."""

    token: str
    plan: str


@dataclass(frozen=True)
class Tokens:
    access_token: str
    id_token: str
    refresh_token: str
    expires_in: int


@dataclass
class BillingSummary:
    period: str
    invoiced: int = 0
    already_invoiced: int = 0
    declined: int = 0
    canceled: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
