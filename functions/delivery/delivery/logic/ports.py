"""What the prefill logic needs from the outside world."""

from __future__ import annotations

from typing import Protocol

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
