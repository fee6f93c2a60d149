"""Score blends: a weighted sum of per-profile normalised component scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import scipy.sparse as sp


class Scorer(Protocol):
    name: str

    def score(self, X: sp.csr_matrix) -> np.ndarray: ...


def normalise_rows(s: np.ndarray) -> np.ndarray:
    """Scale each row to max |score| = 1 so weights mean the same for every profile and model
    (EASE scores are O(1), content sums grow with history length)."""
    m = np.abs(s).max(axis=1, keepdims=True)
    m[m == 0] = 1.0
    return s / m


class Blend:
    name = "blend"

    def __init__(self, parts: Sequence[tuple[Scorer, float]]) -> None:
        if not parts:
            raise ValueError("a blend needs at least one part")
        self.parts = list(parts)

    def score(self, X: sp.csr_matrix) -> np.ndarray:
        total: np.ndarray | None = None
        for scorer, weight in self.parts:
            if weight == 0:
                continue
            s = weight * normalise_rows(np.asarray(scorer.score(X), dtype=np.float64))
            total = s if total is None else total + s
        assert total is not None
        return total
