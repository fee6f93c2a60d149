"""Ports: what the playback logic needs from the outside world. Adapters live in ``playback.dal``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

from playback.models.domain import Grant, Heartbeat, HeartbeatOutcome, Session, Title, Viewer, ViewEvent, WatchState


class Viewers(ABC):
    @abstractmethod
    def load(self, user_id: str, profile_id: str) -> Viewer:
        """The caller's facts for its profile; ``ProfileNotFound`` when the profile is not the caller's."""


class Titles(ABC):
    """The catalog, read-only."""

    @abstractmethod
    def get(self, title_id: str) -> Title | None: ...

    @abstractmethod
    def get_many(self, title_ids: Iterable[str]) -> dict[str, Title]: ...

    @abstractmethod
    def next_episode(self, series_id: str, season: int, number: int) -> Title | None:
        """The episode after (season, number) of the series: the next number, else the first of a
        later season; None after the last one."""


class Signer(ABC):
    @property
    @abstractmethod
    def cdn_url(self) -> str: ...

    @abstractmethod
    def grant(self, prefix: str, ttl_s: int) -> Grant: ...


class PlaybackStore(ABC):
    """Sessions, per-account stream leases and per-(profile, title) watch states."""

    @abstractmethod
    def open_session(self, session: Session, *, limit: int, now: int) -> bool:
        """Atomically count the account's live leases (``lease_expires_at > now``) and, if fewer than
        ``limit``, store the session holding one. False when the limit is reached. Lapsed and ended
        leases free their slots here (never by waiting for TTL)."""

    @abstractmethod
    def abandon_session(self, session: Session, *, now: int) -> None:
        """Undo ``open_session`` for a start that failed: if this very session was stored (same
        account and creation time), end it and free its slot; else nothing. Idempotent."""

    @abstractmethod
    def renew(
        self, session_id: str, account_id: str, beat: Heartbeat, *, now: int, lease_until: int, min_duration_s: float
    ) -> HeartbeatOutcome:
        """Apply a heartbeat if and only if: the session is the account's, not ended, its lease not
        lapsed at ``now``, its duration at least ``min_duration_s`` and its stored seq older than the
        beat's. Applying sets position/state, renews the lease to ``lease_until`` and counts it."""

    @abstractmethod
    def extend_grant(self, session_id: str, expires_at: int) -> None:
        """Record a renewed grant's expiry on the session (never moving it backwards)."""

    @abstractmethod
    def end_session(self, session_id: str, account_id: str, *, now: int) -> Session | None:
        """End the session and free its lease at once (idempotent). None when it is not the
        account's (or missing); else the session as it was before (``ended`` tells a repeat)."""

    @abstractmethod
    def save_state(self, state: WatchState, *, fill_only: bool = False) -> bool:
        """Store the profile's state on the title unless the stored one is a newer seq of the same
        session (out-of-order delivery). ``fill_only`` (a retried beat writing what its first
        attempt missed): only where nothing or an older seq of the same session is stored, never
        over another session's. Returns whether it was written."""

    @abstractmethod
    def get_state(self, profile_id: str, title_id: str) -> WatchState | None: ...

    @abstractmethod
    def recent_states(self, profile_id: str, limit: int) -> list[WatchState]:
        """The profile's unfinished titles and its episodes (finished or not), newest first."""


class ViewEvents(ABC):
    @abstractmethod
    def publish(self, events: Sequence[ViewEvent]) -> None:
        """Best effort: never raises (playback must work while the stream does not)."""
