"""Which collaborative-filtering model to train, decided by catalog size (never by hand).

EASE needs an n_titles x n_titles dense matrix and an O(n³) inverse: best accuracy on small and
mid-size catalogs, but memory grows as n² (20k titles ≈ 1.6 GB in float32, 3.2 GB in float64).
ALS memory and time grow linearly in titles. ``bench.recs`` measures both on synthetic catalogs
of 1k / 5k / 20k titles to place the switch (figures: docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .als import ALS
from .ease import EASE

EASE_MAX_TITLES = 20_000
# Above this size the float64 item matrix alone is > 0.2 GB and grows as n²; float32 halves it.
# On ml-100k float32 EASE gives the identical top-10 for every user (checked with bench.recs).
EASE_FLOAT32_ABOVE = 5_000

CFKind = Literal["ease", "als"]


def choose_cf(n_titles: int, max_ease_titles: int = EASE_MAX_TITLES) -> CFKind:
    return "ease" if n_titles <= max_ease_titles else "als"


def ease_dtype(n_titles: int) -> type:
    return np.float32 if n_titles > EASE_FLOAT32_ABOVE else np.float64


def make_cf(
    n_titles: int,
    *,
    max_ease_titles: int = EASE_MAX_TITLES,
    ease_lambda: float = 500.0,
    ease_dropout: float = 0.0,
    als_factors: int = 64,
    als_regularization: float = 0.05,
    als_alpha: float = 2.0,
    als_iterations: int = 15,
    seed: int = 0,
) -> EASE | ALS:
    if choose_cf(n_titles, max_ease_titles) == "ease":
        return EASE(lam=ease_lambda, dropout=ease_dropout, dtype=ease_dtype(n_titles))
    return ALS(
        factors=als_factors,
        regularization=als_regularization,
        alpha=als_alpha,
        iterations=als_iterations,
        seed=seed,
    )
