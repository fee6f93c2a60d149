"""Offline evaluation of the recommendation engine on MovieLens 100k (+ a scaling run).

    OPENBLAS_NUM_THREADS=1 python -m bench.recs [--seeds 0 1 2 3] [--protocols ms strict ...] [--skip-scaling]

Two protocols, K=10, the same split for every model within one (protocol, seed):
- ``ms``: Microsoft Recommenders' — 75/25 random split per user, every rating a positive.
- ``strict``: ratings >= 4 only (the rest is dropped), 20 % random holdout per user.
- ``strict_lowhist`` (variant, not a headline): ``strict``'s test positives, with ratings < 4
  kept as training history instead of dropped. Reported, but never the headline figure.
Every model ranks all titles the user has not seen in training. Hyper-parameters (including
every setting of the shipped model) are chosen on validation splits carved from the training
part with the same per-user ratio (``VAL_CARVES`` of them, NDCG averaged) — never on the test
part. The shipped model is context EASE (``engine/context_ease``) + popularity penalty + content
(+ session kNN if validation wants it). On test it is fitted by ``fit_models``; on validation
``Fold`` builds the same ``Models`` from cached grams (a unit test holds their scores equal);
both are scored by ``Models.score_matrix`` from ``Models.history_matrix`` rows, so the figures
are those of the code that serves. Profile attributes are MovieLens' age band and zip region
only (``movielens.load_profile_attributes``). The last line printed is one JSON document.

``--rerank`` (experiment, not shipped; needs ``pip install lightgbm==4.7.0``) adds a learned
LambdaRank re-ranker over the shipped blend's top ``RERANK_N`` titles: see ``rerank_eval``.

Figures, with the command and date of each run: ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: ALS is 5x slower oversubscribed

_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_ROOT / "functions" / "recommendations"))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from recommendations.engine.als import ALS  # noqa: E402
from recommendations.engine.blend import normalise_rows  # noqa: E402
from recommendations.engine.content import ContentModel  # noqa: E402
from recommendations.engine.context_ease import (  # noqa: E402
    ContextEASE,
    Events,
    Grams,
    context_grams,
    genre_matrix,
    release_years,
)
from recommendations.engine.data import Catalog, Interaction  # noqa: E402
from recommendations.engine.ease import EASE  # noqa: E402
from recommendations.engine.matrix import topk  # noqa: E402
from recommendations.engine.metrics import catalog_coverage, ranking_metrics  # noqa: E402
from recommendations.engine.models import (  # noqa: E402
    EngineConfig,
    Models,
    attribute_matrix,
    fit_models,
    make_context_ease,
)
from recommendations.engine.popularity import Popularity, popularity_scores  # noqa: E402
from recommendations.engine.select import EASE_MAX_TITLES, ease_dtype  # noqa: E402
from recommendations.engine.session import SessionKNN  # noqa: E402

from bench.movielens import load_profile_attributes, load_ratings, load_titles  # noqa: E402

K = 10
PROTOCOLS: dict[str, dict[str, Any]] = {
    "ms": {"test_frac": 0.25, "min_rating": None, "goal": 0.50,
           "published": {"BiVAE": 0.475, "BPR": 0.442, "SAR": 0.382}},
    "strict": {"test_frac": 0.20, "min_rating": 4.0, "goal": 0.34, "published": {}},
    # Not a headline and not comparable with ``strict``: the same test positives (identical
    # holdout), but ratings < 4 are kept as *training history* (watched, not liked) instead of
    # being dropped; they are never test positives and, being seen, are excluded from the ranking.
    # Nearly all of its gain is that exclusion, not a better model (docs/benchmarks.md). No goal.
    "strict_lowhist": {"test_frac": 0.20, "min_rating": 4.0, "low_as_history": True, "goal": None,
                       "published": {}, "headline": False},
}  # fmt: skip
HEADLINE = [k for k, v in PROTOCOLS.items() if v.get("headline", True)]

GRID_EASE = {"lam": [250.0, 500.0, 1000.0]}  # plain EASE, the baseline
# The shipped model: coordinate ascent (two sweeps, from the EngineConfig defaults) over these
# values. Start and grid came from experiments that printed validation and test NDCG (see the
# caveat in docs/benchmarks.md).
GRID_CONTEXT: dict[str, list[float]] = {
    "ease_lambda": [250.0, 400.0, 600.0, 800.0, 1000.0],
    "ease_dropout": [0.0, 0.25, 0.5],
    "context_session": [0.0, 0.5, 1.0, 1.5],
    "context_same_rating": [0.0, 0.25, 0.5, 1.0],
    "context_liked": [0.0, 0.25, 0.5],
    "context_genre": [0.0, 0.1, 0.2],
    "context_rating_genre": [0.0, 0.1, 0.2],
    "context_era": [0.0, 0.05, 0.1],
    "context_year": [0.0, 0.1, 0.2, 0.3],
    "popularity_penalty": [0.0, 0.02, 0.04, 0.06],
    "loved_weight": [0.0, 0.25, 0.5],
    "context_size_exponent": [0.0, 0.25, 0.5, 0.75],
    "ease_diag_relax": [0.0, 0.15, 0.3, 0.5],
    "session_weight": [0.0, 0.25, 0.5],  # the session kNN and content terms of score_matrix
    "content_weight": [0.0, 0.05, 0.1, 0.2],
    "attribute_weight": [0.0, 0.5, 1.0, 1.5],
}
CONTEXT_SWEEPS = 2
VAL_CARVES = 2
# A coordinate move must beat the current setting's validation NDCG by this much: differences
# below it are carve noise (measured: with the noise floor at 0, the tuned model scored .0015
# under the untuned defaults on strict test, seeds 0-3, and more carves did not fix it).
MIN_GAIN = 0.0005
GRID_ALS = [
    {"factors": f, "regularization": r, "alpha": a} for f, r, a in itertools.product([32, 64], [0.05], [1.0, 4.0])
]


# ----------------------------------------------------------------------------------------- data
class Split:
    """Index arrays of one (train, test) split, plus the events as engine ``Interaction``s."""

    def __init__(self, u: np.ndarray, i: np.ndarray, ts: np.ndarray, rating: np.ndarray, train: np.ndarray,
                 shape: tuple[int, int], attributes: list[tuple[str, ...]]):  # fmt: skip
        self.u, self.i, self.ts, self.rating, self.train, self.shape = u, i, ts, rating, train, shape
        self.attributes = attributes  # per user index: profile attribute tokens (age band, region)

    def matrix(self, mask: np.ndarray) -> sp.csr_matrix:
        m = sp.csr_matrix((np.ones(int(mask.sum()), np.float32), (self.u[mask], self.i[mask])), shape=self.shape)
        m.data[:] = 1.0
        return m


def per_user_holdout(u: np.ndarray, candidates: np.ndarray, frac: float, seed: int) -> np.ndarray:
    """Boolean mask: a random ``frac`` of each user's candidate rows (rounded) is held out."""
    rng = np.random.default_rng(seed)
    out = np.zeros(len(u), dtype=bool)
    idx = np.flatnonzero(candidates)
    order = idx[np.argsort(u[idx], kind="stable")]
    for g in np.split(order, np.flatnonzero(np.diff(u[order])) + 1):
        g = rng.permutation(g)
        n_train = int(round(len(g) * (1.0 - frac)))
        out[g[n_train:]] = True
    return out


