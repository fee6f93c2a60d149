"""The bench's ``strict_lowhist`` variant must hold out exactly ``strict``'s test positives and
only add ratings < 4 as training history (never as test or validation rows)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
pytest.importorskip("recbole", reason="ml-100k is read from the recbole wheel")

from bench.movielens import load_ratings  # noqa: E402
from bench.recs import make_split  # noqa: E402


def test_lowhist_keeps_strict_holdout_and_adds_only_training_rows() -> None:
    s, test, fit, val = make_split("strict", 0)
    v, vtest, vfit, vval = make_split("strict_lowhist", 0)
    n = len(s.u)
    # Same kept rows, same order, same test / validation masks.
    assert np.array_equal(v.u[:n], s.u) and np.array_equal(v.i[:n], s.i)
    assert np.array_equal(vtest[:n], test) and np.array_equal(vval[:n], val)
    # The appended rows are exactly the low ratings, all training-only.
    n_low = int((load_ratings().rating < 4).sum())
    assert len(v.u) - n == n_low > 0
    assert not vtest[n:].any() and not vval[n:].any() and vfit[n:].all() and v.train[n:].all()
    # No (user, title) pair is both a low-rated history row and a test positive.
    pairs = set(zip(v.u[n:].tolist(), v.i[n:].tolist(), strict=True))
    assert not pairs & set(zip(s.u[test].tolist(), s.i[test].tolist(), strict=True))
