"""The data-access interface the catalog logic talks to; implementations live beside it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from catalog.models.titles import TitleRecord, TitleStatus


class TitleStateConflict(Exception):
    """A conditional write lost: the title exists but is in ``status``."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class TitleMissing(Exception):
    """A conditional write found no title."""


class InvalidCursorError(Exception):
    """A pagination cursor that this store did not issue (or that was tampered with)."""


class UploadMissing(Exception):
    """The multipart upload does not exist (aborted, expired or already completed)."""


class UploadPartsRejected(Exception):
    """S3 refused the part list (unknown part, wrong ETag, order, or a part under 5 MiB)."""


class TitleStore(Protocol):
    def create(self, record: TitleRecord) -> None:
        """Store a new title; the id is fresh so an existing item is a programming error."""
        ...

    def get(self, title_id: str) -> TitleRecord | None: ...

    def reopen_for_upload(self, title_id: str, *, allowed_from: Sequence[TitleStatus], now: str) -> TitleRecord:
        """Set the title back to UPLOADING (clearing a previous failure) iff its status is one of
        ``allowed_from``. Raises ``TitleMissing`` / ``TitleStateConflict``."""
        ...

    def list_titles(
        self, statuses: Sequence[TitleStatus], *, limit: int, cursor: str | None
    ) -> tuple[list[TitleRecord], str | None]:
        """Titles in any of ``statuses``, newest first, at most ``limit``; the second value continues
        the listing (None on the last page). ``cursor`` is such a value from the same ``statuses``;
        raises ``InvalidCursorError`` for anything else."""
        ...


class UploadStore(Protocol):
    def presign_put(self, key: str, *, content_type: str, expires_in: int, content_length: int) -> str:
        """A presigned PUT; ``content_length`` is signed, so S3 takes a body of no other size."""
        ...

    def start_multipart(self, key: str, *, content_type: str) -> str:
        """Returns the upload id."""
        ...

    def presign_part(self, key: str, *, upload_id: str, part_number: int, expires_in: int, content_length: int) -> str:
        """A presigned UploadPart; ``content_length`` is signed like ``presign_put``'s."""
        ...

    def complete_multipart(self, key: str, *, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        """Raises ``UploadMissing`` / ``UploadPartsRejected``."""
        ...