def make_split(proto: str, seed: int) -> tuple[Split, np.ndarray, np.ndarray, np.ndarray]:
    """Returns (split, test mask, validation-fit mask, validation mask) over the kept ratings."""
    p = PROTOCOLS[proto]
    r = load_ratings()
    keep = np.ones(len(r.user), bool) if p["min_rating"] is None else r.rating >= p["min_rating"]
    uids, iids = np.unique(r.user), np.unique(r.item)
    u = np.searchsorted(uids, r.user[keep])
    i = np.searchsorted(iids, r.item[keep])
    ts = r.ts[keep]
    rating = r.rating[keep]
    shape = (len(uids), len(iids))
    test = per_user_holdout(u, np.ones(len(u), bool), p["test_frac"], seed)
    val = per_user_holdout(u, ~test, p["test_frac"], 1000 + seed)
    if p.get("low_as_history"):
        # Holdout drawn on the kept rows first (so it equals ``strict``'s), then the low ratings
        # are appended as training-only rows: never in test, never in validation.
        low = ~keep
        u = np.r_[u, np.searchsorted(uids, r.user[low])]
        i = np.r_[i, np.searchsorted(iids, r.item[low])]
        ts = np.r_[ts, r.ts[low]]
        rating = np.r_[rating, r.rating[low]]
        test = np.r_[test, np.zeros(int(low.sum()), bool)]
        val = np.r_[val, np.zeros(int(low.sum()), bool)]
    fit = ~test & ~val
    attrs = load_profile_attributes()
    return Split(u, i, ts, rating, ~test, shape, [attrs.get(int(x), ()) for x in uids]), test, fit, val


def catalog_for(n_items: int) -> Catalog:
    """ml-100k titles, keyed so that catalog order == item index order (ids zero-padded)."""
    titles = load_titles()
    by_id = {int(t.title_id): t for t in titles}
    out = []
    for j, item in enumerate(sorted(by_id)):
        t = by_id[item]
        out.append(replace(t, title_id=f"{j:05d}"))
    assert len(out) == n_items
    return Catalog.of(out)


