"""Errors of the playback API (all ``ApiError``: the shared handler renders them)."""

from __future__ import annotations

from reelstack_common.errors import ApiError, Conflict, Forbidden, NotFound, ValidationFailed


class ProfileNotFound(NotFound):
    def __init__(self) -> None:
        # Another account's profile is "not found" too: no probing of ids.
        super().__init__("Profile not found", code="NOT_FOUND")


class TitleNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Title not found", code="NOT_FOUND")


class TitleNotReady(Conflict):
    def __init__(self, message: str = "The title cannot be played yet") -> None:
        super().__init__("TITLE_NOT_READY", message)


class MaturityRestricted(Forbidden):
    def __init__(self) -> None:
        super().__init__("This profile's maturity setting does not allow this title", code="MATURITY")


class PaymentRequired(ApiError):
    def __init__(self, status: str) -> None:
        super().__init__(402, "PAYMENT_REQUIRED", f"The subscription is {status}: update the payment to play")


class StreamLimit(Conflict):
    def __init__(self, limit: int) -> None:
        super().__init__("STREAM_LIMIT", f"The plan allows {limit} concurrent stream(s); stop one to start another")


class SessionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Session not found", code="NOT_FOUND")


class SessionExpired(ApiError):
    def __init__(self, message: str = "The session has ended or its lease lapsed: start a new one") -> None:
        super().__init__(410, "SESSION_EXPIRED", message)


class PositionOutOfRange(ValidationFailed):
    def __init__(self, duration_s: float | None) -> None:
        limit = f" (0..{duration_s:g} s)" if duration_s is not None else ""
        super().__init__(f"position_s lies outside the title{limit}", code="POSITION_OUT_OF_RANGE")


class ConcurrentUpdate(Conflict):
    def __init__(self) -> None:
        super().__init__("CONCURRENT_UPDATE", "The resource changed while updating it; retry")
