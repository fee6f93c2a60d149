"""The data-access interface the catalog logic talks to; implementations live beside it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from catalog.models.titles import TitleRecord, TitleStatus

# detail-types a catalog write announces through the outbox (see dal/dynamo_titles.py)
TITLE_PUBLISHED = "TitlePublished"
TITLE_UPDATED = "TitleUpdated"
TITLE_WITHDRAWN = "TitleWithdrawn"


class TitleStateConflict(Exception):
    """A conditional write lost: the title exists but is in ``status`` (and of ``kind``)."""

    def __init__(self, status: str, kind: str = "movie") -> None:
        super().__init__(status)
        self.status = status
        self.kind = kind


class TitleMissing(Exception):
    """A conditional write found no title."""


class InvalidCursorError(Exception):
    """A pagination cursor that this store did not issue (or that was tampered with)."""


class SeriesUnavailable(Exception):
    """An episode named a series that does not exist, is not a series, or is withdrawn."""


class EpisodeSlotTaken(Exception):
    """Another episode already holds this (series, season, number)."""


class VersionMismatch(Exception):
    """A write conditioned on the title's version (or on the state it was read in) lost: the title
    changed in between. ``current`` is the title as it is now (None if it is gone)."""

    def __init__(self, current: TitleRecord | None) -> None:
        super().__init__(current.version if current else None)
        self.current = current


class SeriesHasEpisodes(Exception):
    """A series cannot be withdrawn while it has episodes that are not withdrawn."""

    def __init__(self, live: int) -> None:
        super().__init__(live)
        self.live = live


class ContendedWrite(Exception):
    """A transaction kept colliding with concurrent transactions on the same items."""


class UploadMissing(Exception):
    """The multipart upload does not exist (aborted, expired or already completed)."""


class UploadPartsRejected(Exception):
    """S3 refused the part list (unknown part, wrong ETag, order, or a part under 5 MiB)."""


class TitleStore(Protocol):
    def create(self, record: TitleRecord, *, announce: str | None = None) -> None:
        """Store a new movie or series; the id is fresh so an existing item is a programming error.
        ``announce``: the detail-type the outbox publishes for this write (None: nothing)."""
        ...

    def create_episode(self, record: TitleRecord) -> None:
        """Store a new episode atomically with its (series, season, number) slot, only if the
        series exists, is a series and is READY. Raises ``SeriesUnavailable`` /
        ``EpisodeSlotTaken`` / ``ContendedWrite``."""
        ...

    def get(self, title_id: str) -> TitleRecord | None: ...

    def get_many(self, title_ids: Sequence[str]) -> list[TitleRecord]:
        """The titles that exist among ``title_ids`` (at most 100), in no particular order."""
        ...

    def reopen_for_upload(self, title_id: str, *, allowed_from: Sequence[TitleStatus], now: str) -> TitleRecord:
        """Set a movie or episode back to UPLOADING (clearing a previous failure) iff its status is
        one of ``allowed_from``. Raises ``TitleMissing`` / ``TitleStateConflict`` (a series:
        ``TitleStateConflict`` with its status, the caller tells kinds apart)."""
        ...

    def update_metadata(
        self, title_id: str, changes: dict[str, object], *, expected_version: int | None, now: str
    ) -> TitleRecord:
        """Apply ``changes``, version +1, announce TitleUpdated; only if the title exists, is not
        WITHDRAWN (and is at ``expected_version`` when given). Raises ``TitleMissing`` /
        ``VersionMismatch`` (its ``current`` tells a withdrawn title from a newer version)."""
        ...

    def withdraw(self, record: TitleRecord, *, now: str) -> TitleRecord:
        """WITHDRAWN, version +1, announce TitleWithdrawn; only if the title is still as ``record``
        (same version and status). An episode frees its slot; a series must have no episode slots
        left. Raises ``VersionMismatch`` / ``SeriesHasEpisodes`` / ``ContendedWrite``."""
        ...

    def list_episodes(
        self, series_id: str, *, season: int | None, limit: int, after: str | None
    ) -> tuple[list[tuple[str, str]], bool]:
        """Up to ``limit`` episode slots of the series in (season, number) order, strictly after the
        slot key ``after``: ``(slot key, episode id)`` pairs, and whether more follow."""
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
