"""The off-peak fill (Open Connect's nightly fill): the most popular READY titles, whole, pushed to
the edges ahead of the day's demand, with more copies for the more popular, within a byte budget.

Selection (``select_titles``, also what ``bench/delivery.py`` simulates): titles in popularity order,
each costing its size times its copies, taken while they fit -- a strict prefix of the ranking, so a
big popular title is never skipped in favour of a smaller, less popular one. Copies follow the
title's share of the candidates' popularity: one copy below 1 %, two from 1 %, three from 5 % (the
edge fleet's own rule, local/cdn/placement.py ``copies_for_share``).

Popularity is the home service's trending counts (week, all languages); with none yet, the newest
READY titles, ranked by age with a Zipf prior (1/rank). Each title is filled by ``prefill_title`` --
the publish-time prefill, same signed GETs and copies header -- with an unbounded horizon and the
title's copies, under a per-day ledger: a second run the same day skips what is DONE and resumes
what a run cut short released. Time-bounded: nothing new starts once ``should_stop`` says so.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from delivery.logic.ports import Cdn, OffpeakCatalog, PopularitySource, PrefillLedger
from delivery.logic.prefill import PrefillPolicy, prefill_title
from delivery.models.errors import BadEvent, PrefillIncomplete
from delivery.models.events import TitlePublished
from delivery.models.offpeak import Candidate, OffpeakResult, Pick
from delivery.models.prefill import ClaimOutcome


@dataclass(frozen=True)
class OffpeakPolicy:
    budget_bytes: int = 200 * 10**9
    # A catalog item carries duration_s, not bytes: size = duration x this (the ladder's bitrates summed).
    bytes_per_second: float = 1_300_000.0
    unknown_duration_s: float = 7200.0  # a title without duration_s counts as two hours
    max_candidates: int = 500
    max_copies: int = 3


_WHOLE = PrefillPolicy(prefill_seconds=math.inf)


def copies_for_share(share: float, max_copies: int = 3) -> int:
    return max(1, min(max_copies, 1 + (share >= 0.01) + (share >= 0.05)))


def select_titles(candidates: Sequence[Candidate], budget_bytes: int, max_copies: int = 3) -> list[Pick]:
    """The most popular candidates whose size x copies fit the budget together, most popular first."""
    ranked = sorted((c for c in candidates if c.score > 0), key=lambda c: (-c.score, c.title_id))
    total = sum(c.score for c in ranked)
    picks: list[Pick] = []
    left = budget_bytes
    for rank, c in enumerate(ranked, start=1):
        share = c.score / total
        copies = copies_for_share(share, max_copies)
        cost = max(0, c.size_bytes) * copies
        if cost > left:
            break
        left -= cost
        picks.append(Pick(c.title_id, rank, share, copies, cost))
    return picks


def estimated_size(detail: TitlePublished, policy: OffpeakPolicy) -> int:
    duration = detail.duration_s if detail.duration_s and detail.duration_s > 0 else policy.unknown_duration_s
    return int(duration * policy.bytes_per_second)


def candidates(
    popularity: PopularitySource, catalog: OffpeakCatalog, policy: OffpeakPolicy
) -> tuple[str, list[Candidate], dict[str, TitlePublished]]:
    """(source, candidates, their titles): trending titles that are READY with media, else the newest."""
    scores: Mapping[str, float] = popularity.scores()
    source = "trending"
    ranked = [t for t, s in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])) if s > 0][: policy.max_candidates]
    titles = catalog.ready_titles(ranked) if ranked else {}
    if not titles:
        source = "newest"
        ranked = catalog.newest_ready(policy.max_candidates)
        scores = {t: 1.0 / (i + 1) for i, t in enumerate(ranked)}
        titles = catalog.ready_titles(ranked) if ranked else {}
    out = [Candidate(t, float(scores[t]), estimated_size(titles[t], policy)) for t in ranked if t in titles]
    return (source if out else "none"), out, titles


def run_offpeak(
    day: str,
    popularity: PopularitySource,
    catalog: OffpeakCatalog,
    cdn_for: Callable[[str], Cdn],
    ledger: PrefillLedger,
    policy: OffpeakPolicy = OffpeakPolicy(),
    prefill: PrefillPolicy = _WHOLE,
    *,
    clock: Callable[[], float] = time.time,
    should_stop: Callable[[], bool] = lambda: False,
) -> OffpeakResult:
    source, found, titles = candidates(popularity, catalog, policy)
    result = OffpeakResult(day, source, select_titles(found, policy.budget_bytes, policy.max_copies))
    for pick in result.picks:
        if should_stop():
            result.stopped = True
            break
        whole = dataclasses.replace(prefill, prefill_seconds=math.inf, title_copies=pick.copies)
        try:
            done = prefill_title(
                titles[pick.title_id], cdn_for(pick.title_id), ledger, whole, clock=clock, should_stop=should_stop
            )
        except PrefillIncomplete:
            # Released in the ledger: the next run claims it again (objects already filled are hits).
            if should_stop():
                result.stopped = True
                break
            result.failed.append(pick.title_id)
            continue
        except BadEvent:
            result.failed.append(pick.title_id)
            continue
        if done.outcome is ClaimOutcome.CLAIMED:
            result.filled.append(pick.title_id)
            result.objects += done.filled
            result.bytes += done.bytes
        elif done.outcome in (ClaimOutcome.DONE, ClaimOutcome.BUSY):
            result.already.append(pick.title_id)
    return result
