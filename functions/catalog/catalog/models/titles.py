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
    """Lifecycle of a title. The transcoding workflow moves it UPLOADING -> TRANSCODING ->
    READY | FAILED; only READY titles are visible to non-admins."""

    UPLOADING = "UPLOADING"
    TRANSCODING = "TRANSCODING"
    READY = "READY"
    FAILED = "FAILED"


class _Strict(BaseModel):
    # Unknown fields are rejected so a misspelt field is a 400, not silently dropped data.
    model_config = ConfigDict(extra="forbid")


class CreateTitleRequest(_Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""
    genres: list[ShortText] = Field(default_factory=list, max_length=10)
    cast: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=100
    )
    language: LanguageTag
    maturity_rating: MaturityRating
    # 1888: the oldest surviving film; the upper bound leaves room for announced titles.
    year: int = Field(ge=1888, le=2100)


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


class TitleRecord(BaseModel):
    """A title as stored (minus the key attributes); what the data-access layer hands back."""

    model_config = ConfigDict(extra="ignore")

    title_id: str
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


class TitleView(BaseModel):
    """The public shape of a title; absent optional fields are omitted, not null."""

    title_id: str
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
