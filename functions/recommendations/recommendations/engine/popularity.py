"""Popularity and trending: the non-personal signals, and the cold-start answer."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

from .data import Catalog, Interaction
from .matrix import decay


def popularity_scores(X: sp.csr_matrix) -> np.ndarray:
    """Distinct profiles per title (a binge of one profile counts once)."""
    return np.asarray((X > 0).sum(axis=0), dtype=np.float64).ravel()


def trending_scores(
    interactions: Iterable[Interaction], catalog: Catalog, now: float, half_life_days: float = 7.0
) -> np.ndarray:
    """Time-decayed event counts: each event weighs 0.5 ** (age / half-life).

    One profile's repeated plays of a title count once (its latest), so a single heavy viewer
    cannot make a title "trend".
    """
    latest: dict[tuple[str, int], float] = {}
    for it in interactions:
        j = catalog.index.get(it.title_id)
        if j is None or it.ts > now:
            continue
        key = (it.profile_id, j)
        if it.ts > latest.get(key, float("-inf")):
            latest[key] = it.ts
    out = np.zeros(len(catalog), dtype=np.float64)
    if latest:
        cols = np.fromiter((j for _, j in latest), dtype=np.int64, count=len(latest))
        ts = np.fromiter(latest.values(), dtype=np.float64, count=len(latest))
        np.add.at(out, cols, decay(ts, now, half_life_days))
    return out


class Popularity:
    """The same top list for everybody; the scorer interface used by the benchmark."""

    name = "popularity"

    def __init__(self) -> None:
        self.counts: np.ndarray | None = None

    def fit(self, X: sp.csr_matrix) -> Popularity:
        self.counts = popularity_scores(X)
        return self

    def score(self, X: sp.csr_matrix) -> np.ndarray:
        assert self.counts is not None, "fit first"
        return np.broadcast_to(self.counts, (X.shape[0], len(self.counts))).copy()
