"""Response bodies (the public JSON contract)."""

from __future__ import annotations

from pydantic import BaseModel

from accounts.logic.plans import Plan
from accounts.models.domain import Account, Invoice, Profile, Tokens


class SignUpAccepted(BaseModel):
    """The one answer to every well-formed sign-up: it never says whether the email was known."""

    status: str = "VERIFICATION_PENDING"
    message: str = (
        "If this email can be used, a verification code has been sent to it; "
        "confirm with POST /accounts/confirm"
    )


class AccountCreated(BaseModel):
    user_id: str


class TokensOut(BaseModel):
    access_token: str
    id_token: str
    refresh_token: str
    expires_in: int

    @classmethod
    def of(cls, tokens: Tokens) -> TokensOut:
        return cls(**tokens.__dict__)


class ProfileOut(BaseModel):
    profile_id: str
    name: str
    kids: bool
    maturity_rating: str
    language: str
    avatar: str | None

    @classmethod
    def of(cls, p: Profile) -> ProfileOut:
        return cls(
            profile_id=p.profile_id,
            name=p.name,
            kids=p.kids,
            maturity_rating=p.maturity_rating,
            language=p.language,
            avatar=p.avatar,
        )


class ProfileList(BaseModel):
    profiles: list[ProfileOut]


class MeOut(BaseModel):
    user_id: str
    email: str
    plan: str
    subscription_status: str
    cancel_at_period_end: bool
    profiles: list[ProfileOut]


class PlanOut(BaseModel):
    id: str
    name: str
    monthly_price_cents: int
    currency: str
    max_profiles: int
    max_concurrent_streams: int
    max_resolution: str

    @classmethod
    def of(cls, p: Plan) -> PlanOut:
        return cls(**p.__dict__)


class PlanList(BaseModel):
    plans: list[PlanOut]


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


class InvoiceOut(BaseModel):
    invoice_id: str
    period: str
    plan: str
    amount_cents: int
    currency: str
    status: str
    created_at: str
    decline_code: str | None = None

    @classmethod
    def of(cls, i: Invoice) -> InvoiceOut:
        return cls(
            invoice_id=i.invoice_id,
            period=i.period,
            plan=i.plan,
            amount_cents=i.amount_cents,
            currency=i.currency,
            status=str(i.status),
            created_at=i.created_at,
            decline_code=i.decline_code,
        )


class InvoiceList(BaseModel):
    invoices: list[InvoiceOut]