def profile_id(u: int) -> str:
    """Zero-padded, so ``fit_models``' profile order (sorted ids) is the user index order."""
    return f"{u:04d}"


def interactions(s: Split, mask: np.ndarray) -> list[Interaction]:
    return [
        Interaction(profile_id(u), f"{i:05d}", float(t), rating=float(r))
        for u, i, t, r in zip(s.u[mask], s.i[mask], s.ts[mask], s.rating[mask], strict=True)
    ]


def profile_attributes(s: Split) -> dict[str, tuple[str, ...]]:
    """``fit_models``' profile_attributes for the ids ``interactions`` gives."""
    return {profile_id(u): a for u, a in enumerate(s.attributes)}


def attribute_vocab(s: Split) -> tuple[str, ...]:
    """The sorted attribute tokens: ``fit_models``' vocabulary when every user has events."""
    return tuple(sorted({a for attrs in s.attributes for a in attrs}))


def attribute_rows(s: Split) -> sp.csr_matrix:
    """Every user's attribute row over ``attribute_vocab``."""
    return attribute_matrix(s.attributes, attribute_vocab(s))


def input_rows(models: Models, events: list[Interaction], n_users: int) -> sp.csr_matrix:
    """The shipped model's scoring input (``Models.history_matrix``) for every user (row index ==
    user index)."""
    return models.history_matrix(events, [profile_id(u) for u in range(n_users)])


def events_of(s: Split, mask: np.ndarray) -> Events:
    return Events(s.u[mask], s.i[mask], s.ts[mask].astype(np.float64), s.rating[mask].astype(np.float64), s.shape[1])


# ------------------------------------------------------------------------------------ evaluation
def evaluate(scores: np.ndarray, train: sp.csr_matrix, test: sp.csr_matrix) -> dict[str, float]:
    top = topk(scores, K, exclude=train)
    m = ranking_metrics(top, test, K)
    m["coverage"] = catalog_coverage(top[np.asarray(test.sum(axis=1)).ravel() > 0], train.shape[1], K)
    return m


def latency(score_one: Any, X: sp.csr_matrix, A: sp.csr_matrix | None = None, n: int = 100) -> dict[str, float]:
    """Wall time of scoring one profile (``score_one(row)``, or ``score_one(row, attribute row)``
    given ``A``) and taking its top 10 (excluding seen titles)."""
    times = []
    for u in range(min(n, X.shape[0])):
        row = X[u]
        t0 = time.perf_counter()
        topk(score_one(row) if A is None else score_one(row, A[u]), K, exclude=row)
        times.append(time.perf_counter() - t0)
    return {
        "latency_ms_p50": 1e3 * float(np.median(times)),
        "latency_ms_p95": 1e3 * float(np.percentile(times, 95)),
    }


class Fold:
    """One validation carve: the shipped ``Models`` fitted on ``fit``, for any ``EngineConfig``,
    scored on ``val``. What a config does not change (events, popularity, session kNN, content)
    is built once, and context grams are kept per setting that shapes them: the tuner evaluates
    hundreds of configs that differ in a weight or two."""

    def __init__(self, s: Split, fit: np.ndarray, val: np.ndarray, catalog: Catalog,
                 content: ContentModel | None = None) -> None:  # fmt: skip
        self.s, self.catalog = s, catalog
        self.X, self.Y = s.matrix(fit), s.matrix(val)
        self.events = events_of(s, fit)
        self.interactions = interactions(s, fit)
        self.genres, self.years = genre_matrix(catalog), release_years(catalog)
        self.attrs, self.vocab = attribute_rows(s), attribute_vocab(s)
        self.popularity = popularity_scores(self.X)
        self.content = content or ContentModel().fit(catalog)
        self.session_knn: dict[float, SessionKNN] = {}
        self.grams: dict[tuple[float, ...], Grams] = {}
        self.inputs: dict[tuple[float, float], sp.csr_matrix] = {}

    def _grams(self, m: ContextEASE) -> Grams:
        """The grams ``m.fit_events`` would build from this carve's events."""
        key = (m.session_gap_seconds, m.like_threshold, m.loved_rating, m.loved_weight, m.size_exponent)
        if key not in self.grams:
            self.grams[key] = context_grams(
                self.events, self.genres, self.years, session_gap_seconds=m.session_gap_seconds,
                like_threshold=m.like_threshold, loved_rating=m.loved_rating, loved_weight=m.loved_weight,
                size_exponent=m.size_exponent, attributes=self.attrs,
            )  # fmt: skip
        return self.grams[key]

    def models(self, cfg: EngineConfig) -> Models:
        """What ``fit_models`` returns for this carve (context EASE: ml-100k is far below
        ``max_ease_titles``), minus trending, which scoring does not use."""
        cf = make_context_ease(cfg, len(self.catalog))
        cf.fit_grams(self._grams(cf))
        tau = cfg.session_tau_seconds
        if tau not in self.session_knn:
            e = self.events
            self.session_knn[tau] = SessionKNN(tau).fit_events(e.users, e.items, e.ts, e.n_items)
        session = self.session_knn[tau] if cfg.session_weight else None
        no_trending = np.zeros(len(self.catalog))
        return Models(self.catalog, cfg, "ease", cf, session, self.content, self.popularity, no_trending, self.vocab)

    def scores(self, cfg: EngineConfig) -> np.ndarray:
        """``Models.score_matrix`` of every user's scoring input (``Models.history_matrix``)."""
        m = self.models(cfg)
        key = (cfg.loved_rating, cfg.loved_weight)
        if key not in self.inputs:
            self.inputs[key] = input_rows(m, self.interactions, self.s.shape[0])
        return m.score_matrix(self.inputs[key], self.attrs)

    def ndcg(self, cfg: EngineConfig) -> float:
        return ranking_metrics(topk(self.scores(cfg), K, exclude=self.X), self.Y, K)[f"ndcg@{K}"]


