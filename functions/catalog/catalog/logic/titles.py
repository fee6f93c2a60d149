"""Catalog business rules: who sees which title, when a source may be uploaded, paging, series and
their episodes, metadata edits and withdrawal.

No AWS SDK here: storage is reached only through the ``TitleStore`` / ``UploadStore`` interfaces,
so the rules can be exercised against any implementation.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from catalog.dal.interface import (
    TITLE_PUBLISHED,
    ContendedWrite,
    EpisodeSlotTaken,
    InvalidCursorError,
    SeriesHasEpisodes,
    SeriesUnavailable,
    TitleMissing,
    TitleStateConflict,
    TitleStore,
    UploadMissing,
    UploadPartsRejected,
    UploadStore,
    VersionMismatch,
)
from catalog.models.errors import (
    ConcurrentUpdate,
    EpisodeExists,
    InvalidCursor,
    InvalidUploadParts,
    SeriesNotEmpty,
    SeriesNotFound,
    SeriesNotUploadable,
    SourceTooLarge,
    StatusNotListable,
    TitleBusy,
    TitleNotFound,
    TitleNotUploadable,
    TitlePublished,
    TitleWithdrawn,
    UploadNotFound,
    UseMultipart,
    VersionConflict,
)
from catalog.models.titles import (
    CompleteUploadRequest,
    CompleteUploadResponse,
    CreateTitleRequest,
    CreateTitleResponse,
    EpisodePage,
    MultipartUploadResponse,
    TitleKind,
    TitlePage,
    TitleRecord,
    TitleStatus,
    TitleView,
    UpdateTitleRequest,
    UploadPartUrl,
    UploadRequest,
    UploadResponse,
)

# A new source may replace one that is still awaited or one whose transcode failed (the admin
# retries: the title goes back to UPLOADING). Once the workflow has claimed it (TRANSCODING) the
# source is frozen until it settles; once published (READY) it is never replaced -- viewers are
# watching its renditions -- and a new cut is a new title.
UPLOADABLE_FROM = (TitleStatus.UPLOADING, TitleStatus.FAILED)
_TITLE_ID = re.compile(r"^[0-9a-f]{32}$")
_SLOT_KEY = re.compile(r"^EPISODE#[0-9]{3}#[0-9]{4}$")
# A withdrawal re-reads and retries when the title changed between its read and its write.
_WITHDRAW_ATTEMPTS = 3
# A viewer's episode page skips episodes that are not READY; reading at most this many slot pages
# per request keeps a series of unpublished episodes from turning one request into a long scan.
_EPISODE_READ_ROUNDS = 5
# S3's limits: one PUT (or one part) carries at most 5 GiB; every part but the last at least 5 MiB.
MAX_SINGLE_PUT_BYTES = 5 * 1024**3
MAX_PART_BYTES = 5 * 1024**3
MIN_PART_BYTES = 5 * 1024**2


def source_key(title_id: str) -> str:
    """Where the source of a title lands in the ingest bucket; the ingest rule matches
    ``uploads/`` and the workflow derives the title id from this key."""
    return f"uploads/{title_id}/source"


def part_sizes(size_bytes: int, parts: int) -> list[int]:
    """``size_bytes`` split into ``parts`` consecutive parts as equal as possible, larger ones first
    (so every part but the last is at least as large as the last)."""
    base, extra = divmod(size_bytes, parts)
    return [base + 1 if n < extra else base for n in range(parts)]


def _not_uploadable(status: str) -> TitlePublished | TitleNotUploadable:
    return TitlePublished() if status == TitleStatus.READY else TitleNotUploadable(status)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _timestamp(moment: datetime) -> str:
    # Fixed width, so lexical order (the GSI sort key) is chronological order.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class CatalogSettings:
    upload_ttl_s: int = 900
    upload_content_type: str = "application/octet-stream"
    default_page_size: int = 20
    max_page_size: int = 100
    # The transcoding workflow rejects larger sources (same MAX_SOURCE_BYTES); refusing them here
    # saves uploading gigabytes only to fail afterwards.
    max_source_bytes: int = 50 * 1024**3


class CatalogService:
    def __init__(
        self,
        titles: TitleStore,
        uploads: UploadStore,
        settings: CatalogSettings | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._titles = titles
        self._uploads = uploads
        self._settings = settings or CatalogSettings()
        self._clock = clock
        self._new_id = new_id

    # --- titles ---------------------------------------------------------------------------------

    def create_title(self, request: CreateTitleRequest, *, created_by: str) -> CreateTitleResponse:
        """A movie or an episode starts UPLOADING (waiting for its source, invisible to viewers); a
        series has no media, so it is published (READY) at once and announced as TitlePublished."""
        now = _timestamp(self._clock())
        is_series = request.kind is TitleKind.SERIES
        record = TitleRecord(
            title_id=self._new_id(),
            status=TitleStatus.READY if is_series else TitleStatus.UPLOADING,
            version=1,
            created_at=now,
            updated_at=now,
            created_by=created_by,
            **request.model_dump(exclude_none=True),
        )
        if request.kind is TitleKind.EPISODE:
            assert request.season is not None and request.number is not None
            try:
                self._titles.create_episode(record)
            except SeriesUnavailable as exc:
                raise SeriesNotFound() from exc
            except EpisodeSlotTaken as exc:
                raise EpisodeExists(request.season, request.number) from exc
            except ContendedWrite as exc:
                raise ConcurrentUpdate() from exc
        else:
            self._titles.create(record, announce=TITLE_PUBLISHED if is_series else None)
        return CreateTitleResponse(title_id=record.title_id)

    def update_title(self, title_id: str, request: UpdateTitleRequest) -> TitleView:
        """A partial metadata edit: version +1 and TitleUpdated, in the same write. A withdrawn
        title is not edited (409 TITLE_WITHDRAWN): withdrawal is final."""
        if not _TITLE_ID.match(title_id):
            raise TitleNotFound()
        try:
            record = self._titles.update_metadata(
                title_id, request.changes(), expected_version=request.expected_version, now=_timestamp(self._clock())
            )
        except TitleMissing as exc:
            raise TitleNotFound() from exc
        except VersionMismatch as exc:
            if exc.current is None:
                raise TitleNotFound() from exc
            if exc.current.status is TitleStatus.WITHDRAWN:
                raise TitleWithdrawn() from exc
            raise VersionConflict(request.expected_version or 0, exc.current.version) from exc
        return TitleView.of(record)

    def withdraw_title(self, title_id: str) -> TitleView:
        """WITHDRAWN (final): invisible to viewers, not playable, announced as TitleWithdrawn.
        Withdrawing a withdrawn title changes nothing and answers the same (a retry is safe)."""
        for _ in range(_WITHDRAW_ATTEMPTS):
            record = self._find(title_id)
            if record is None:
                raise TitleNotFound()
            if record.status is TitleStatus.WITHDRAWN:
                return TitleView.of(record)
            if record.status is TitleStatus.TRANSCODING:
                raise TitleBusy()
            try:
                return TitleView.of(self._titles.withdraw(record, now=_timestamp(self._clock())))
            except VersionMismatch:
                continue  # changed since we read it: decide again on what it is now
            except SeriesHasEpisodes as exc:
                raise SeriesNotEmpty(exc.live) from exc
            except ContendedWrite as exc:
                raise ConcurrentUpdate() from exc
        raise ConcurrentUpdate()

    def list_episodes(
        self, series_id: str, *, is_admin: bool, season: int | None, limit: int | None, cursor: str | None
    ) -> EpisodePage:
        """The series' episodes in (season, number) order; viewers get READY episodes of a READY
        series only (else the same 404 as for a missing title)."""
        series = self._find(series_id)
        visible = series is not None and (is_admin or series.status is TitleStatus.READY)
        if series is None or not visible:
            raise TitleNotFound()
        if series.kind is not TitleKind.SERIES:
            raise SeriesNotFound()
        size = self._settings.default_page_size if limit is None else limit
        size = max(1, min(size, self._settings.max_page_size))
        after = _decode_episode_cursor(cursor, series_id, season) if cursor else None
        items: list[TitleRecord] = []
        more = True
        for _ in range(1 if is_admin else _EPISODE_READ_ROUNDS):
            slots, more = self._titles.list_episodes(series_id, season=season, limit=size, after=after)
            found = {r.title_id: r for r in self._titles.get_many([episode for _, episode in slots])}
            for position, (slot, episode_id) in enumerate(slots):
                after = slot
                record = found.get(episode_id)
                if record is not None and (is_admin or record.status is TitleStatus.READY):
                    items.append(record)
                if len(items) == size:
                    more = more or position < len(slots) - 1
                    break
            if len(items) == size or not more:
                break
        next_cursor = _encode_episode_cursor(series_id, season, after) if more and after else None
        return EpisodePage(series_id=series_id, items=[TitleView.of(r) for r in items], next_cursor=next_cursor)

    def get_title(self, title_id: str, *, is_admin: bool) -> TitleView:
        record = self._find(title_id)
        # Non-admins get the same 404 for "absent" and "not published yet".
        if record is None or (not is_admin and record.status is not TitleStatus.READY):
            raise TitleNotFound()
        return TitleView.of(record)

    def list_titles(
        self, *, is_admin: bool, status: TitleStatus | None, limit: int | None, cursor: str | None
    ) -> TitlePage:
        """Newest first. Without ``status`` an admin lists every status (the draft just created
        included) and anyone else READY titles; asking for a status other than READY is for admins."""
        if status is not None and status is not TitleStatus.READY and not is_admin:
            raise StatusNotListable()
        if status is not None:
            statuses: tuple[TitleStatus, ...] = (status,)
        else:
            statuses = tuple(TitleStatus) if is_admin else (TitleStatus.READY,)
        size = self._settings.default_page_size if limit is None else limit
        size = max(1, min(size, self._settings.max_page_size))
        try:
            records, next_cursor = self._titles.list_titles(statuses, limit=size, cursor=cursor or None)
        except InvalidCursorError as exc:
            raise InvalidCursor() from exc
        return TitlePage(items=[TitleView.of(r) for r in records], next_cursor=next_cursor)

    # --- ingest uploads -------------------------------------------------------------------------

    def request_upload(self, title_id: str, request: UploadRequest) -> UploadResponse | MultipartUploadResponse:
        # Checked before the title changes state: a refused request leaves everything as it was.
        sizes = self._planned_sizes(request)
        record = self._reopen(title_id)
        key = source_key(record.title_id)
        ttl = self._settings.upload_ttl_s
        content_type = self._settings.upload_content_type
        if request.parts is None:
            (size,) = sizes
            url = self._uploads.presign_put(key, content_type=content_type, expires_in=ttl, content_length=size)
            headers = {"Content-Type": content_type, "Content-Length": str(size)}
            return UploadResponse(upload_url=url, expires_in=ttl, headers=headers, key=key)
        upload_id = self._uploads.start_multipart(key, content_type=content_type)
        parts = [
            UploadPartUrl(
                part_number=n,
                upload_url=self._uploads.presign_part(
                    key, upload_id=upload_id, part_number=n, expires_in=ttl, content_length=part_size
                ),
                size_bytes=part_size,
            )
            for n, part_size in enumerate(sizes, start=1)
        ]
        return MultipartUploadResponse(
            upload_id=upload_id,
            key=key,
            expires_in=ttl,
            # The content type was fixed when the upload was created; parts are raw bytes.
            headers={},
            parts=parts,
            complete_path=f"/titles/{record.title_id}/upload/complete",
        )

    def _planned_sizes(self, request: UploadRequest) -> list[int]:
        """The length each URL will sign: the whole source for a single PUT, else each part's.
        Signed lengths are what bounds a source, for whatever is PUT to a URL, reused or not."""
        size = request.size_bytes
        if size > self._settings.max_source_bytes:
            raise SourceTooLarge(size, self._settings.max_source_bytes)
        if request.parts is None:
            if size > MAX_SINGLE_PUT_BYTES:
                raise UseMultipart(MAX_SINGLE_PUT_BYTES)
            return [size]
        sizes = part_sizes(size, request.parts)
        if sizes[0] > MAX_PART_BYTES:
            raise InvalidUploadParts(
                f"{request.parts} parts of at most {MAX_PART_BYTES} bytes cannot hold {size} bytes"
            )
        if len(sizes) > 1 and sizes[-2] < MIN_PART_BYTES:
            raise InvalidUploadParts(
                f"{size} bytes in {request.parts} parts are {sizes[-2]} bytes each; every part but the "
                f"last must hold at least {MIN_PART_BYTES} bytes: ask for fewer parts"
            )
        return sizes

    def complete_upload(self, title_id: str, request: CompleteUploadRequest) -> CompleteUploadResponse:
        record = self._find(title_id)
        if record is None:
            raise TitleNotFound()
        if record.kind is TitleKind.SERIES:
            raise SeriesNotUploadable()
        if record.status is not TitleStatus.UPLOADING:
            raise _not_uploadable(record.status.value)
        numbers = [p.part_number for p in request.parts]
        if numbers != sorted(set(numbers)):
            raise InvalidUploadParts("Parts must be listed once each, in ascending part_number order")
        key = source_key(record.title_id)
        try:
            self._uploads.complete_multipart(
                key, upload_id=request.upload_id, parts=[(p.part_number, p.etag) for p in request.parts]
            )
        except UploadMissing as exc:
            raise UploadNotFound() from exc
        except UploadPartsRejected as exc:
            raise InvalidUploadParts(f"S3 rejected the part list ({exc})") from exc
        # The object now exists: S3 -> EventBridge starts the transcoding workflow, which owns
        # every status change from here on.
        return CompleteUploadResponse(title_id=record.title_id, key=key, status=record.status)

    # --- helpers --------------------------------------------------------------------------------

    def _find(self, title_id: str) -> TitleRecord | None:
        # Ids are ours (uuid4 hex); anything else cannot exist, so skip the round trip.
        return self._titles.get(title_id) if _TITLE_ID.match(title_id) else None

    def _reopen(self, title_id: str) -> TitleRecord:
        if not _TITLE_ID.match(title_id):
            raise TitleNotFound()
        try:
            return self._titles.reopen_for_upload(title_id, allowed_from=UPLOADABLE_FROM, now=_timestamp(self._clock()))
        except TitleMissing as exc:
            raise TitleNotFound() from exc
        except TitleStateConflict as exc:
            if exc.kind == TitleKind.SERIES:
                raise SeriesNotUploadable() from exc
            raise _not_uploadable(exc.status) from exc


def _encode_episode_cursor(series_id: str, season: int | None, after: str) -> str:
    raw = json.dumps({"series": series_id, "season": season, "after": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_episode_cursor(cursor: str, series_id: str, season: int | None) -> str:
    """The slot key to resume after; a cursor continues only the listing that issued it."""
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise InvalidCursor() from exc
    if (
        not isinstance(data, dict)
        or set(data) != {"series", "season", "after"}
        or data["series"] != series_id
        or data["season"] != season
        or not isinstance(data["after"], str)
        or not _SLOT_KEY.match(data["after"])
        # The start key must lie inside the listed season: DynamoDB refuses an ExclusiveStartKey
        # outside the key condition with a ValidationException (a 500), and cursors are not signed.
        or (season is not None and not data["after"].startswith(f"EPISODE#{season:03d}#"))
    ):
        raise InvalidCursor()
    return str(data["after"])
