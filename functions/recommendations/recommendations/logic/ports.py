"""What the logic needs from storage, as plain records and protocols (dal/ implements them)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class DependencyFailed(Exception):
    """A store the home page reads failed (DynamoDB, DAX, S3, ...). ``source`` names it for the
    fallback metric; the message is logged, never shown."""

    def __init__(self, source: str, message: str = "") -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


@dataclass(frozen=True)
class CatalogTitle:
    """A catalog title item (contract D fields the home page uses)."""

    title_id: str
    name: str
    status: str
    language: str = "en"
    maturity_rating: str | None = None
    genres: tuple[str, ...] = ()
    cast: tuple[str, ...] = ()
    description: str = ""
    year: int | None = None
    created_at: str = ""
    kind: str = "movie"

    @property
    def ready(self) -> bool:
        return self.status == "READY"


@dataclass(frozen=True)
class ViewState:
    """A playback state item: the view history of one (profile, title) (contract E)."""

    profile_id: str
    title_id: str
    updated_at: float
    position_s: float = 0.0
    duration_s: float = 0.0
    percent: float = 0.0
    finished: bool = False


@dataclass(frozen=True)
class HeadPart:
    """One of the two items of a profile's history head (kept by the history projector from the
    playback table's stream: logic/history.py). ``kind`` "titles": every title viewed, with when it
    last changed and whether it is finished (scoring and staleness need these; it changes when a title
    is new, finishes or goes). ``kind`` "progress": the unfinished titles with their positions
    (Continue watching; it changes every 30 s of viewing, so it is kept small). ``rev``: what the
    conditional writes check."""

    profile_id: str
    kind: str  # "titles" | "progress"
    views: tuple[ViewState, ...]
    rev: int = 1


@dataclass(frozen=True)
class HistoryHead:
    """A profile's history as GET /home reads it: both parts, from one round trip."""

    profile_id: str
    titles: HeadPart
    progress: HeadPart

    @property
    def views(self) -> list[ViewState]:
        """The watch states the page needs: each title, with its position when it is in progress."""
        going = {v.title_id: v for v in self.progress.views}
        out = [going.pop(v.title_id, v) for v in self.titles.views]
        return out + list(going.values())  # in progress but not (yet) in titles: a write in between


@dataclass(frozen=True)
class Rating:
    profile_id: str
    title_id: str
    thumb: str  # up | down | love
    rated_at: float


@dataclass(frozen=True)
class CampaignRecord:
    campaign_id: str
    name: str
    title_ids: tuple[str, ...]
    starts_at: str  # ISO 8601, UTC
    ends_at: str
    languages: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    priority: int = 0
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class StoredHome:
    """A profile's home item. ``doc_json`` is None when only ``ratings_at`` was ever written."""

    profile_id: str
    doc_json: str | None  # the document as stored (parsed and checked by logic.documents)
    model_version: str | None = None
    history_key: str | None = None
    data_at: float = 0.0  # the newest data the document saw (the job's cut-off, or serve time)
    ratings_at: float = 0.0  # the last rating change of the profile


@dataclass(frozen=True)
class ModelPointer:
    model_version: str
    artifact_key: str
    fallback_key: str


@dataclass(frozen=True)
class ProfileFacts:
    account_id: str
    profile_id: str
    language: str
    maturity_rating: str
    kids: bool


@dataclass
class Trending:
    """Time-decayed view counts of one language at ``at``: title -> (day, week)."""

    language: str
    at: float
    counts: dict[str, tuple[float, float]] = field(default_factory=dict)
    revision: int = 0


class TitleSource(Protocol):
    def get_many(self, title_ids: Sequence[str]) -> dict[str, CatalogTitle]: ...
    def ready_titles(self) -> list[CatalogTitle]: ...
    def newest_ready(self, limit: int) -> list[CatalogTitle]: ...


class ViewHistory(Protocol):
    def for_profile(self, profile_id: str, consistent: bool = False) -> list[ViewState]: ...
    def scan_all(self) -> Iterator[ViewState]: ...


class RatingStore(Protocol):
    def put(self, rating: Rating) -> None: ...
    def delete(self, profile_id: str, title_id: str) -> None: ...
    def for_profile(self, profile_id: str) -> list[Rating]: ...
    def scan_all(self) -> Iterator[Rating]: ...


class HomeStore(Protocol):
    def get(self, profile_id: str) -> StoredHome | None: ...
    def get_page(self, profile_id: str) -> tuple[StoredHome | None, HistoryHead | None]:
        """The document and the history head in one round trip (eventually consistent); the head is
        None unless both its parts exist."""
        ...

    def get_part(self, profile_id: str, kind: str) -> HeadPart | None:
        """One part of the history head, read consistently (the projector's read-modify-write)."""
        ...

    def put_part(self, part: HeadPart, expected_rev: int | None) -> bool:
        """Write ``part`` unless the stored one's ``rev`` is no longer ``expected_rev`` (None: unless
        one exists). False when that condition failed."""
        ...

    def put(self, home: StoredHome) -> None: ...
    def put_document(self, home: StoredHome, expected_ratings_at: float | None) -> bool:
        """``put`` unless ``ratings_at`` changed since it was read (None: the item did not exist)."""
        ...

    def put_many(self, homes: Iterable[StoredHome]) -> int: ...
    def versions(self, profile_ids: Sequence[str]) -> dict[str, StoredHome]: ...
    def mark_ratings_changed(self, profile_id: str, at: float) -> None: ...
    def current_model(self) -> ModelPointer | None: ...
    def set_current_model(self, pointer: ModelPointer) -> None: ...


class CampaignStore(Protocol):
    def put(self, campaign: CampaignRecord) -> None: ...
    def get(self, campaign_id: str) -> CampaignRecord | None: ...
    def delete(self, campaign_id: str) -> bool: ...
    def list(self) -> list[CampaignRecord]: ...


class TrendingStore(Protocol):
    def get(self, language: str) -> Trending | None: ...
    def replace(self, trending: Trending, expected_revision: int) -> bool:
        """Write ``trending`` if the stored revision is still ``expected_revision`` (0: absent)."""
        ...


class BlobStore(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, body: bytes) -> None: ...
    def list(self, prefix: str) -> list[str]: ...


class ProfileDirectory(Protocol):
    def all_profiles(self) -> Iterator[ProfileFacts]: ...


class PageReads(Protocol):
    def viewer_and_home(self, user_id: str, profile_id: str) -> tuple[Any, StoredHome | None, HistoryHead | None]:
        """One round trip: the caller's ``reelstack_common.viewer.Viewer``, the stored document and
        the history head. Raises ``reelstack_common.viewer.ProfileNotFound`` when the profile is not
        the caller's."""
        ...
