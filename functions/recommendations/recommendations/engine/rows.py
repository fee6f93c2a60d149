"""The home-page row builder: one precomputed JSON document per profile, plus the static fallback.

Rules enforced here (each has a unit test that would break it):
- never a title above the profile's maturity tier (kids profiles: kids tiers only);
- never a title that is unpublished or outside its availability window at ``now``;
- nothing the profile already finished;
- no title in two rows of one document;
- sponsored rows only while the campaign is live and targets the profile, and marked sponsored;
- deterministic: the same inputs give the same document (every ranking breaks ties by title id).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from .data import KIDS_MAX_LEVEL, Campaign, Profile, maturity_level
from .models import Models

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RowConfig:
    row_size: int = 20
    min_row_size: int = 4  # a shorter row looks broken on a TV screen; drop it instead
    because_you_watched_rows: int = 2
    anchor_candidates: int = 5  # recent titles tried as anchors, newest first
    max_sponsored_rows: int = 1
    sponsored_position: int = 2  # display index of the sponsored row (0 = top)
    model_version: str = "engine-1"


@dataclass
class _Row:
    row_id: str
    kind: str
    title: str
    title_ids: list[str]
    extra: dict[str, Any]

    def doc(self) -> dict[str, Any]:
        return {
            "row_id": self.row_id,
            "kind": self.kind,
            "title": self.title,
            "title_ids": self.title_ids,
            "sponsored": self.kind == "sponsored",
            **self.extra,
        }


class _Picker:
    """Ranks eligible titles and hands each title to at most one row."""

    def __init__(self, models: Models, max_level: int, finished: frozenset[str], now: float) -> None:
        cat, arrays = models.catalog, models.arrays()
        self.ids = arrays.ids
        self.eligible = arrays.available(now) & (arrays.level <= max_level)
        done = [cat.index[t] for t in finished if t in cat.index]
        if done:
            self.eligible[done] = False
        self.used = np.zeros(len(cat), dtype=bool)
        self.order_key = np.arange(len(cat))  # catalog order = sorted title ids: the tie-breaker

    def rank(self, scores: np.ndarray, n: int, mask: np.ndarray | None = None) -> list[int]:
        ok = self.eligible & ~self.used & np.isfinite(scores)
        if mask is not None:
            ok &= mask
        cand = np.flatnonzero(ok)
        order = np.lexsort((self.order_key[cand], -scores[cand]))
        return [int(j) for j in cand[order[:n]]]

    def claim(self, idx: Sequence[int]) -> list[str]:
        self.used[list(idx)] = True
        return [self.ids[j] for j in idx]


def _language_first(picker: _Picker, scores: np.ndarray, lang_mask: np.ndarray | None, n: int, min_n: int) -> list[int]:
    """Titles in the profile's language first; other languages only to fill a too-short row."""
    if lang_mask is None:
        return picker.rank(scores, n)
    picked = picker.rank(scores, n, lang_mask)
    if len(picked) < min_n:
        rest = picker.rank(scores, n, ~lang_mask)
        picked += rest[: n - len(picked)]
    return picked


