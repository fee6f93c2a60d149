"""The catalog rules without AWS: ``CatalogService`` against in-memory stores."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from catalog.dal.interface import TitleStateConflict, VersionMismatch
from catalog.logic.titles import MIN_PART_BYTES, CatalogService, part_sizes
from catalog.models.errors import ConcurrentUpdate, StatusNotListable, TitleNotUploadable, TitlePublished
from catalog.models.titles import TitleKind, TitleRecord, TitleStatus, UploadRequest


class FakeTitles:
    """Remembers which status partitions a listing asked for; every title is in ``status``."""

    def __init__(self, status: TitleStatus = TitleStatus.UPLOADING) -> None:
        self.status = status
        self.listed: list[tuple[TitleStatus, ...]] = []

    def create(self, record: TitleRecord) -> None:
        raise NotImplementedError

    def get(self, title_id: str) -> TitleRecord | None:
        raise NotImplementedError

    def reopen_for_upload(self, title_id: str, *, allowed_from: Sequence[TitleStatus], now: str) -> TitleRecord:
        if self.status not in allowed_from:
            raise TitleStateConflict(self.status.value)
        return TitleRecord(
            title_id=title_id, title="t", language="en", maturity_rating="PG", year=2024,
            status=TitleStatus.UPLOADING, created_at=now, updated_at=now,
        )  # fmt: skip

    def list_titles(
        self, statuses: Sequence[TitleStatus], *, limit: int, cursor: str | None
    ) -> tuple[list[TitleRecord], str | None]:
        self.listed.append(tuple(statuses))
        return [], None


class FakeUploads:
    def __init__(self) -> None:
        self.signed: list[int] = []  # content lengths signed into URLs

    def presign_put(self, key: str, *, content_type: str, expires_in: int, content_length: int) -> str:
        self.signed.append(content_length)
        return f"https://put/{key}"

    def start_multipart(self, key: str, *, content_type: str) -> str:
        return "upload-1"

    def presign_part(self, key: str, *, upload_id: str, part_number: int, expires_in: int, content_length: int) -> str:
        self.signed.append(content_length)
        return f"https://part/{part_number}"

    def complete_multipart(self, key: str, *, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        raise NotImplementedError


TITLE_ID = "0" * 32


@pytest.mark.parametrize(
    ("is_admin", "status", "partitions"),
    [
        (True, None, tuple(TitleStatus)),  # an admin's default: every status, drafts included
        (False, None, (TitleStatus.READY,)),
        (True, TitleStatus.FAILED, (TitleStatus.FAILED,)),
        (False, TitleStatus.READY, (TitleStatus.READY,)),
    ],
)
def test_who_lists_which_statuses(is_admin: bool, status: TitleStatus | None, partitions: tuple[TitleStatus]) -> None:
    titles = FakeTitles()
    CatalogService(titles, FakeUploads()).list_titles(is_admin=is_admin, status=status, limit=None, cursor=None)
    assert titles.listed == [partitions]


def test_a_viewer_cannot_ask_for_drafts() -> None:
    titles = FakeTitles()
    with pytest.raises(StatusNotListable):
        CatalogService(titles, FakeUploads()).list_titles(
            is_admin=False, status=TitleStatus.UPLOADING, limit=None, cursor=None
        )
    assert titles.listed == []


@pytest.mark.parametrize(
    ("status", "error"), [(TitleStatus.READY, TitlePublished), (TitleStatus.TRANSCODING, TitleNotUploadable)]
)
def test_no_url_is_signed_for_a_title_that_is_not_awaiting_a_source(status: TitleStatus, error: type) -> None:
    uploads = FakeUploads()
    with pytest.raises(error):
        CatalogService(FakeTitles(status), uploads).request_upload(TITLE_ID, UploadRequest(size_bytes=10))
    assert uploads.signed == []


@pytest.mark.parametrize("status", [TitleStatus.UPLOADING, TitleStatus.FAILED])
def test_every_url_signs_the_declared_size(status: TitleStatus) -> None:
    uploads = FakeUploads()
    service = CatalogService(FakeTitles(status), uploads)
    service.request_upload(TITLE_ID, UploadRequest(size_bytes=1234))
    size = 3 * MIN_PART_BYTES + 7
    service.request_upload(TITLE_ID, UploadRequest(size_bytes=size, parts=3))
    assert uploads.signed[0] == 1234
    assert sum(uploads.signed[1:]) == size and len(uploads.signed) == 4


@pytest.mark.parametrize(("size", "parts"), [(1, 1), (10, 3), (3 * MIN_PART_BYTES + 7, 3), (10**9 + 1, 7)])
def test_part_sizes_split_exactly(size: int, parts: int) -> None:
    sizes = part_sizes(size, parts)
    assert len(sizes) == parts and sum(sizes) == size
    assert sizes == sorted(sizes, reverse=True) and sizes[0] - sizes[-1] <= 1


# --- withdrawal and episode pages against a scripted store -----------------------------------------


def _title(title_id: str, status: TitleStatus, version: int = 1, **extra: object) -> TitleRecord:
    return TitleRecord(
        title_id=title_id, title="t", language="en", maturity_rating="PG", year=2024,
        status=status, version=version, created_at="c", updated_at="u", **extra,  # type: ignore[arg-type]
    )  # fmt: skip


class ScriptedTitles(FakeTitles):
    """``get`` answers from ``records``; ``withdraw`` loses ``races`` times to a concurrent change."""

    def __init__(self, records: dict[str, TitleRecord], races: int = 0) -> None:
        super().__init__()
        self.records, self.races, self.withdrawn_from = records, races, []  # type: ignore[var-annotated]
        self.slot_reads = 0

    def get(self, title_id: str) -> TitleRecord | None:
        return self.records.get(title_id)

    def withdraw(self, record: TitleRecord, *, now: str) -> TitleRecord:
        self.withdrawn_from.append(record.version)
        if self.races:
            self.races -= 1
            self.records[record.title_id] = _title(record.title_id, record.status, record.version + 1)
            raise VersionMismatch(self.records[record.title_id])
        done = _title(record.title_id, TitleStatus.WITHDRAWN, record.version + 1)
        self.records[record.title_id] = done
        return done

    def list_episodes(
        self, series_id: str, *, season: int | None, limit: int, after: str | None
    ) -> tuple[list[tuple[str, str]], bool]:
        self.slot_reads += 1
        slots = sorted((f"EPISODE#001#{n:04d}", f"{n:032x}") for n in range(1, 201))
        rest = [s for s in slots if after is None or s[0] > after]
        return rest[:limit], len(rest) > limit

    def get_many(self, title_ids: Sequence[str]) -> list[TitleRecord]:
        return [r for t in title_ids if (r := self.records.get(t))]


def test_a_withdrawal_decides_again_when_the_title_changed_under_it() -> None:
    titles = ScriptedTitles({TITLE_ID: _title(TITLE_ID, TitleStatus.READY, 4)}, races=2)
    view = CatalogService(titles, FakeUploads()).withdraw_title(TITLE_ID)
    assert view.status is TitleStatus.WITHDRAWN and view.version == 7
    assert titles.withdrawn_from == [4, 5, 6]


def test_a_withdrawal_that_keeps_losing_gives_up_with_409() -> None:
    titles = ScriptedTitles({TITLE_ID: _title(TITLE_ID, TitleStatus.READY)}, races=10)
    with pytest.raises(ConcurrentUpdate):
        CatalogService(titles, FakeUploads()).withdraw_title(TITLE_ID)
    assert len(titles.withdrawn_from) == 3


def test_a_viewer_page_of_a_series_without_published_episodes_stops_after_a_few_reads() -> None:
    series = "5" * 32
    records = {series: _title(series, TitleStatus.READY, kind=TitleKind.SERIES)}
    records.update(
        {f"{n:032x}": _title(f"{n:032x}", TitleStatus.UPLOADING, kind=TitleKind.EPISODE) for n in range(1, 201)}
    )
    titles = ScriptedTitles(records)
    page = CatalogService(titles, FakeUploads()).list_episodes(
        series, is_admin=False, season=None, limit=10, cursor=None
    )
    assert page.items == [] and page.next_cursor is not None  # the client may continue from there
    assert titles.slot_reads == 5
