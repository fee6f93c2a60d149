"""What the workflow reads and writes outside its own payloads: title statuses, stored objects and
the events it announces on the platform's bus."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class TitleStatus(StrEnum):
    """The catalog's title lifecycle (functions/catalog/catalog/models/titles.py has the same enum:
    the two services are separate Lambda assets and share no code). Only an UPLOADING title is
    waiting for its source; the workflow moves it TRANSCODING -> READY | FAILED."""

    UPLOADING = "UPLOADING"
    TRANSCODING = "TRANSCODING"
    READY = "READY"
    FAILED = "FAILED"


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class ObjectHead(_Value):
    """HEAD of a stored object."""

    size: int
    etag: str  # without the quotes S3 puts around it


# --- events on the platform's bus (source "reelstack.catalog") -------------------------------------

EVENT_SOURCE = "reelstack.catalog"
TITLE_PUBLISHED = "TitlePublished"
TITLE_FAILED = "TitleFailed"


class PublishedRendition(_Value):
    name: str
    width: int
    height: int
    bandwidth: int


class PublishedTier(_Value):
    max_height: int
    prefix: str
    master: str
    renditions: list[str]


class TitlePublishedDetail(_Value):
    """Contract D: `version` is the title item's version after this write (consumers ignore an
    event older than what they hold); `playback_tiers` as in contract B (ascending max_height);
    `kind` as the catalog stored it, when it did."""

    title_id: str
    version: int | None
    manifest_path: str
    renditions: list[PublishedRendition]
    duration_s: float
    playback_tiers: list[PublishedTier]
    kind: str | None = None


class TitleFailedDetail(_Value):
    title_id: str
    failure_reason: str
    version: int | None = None


class Upload(_Value):
    """A source upload the workflow may act on (parsed from the execution input)."""

    title_id: str
    job_id: str  # the S3 event's id: it owns the title once claimed
    bucket: str
    key: str
    size: int | None
    etag: str | None
