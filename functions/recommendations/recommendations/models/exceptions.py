"""Errors of the recommendations API (all ``ApiError``: the shared handler renders them)."""

from __future__ import annotations

from reelstack_common.errors import NotFound, ValidationFailed


class ProfileNotFound(NotFound):
    def __init__(self) -> None:
        # One answer for an unknown profile and another account's profile: nothing leaks.
        super().__init__("Profile not found", code="NOT_FOUND")


class TitleNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Title not found", code="NOT_FOUND")


class CampaignNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Campaign not found", code="NOT_FOUND")


class UnknownTitles(ValidationFailed):
    def __init__(self, missing: list[str]) -> None:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        super().__init__(f"title_ids not found or not READY: {shown}", code="UNKNOWN_TITLES")
