"""Withdrawal: a ``TitleWithdrawn`` title's media leaves the CDN's caches -- CloudFront in AWS (an
invalidation of ``/titles/{id}/*``), the edge fleet locally (its purge of ``titles/{id}/``) -- so
nothing keeps serving it from a cache for the year segments are cached.

Order: the ledger first (from then on a late or redelivered ``TitlePublished`` of an older version
prefills nothing), then the purge, then the ledger says it is done. Idempotent: a redelivered event
finds the purge done and does nothing; a retry after a failed purge purges again under the same
reference (CloudFront treats a repeated CallerReference as the same invalidation). A series has no
media: nothing to purge.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from delivery.logic.ports import Purger, WithdrawalLedger
from delivery.models.events import TitleWithdrawn


def title_prefix(title_id: str) -> str:
    return f"titles/{title_id}/"


def purge_reference(detail: TitleWithdrawn) -> str:
    return f"withdraw-{detail.title_id}-v{detail.version}"


@dataclass(frozen=True)
class WithdrawResult:
    title_id: str
    version: int
    outcome: str  # "purged" | "already_purged" | "no_media"


def withdraw_title(
    detail: TitleWithdrawn, ledger: WithdrawalLedger, purger: Purger, clock: Callable[[], float] = time.time
) -> WithdrawResult:
    if detail.kind == "series":
        return WithdrawResult(detail.title_id, detail.version, "no_media")
    if not ledger.begin_withdrawal(detail.title_id, detail.version, now=clock()):
        return WithdrawResult(detail.title_id, detail.version, "already_purged")
    purger.purge(title_prefix(detail.title_id), reference=purge_reference(detail))  # raises: SQS retries
    ledger.finish_withdrawal(detail.title_id, detail.version, now=clock())
    return WithdrawResult(detail.title_id, detail.version, "purged")
