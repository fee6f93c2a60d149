"""Response bodies (the public JSON contract)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict

from accounts.logic.plans import Plan
from accounts.models.domain import Account


class _FromRecord(BaseModel):
    """A response made of a domain record's same-named attributes; the record's others (keys,
    versions, timestamps) stay private because the response does not declare them."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, record: object) -> Self:
        return cls.model_validate(record)


class SignUpAccepted(BaseModel):
    """The one answer to every well-formed sign-up: it never says whether the email was known."""

    status: str = "VERIFICATION_PENDING"
    message: str = (
        "If this email can be used, a verification code has been sent to it; "
        "confirm with POST /accounts/confirm"
    )


class AccountCreated(BaseModel):
    user_id: str


class TokensOut(_FromRecord):
    access_token: str
    id_token: str
    refresh_token: str
    expires_in: int


class ProfileOut(_FromRecord):
    profile_id: str
    name: str
    kids: bool
    maturity_rating: str
    language: str
    avatar: str | None


class ProfileList(BaseModel):
    profiles: list[ProfileOut]


class MeOut(BaseModel):
    user_id: str
    email: str
    plan: str
    subscription_status: str
    cancel_at_period_end: bool
    profiles: list[ProfileOut]


class PlanList(BaseModel):
    # The catalogue's own dataclass (pydantic validates and documents it as it is): a plan's
    # fields are public as a whole, so a second declaration here could only drift from it.
    plans: list[Plan]


class SubscriptionOut(BaseModel):
    plan: str
    status: str
    cancel_at_period_end: bool
    payment_method: str

    @classmethod
    def of(cls, a: Account) -> SubscriptionOut:
        return cls(
            plan=a.plan,
            status=str(a.subscription_status),
            cancel_at_period_end=a.cancel_at_period_end,
            payment_method=a.payment_method,
        )


class InvoiceOut(_FromRecord):
    invoice_id: str
    period: str
    plan: str
    amount_cents: int
    currency: str
    status: str  # pydantic turns the InvoiceStatus (a StrEnum) into its plain string
    created_at: str
    decline_code: str | None = None


class InvoiceList(BaseModel):
    invoices: list[InvoiceOut]
