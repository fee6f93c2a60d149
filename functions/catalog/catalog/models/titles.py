"""Request / response vocabulary of the catalog HTTP API and the stored title record."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

# The same ratings the recommendation engine maps onto maturity tiers; anything else would be
# read there as adult content, so reject it at the edge instead of storing a typo.
MATURITY_RATINGS: tuple[str, ...] = (
    "TV-Y", "TV-G", "G", "TV-Y7", "TV-Y7-FV", "PG", "TV-PG", "PG-13", "TV-14", "R", "NC-17", "TV-MA",
)  # fmt: skip
MaturityRating = Literal[
    "TV-Y", "TV-G", "G", "TV-Y7", "TV-Y7-FV", "PG", "TV-PG", "PG-13", "TV-14", "R", "NC-17", "TV-MA"
]  # fmt: skip

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
# BCP 47-ish: "en", "pt-BR", "zh-Hant-TW"; enough to catch free text without a language registry.
LanguageTag = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]


class TitleStatus(StrEnum):
    """Lifecycle of a title. The transcoding workflow moves a movie or an episode UPLOADING ->
    TRANSCODING -> READY | FAILED; a series (no media) is READY from its creation. An admin's
    withdrawal makes any of them WITHDRAWN (final). Only READY titles are visible to non-admins."""

    UPLOADING = "UPLOADING"
    TRANSCODING = "TRANSCODING"
    READY = "READY"
    FAILED = "FAILED"
    WITHDRAWN = "WITHDRAWN"


class TitleKind(StrEnum):
    """A movie and an episode are playable (they get a source upload and renditions); a series is
    metadata only, the parent of its episodes. Items written before kinds existed are movies."""

    MOVIE = "movie"
    SERIES = "series"
    EPISODE = "episode"


# Bounds of an episode's place; the episode-slot sort key zero-pads them to these widths
# (EPISODE#{season:03d}#{number:04d}), so lexical order is (season, number) order.
MAX_SEASON = 999
MAX_EPISODE_NUMBER = 9999
TitleText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
CastName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Genres = Annotated[list[ShortText], Field(max_length=10)]
Cast = Annotated[list[CastName], Field(max_length=100)]
# 1888: the oldest surviving film; the upper bound leaves room for announced titles.
Year = Annotated[int, Field(ge=1888, le=2100)]
TitleId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class _Strict(BaseModel):
    # Unknown fields are rejected so a misspelt field is a 400, not silently dropped data.
    model_config = ConfigDict(extra="forbid")


class CreateTitleRequest(_Strict):
    """Body of POST /titles. ``kind`` defaults to movie (the request of a movie is unchanged); an
    episode names its series (an existing, not withdrawn series) and its place in it."""

    kind: TitleKind = TitleKind.MOVIE
    title: TitleText
    description: Description = ""
    genres: Genres = Field(default_factory=list)
    cast: Cast = Field(default_factory=list)
    language: LanguageTag
    maturity_rating: MaturityRating
    year: Year
    series_id: TitleId | None = None
    season: int | None = Field(default=None, ge=1, le=MAX_SEASON)
    number: int | None = Field(default=None, ge=1, le=MAX_EPISODE_NUMBER)

    @model_validator(mode="after")
    def _episode_fields_only_on_episodes(self) -> CreateTitleRequest:
        placed = {"series_id": self.series_id, "season": self.season, "number": self.number}
        if self.kind is TitleKind.EPISODE:
            missing = [name for name, value in placed.items() if value is None]
            if missing:
                raise ValueError(f"an episode needs {', '.join(missing)}")
        else:
            given = [name for name, value in placed.items() if value is not None]
            if given:
                raise ValueError(f"{', '.join(given)} only apply to kind 'episode'")
        return self


# What PATCH may change: the descriptive metadata (never kind, status, an episode's place or media).
EDITABLE_FIELDS: tuple[str, ...] = ("title", "description", "genres", "cast", "language", "maturity_rating", "year")


class UpdateTitleRequest(_Strict):
    """Body of PATCH /titles/{title_id}: the fields to change (at least one), validated as at
    creation. ``kind`` and an episode's place are not editable. ``expected_version``: apply only if
    the title is still at that version (else 409 VERSION_CONFLICT), so two admins editing the same
    title cannot silently overwrite each other."""

    title: TitleText | None = None
    description: Description | None = None
    genres: Genres | None = None
    cast: Cast | None = None
    language: LanguageTag | None = None
    maturity_rating: MaturityRating | None = None
    year: Year | None = None
    expected_version: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _some_change_and_no_nulls(self) -> UpdateTitleRequest:
        # null is not a value of any of these fields: sent explicitly it is a mistake, not "unset".
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        if not self.changes():
            raise ValueError("nothing to change: send at least one of " + ", ".join(EDITABLE_FIELDS))
        return self

    def changes(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in EDITABLE_FIELDS if f in self.model_fields_set}


class CreateTitleResponse(BaseModel):
    title_id: str


class UploadRequest(_Strict):
    """Body of POST /titles/{title_id}/upload. Without ``parts`` the answer is one presigned PUT
    (up to 5 GiB); with ``parts`` it is a multipart upload of that many parts."""

    # The source's exact size. Required: it is checked against MAX_SOURCE_BYTES before any URL is
    # issued and signed into every URL (the PUT's or each part's Content-Length), so S3 refuses a
    # body of any other length -- a leaked or reused URL cannot store more than was declared.
    size_bytes: int = Field(ge=1)
    # 1,000 part URLs keep the response far below Lambda's 6 MB limit; at S3's 5 GiB part
    # maximum that still allows a 5 TiB source.
    parts: int | None = Field(default=None, ge=1, le=1000)


class UploadResponse(BaseModel):
    upload_url: str
    expires_in: int
    method: Literal["PUT"] = "PUT"
    # Headers the client must send verbatim: they are part of the signature.
    headers: dict[str, str]
    key: str


class UploadPartUrl(BaseModel):
    part_number: int
    upload_url: str
    # The exact length this part must carry (its Content-Length is signed); parts are consecutive
    # slices of the source in part_number order.
    size_bytes: int


class MultipartUploadResponse(BaseModel):
    upload_id: str
    key: str
    expires_in: int
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    parts: list[UploadPartUrl]
    # Where to POST {upload_id, parts: [{part_number, etag}]} once every part is uploaded.
    complete_path: str


class CompletedPart(_Strict):
    part_number: int = Field(ge=1, le=1000)
    etag: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CompleteUploadRequest(_Strict):
    upload_id: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    parts: list[CompletedPart] = Field(min_length=1, max_length=1000)


class CompleteUploadResponse(BaseModel):
    title_id: str
    key: str
    status: TitleStatus


class Rendition(BaseModel):
    name: str
    width: int
    height: int
    bandwidth: int


class PlaybackTier(BaseModel):
    """One plan cap's nested rendition set, written by the transcoder (contract B)."""

    model_config = ConfigDict(extra="ignore")

    max_height: int
    prefix: str
    master: str
    renditions: list[str] = Field(default_factory=list)


