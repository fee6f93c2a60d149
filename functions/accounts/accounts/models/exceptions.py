"""Errors of the accounts API (all ``ApiError``: the shared handler renders them)."""

from __future__ import annotations

from reelstack_common.errors import (
    ApiError,
    Conflict,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)


class EmailTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("EMAIL_TAKEN", "An account with this email already exists")


class WeakPassword(ValidationFailed):
    def __init__(self, message: str = "Password does not meet the password policy") -> None:
        super().__init__(message, code="VALIDATION_ERROR")


class InvalidCode(ValidationFailed):
    def __init__(self) -> None:
        # One answer for a wrong, expired or unknown code and an unknown email alike.
        super().__init__("Invalid or expired verification code", code="INVALID_CODE")


class InvalidCredentials(Unauthorized):
    def __init__(self) -> None:
        # One message for unknown email and wrong password: no account enumeration.
        super().__init__("Incorrect email or password", code="INVALID_CREDENTIALS")


class InvalidRefreshToken(Unauthorized):
    def __init__(self) -> None:
        # Expired, revoked, malformed or from another pool: the client signs in again.
        super().__init__("The session has ended: sign in again", code="SESSION_EXPIRED")


class TooManyAttempts(TooManyRequests):
    def __init__(self) -> None:
        # Cognito locked the user name after repeated failures; unknown names lock the same way.
        super().__init__("Too many failed sign-ins; try again later", code="TOO_MANY_ATTEMPTS")


class AccountNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Account not found", code="NOT_FOUND")


class ProfileNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Profile not found", code="NOT_FOUND")


class ProfileLimit(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__("PROFILE_LIMIT", message)


class NotSubscribed(Conflict):
    def __init__(self) -> None:
        super().__init__("NOT_SUBSCRIBED", "The subscription is already canceled")


class ConcurrentUpdate(Conflict):
    def __init__(self) -> None:
        super().__init__("CONCURRENT_UPDATE", "The resource changed while updating it; retry")


class IdentityUnavailable(ApiError):
    def __init__(self) -> None:
        super().__init__(503, "UNAVAILABLE", "Identity service temporarily unavailable")
