"""The bench tunes the shipped model: ``bench.recs.Fold`` (the tuner's cached path) must score
exactly what ``fit_models`` + ``Models.score_matrix`` score for the same events and settings,
including the settings that shape the context grams and the scoring input."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
pytest.importorskip("recbole", reason="ml-100k is read from the recbole wheel")

from recommendations.engine.models import EngineConfig, fit_models  # noqa: E402

from bench.recs import Fold, catalog_for, input_rows, interactions, make_split, profile_attributes  # noqa: E402


def test_tuner_fold_scores_equal_fit_models_scores() -> None:
    s, _test, fit, val = make_split("ms", 0)  # every rating kept: like / loved thresholds matter
    catalog = catalog_for(s.shape[1])
    # Off-default values for every setting that shapes the grams, the input rows or the blend.
    cfg = replace(
        EngineConfig(),
        context_session_gap_seconds=600.0,
        context_like_threshold=3.0,
        loved_rating=4.0,
        loved_weight=0.5,
        context_size_exponent=0.25,
        session_weight=0.25,
        session_tau_seconds=120.0,
        content_weight=0.2,
    )
    events = interactions(s, fit)
    shipped = fit_models(events, catalog, now=float(s.ts.max()), config=cfg, profile_attributes=profile_attributes(s))
    assert len(shipped.attributes) > 0 and shipped.session is not None
    expected = shipped.score_matrix(input_rows(shipped, events, s.shape[0]), shipped.attribute_matrix(s.attributes))

    fold = Fold(s, fit, val, catalog)
    fold.scores(EngineConfig())  # a different config first: the caches must not leak into the next one
    np.testing.assert_allclose(fold.scores(cfg), expected, rtol=1e-10, atol=1e-12)
