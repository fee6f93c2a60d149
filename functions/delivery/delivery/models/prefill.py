"""What a prefill fetches and what came of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ObjectKind(StrEnum):
    PLAYLIST = "playlist"
    INIT = "init"
    SEGMENT = "segment"


@dataclass(frozen=True)
class Fetched:
    """One GET through the CDN. ``status`` is the HTTP status (0: no answer: refused, reset,
    timeout); ``body`` only when asked for (playlists)."""

    status: int
    size: int = 0
    body: bytes | None = None


@dataclass(frozen=True)
class PrefillObject:
    key: str  # object key under the distribution ("titles/T/hls/.../seg_00001.m4s")
    kind: ObjectKind
    copies: int
    start_s: float = 0.0  # where a segment starts in its rendition (playlists and init: 0)


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # this invocation fills the title
    DONE = "done"  # this version (or a newer one) was filled already
    BUSY = "busy"  # another invocation holds a live lease on this version
    SKIPPED = "skipped"  # nothing to pre-position (a series: no media)


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    # Digest of the init/segment keys the previous DONE fill of this title fetched (any version):
    # segments are immutable, so a new version listing the same ones only needs its playlists.
    previous_media: str | None = None


@dataclass
class PrefillResult:
    title_id: str
    version: int
    outcome: ClaimOutcome
    filled: int = 0  # objects fetched successfully (each to ``copies`` edges)
    bytes: int = 0
    missing: list[str] = field(default_factory=list)  # 404 at the CDN: not retried
    renditions: int = 0
    media_unchanged: bool = False  # same segments as the previous fill: only playlists refreshed
