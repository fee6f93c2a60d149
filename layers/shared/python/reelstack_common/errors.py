"""The error vocabulary every Reelstack HTTP API speaks.

Raise an ``ApiError`` (or a subclass) anywhere below a route; ``reelstack_common.http`` turns it
into ``{"error": {"code": ..., "message": ...}}`` with the matching status. Messages are shown to
clients, so they must never contain secrets, stack traces or internal identifiers.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error with an HTTP status, a stable UPPER_SNAKE code and a human message."""

    status: int = 500
    code: str = "INTERNAL"

    def __init__(self, status: int | None = None, code: str | None = None, message: str = "") -> None:
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.message = message or self.code.replace("_", " ").capitalize()
        super().__init__(f"{self.status} {self.code}: {self.message}")

    def to_body(self) -> dict[str, Any]:
        return error_body(self.code, self.message)


def error_body(code: str, message: str) -> dict[str, Any]:
    """The one error shape: ``{"error": {"code": code, "message": message}}``."""
    return {"error": {"code": code, "message": message}}


class BadRequest(ApiError):
    def __init__(self, message: str = "Malformed request", code: str = "BAD_REQUEST") -> None:
        super().__init__(400, code, message)


class ValidationFailed(ApiError):
    def __init__(self, message: str = "Invalid request", code: str = "VALIDATION_ERROR") -> None:
        super().__init__(400, code, message)


class Unauthorized(ApiError):
    def __init__(self, message: str = "Missing or invalid credentials", code: str = "UNAUTHORIZED") -> None:
        super().__init__(401, code, message)


class Forbidden(ApiError):
    def __init__(self, message: str = "Not allowed", code: str = "FORBIDDEN") -> None:
        super().__init__(403, code, message)


class NotFound(ApiError):
    def __init__(self, message: str = "Not found", code: str = "NOT_FOUND") -> None:
        super().__init__(404, code, message)


class Conflict(ApiError):
    def __init__(self, code: str = "CONFLICT", message: str = "Conflict") -> None:
        super().__init__(409, code, message)


class PayloadTooLarge(ApiError):
    def __init__(self, message: str = "Request body too large", code: str = "PAYLOAD_TOO_LARGE") -> None:
        super().__init__(413, code, message)


class TooManyRequests(ApiError):
    def __init__(self, message: str = "Too many requests", code: str = "TOO_MANY_REQUESTS") -> None:
        super().__init__(429, code, message)


class ServiceUnavailable(ApiError):
    def __init__(self, message: str = "Service temporarily unavailable", code: str = "UNAVAILABLE") -> None:
        super().__init__(503, code, message)
