"""Context EASE: each context links the titles it should link, and only those."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from recommendations.engine import EngineConfig, Interaction, context_ease, fit_models
from recommendations.engine.context_ease import (
    ContextEASE,
    ContextWeights,
    Events,
    combine,
    context_grams,
    genre_matrix,
    session_ids,
)
from recommendations.engine.ease import EASE
from recommendations.engine.matrix import interaction_matrix

from tests.unit.recommendations.recs_world import DAY, NOW, catalog, interactions

NONE = ContextWeights(session=0.0, same_rating=0.0, liked=0.0, genre=0.0, rating_genre=0.0)
N_USERS, N_ITEMS = 40, 8


def _world(ts_of, rating_of) -> tuple[Events, sp.csr_matrix]:
    """Every profile watches titles 0-3 (so plain co-occurrence cannot tell them apart) and two
    random titles of 4-7 (so EASE has something to regress on)."""
    rng = np.random.default_rng(0)
    u, i, t, r = [], [], [], []
    for p in range(N_USERS):
        for j in [0, 1, 2, 3, *rng.choice(np.arange(4, N_ITEMS), 2, replace=False)]:
            u.append(p)
            i.append(int(j))
            t.append(ts_of(p, int(j)))
            r.append(rating_of(p, int(j)))
    ev = Events(np.array(u), np.array(i), np.array(t, float), np.array(r, float), N_ITEMS)
    X = sp.csr_matrix((np.ones(len(u)), (ev.users, ev.items)), shape=(N_USERS, N_ITEMS))
    return ev, X


def _link(model: ContextEASE, a: int, b: int) -> float:
    assert model.B is not None
    return float(model.B[a, b])


def _genres(shared: tuple[int, ...]) -> sp.csr_matrix:
    g = np.zeros((N_ITEMS, 2))
    g[list(shared), 0] = 1.0
    g[[j for j in range(N_ITEMS) if j not in shared], 1] = 1.0
    return sp.csr_matrix(g)


def test_no_context_is_plain_ease():
    ev, X = _world(lambda p, j: p * DAY + j * 3600, lambda p, j: 1 + (p + j) % 5)
    plain = EASE(lam=5.0, dropout=0.25).fit(X)
    ctx = ContextEASE(5.0, 0.25, NONE).fit_events(ev, _genres((0, 1)))
    assert ctx.B is not None and plain.B is not None
    assert np.allclose(ctx.B, plain.B)


def test_session_context_links_titles_watched_in_one_sitting():
    # 0 and 1 are watched a minute apart; 2 a week later, 3 a week after that.
    offset = {0: 0.0, 1: 60.0, 2: 7 * DAY, 3: 14 * DAY}
    ev, _ = _world(lambda p, j: p * 30 * DAY + offset.get(j, 21 * DAY + j), lambda p, j: np.nan)
    plain = ContextEASE(5.0, 0.0, NONE).fit_events(ev)
    sess = ContextEASE(5.0, 0.0, ContextWeights(1.0, 0.0, 0.0, 0.0, 0.0)).fit_events(ev)
    assert _link(plain, 0, 1) == pytest.approx(_link(plain, 0, 2), rel=1e-6)
    assert _link(sess, 0, 1) > _link(sess, 0, 2) + 0.05


def test_rating_contexts_link_titles_rated_alike():
    # Every profile rates 0 and 1 the same; 2 gets the opposite opinion. Ratings = no effect
    # without the rating contexts.
    def rating(p: int, j: int) -> float:
        liked = p % 2 == 0
        if j in (0, 1):
            return 5.0 if liked else 1.0
        if j == 2:
            return 1.0 if liked else 5.0
        return 3.0

    ev, _ = _world(lambda p, j: p * DAY + j * 3600, rating)
    plain = ContextEASE(5.0, 0.0, NONE).fit_events(ev)
    assert _link(plain, 0, 1) == pytest.approx(_link(plain, 0, 2), rel=1e-6)
    for w in (ContextWeights(0.0, 1.0, 0.0, 0.0, 0.0), ContextWeights(0.0, 0.0, 1.0, 0.0, 0.0)):
        m = ContextEASE(5.0, 0.0, w).fit_events(ev)
        assert _link(m, 0, 1) > _link(m, 0, 2) + 0.05


def test_genre_context_links_titles_sharing_genres():
    ev, _ = _world(lambda p, j: p * DAY + j * 3600, lambda p, j: 4.0)
    genres = _genres((0, 1))
    plain = ContextEASE(5.0, 0.0, NONE).fit_events(ev, genres)
    m = ContextEASE(5.0, 0.0, ContextWeights(0.0, 0.0, 0.0, 1.0, 0.0)).fit_events(ev, genres)
    assert _link(plain, 0, 1) == pytest.approx(_link(plain, 0, 2), rel=1e-6)
    assert _link(m, 0, 1) > _link(m, 0, 2) + 0.05


@pytest.mark.parametrize("context", ["era", "year"])
def test_release_year_contexts_link_titles_of_one_era(context):
    ev, _ = _world(lambda p, j: p * DAY + j * 3600, lambda p, j: 4.0)
    years = np.array([1994.0, 1995.0, 1972.0, np.nan, 1980.0, 1990.0, 2001.0, 2015.0])
    plain = ContextEASE(5.0, 0.0, NONE).fit_events(ev, None, years)
    m = ContextEASE(5.0, 0.0, replace(NONE, **{context: 1.0})).fit_events(ev, None, years)
    assert _link(plain, 0, 1) == pytest.approx(_link(plain, 0, 2), rel=1e-6)
    assert _link(m, 0, 1) > _link(m, 0, 2) + 0.05
    # a title without a year is linked to nothing through the year contexts
    g = context_grams(ev, None, years)
    G = combine(g, replace(NONE, **{context: 1.0})) - combine(g, NONE)
    assert np.all(G[3] == 0.0) and np.all(G[:, 3] == 0.0)
    assert np.allclose(G, G.T)


def test_blockwise_metadata_products_match_the_dense_formula(monkeypatch):
    ev, _ = _world(lambda p, j: p * DAY + j * 3600, lambda p, j: 1 + (p * j) % 5)
    genres = _genres((0, 1, 5))
    years = np.array([1994.0, 1995.0, 1972.0, np.nan, 1980.0, 1990.0, 2001.0, 2015.0])
    g = context_grams(ev, genres, years)
    w = ContextWeights(0.0, 0.0, 0.0, 0.3, 0.2, 0.1, 0.4)
    monkeypatch.setattr(context_ease, "_BLOCK", 3)  # several blocks, the last one short
    got = combine(g, w)
    P, R = g.counts["profile"].toarray(), g.counts["same_rating"].toarray()
    shared = (genres @ genres.T).toarray()
    with np.errstate(invalid="ignore"):
        era = (np.floor(years[:, None] / 10) == np.floor(years[None, :] / 10)).astype(float)
        near = np.nan_to_num(np.exp(-np.abs(years[:, None] - years[None, :]) / context_ease.YEAR_SCALE))
    want = P + 0.3 * P * shared + 0.2 * R * shared + 0.1 * P * era + 0.4 * P * near
    assert np.allclose(got, want)


def test_popularity_penalty_lowers_blockbusters_only_by_the_set_amount():
    cat = catalog()
    events = interactions()
    X, users = interaction_matrix(events, cat)
    base = fit_models(events, cat, NOW, EngineConfig(popularity_penalty=0.0))
    pen = fit_models(events, cat, NOW, EngineConfig(popularity_penalty=0.1))
    diff = base.score_matrix(X) - pen.score_matrix(X)
    assert np.allclose(diff, 0.1 * np.log1p(base.popularity)[None, :])
    assert base.popularity.max() > base.popularity.min()  # the world does have blockbusters


def test_unrated_events_stay_out_of_rating_contexts():
    ev, _ = _world(lambda p, j: p * DAY + j, lambda p, j: np.nan)
    g = context_grams(ev, None)
    assert g.counts["same_rating"].nnz == 0 and g.counts["liked"].nnz == 0
    assert g.counts["profile"].nnz > 0 and g.genres is None


def test_session_ids_split_on_gaps_per_profile():
    users = np.array([1, 0, 0, 0, 1, 0])
    ts = np.array([0.0, 100.0, 0.0, 50.0, 30.0, 500.0])
    s = session_ids(users, ts, gap_seconds=60.0)
    # profile 0: t=0, 50 (one session), 100 (gap 50: same), 500 (new); profile 1: 0, 30 (one)
    assert s[2] == s[3] == s[1]
    assert s[5] != s[1]
    assert s[0] == s[4] and s[0] not in (s[1], s[5])


def test_repeated_title_counts_once_per_context():
    ev = Events(np.array([0, 0, 0]), np.array([0, 0, 1]), np.array([0.0, 5.0, 9.0]), np.array([5.0, 5.0, 5.0]), 2)
    g = context_grams(ev, None)
    for name in ("profile", "session", "same_rating", "liked"):
        assert g.counts[name].toarray().tolist() == [[1.0, 1.0], [1.0, 1.0]], name


def test_genre_matrix_ignores_case_and_blanks():
    cat = catalog()
    G = genre_matrix(cat)
    assert G.shape[0] == len(cat)
    names = {g.strip().lower() for t in cat.titles for g in t.genres if g.strip()}
    assert G.shape[1] == len(names)
    assert np.asarray(G.sum(axis=1)).ravel().tolist() == [len(set(t.genres)) for t in cat.titles]


def test_fit_models_uses_context_ease_and_the_ratings():
    cat = catalog()
    events = interactions()
    rated = [
        Interaction(e.profile_id, e.title_id, e.ts, e.weight, e.finished, rating=float(1 + int(e.title_id[1:]) % 5))
        for e in events
    ]
    cfg = EngineConfig(session_weight=0.0, content_weight=0.0)
    with_ratings = fit_models(rated, cat, NOW, cfg)
    without = fit_models(events, cat, NOW, cfg)
    assert isinstance(with_ratings.cf, ContextEASE) and with_ratings.cf_kind == "ease"
    assert with_ratings.cf.B is not None and without.cf.B is not None
    assert not np.allclose(with_ratings.cf.B, without.cf.B)  # ratings reach the model
    X, _ = interaction_matrix(events, cat)
    hist = [e for e in events if e.profile_id == "family00"]
    row = with_ratings.score_matrix(X)[sorted({e.profile_id for e in events}).index("family00")]
    assert np.allclose(with_ratings.profile_scores(hist), row)


def test_loved_titles_weigh_more_in_the_history_row():
    cat = catalog()
    events = interactions()
    m = fit_models(events, cat, NOW, EngineConfig(loved_weight=0.5, loved_rating=5.0))
    hist = [
        Interaction("p", "d01", NOW - DAY, rating=5.0),
        Interaction("p", "d02", NOW - DAY, rating=4.0),
        Interaction("p", "a03", NOW - DAY),  # no rating: a plain watch
    ]
    X = m.history_matrix(hist, ["p"]).toarray()[0]
    assert X[cat.index["d01"]] == pytest.approx(1.5)
    assert X[cat.index["d02"]] == pytest.approx(1.0) and X[cat.index["a03"]] == pytest.approx(1.0)
    assert X.sum() == pytest.approx(3.5)
    # the CF part is linear in the row: loving d01 adds half of d01's item-item weights
    plain_row = m.history_matrix([replace(e, rating=None) for e in hist], ["p"])
    diff = m.cf.score(m.history_matrix(hist, ["p"])) - m.cf.score(plain_row)
    assert isinstance(m.cf, ContextEASE) and m.cf.B is not None
    assert np.allclose(diff[0], 0.5 * m.cf.B[cat.index["d01"]], atol=1e-6)
    assert not np.allclose(m.profile_scores(hist), m.profile_scores([replace(e, rating=None) for e in hist]))
    off = fit_models(events, cat, NOW, EngineConfig(loved_weight=0.0))
    assert off.history_matrix(hist, ["p"]).toarray().max() == 1.0


def test_loved_weight_enters_the_profile_gram_as_weighted_rows():
    ev = Events(
        np.array([0, 0, 0, 1, 1]),
        np.array([0, 1, 1, 1, 2]),  # profile 0 watched title 1 twice, loving it once
        np.array([0.0, 1.0, 2.0, 0.0, 1.0]),
        np.array([5.0, 3.0, 5.0, np.nan, 4.0]),
        3,
    )
    g = context_grams(ev, None, loved_rating=5.0, loved_weight=0.5).counts["profile"].toarray()
    Xw = np.array([[1.5, 1.5, 0.0], [0.0, 1.0, 1.0]])  # the max value of a title's events
    assert np.allclose(g, Xw.T @ Xw)
    X = (Xw > 0).astype(float)
    assert np.allclose(context_grams(ev, None).counts["profile"].toarray(), X.T @ X)


def test_size_exponent_weighs_pairs_from_big_groups_less():
    # profile 0 watched 2 titles, profile 1 watched 6: with exponent e a pair from profile 0
    # weighs (6/2)^e times a pair from profile 1, and the gram's total stays the same.
    users = np.array([0, 0, 1, 1, 1, 1, 1, 1])
    items = np.array([0, 1, 2, 3, 4, 5, 6, 7])
    ev = Events(users, items, np.arange(8.0) * DAY, np.full(8, 4.0), 8)
    counts = context_grams(ev, None).counts["profile"].toarray()
    for e in (0.5, 1.0):
        g = context_grams(ev, None, size_exponent=e).counts
        P = g["profile"].toarray()
        assert P[0, 1] / P[2, 3] == pytest.approx(3.0**e)
        assert P.sum() == pytest.approx(counts.sum())
        assert np.array_equal(P > 0, counts > 0)  # same pairs, other weights
        for name in ("same_rating", "liked"):  # one rating per profile: the same groups
            assert np.allclose(g[name].toarray(), P)
    assert np.array_equal(context_grams(ev, None, size_exponent=0.0).counts["profile"].toarray(), counts)


def test_engine_config_reaches_context_ease():
    cfg = EngineConfig(context_size_exponent=0.75, ease_diag_relax=0.2)
    m = fit_models(interactions(), catalog(), NOW, cfg)
    assert isinstance(m.cf, ContextEASE)
    assert m.cf.size_exponent == 0.75 and m.cf.diag_relax == 0.2


def _attribute_world() -> tuple[Events, sp.csr_matrix]:
    """Profiles 0-19 have attribute 0 and watch titles 0/1 + two random of 4-7; profiles 20-39
    have attribute 1 and watch titles 2/3 + two random of 4-7."""
    rng = np.random.default_rng(0)
    u, i = [], []
    for p in range(N_USERS):
        own = (0, 1) if p < N_USERS // 2 else (2, 3)
        for j in [*own, *rng.choice(np.arange(4, N_ITEMS), 2, replace=False)]:
            u.append(p)
            i.append(int(j))
    ev = Events(np.array(u), np.array(i), np.arange(len(u)) * DAY, np.full(len(u), np.nan), N_ITEMS)
    A = sp.csr_matrix((np.ones(N_USERS), (np.arange(N_USERS), (np.arange(N_USERS) >= N_USERS // 2).astype(int))))
    return ev, A


def test_profile_attributes_act_as_pseudo_titles():
    ev, A = _attribute_world()
    with_attr = ContextEASE(5.0, 0.0, NONE).fit_events(ev, attributes=A)
    without = ContextEASE(5.0, 0.0, NONE).fit_events(ev)
    assert with_attr.B is not None and without.B is not None and with_attr.B_attr is not None
    assert with_attr.B.shape == (N_ITEMS, N_ITEMS) and with_attr.B_attr.shape == (2, N_ITEMS)
    # a new profile with one neutral title: its attribute alone decides between the clusters
    x = sp.csr_matrix(np.eye(1, N_ITEMS, 5))
    for a, mine, other in ((0, (0, 1), (2, 3)), (1, (2, 3), (0, 1))):
        s = with_attr.score(x, sp.csr_matrix(np.eye(1, 2, a)))[0]
        assert min(s[list(mine)]) > max(s[list(other)]) + 0.05
    base = without.score(x)[0]
    assert base[0] == pytest.approx(base[2], abs=0.05)  # without attributes: no preference
    # weight 0 (or no attribute row at scoring time) is the model without attributes
    off = ContextEASE(5.0, 0.0, NONE, attribute_weight=0.0).fit_events(ev, attributes=A)
    assert off.B_attr is None and off.B is not None and np.allclose(off.B, without.B)
    assert np.allclose(with_attr.score(x), np.asarray(x @ with_attr.B))


def test_fit_models_learns_and_serves_profile_attributes():
    cat = catalog()
    events = interactions()
    cluster = {e.profile_id: e.profile_id.rstrip("0123456789") for e in events}
    attrs = {p: (f"cluster:{c}", "region:eu") for p, c in cluster.items()}
    m = fit_models(events, cat, NOW, EngineConfig(), profile_attributes=attrs)
    assert m.attributes == tuple(sorted({a for v in attrs.values() for a in v}))
    # unknown tokens are ignored; the batch and per-profile paths agree
    A = m.attribute_matrix([("cluster:drama", "planet:mars"), ()])
    assert A.toarray().sum(axis=1).tolist() == [1.0, 0.0]
    hist = [e for e in events if e.profile_id == "family00"]
    X = m.history_matrix(hist, ["family00"])
    assert np.allclose(
        m.profile_scores(hist, attrs["family00"]), m.score_matrix(X, m.attribute_matrix([attrs["family00"]]))[0]
    )
    # a brand-new profile with one comedy: the cluster attribute pulls its cluster's titles up
    one = [Interaction("new", "c03", NOW)]
    fam = m.profile_scores(one, ("cluster:family",))
    dra = m.profile_scores(one, ("cluster:drama",))
    a_idx = [cat.index[t.title_id] for t in cat.titles if t.title_id.startswith("a")]
    d_idx = [cat.index[t.title_id] for t in cat.titles if t.title_id.startswith("d")]
    assert fam[a_idx].mean() - fam[d_idx].mean() > dra[a_idx].mean() - dra[d_idx].mean() + 0.05
    # ALS (above the EASE size) has no attribute part
    als = fit_models(events, cat, NOW, EngineConfig(max_ease_titles=10, als_factors=8), profile_attributes=attrs)
    assert als.attributes == () and np.isfinite(als.profile_scores(hist, attrs["family00"])).all()


def test_row_builder_scores_with_the_profile_attributes(monkeypatch):
    from recommendations.engine import Models, Profile, build_home

    cat = catalog()
    events = interactions()
    m = fit_models(events, cat, NOW, EngineConfig(), profile_attributes={"family00": ("region:eu",)})
    seen: list[tuple[str, ...]] = []
    original = Models.profile_scores

    def spy(self, history, attributes=()):
        seen.append(tuple(attributes))
        return original(self, history, attributes)

    monkeypatch.setattr(Models, "profile_scores", spy)
    hist = tuple(e for e in events if e.profile_id == "family00")
    build_home(Profile("family00", history=hist, attributes=("region:eu",)), m, now=NOW)
    assert seen == [("region:eu",)]
