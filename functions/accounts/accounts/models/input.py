"""Request bodies. Unknown fields are rejected so a typo is a 400, not a silently ignored field."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from accounts.logic.plans import MATURITY_RATINGS

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)

PlanId = Literal["basic", "standard", "premium"]
MaturityRating = Literal["ALL", "7+", "13+", "16+", "18+"]
assert set(MATURITY_RATINGS) == {"ALL", "7+", "13+", "16+", "18+"}

PaymentMethod = Annotated[str, StringConstraints(pattern=r"^pm_[A-Za-z0-9_]{1,64}$")]
ProfileName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)]
Avatar = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def normalize_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValueError("value is not a valid email address")
    return email


def check_password(value: str) -> str:
    """The user pool's policy (infra/constructs/identity.py): 8+ characters, upper, lower, digit."""
    problems = []
    if len(value) < 8:
        problems.append("at least 8 characters")
    if not any(c.islower() for c in value):
        problems.append("a lowercase letter")
    if not any(c.isupper() for c in value):
        problems.append("an uppercase letter")
    if not any(c.isdigit() for c in value):
        problems.append("a digit")
    if problems:
        raise ValueError("password must contain " + ", ".join(problems))
    return value


class CreateAccountRequest(_Strict):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256, repr=False)
    plan: PlanId = "basic"

    _email = field_validator("email")(normalize_email)
    _password = field_validator("password")(check_password)


class ConfirmSignUpRequest(_Strict):
    email: str = Field(max_length=254)
    code: str = Field(pattern=r"^[0-9]{6}$", repr=False)  # Cognito's emailed code: six digits

    _email = field_validator("email")(normalize_email)


class LoginRequest(_Strict):
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=256, repr=False)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        # Only normalized, not validated: a malformed email must get the same 401 as a wrong one.
        return value.strip().lower()


class RefreshRequest(_Strict):
    # Cognito refresh tokens are JWE strings of ~1.8 kB; the cap only keeps junk out of the call.
    refresh_token: str = Field(min_length=1, max_length=8192, repr=False)


class CreateProfileRequest(_Strict):
    name: ProfileName
    kids: bool = False
    maturity_rating: MaturityRating | None = None
    language: Language = "en"
    avatar: Avatar | None = None


class UpdateProfileRequest(_Strict):
    name: ProfileName | None = None
    kids: bool | None = None
    maturity_rating: MaturityRating | None = None
    language: Language | None = None
    avatar: Avatar | None = None


class ChangeSubscriptionRequest(_Strict):
    plan: PlanId
    payment_method: PaymentMethod | None = None