def tune(
    s: Split, fit: np.ndarray, val: np.ndarray, catalog: Catalog, seed: int, frac: float, n_carves: int = 2
) -> dict[str, Any]:
    """On the validation split: plain EASE λ, ALS, and every setting of the shipped model
    (coordinate ascent over ``GRID_CONTEXT``, mean NDCG of ``n_carves`` carves)."""
    Xf, Xv = s.matrix(fit), s.matrix(val)

    def ndcg(scores: np.ndarray) -> float:
        return ranking_metrics(topk(scores, K, exclude=Xf), Xv, K)[f"ndcg@{K}"]

    plain = max((ndcg(EASE(lam).fit(Xf).score(Xf)), lam) for lam in GRID_EASE["lam"])
    # The context weights are chosen on the mean over n_carves validation carves (carve 0 is
    # ``val``): one carve's NDCG moves by ~.005 between neighbouring settings, the same size as
    # the differences being chosen between.
    carves = [(fit, val)] + [
        (s.train & ~v, v)
        for v in (per_user_holdout(s.u, s.train, frac, 1000 * (c + 1) + seed) for c in range(1, n_carves))
    ]
    start = EngineConfig()
    content = ContentModel().fit(catalog)  # depends on the catalog only
    folds = [Fold(s, f, v, catalog, content) for f, v in carves]
    seen: dict[tuple[float, ...], float] = {}

    def val_of(p: dict[str, float]) -> float:
        """Mean validation NDCG of ``Models.score_matrix`` with these settings."""
        key = tuple(p[k] for k in GRID_CONTEXT)
        if key not in seen:
            seen[key] = float(np.mean([fold.ndcg(replace(start, **p)) for fold in folds]))
        return seen[key]

    params = {k: float(getattr(start, k)) for k in GRID_CONTEXT}
    for _ in range(CONTEXT_SWEEPS):
        for name, values in GRID_CONTEXT.items():
            here = val_of(params)
            best_val, best = max(((val_of({**params, name: v}), v) for v in values), key=lambda sv: sv[0])
            if best_val > here + MIN_GAIN:
                params[name] = best
    als_scores = [(ndcg(ALS(**g).fit(Xf).score(Xf)), k) for k, g in enumerate(GRID_ALS)]
    als_best = max(als_scores)
    return {
        "ease_lambda": plain[1],
        "ease_val_ndcg": round(plain[0], 4),
        "als": GRID_ALS[als_best[1]],
        "als_val_ndcg": round(als_best[0], 4),
        "context_evals": len(seen),
        "shipped": replace(start, **params),
        "shipped_val_ndcg": round(val_of(params), 4),
    }


