"""Ports: what the step logic needs from the outside world. Adapters live in `transcode.dal`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from transcode.models.domain import ObjectHead
from transcode.models.settings import Settings


class ObjectStore(ABC):
    """S3: the ingest bucket (sources) and the media bucket (work files, published HLS)."""

    @abstractmethod
    def head(self, bucket: str, key: str) -> ObjectHead | None:
        """None when the object does not exist."""

    @abstractmethod
    def read_range(self, bucket: str, key: str, length: int) -> bytes:
        """The first `length` bytes (b"" for an empty object)."""

    @abstractmethod
    def presigned_url(self, bucket: str, key: str) -> str:
        """A GET URL ffmpeg can read with Range requests."""

    @abstractmethod
    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str,
                  cache_control: str | None = None) -> None:
        """One PUT (never multipart), so the object's ETag is the MD5 of `data`."""

    @abstractmethod
    def list_etags(self, bucket: str, prefix: str) -> dict[str, str]:
        """Every key under `prefix` with its ETag (without quotes)."""

    @abstractmethod
    def put_json(self, bucket: str, key: str, data: Any) -> None: ...

    @abstractmethod
    def get_json(self, bucket: str, key: str) -> Any | None:
        """None when the object does not exist."""

    @abstractmethod
    def list_keys(self, bucket: str, prefix: str) -> list[str]: ...

    @abstractmethod
    def delete_keys(self, bucket: str, keys: Sequence[str]) -> int: ...

    @abstractmethod
    def delete_prefix(self, bucket: str, prefix: str) -> int:
        """Delete everything under `prefix` (a title's own folder, never a broad one)."""


class TitleStore(ABC):
    """The title item in the catalog table. A job owns a title from its claim on; every later
    write is conditional on that ownership."""

    @abstractmethod
    def claim(self, title_id: str, job_id: str, source_etag: str | None) -> str | None:
        """UPLOADING -> TRANSCODING owned by `job_id`; None when claimed (or already claimed by the
        same job), else the status that refused it. Raises TitleNotFound for a missing title."""

    @abstractmethod
    def ownership(self, title_id: str) -> tuple[str | None, str | None]:
        """(status, transcode_job_id) of the title, read consistently; (None, None) if missing."""

    @abstractmethod
    def record_outputs(self, title_id: str, job_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        """Set output attributes; returns their previous values. Raises Superseded if not owned."""

    @abstractmethod
    def mark_ready(self, title_id: str, job_id: str) -> dict[str, Any]:
        """TRANSCODING (or READY: retries) -> READY; returns the item as written (its new
        `version`, its `kind`). Raises Superseded if not owned."""

    @abstractmethod
    def mark_failed(self, title_id: str, job_id: str | None, reason: str) -> int | None:
        """FAILED with a reason if `job_id` owns the title; returns the new version, or None when
        it was not marked."""


class PartIndex(ABC):
    """The part index: one row per HLS media segment of one rendition."""

    @abstractmethod
    def put(self, title_id: str, rendition: str, parts: Sequence[Mapping[str, Any]]) -> int:
        """Write rows keyed by each part's `part_num` (overwriting): what one chunk indexes."""

    @abstractmethod
    def delete(self, title_id: str, rendition: str, numbers: Sequence[int]) -> int:
        """Delete the rows with these part numbers."""

    @abstractmethod
    def truncate(self, title_id: str, rendition: str, count: int) -> int:
        """Delete rows with part_num >= count (an earlier, longer upload's); returns how many."""

    @abstractmethod
    def delete_rendition(self, title_id: str, rendition: str) -> int:
        """Every row of one rendition; raises TransientError when the table refuses."""


class EventBus(ABC):
    """The platform's event bus."""

    @abstractmethod
    def publish(self, detail_type: str, detail: BaseModel) -> str:
        """Returns the event id; raises TransientError when the bus cannot be reached or rejects it."""


@dataclass(frozen=True)
class Dependencies:
    """Everything a step's logic may use; `transcode.wiring` builds it once per cold start."""

    settings: Settings
    objects: ObjectStore
    titles: TitleStore
    parts: PartIndex | None  # None without PARTS_TABLE
    bus: EventBus
