"""Catalog-specific errors, in the shared error vocabulary (``{"error": {"code", "message"}}``)."""

from __future__ import annotations

from reelstack_common.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge


class TitleNotFound(NotFound):
    def __init__(self) -> None:
        # One message whether the title is missing or merely not visible to this caller, so a
        # non-admin cannot probe for titles that are still in the ingest pipeline.
        super().__init__("Title not found", "NOT_FOUND")


class TitleNotUploadable(Conflict):
    def __init__(self, status: str) -> None:
        # TRANSCODING: the workflow owns the title until it settles (READY, or FAILED and then
        # uploadable again); FAILED here means a completion without a fresh upload request.
        super().__init__("TITLE_NOT_UPLOADABLE", f"Title is {status}; it is not waiting for a source upload")


class TitlePublished(Conflict):
    def __init__(self) -> None:
        # Replacing a published source would take the renditions viewers are watching down with it
        # (the workflow rewrites them in place): refused; a new cut is a new title.
        super().__init__("TITLE_PUBLISHED", "Title is READY (published); its source cannot be replaced")


class UploadNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Multipart upload not found or already completed", "UPLOAD_NOT_FOUND")


class InvalidUploadParts(BadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(message, "INVALID_UPLOAD_PARTS")


class SourceTooLarge(PayloadTooLarge):
    def __init__(self, size_bytes: int, limit_bytes: int) -> None:
        super().__init__(f"The source is {size_bytes} bytes; the limit is {limit_bytes} bytes", "SOURCE_TOO_LARGE")


class UseMultipart(BadRequest):
    def __init__(self, limit_bytes: int) -> None:
        super().__init__(
            f'A single PUT takes at most {limit_bytes} bytes: ask for a multipart upload ({{"parts": n}})',
            "USE_MULTIPART",
        )


class InvalidCursor(BadRequest):
    def __init__(self) -> None:
        super().__init__("Invalid pagination cursor", "INVALID_CURSOR")


class StatusNotListable(Forbidden):
    def __init__(self) -> None:
        super().__init__("Only admins can list titles that are not READY")


class SeriesNotUploadable(Conflict):
    def __init__(self) -> None:
        # A series is metadata only; its episodes are the titles that carry a source.
        super().__init__(
            "SERIES_NOT_UPLOADABLE", "A series has no source of its own: upload each episode's source instead"
        )


class SeriesNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such series (it does not exist, is not a series, or is withdrawn)", "SERIES_NOT_FOUND")


class EpisodeExists(Conflict):
    def __init__(self, season: int, number: int) -> None:
        super().__init__("EPISODE_EXISTS", f"The series already has an episode {number} in season {season}")


class VersionConflict(Conflict):
    def __init__(self, expected: int, current: int) -> None:
        super().__init__(
            "VERSION_CONFLICT", f"The title is at version {current}, not {expected}: read it again and retry"
        )


class TitleBusy(Conflict):
    def __init__(self) -> None:
        # The transcoding workflow owns a TRANSCODING title until it settles; withdrawing it under
        # the workflow would let the workflow's own failure handling overwrite the withdrawal.
        super().__init__("TITLE_BUSY", "The title is being transcoded; withdraw it once it is READY or FAILED")


class SeriesNotEmpty(Conflict):
    def __init__(self, live: int) -> None:
        super().__init__(
            "SERIES_HAS_EPISODES", f"The series still has {live} episode(s) that are not withdrawn: withdraw them first"
        )


class ConcurrentUpdate(Conflict):
    def __init__(self) -> None:
        super().__init__("CONCURRENT_UPDATE", "The title kept changing under this request: retry")


class TitleWithdrawn(Conflict):
    def __init__(self) -> None:
        super().__init__("TITLE_WITHDRAWN", "The title is withdrawn; a withdrawal is final")