class TitleRecord(BaseModel):
    """A title as stored (minus the key attributes); what the data-access layer hands back."""

    model_config = ConfigDict(extra="ignore")

    title_id: str
    kind: TitleKind = TitleKind.MOVIE
    # 1 at creation, +1 with every change of the item (catalog's and transcode's writes), in the
    # same write; consumers of the events ignore anything older than what they hold. Items written
    # before versions existed read as 0 until their next change.
    version: int = 0
    title: str
    description: str = ""
    genres: list[str] = Field(default_factory=list)
    cast: list[str] = Field(default_factory=list)
    language: str
    maturity_rating: str
    year: int
    status: TitleStatus
    created_at: str
    updated_at: str
    created_by: str | None = None
    failure_reason: str | None = None
    duration_s: float | None = None
    renditions: list[Rendition] | None = None
    manifest_path: str | None = None
    playback_tiers: list[PlaybackTier] | None = None
    series_id: str | None = None
    season: int | None = None
    number: int | None = None
    withdrawn_at: str | None = None


class TitleView(BaseModel):
    """The public shape of a title; absent optional fields are omitted, not null."""

    title_id: str
    kind: TitleKind
    version: int
    title: str
    description: str
    genres: list[str]
    cast: list[str]
    language: str
    maturity_rating: str
    year: int
    status: TitleStatus
    failure_reason: str | None = None
    duration_s: float | None = None
    renditions: list[Rendition] | None = None
    manifest_path: str | None = None
    playback_tiers: list[PlaybackTier] | None = None
    series_id: str | None = None
    season: int | None = None
    number: int | None = None
    withdrawn_at: str | None = None

    @classmethod
    def of(cls, record: TitleRecord) -> TitleView:
        return cls.model_validate(record.model_dump(exclude={"created_at", "updated_at", "created_by"}))

    # Unannotated on purpose: pydantic then keeps generating the response's JSON schema (OpenAPI)
    # from the fields instead of from a generic dict return type.
    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # Optional fields are left out rather than sent as null, whoever serializes the model
        # (Powertools' response validation serializes without exclude_none).
        return {k: v for k, v in handler(self).items() if v is not None}


class TitlePage(BaseModel):
    items: list[TitleView]
    # null on the last page: the client stops paging.
    next_cursor: str | None = None


class EpisodePage(BaseModel):
    """GET /titles/{series_id}/episodes: episodes in (season, number) order."""

    series_id: str
    items: list[TitleView]
    # null on the last page: the client stops paging.
    next_cursor: str | None = None