def _assemble(
    profile: Profile,
    models: Models,
    campaigns: Iterable[Campaign],
    now: float,
    cfg: RowConfig,
    *,
    fallback: bool,
) -> dict[str, Any]:
    cat = models.catalog
    picker = _Picker(models, profile.max_level, profile.finished_ids(), now)
    n, min_n = cfg.row_size, cfg.min_row_size
    known_history = [i for i in profile.history if i.title_id in cat.index]
    lang_mask = None
    if not fallback and profile.language:
        lang_mask = models.arrays().language_mask(profile.language)
    # Tiny popularity tie-breaker: among equally similar titles, prefer the better known
    # (1e-3 x normalised log popularity, computed once per model).
    pop_tb = models.arrays().popularity_tiebreak

    # Claim order is not display order: paid placements claim their titles first (the contract
    # promises them), then organic rows in display order.
    sponsored: list[_Row] = []
    if not fallback:
        live = sorted(
            (c for c in campaigns if c.is_live(now) and c.targets(profile)),
            key=lambda c: (-c.priority, c.campaign_id),
        )
        for c in live:
            if len(sponsored) >= cfg.max_sponsored_rows:
                break
            # Campaign order is the advertiser's order: score by position.
            pos = np.full(len(cat), -np.inf)
            for k, tid in enumerate(c.title_ids):
                j = cat.index.get(tid)
                if j is not None and not np.isfinite(pos[j]):
                    pos[j] = -float(k)
            idx = picker.rank(pos, n)
            if len(idx) >= 1:  # one sponsored title is a valid (hero-style) placement
                sponsored.append(
                    _Row(
                        f"sponsored-{c.campaign_id}",
                        "sponsored",
                        c.name,
                        picker.claim(idx),
                        {"campaign_id": c.campaign_id},
                    )
                )

    organic: list[_Row] = []

    def add(row_id: str, kind: str, title: str, idx: list[int], extra: dict[str, Any] | None = None) -> None:
        if len(idx) >= min_n:
            organic.append(_Row(row_id, kind, title, picker.claim(idx), extra or {}))

    if known_history:
        personal = models.profile_scores(known_history, profile.attributes) + pop_tb
        add(
            "similar-interests",
            "similar_interests",
            "Others with similar interests also watched",
            picker.rank(personal, n),
        )
        anchors = [t for t in profile.recent_title_ids() if t in cat.index][: cfg.anchor_candidates]
        byw = 0
        for anchor in anchors:
            if byw >= cfg.because_you_watched_rows:
                break
            sim = models.similar_to(anchor)
            sim[cat.index[anchor]] = -np.inf
            idx = picker.rank(np.where(sim > 0, sim + pop_tb, -np.inf), n)
            if len(idx) >= min_n:
                name = cat.titles[cat.index[anchor]].name
                add(
                    f"byw-{anchor}",
                    "because_you_watched",
                    f"Because you watched {name}",
                    idx,
                    {"anchor_title_id": anchor},
                )
                byw += 1
        add("trending", "trending", "Trending now", picker.rank(models.trending + pop_tb, n))
    else:
        # Cold start (and the fallback): trending and popular, in the profile's language first.
        add(
            "trending",
            "trending",
            "Trending now",
            _language_first(picker, models.trending + pop_tb, lang_mask, n, min_n),
        )
    add(
        "popular",
        "popular",
        "Popular on Reelstack",
        _language_first(picker, models.popularity, lang_mask, n, min_n),
    )

    rows = list(organic)
    at = min(cfg.sponsored_position, len(rows))
    rows[at:at] = sponsored
    return {
        "schema_version": SCHEMA_VERSION,
        "profile_id": profile.profile_id,
        "generated_at": datetime.fromtimestamp(now, UTC).isoformat(),
        "model_version": f"{cfg.model_version}/{models.cf_kind}",
        "fallback": fallback,
        "max_maturity_level": profile.max_level,
        "rows": [r.doc() for r in rows],
    }


def build_home(
    profile: Profile,
    models: Models,
    campaigns: Iterable[Campaign] = (),
    *,
    now: float,
    config: RowConfig | None = None,
) -> dict[str, Any]:
    """The precomputed home document of one profile."""
    return _assemble(profile, models, campaigns, now, config or RowConfig(), fallback=False)


def build_fallback(
    models: Models,
    *,
    now: float,
    max_maturity: str = "little_kids",
    config: RowConfig | None = None,
) -> dict[str, Any]:
    """The static document served when a profile's own document is missing or the store fails.

    It is the same assembly with an anonymous, history-free profile; the default cap is the
    little-kids tier because the fallback may be shown to any profile, a kids one included.
    """
    level = maturity_level(max_maturity)
    profile = Profile("_fallback", language="", maturity=max_maturity, kids=level <= KIDS_MAX_LEVEL)
    doc = _assemble(profile, models, (), now, config or RowConfig(), fallback=True)
    doc["profile_id"] = None
    return doc
