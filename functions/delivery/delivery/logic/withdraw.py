"""Withdrawal: a ``TitleWithdrawn`` title's media leaves the CDN's caches -- CloudFront in AWS (an
invalidation of ``/titles/{id}/*``), the edge fleet locally (its purge of ``titles/{id}/``) -- so
nothing keeps serving it from a cache for the year segments are cached.

Order: the ledger first (from then on a late or redelivered ``TitlePublished`` of an older version
prefills nothing), then the purge, then the ledger says it is done. Idempotent: a redelivered event
finds the purge done and does nothing; a retry after a failed purge purges again under the same
reference (CloudFront treats a repeated CallerReference as the same invalidation). A series has no
media: nothing to purge.

A fill already running when the withdrawal lands (a prefill claimed before it, an off-peak run that
chose the title before it) can fetch the title into the caches after the purge. Such a fill is over
by its function's timeout (at most 15 min after it began, before the withdrawal), so the first purge
schedules a second one ``LATE_PURGE_DELAY_S`` later (SQS's longest delay, 900 s) with its own
reference (``...-late``: the same reference would be CloudFront's earlier invalidation, a no-op).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from delivery.logic.ports import LatePurges, Purger, WithdrawalLedger
from delivery.models.events import TitleWithdrawn

# A throttled purge (CloudFront: 15 wildcard invalidations in progress) comes back after
# THROTTLE_BASE_S x 2^(receives - 1), capped at THROTTLE_CAP_S, times a random 0.5-1 so a burst of
# withdrawals spreads out. Over the queue's 20 receives (infra: PURGE_MAX_RECEIVES) that is >= 7 h
# of retries before the dead-letter queue, where 10 receives at the fixed 180-s visibility gave 30 min
# (a month-end licence expiry of a few hundred titles outlasted that at 15 invalidations in progress).
THROTTLE_BASE_S = 60
THROTTLE_CAP_S = 3600


def throttled_delay_s(receive_count: int, jitter: float) -> int:
    """``jitter`` in [0, 1): the delay is scaled by 0.5 + jitter / 2."""
    step = min(THROTTLE_CAP_S, THROTTLE_BASE_S * 2 ** max(0, min(receive_count, 16) - 1))
    return max(1, int(step * (0.5 + jitter / 2)))


def title_prefix(title_id: str) -> str:
    return f"titles/{title_id}/"


def purge_reference(detail: TitleWithdrawn, *, late: bool = False) -> str:
    return f"withdraw-{detail.title_id}-v{detail.version}" + ("-late" if late else "")


# Longer than any fill that began before the withdrawal can still fetch (prefill: 5-min timeout;
# off-peak fill: 15 min), within SQS's longest DelaySeconds.
LATE_PURGE_DELAY_S = 900


@dataclass(frozen=True)
class WithdrawResult:
    title_id: str
    version: int
    outcome: str  # "purged" | "already_purged" | "no_media" | "late_purged"


def withdraw_title(
    detail: TitleWithdrawn,
    ledger: WithdrawalLedger,
    purger: Purger,
    clock: Callable[[], float] = time.time,
    *,
    late: LatePurges | None = None,
    late_delay_s: int = LATE_PURGE_DELAY_S,
) -> WithdrawResult:
    if detail.kind == "series":
        return WithdrawResult(detail.title_id, detail.version, "no_media")
    if not ledger.begin_withdrawal(detail.title_id, detail.version, now=clock()):
        return WithdrawResult(detail.title_id, detail.version, "already_purged")
    purger.purge(title_prefix(detail.title_id), reference=purge_reference(detail))  # raises: SQS retries
    if late is not None:
        # Before the ledger says done: if it is not taken, the record's retry purges and schedules again.
        late.schedule(detail, late_delay_s)
    ledger.finish_withdrawal(detail.title_id, detail.version, now=clock())
    return WithdrawResult(detail.title_id, detail.version, "purged")


def late_purge(detail: TitleWithdrawn, purger: Purger) -> WithdrawResult:
    """The second purge, after every fill that began before the withdrawal is over. No ledger step:
    the ledger already says WITHDRAWN; a repeat (redelivery) is the same invalidation."""
    purger.purge(title_prefix(detail.title_id), reference=purge_reference(detail, late=True))
    return WithdrawResult(detail.title_id, detail.version, "late_purged")
