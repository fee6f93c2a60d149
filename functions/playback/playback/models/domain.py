"""Domain records passed between logic and the data-access layer (no storage details)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class PlayerState(StrEnum):
    STARTING = "starting"  # a session before its first heartbeat
    PLAYING = "playing"
    PAUSED = "paused"
    SEEKING = "seeking"


@dataclass(frozen=True)
class Tier:
    """One per-plan tier of a title's media (contract B): the renditions up to ``max_height``."""

    max_height: int
    prefix: str  # "titles/{id}/hls/cap2160/cap1080/" -- what a grant covers
    master: str  # "titles/{id}/hls/cap2160/cap1080/master.m3u8"


@dataclass(frozen=True)
class Title:
    """What playback needs of a catalog title item (read-only; the catalog owns it)."""

    title_id: str
    name: str
    status: str
    maturity_rating: str | None
    duration_s: float | None
    kind: str = "movie"  # "movie" | "series" | "episode" (contract D)
    series_id: str | None = None
    season: int | None = None
    number: int | None = None
    tiers: tuple[Tier, ...] = ()
    segment_seconds: float | None = None  # the HLS segment duration, when the item says it

    @property
    def episode(self) -> dict[str, int] | None:
        if self.kind != "episode" or self.season is None or self.number is None:
            return None
        return {"season": self.season, "number": self.number}


@dataclass(frozen=True)
class Viewer:
    """The caller's facts for one of its profiles (from reelstack_common.viewer, contract A)."""

    account_id: str
    profile_id: str
    maturity_rating: str | None
    language: str | None
    subscription_status: str  # "active" | "past_due" | "canceled"
    max_streams: int
    max_height: int


@dataclass
class Session:
    """One playback session and its stream lease (``lease_expires_at``, epoch seconds)."""

    session_id: str
    account_id: str
    profile_id: str
    title_id: str
    duration_s: float
    segment_seconds: float
    lease_expires_at: int
    kind: str = "movie"
    series_id: str | None = None
    season: int | None = None
    number: int | None = None
    language: str | None = None
    last_seq: int = -1  # the first heartbeat may carry seq 0
    applied: int = 0  # heartbeats applied (stale ones are not)
    position_s: float = 0.0
    state: str = PlayerState.STARTING.value
    ended: bool = False
    created_at: str = ""
    # The CDN grant handed out (its tier prefix and expiry): heartbeats renew it before it lapses.
    grant_prefix: str = ""
    grant_expires_at: int = 0

    @property
    def episode(self) -> dict[str, int] | None:
        if self.kind != "episode" or self.season is None or self.number is None:
            return None
        return {"season": self.season, "number": self.number}


@dataclass
class WatchState:
    """The saved state of one profile on one title: the seed's ``state json`` and the view history
    home reads (contract E; layout in docs/architecture.md)."""

    profile_id: str
    account_id: str
    title_id: str
    position_s: float
    duration_s: float
    percent: float
    finished: bool
    part_number: int  # HLS segment index of the position (the transcoder's part)
    updated_at: str  # ISO-8601 UTC with milliseconds (sorts as time)
    session_id: str
    seq: int
    kind: str = "movie"
    series_id: str | None = None
    season: int | None = None
    number: int | None = None

    @property
    def episode(self) -> dict[str, int] | None:
        if self.season is None or self.number is None:
            return None
        return {"season": self.season, "number": self.number}


class HeartbeatResult(StrEnum):
    APPLIED = "applied"
    STALE = "stale"  # an older (or equal) seq than the stored one
    EXPIRED = "expired"  # lease lapsed or session ended
    NOT_FOUND = "not_found"  # no such session, or another account's
    OUT_OF_RANGE = "out_of_range"  # position beyond the title


@dataclass
class HeartbeatOutcome:
    result: HeartbeatResult
    # APPLIED: the session before this heartbeat (transitions and sampling read it).
    # STALE: the stored session. Other results: the stored session when there is one.
    before: Session | None = None
    lease_expires_at: int | None = None


@dataclass(frozen=True)
class Heartbeat:
    position_s: float
    seq: int
    state: PlayerState
    rendition: str | None = None
    buffer_s: float | None = None


@dataclass(frozen=True)
class Grant:
    """A CDN grant as the signer returns it (contract C)."""

    resource: str
    expires_at: int
    cookies: dict[str, str] = field(default_factory=dict)
    query: str = ""


ViewEvent = dict[str, Any]
