"""What the prefill logic needs from the outside world."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from delivery.models.events import TitlePublished, TitleWithdrawn
from delivery.models.prefill import Claim, Fetched


class Cdn(Protocol):
    def get(self, key: str, *, copies: int, keep_body: bool) -> Fetched:
        """A signed GET of ``key`` through the CDN asking for ``copies`` edge copies. Transport
        retries are the adapter's; the status it returns is final."""
        ...


class PrefillLedger(Protocol):
    """At most one fill per title version: a claim is a lease, DONE is final."""

    def claim(self, title_id: str, version: int, *, now: float, lease_s: int) -> Claim: ...

    def complete(self, title_id: str, version: int, *, now: float, filled: int, size: int, media: str) -> None: ...

    def release(self, title_id: str, version: int, *, now: float) -> None: ...


class PopularitySource(Protocol):
    def scores(self) -> Mapping[str, float]:
        """title_id -> popularity (higher: more viewed); empty when there is no data yet."""
        ...


class OffpeakCatalog(Protocol):
    def ready_titles(self, title_ids: Sequence[str]) -> dict[str, TitlePublished]:
        """Those of ``title_ids`` that are READY with media, as their TitlePublished would carry them."""
        ...

    def newest_ready(self, limit: int) -> list[str]:
        """Up to ``limit`` READY title ids, newest first."""
        ...


class Purger(Protocol):
    def purge(self, prefix: str, *, reference: str) -> None:
        """Drop every cached object under ``prefix`` (``titles/{id}/``) from the CDN. ``reference``
        is the same for every retry of one withdrawal (CloudFront's CallerReference: a repeat is the
        same invalidation). Raises ``PurgeFailed`` when the CDN did not take it."""
        ...


class WithdrawalLedger(Protocol):
    def begin_withdrawal(self, title_id: str, version: int, *, now: float) -> bool:
        """Record the withdrawal (prefill of any older version is refused from here on). False when
        this version's purge is already recorded as done: nothing left to do."""
        ...

    def finish_withdrawal(self, title_id: str, version: int, *, now: float) -> None: ...


class LatePurges(Protocol):
    def schedule(self, detail: TitleWithdrawn, delay_s: int) -> None:
        """Have the title purged once more after ``delay_s`` (a delayed message to the purge queue).
        Raises when it was not taken (the record is retried: the first purge again, then this)."""
        ...
