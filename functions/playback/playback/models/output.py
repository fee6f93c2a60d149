"""Response bodies (the public JSON contract)."""

from __future__ import annotations

from pydantic import BaseModel


class GrantOut(BaseModel):
    """CDN access to the session's tier (delivery's signer, contract C): send ``cookies`` as
    cookies to the CDN, or append ``query`` to URLs (signed-URL form of the same policy)."""

    resource: str
    expires_at: int
    cookies: dict[str, str]
    query: str


class EpisodeOut(BaseModel):
    season: int
    number: int


class SessionStarted(BaseModel):
    session_id: str
    manifest_url: str
    grant: GrantOut
    resume_position_s: float
    heartbeat_interval_s: int
    lease_expires_at: int
    max_height: int


class HeartbeatOut(BaseModel):
    stale: bool
    # The stored position and seq: after a stale heartbeat, what the newer one saved.
    position_s: float
    seq: int
    lease_expires_at: int
    # null, unless the session's grant had less than 10 minutes left: then the new one to use.
    grant: GrantOut | None = None


class ContinueWatchingItem(BaseModel):
    title_id: str
    title: str
    kind: str
    series_id: str | None = None
    episode: EpisodeOut | None = None
    position_s: float
    duration_s: float
    percent: float
    part_number: int
    updated_at: str
    # "in_progress", or "next_episode" when the profile finished the previous one of a series.
    reason: str


class ContinueWatching(BaseModel):
    items: list[ContinueWatchingItem]
