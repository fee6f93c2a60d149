"""Errors of the search API (all ``ApiError``: the shared handler renders them)."""

from __future__ import annotations

from reelstack_common.errors import NotFound, ServiceUnavailable, ValidationFailed


class SearchUnavailable(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("Search is temporarily unavailable; try again shortly", code="SEARCH_UNAVAILABLE")


class ProfileNotFound(NotFound):
    def __init__(self) -> None:
        # The same answer for an unknown profile and another account's: nothing is learnt.
        super().__init__("Profile not found", code="NOT_FOUND")


class InvalidSearch(ValidationFailed):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="VALIDATION_ERROR")


class InvalidCursor(ValidationFailed):
    def __init__(self) -> None:
        super().__init__("cursor: not a cursor of this search", code="INVALID_CURSOR")