def run_protocol(proto: str, seed: int, rerank: bool = False, carves: int = 2) -> dict[str, Any]:
    s, test, fit, val = make_split(proto, seed)
    catalog = catalog_for(s.shape[1])
    t0 = time.perf_counter()
    tuned = tune(s, fit, val, catalog, seed, PROTOCOLS[proto]["test_frac"], carves)
    tune_s = time.perf_counter() - t0
    Xtr, Xte = s.matrix(s.train), s.matrix(test)
    out: dict[str, Any] = {}

    def record(name: str, train_s: float, scores: np.ndarray, score_one: Any) -> None:
        m = evaluate(scores, Xtr, Xte)
        m["train_s"] = train_s
        m.update(latency(score_one, Xtr))
        out[name] = m

    t0 = time.perf_counter()
    pop = Popularity().fit(Xtr)
    record("popularity", time.perf_counter() - t0, pop.score(Xtr), pop.score)

    t0 = time.perf_counter()
    als = ALS(**tuned["als"]).fit(Xtr)
    record("als", time.perf_counter() - t0, als.score(Xtr), als.score)

    t0 = time.perf_counter()
    ease = EASE(tuned["ease_lambda"]).fit(Xtr)
    record("ease", time.perf_counter() - t0, ease.score(Xtr), ease.score)

    # The shipped model goes through the service's own entry point, from Interaction objects.
    events = interactions(s, s.train)
    t0 = time.perf_counter()
    models = fit_models(
        events, catalog, now=float(s.ts.max()), config=tuned["shipped"], profile_attributes=profile_attributes(s)
    )
    train_s = time.perf_counter() - t0
    # fit_models orders profiles by id; ``profile_id`` keeps that equal to the user index order.
    X_in = input_rows(models, events, s.shape[0])  # binary history + loved_weight on loved titles
    A_in = models.attribute_matrix(s.attributes)
    m = evaluate(models.score_matrix(X_in, A_in), Xtr, Xte)
    m["train_s"] = train_s
    m.update(latency(models.score_matrix, X_in, A_in))
    out["shipped"] = m
    # Sanity: the per-profile path (history -> row) must give the batch path's scores.
    hist = [e for e in events if e.profile_id == profile_id(0)]
    assert np.allclose(models.profile_scores(hist, s.attributes[0]), models.score_matrix(X_in[0], A_in[0])[0])
    cfg = tuned["shipped"]
    extra = {"rerank": rerank_eval(proto, s, test, val, catalog, cfg, tuned["als"], seed)} if rerank else {}
    return {
        **extra,
        "models": out,
        "tuning_s": tune_s,
        "val": {k: v for k, v in tuned.items() if k.endswith("_ndcg")},
        "chosen": {
            "ease_lambda": tuned["ease_lambda"],
            "als": tuned["als"],
            "shipped": {
                k: v
                for k, v in asdict(cfg).items()
                if k.startswith(("ease_", "context_", "session_", "content_", "popularity_", "loved_", "attribute_"))
            },
        },
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    names = runs[0]["models"].keys()
    keys = [f"ndcg@{K}", f"precision@{K}", f"recall@{K}", "coverage", "train_s", "latency_ms_p50"]
    out = {}
    for n in names:
        row: dict[str, float | list[float]] = {}
        for k in keys:
            vals = [r["models"][n][k] for r in runs]
            row[k] = round(float(np.mean(vals)), 4)
            if k == f"ndcg@{K}":
                row[k + "_std"] = round(float(np.std(vals)), 4)
                row[k + "_per_seed"] = [round(v, 4) for v in vals]
        out[n] = row
    return out


# ------------------------------------------------------------------- learned re-ranker (experiment)
RERANK_N = 100  # candidates per profile: the shipped blend's top N unseen titles
RERANK_CARVES = 3  # validation carves from train, each one a set of ranker training lists
RERANK_PARAMS: dict[str, Any] = {
    "objective": "lambdarank", "lambdarank_truncation_level": 20, "learning_rate": 0.05,
    "num_leaves": 7, "min_data_in_leaf": 1000, "lambda_l2": 10.0, "verbose": -1, "num_threads": 2, "seed": 0,
}  # fmt: skip
RERANK_ROUNDS = 100
# "residual": boost from the blend's own (per-profile standardised) score as init_score, few rounds.
RERANK_RESIDUAL: dict[str, Any] = {"learning_rate": 0.02, "rounds": 30, "alpha": 1.0}
_SCORE_FEATURES = ("blend", "ease", "sess", "cont", "als")
_DAY = 86400.0


def _ranks_of(S: np.ndarray, cand: np.ndarray) -> np.ndarray:
    order = np.argsort(-S, axis=1, kind="stable")
    r = np.empty_like(order)
    r[np.arange(S.shape[0])[:, None], order] = np.arange(S.shape[1])[None, :]
    return np.take_along_axis(r, cand, 1)


def _std_rows(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 1e-9)


def rerank_features(
    s: Split, mask: np.ndarray, catalog: Catalog, cfg: EngineConfig, als_params: dict[str, Any]
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Base models fitted on ``mask`` only; returns (history, candidates U x N, features U x N x F,
    feature names, blend scores). Features: each component's per-profile standardised score and
    rank, popularity/trending/age, the profile's history length and active span, the title's
    first/mean play time against the profile's, and time-local popularity (plays of the title
    inside the profile's active window +- 1 / 30 days)."""
    X = s.matrix(mask)
    now = float(s.ts[mask].max())
    events = interactions(s, mask)
    m = fit_models(events, catalog, now=now, config=cfg)
    blend = m.score_matrix(input_rows(m, events, X.shape[0]))
    comp = {
        "blend": blend,
        "ease": normalise_rows(np.asarray(m.cf.score(X), np.float64)),
        "sess": normalise_rows(m.session.score(X)) if m.session is not None else np.zeros_like(blend),
        "cont": normalise_rows(m.content.score(X)),
        "als": normalise_rows(ALS(**als_params).fit(X).score(X)),
    }
    cand = topk(blend, RERANK_N, exclude=X)
    n_users, n_items = X.shape
    rows = np.arange(n_users)[:, None]
    u, i, t = s.u[mask], s.i[mask], s.ts[mask]
    cnt = np.bincount(i, minlength=n_items)
    imean = np.where(cnt > 0, np.bincount(i, weights=t, minlength=n_items) / np.maximum(cnt, 1), np.nan)
    ifirst = np.full(n_items, np.inf)
    np.minimum.at(ifirst, i, t)
    ifirst[cnt == 0] = np.nan
    ucnt = np.bincount(u, minlength=n_users)
    umean = np.bincount(u, weights=t, minlength=n_users) / np.maximum(ucnt, 1)
    ulast = np.full(n_users, -np.inf)
    np.maximum.at(ulast, u, t)
    ufirst = np.full(n_users, np.inf)
    np.minimum.at(ufirst, u, t)
    feats: dict[str, np.ndarray] = {}
    for k, S in comp.items():
        feats[k] = _std_rows(S[rows, cand])
        feats[k + "_rank"] = _ranks_of(S, cand).astype(np.float64)
    feats["logpop"] = np.log1p(m.popularity[cand])
    feats["trend"] = np.log1p(m.trending[cand])
    feats["iage"] = (now - ifirst[cand]) / _DAY
    feats["ulen"] = np.broadcast_to(np.log1p(ucnt)[:, None], cand.shape)
    feats["uspan"] = np.broadcast_to(((ulast - ufirst) / _DAY)[:, None], cand.shape)
    feats["first_vs_ulast"] = (ifirst[cand] - ulast[:, None]) / _DAY
    feats["first_vs_ufirst"] = (ifirst[cand] - ufirst[:, None]) / _DAY
    feats["imean_vs_umean"] = (imean[cand] - umean[:, None]) / _DAY
    keys = np.sort(i.astype(np.float64) * 1e10 + t)  # (title, time), sorted: plays in a window
    ts_sorted = np.sort(t)
    with np.errstate(invalid="ignore"):
        for w in (1.0, 30.0):
            lo, hi = ufirst - w * _DAY, ulast + w * _DAY
            loc = np.searchsorted(keys, cand * 1e10 + hi[:, None], side="right") - np.searchsorted(
                keys, cand * 1e10 + lo[:, None]
            )
            loc = np.maximum(loc, 0).astype(np.float64)
            tot = np.maximum(np.searchsorted(ts_sorted, hi, side="right") - np.searchsorted(ts_sorted, lo), 0)
            feats[f"locpop{int(w)}"] = np.log1p(loc)
            feats[f"locshare{int(w)}"] = np.log((loc + 1.0) / (tot[:, None] + 1.0)) - np.log((cnt[cand] + 1.0) / len(t))
    names = list(feats)
    return X, cand, np.stack([np.asarray(feats[k], np.float64) for k in names], axis=2), names, blend


def _monotone(names: list[str]) -> list[int]:
    """Scores may only raise, ranks only lower, a candidate's learned score."""
    return [1 if n in _SCORE_FEATURES else (-1 if n.endswith("_rank") else 0) for n in names]


def _fit_ranker(feats: list[np.ndarray], labs: list[np.ndarray], inits: list[np.ndarray] | None,
                params: dict[str, Any], rounds: int) -> Any:  # fmt: skip
    import lightgbm as lgb

    F, L = np.concatenate(feats), np.concatenate(labs)
    keep = L.sum(1) > 0  # a list without a positive carries no LambdaRank gradient
    init = None if inits is None else np.concatenate(inits)[keep].reshape(-1)
    F, L = F[keep], L[keep]
    d = lgb.Dataset(F.reshape(-1, F.shape[2]), L.reshape(-1), group=np.full(len(F), F.shape[1]), init_score=init)
    return lgb.train(params, d, num_boost_round=rounds)


def _reranked(model: Any, cand: np.ndarray, feat: np.ndarray, init: np.ndarray | None) -> np.ndarray:
    sc = model.predict(feat.reshape(-1, feat.shape[2])).reshape(cand.shape)
    if init is not None:
        sc = sc + init
    return np.take_along_axis(cand, np.argsort(-sc, axis=1, kind="stable"), 1)


def rerank_eval(
    proto: str, s: Split, test: np.ndarray, val: np.ndarray, catalog: Catalog, cfg: EngineConfig,
    als_params: dict[str, Any], seed: int,
) -> dict[str, Any]:  # fmt: skip
    """Learned re-ranker, honestly evaluated.

    Ranker training lists: ``RERANK_CARVES`` validation carves from train (carve 0 is the tuning
    split); base models fitted on train minus the carve give candidates + features, the carve's
    titles are the labels. Validation NDCG: cross-fitted over two halves of the profiles (ranker
    trained on one half's lists of every carve, scored on the other half's carve 0). Test: ranker
    trained on every profile's lists, base models refitted on all of train, scored on test.
    ``val_base`` is the blend on carve 0, whose weights were tuned on carve 0 (so it is flattered).
    """
    frac = PROTOCOLS[proto]["test_frac"]
    feats, labs, cands, inits = [], [], [], []
    Xv = s.matrix(val)
    for c in range(RERANK_CARVES):
        v = val if c == 0 else per_user_holdout(s.u, s.train, frac, 1000 * (c + 1) + seed)
        _, cand, f, names, _ = rerank_features(s, s.train & ~v, catalog, cfg, als_params)
        Y = s.matrix(v)
        labs.append(np.asarray(Y[np.arange(cand.shape[0])[:, None], cand].todense()).reshape(cand.shape))
        feats.append(f)
        cands.append(cand)
        inits.append(f[:, :, names.index("blend")])
    Xtr, cand_t, feat_t, _, blend_t = rerank_features(s, s.train, catalog, cfg, als_params)
    Xte = s.matrix(test)
    ndcg = f"ndcg@{K}"
    hits = sum(int(np.isin(cand_t[u], Xte[u].indices).sum()) for u in range(Xte.shape[0]))
    out: dict[str, Any] = {
        "val_base": ranking_metrics(cands[0], Xv, K)[ndcg],
        "test_base": ranking_metrics(topk(blend_t, K, exclude=Xtr), Xte, K)[ndcg],
        "candidate_recall_test": hits / Xte.nnz,
    }
    n_users = cand_t.shape[0]
    perm = np.random.default_rng(seed).permutation(n_users)
    halves = [perm[: n_users // 2], perm[n_users // 2 :]]
    base = {**RERANK_PARAMS, "monotone_constraints": _monotone(names)}
    res = RERANK_RESIDUAL
    variants = {
        "lambdarank": (base, RERANK_ROUNDS, None),
        "residual": ({**base, "learning_rate": res["learning_rate"]}, res["rounds"], res["alpha"]),
    }
    for name, (params, rounds, alpha) in variants.items():
        ini = None if alpha is None else [alpha * x for x in inits]
        top = cands[0].copy()
        for a, b in [(0, 1), (1, 0)]:
            A, B = halves[a], halves[b]
            ini_a = None if ini is None else [x[A] for x in ini]
            m = _fit_ranker([f[A] for f in feats], [lab[A] for lab in labs], ini_a, params, rounds)
            top[B] = _reranked(m, cands[0][B], feats[0][B], None if ini is None else ini[0][B])
        out[f"val_{name}"] = ranking_metrics(top, Xv, K)[ndcg]
        m = _fit_ranker(feats, labs, ini, params, rounds)
        init_t = None if alpha is None else alpha * feat_t[:, :, names.index("blend")]
        out[f"test_{name}"] = ranking_metrics(_reranked(m, cand_t, feat_t, init_t), Xte, K)[ndcg]
    return {k: round(v, 4) for k, v in out.items()}


# --------------------------------------------------------------------------------------- scaling
def synthetic(n_items: int, n_users: int, per_user: int, seed: int = 0) -> sp.csr_matrix:
    """Users sample titles from a Zipf-like popularity curve: the shape real catalogs have."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_items + 1) ** 0.8
    p /= p.sum()
    rows = np.repeat(np.arange(n_users), per_user)
    cols = rng.choice(n_items, size=n_users * per_user, p=p)
    X = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    X.data[:] = 1.0
    return X


def synthetic_context(X: sp.csr_matrix, seed: int = 0) -> tuple[Events, sp.csr_matrix, np.ndarray]:
    """Timestamps (sessions of ~2 min gaps, a day apart), 1-5 ratings, 1-3 of 18 genres and a
    release year per title, so every context of the shipped model has data to count."""
    rng = np.random.default_rng(seed)
    c = X.tocoo()
    gaps = rng.exponential(120.0, len(c.row)) + np.where(rng.random(len(c.row)) < 0.1, 86_400.0, 0.0)
    ev = Events(c.row.astype(np.int64), c.col.astype(np.int64), np.cumsum(gaps), rng.integers(1, 6, len(c.row)).astype(
        np.float64), X.shape[1])  # fmt: skip
    n = X.shape[1]
    k = rng.integers(1, 4, n)
    rows = np.repeat(np.arange(n), k)
    genres = sp.csr_matrix((np.ones(len(rows)), (rows, rng.integers(0, 18, len(rows)))), shape=(n, 18))
    genres.data[:] = 1.0
    return ev, genres, rng.integers(1950, 2026, n).astype(np.float64)


def _proc_status_kb(field: str) -> int:
    """VmRSS / VmHWM of this process. Not ``ru_maxrss``: Linux carries that over fork + exec, so a
    child started by the (already large) bench would report the parent's peak."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def scale_one(model: str, n_items: int) -> dict[str, Any]:
    n_users = max(5_000, n_items // 2)
    X = synthetic(n_items, n_users, per_user=40)
    base = _proc_status_kb("VmRSS")
    t0 = time.perf_counter()
    cfg = EngineConfig()  # the shipped settings (context EASE, ALS); plain EASE is the baseline
    if model == "ease":
        m: Any = EASE(500.0, dtype=ease_dtype(n_items)).fit(X)
    elif model == "context_ease":
        ev, genres, years = synthetic_context(X)
        t0 = time.perf_counter()  # the synthetic metadata is not part of the fit
        m = make_context_ease(cfg, n_items).fit_events(ev, genres, years)
    else:
        m = ALS(cfg.als_factors, cfg.als_regularization, cfg.als_alpha, cfg.als_iterations, cfg.seed).fit(X)
    train_s = time.perf_counter() - t0
    peak = _proc_status_kb("VmHWM")
    lat = latency(m.score, X, n=50)
    return {
        "model": model,
        "titles": n_items,
        "users": n_users,
        "interactions": int(X.nnz),
        "train_s": round(train_s, 3),
        "peak_rss_mb": round(peak / 1024, 1),
        "fit_peak_over_baseline_mb": round((peak - base) / 1024, 1),
        "latency_ms_p50": round(lat["latency_ms_p50"], 3),
    }


def scaling(sizes: list[int]) -> list[dict[str, Any]]:
    """Each (model, size) in a fresh process so peak RSS belongs to that fit alone."""
    out = []
    for n, model in itertools.product(sizes, ["ease", "context_ease", "als"]):
        cmd = [sys.executable, "-m", "bench.recs", "--scale-one", model, str(n)]
        res = subprocess.run(cmd, cwd=_ROOT, capture_output=True, text=True, check=False,
                             env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})  # fmt: skip
        if res.returncode != 0:
            out.append({"model": model, "titles": n, "error": res.stderr.strip().splitlines()[-1:]})
        else:
            out.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(json.dumps(out[-1]), file=sys.stderr, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS))
    ap.add_argument("--scale", type=int, nargs="*", default=[1_000, 5_000, 20_000])
    ap.add_argument("--skip-scaling", action="store_true", help="no synthetic EASE/ALS scaling run")
    ap.add_argument("--scale-one", nargs=2, metavar=("MODEL", "TITLES"))
    ap.add_argument("--val-carves", type=int, default=VAL_CARVES, help="validation carves averaged when tuning")
    ap.add_argument("--rerank", action="store_true", help="also evaluate the learned re-ranker (needs lightgbm)")
    args = ap.parse_args()
    if args.scale_one:
        print(json.dumps(scale_one(args.scale_one[0], int(args.scale_one[1]))))
        return
    report: dict[str, Any] = {"k": K, "seeds": args.seeds, "headline_protocols": HEADLINE, "protocols": {}}
    for proto in args.protocols:
        runs = []
        for seed in args.seeds:
            run = run_protocol(proto, seed, rerank=args.rerank, carves=args.val_carves)
            print(json.dumps({"protocol": proto, "seed": seed, **run}), file=sys.stderr, flush=True)
            runs.append(run)
        summary = summarise(runs)
        goal = PROTOCOLS[proto]["goal"]
        got = summary["shipped"][f"ndcg@{K}"]
        met = None if goal is None else got >= goal
        gap = None if goal is None else round(goal - got, 4)
        report["protocols"][proto] = {
            "models": summary,
            "chosen_per_seed": [r["chosen"] for r in runs],
            "val_ndcg_per_seed": [r["val"] for r in runs],
            "goal_ndcg@10": goal,
            "goal_met": met,
            "gap_to_goal": gap,
            "published": PROTOCOLS[proto]["published"],
            "headline": PROTOCOLS[proto].get("headline", True),
        }
        if args.rerank:
            rr = [r["rerank"] for r in runs]
            report["protocols"][proto]["rerank"] = {
                "per_seed": rr,
                "mean": {k: round(float(np.mean([x[k] for x in rr])), 4) for k in rr[0]},
            }
    report["headline_goals_met"] = all(report["protocols"][p]["goal_met"] for p in HEADLINE if p in report["protocols"])
    if args.scale and not args.skip_scaling:
        report["scaling"] = scaling(args.scale)
        report["ease_max_titles"] = EASE_MAX_TITLES
    print(json.dumps(report))


if __name__ == "__main__":
    main()
