"""Models recover planted structure; primitives behave (ties, exclusions, closed forms)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from recommendations.engine import EASE_MAX_TITLES, EngineConfig, choose_cf, fit_models
from recommendations.engine.als import ALS
from recommendations.engine.content import ContentModel
from recommendations.engine.ease import EASE
from recommendations.engine.matrix import decay, interaction_matrix, topk
from recommendations.engine.metrics import catalog_coverage, ranking_metrics
from recommendations.engine.popularity import popularity_scores, trending_scores
from recommendations.engine.select import make_cf
from recommendations.engine.session import SessionKNN

from tests.unit.recommendations.recs_world import DAY, NOW, catalog, interactions


@pytest.fixture(scope="module")
def world():
    cat = catalog()
    events = interactions()
    X, users = interaction_matrix(events, cat)
    return cat, events, X, users


def _cluster_hits(scores: np.ndarray, cat, prefix: str, seen: set[int], k: int = 5) -> int:
    top = topk(scores[None, :], k, exclude=np.isin(np.arange(len(cat)), list(seen))[None, :])[0]
    return sum(cat.titles[j].title_id.startswith(prefix) for j in top)


@pytest.mark.parametrize("model", [EASE(lam=10.0), EASE(lam=10.0, dropout=0.25), ALS(factors=8, iterations=10)])
def test_cf_recovers_taste_clusters(world, model):
    cat, _, X, _ = world
    model.fit(X)
    for prefix, history in (("d", ["d01", "d02", "d03"]), ("a", ["a01", "a02", "a03"])):
        seen = {cat.index[t] for t in history}
        row = sp.csr_matrix((np.ones(3), ([0, 0, 0], sorted(seen))), shape=(1, len(cat)))
        assert _cluster_hits(model.score(row)[0], cat, prefix, seen) == 5


def test_session_knn_links_titles_watched_close_in_time():
    # Profiles watch p then q a minute later; r is watched by the same profiles a month apart.
    u = np.array([0, 0, 0, 1, 1, 1])
    i = np.array([0, 1, 2, 0, 1, 2])
    t = np.array([0.0, 60.0, 30 * DAY, 0.0, 60.0, 30 * DAY])
    s = SessionKNN(tau_seconds=60.0).fit_events(u, i, t, 3)
    assert s.S is not None
    assert s.S[0, 1] > 0.3
    assert s.S[0, 2] == 0.0  # beyond the window: no link at all


def test_trending_burst_beats_all_time_favourite(world):
    cat, events, X, _ = world
    pop = popularity_scores(X)
    trend = trending_scores(events, cat, NOW, half_life_days=7.0)
    assert cat.titles[int(np.argmax(pop))].title_id == "d00"
    assert cat.titles[int(np.argmax(trend))].title_id == "c07"
    # A very long half-life turns trending back into popularity.
    slow = trending_scores(events, cat, NOW, half_life_days=10_000.0)
    assert cat.titles[int(np.argmax(slow))].title_id == "d00"


def test_trending_ignores_future_events_and_repeat_plays(world):
    cat, _, _, _ = world
    from recommendations.engine import Interaction

    ev = [Interaction("u1", "a00", NOW - 10 + k) for k in range(5)]  # one profile, 5 plays
    ev += [Interaction("u2", "a01", NOW - 10), Interaction("u3", "a01", NOW - 10)]
    ev += [Interaction(f"f{k}", "a02", NOW + DAY) for k in range(10)]  # clock skew
    trend = trending_scores(ev, cat, NOW)
    assert trend[cat.index["a01"]] > trend[cat.index["a00"]] > 0
    assert trend[cat.index["a02"]] == 0


def test_decay_half_life():
    assert decay(np.array([NOW - 7 * DAY]), NOW, 7.0)[0] == pytest.approx(0.5)
    assert decay(np.array([NOW + 1]), NOW, 7.0)[0] == 0.0


def test_content_similarity_prefers_same_genre_and_cast(world):
    cat = world[0]
    cm = ContentModel().fit(cat)
    sim = cm.similar(cat.index["d01"])
    sim[cat.index["d01"]] = -1
    best = cat.titles[int(np.argmax(sim))].title_id
    assert best.startswith("d") and int(best[1:]) % 4 == 1  # same genre *and* same actor


def test_ease_matches_textbook_closed_form():
    rng = np.random.default_rng(0)
    X = sp.csr_matrix((rng.random((50, 12)) < 0.3).astype(np.float64))
    B = EASE(lam=5.0).fit(X).B
    G = (X.T @ X).toarray() + 5.0 * np.eye(12)
    P = np.linalg.inv(G)
    ref = -P / np.diag(P)[None, :]
    np.fill_diagonal(ref, 0.0)
    assert np.allclose(B, ref)
    # The serving path (few rows) and the batch path give the same scores.
    e = EASE(lam=5.0).fit(X)
    assert np.allclose(e.score(X[:3]), np.asarray(X[:3] @ e.B))
    assert np.allclose(e.score(X), np.asarray(X @ e.B))


def test_relaxed_diagonal_only_rescales_columns():
    rng = np.random.default_rng(1)
    dense = (rng.random((60, 10)) < 0.3).astype(np.float64)
    dense[:, 9] = 0.0  # a title one profile watched: its ridge scale wins the max
    dense[0, 9] = 1.0
    X = sp.csr_matrix(dense)
    plain = EASE(lam=5.0, dropout=0.25).fit(X).B
    same = EASE(lam=5.0, dropout=0.25, diag_relax=0.0).fit(X).B
    relaxed = EASE(lam=5.0, dropout=0.25, diag_relax=0.3).fit(X).B
    assert plain is not None and same is not None and relaxed is not None
    assert np.array_equal(plain, same)
    G = (X.T @ X).toarray()
    ridge = 5.0 + (0.25 / 0.75) * np.diag(G)
    P = np.linalg.inv(G + np.diag(ridge))
    gamma = np.maximum(ridge, 0.7 / np.diag(P))
    ref = -P * gamma[None, :]
    np.fill_diagonal(ref, 0.0)
    assert np.allclose(relaxed, ref)
    # column j is EASE's column j times one positive factor; the rarely watched title gets the
    # largest one (the ridge scale), the others 1 - ξ
    ratio = relaxed.sum(axis=0) / plain.sum(axis=0)
    assert np.allclose(relaxed, plain * ratio[None, :])
    assert np.allclose(ratio[:9], 0.7) and ratio[9] > 0.7
    with pytest.raises(ValueError):
        EASE(diag_relax=1.0)


def test_model_choice_follows_catalog_size():
    assert choose_cf(EASE_MAX_TITLES) == "ease"
    assert choose_cf(EASE_MAX_TITLES + 1) == "als"
    assert isinstance(make_cf(1_000), EASE)
    assert isinstance(make_cf(EASE_MAX_TITLES + 1), ALS)
    assert make_cf(10_000).dtype == np.float32  # large EASE halves its memory


def test_fit_models_switches_to_als_by_size(world):
    cat, events, _, _ = world
    m = fit_models(events, cat, NOW, EngineConfig(max_ease_titles=10, als_factors=8))
    assert m.cf_kind == "als" and isinstance(m.cf, ALS)
    scores = m.profile_scores([e for e in events if e.profile_id == "family00"])
    assert np.isfinite(scores).all()


def test_topk_is_stable_and_respects_exclusions():
    s = np.array([[1.0, 3.0, 3.0, 2.0, np.nan, 3.0]])
    assert topk(s, 3).tolist() == [[1, 2, 5]]  # ties by lower index
    assert topk(s, 3, exclude=np.array([[False, True, False, False, False, False]])).tolist() == [[2, 5, 3]]
    assert 4 not in topk(s, 6)[0][:5]  # NaN never outranks a number


def test_metrics_known_values():
    truth = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]))
    top = np.array([[0, 2], [2, 3], [0, 1]])
    m = ranking_metrics(top, truth, k=2)
    ndcg_u1 = 1.0 / (1.0 + 1.0 / np.log2(3))  # hit at rank 1 of 2 relevant
    ndcg_u2 = (1.0 / np.log2(3)) / 1.0  # hit at rank 2 of 1 relevant
    assert m["ndcg@2"] == pytest.approx((ndcg_u1 + ndcg_u2) / 2)
    assert m["precision@2"] == pytest.approx(0.5)
    assert m["recall@2"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["users"] == 2
    assert catalog_coverage(top, 4, k=2) == 1.0


def test_interaction_matrix_dedups_rewatches_and_drops_unknown_titles(world):
    cat = world[0]
    from recommendations.engine import Interaction

    ev = [Interaction("u", "a00", 1.0), Interaction("u", "a00", 2.0), Interaction("u", "zz", 3.0)]
    X, users = interaction_matrix(ev, cat)
    assert users == ["u"] and X.nnz == 1 and X[0, cat.index["a00"]] == 1.0


def test_the_one_profile_scoring_row_is_the_history_matrix_row(world):
    """Serving builds a profile's row straight from its events (``history_row``); it must be the
    very row ``history_matrix`` builds (same float32 values, same order), so scores are identical."""
    import random
    from dataclasses import replace

    cat, events, _, _ = world
    models = fit_models(events, cat, now=NOW)
    rng = random.Random(7)
    ids = [t.title_id for t in cat.titles] + ["not-in-catalog"]
    for _ in range(25):
        history = [
            replace(rng.choice(events), title_id=rng.choice(ids), rating=rng.choice([None, 3.0, 4.0, 5.0]))
            for _ in range(rng.randint(0, 40))
        ]
        row = models.history_row(history)
        matrix = models.history_matrix([replace(e, profile_id="_") for e in history], ["_"])
        assert row.dtype == matrix.dtype == np.float32
        assert np.array_equal(row.toarray(), matrix.toarray())
        assert list(row.indices) == list(matrix.indices)
        expected = models.score_matrix(matrix, models.attribute_matrix([()]))[0]
        assert np.array_equal(models.profile_scores(history), expected)


def test_serving_arrays_follow_the_titles_and_stay_out_of_the_artifact(world):
    import pickle
    from dataclasses import replace

    from recommendations.engine import Catalog

    cat, events, _, _ = world
    titles = list(cat.titles)
    titles[0] = replace(titles[0], available_from=NOW + DAY)
    titles[1] = replace(titles[1], available_until=NOW - 1)
    titles[2] = replace(titles[2], published=False)
    titles[3] = replace(titles[3], maturity="TV-Y", language="fr")
    models = fit_models(events, Catalog.of(titles), now=NOW)
    arrays = models.arrays()
    assert arrays is models.arrays()  # computed once per loaded model
    for now in (NOW, NOW + 2 * DAY):
        assert arrays.available(now).tolist() == [t.is_available(now) for t in models.catalog.titles]
    assert arrays.level.tolist() == [t.level for t in models.catalog.titles]
    assert arrays.language_mask("fr").tolist() == [t.language == "fr" for t in models.catalog.titles]
    body = pickle.dumps(models)
    assert b"_arrays" not in body and b"CatalogArrays" not in body
    again = pickle.loads(body)
    assert again.arrays().level.tolist() == arrays.level.tolist()
