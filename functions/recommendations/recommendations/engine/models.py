"""Fit every model the home page needs from plain inputs, and score profiles with them.

``fit_models`` is the one training entry point (the scheduled job will call it); the benchmark
evaluates the very same ``Models.score_matrix`` that the row builder uses, so the measured model
is the shipped model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .als import ALS
from .blend import normalise_rows
from .content import ContentModel
from .context_ease import ContextEASE, ContextWeights, Events, genre_matrix, release_years
from .data import Catalog, Interaction
from .ease import EASE
from .matrix import interaction_matrix
from .popularity import popularity_scores, trending_scores
from .select import EASE_MAX_TITLES, choose_cf, ease_dtype, make_cf
from .session import SessionKNN


@dataclass(frozen=True)
class EngineConfig:
    """Defaults = what the validation splits of ``bench.recs`` (carved from training data, never
    the test part) picked most often on MovieLens 100k; the bench re-tunes them per run."""

    max_ease_titles: int = EASE_MAX_TITLES
    ease_lambda: float = 400.0
    ease_dropout: float = 0.25  # EDLAE-style extra shrinkage of popular titles; 0 = plain EASE
    # Context EASE (see context_ease): weight of each co-occurrence context relative to the
    # profile one; all 0 = plain EASE. Used whenever EASE is (catalogs up to max_ease_titles).
    context_session: float = 1.0
    context_same_rating: float = 0.5
    context_liked: float = 0.25
    context_genre: float = 0.1
    context_rating_genre: float = 0.1
    context_era: float = 0.05
    context_year: float = 0.2
    context_session_gap_seconds: float = 60.0
    context_like_threshold: float = 4.0  # ratings on the catalog's scale (1-5 stars here)
    # Pairs from big groups (a 300-title profile, a rating spree) weigh size^-exponent; 0 = counts.
    context_size_exponent: float = 0.5
    ease_diag_relax: float = 0.3  # RDLAE: diag(B) <= this instead of 0 (see ease); 0 = EASE
    session_weight: float = 0.0  # session co-occurrence kNN blended on top; 0 disables it
    session_tau_seconds: float = 60.0
    # Content in the CF row also lets brand-new titles (no plays yet) surface; 0 disables it.
    content_weight: float = 0.1
    # Subtracted per title: popularity_penalty x log(1 + profiles that watched it). Offsets the
    # blockbuster bias every co-occurrence model has; 0 disables it.
    popularity_penalty: float = 0.04
    # Titles the profile rated >= loved_rating weigh 1 + loved_weight in its history row, both
    # in the training gram and in the scoring input: a loved title says more than a watched one.
    loved_rating: float = 5.0
    loved_weight: float = 0.25
    # Profile attributes (age band, region...: ``fit_models(profile_attributes=...)``) enter the
    # context EASE as pseudo-titles of this value; 0 ignores them.
    attribute_weight: float = 1.0
    trending_half_life_days: float = 7.0
    als_factors: int = 64
    als_regularization: float = 0.05
    als_alpha: float = 2.0
    als_iterations: int = 15
    seed: int = 0


@dataclass
class CatalogArrays:
    """The per-title facts serving needs, as arrays in catalog order: computed once per loaded
    model (``Models.arrays``), so a request never loops over the catalog in Python."""

    ids: Sequence[str]
    level: np.ndarray  # maturity tier per title (data.maturity_level)
    published: np.ndarray
    available_from: np.ndarray  # -inf: no start restriction
    available_until: np.ndarray  # +inf: no end
    language: np.ndarray  # object array of language codes
    log_popularity: np.ndarray  # log1p(distinct profiles per title)
    popularity_tiebreak: np.ndarray  # 1e-3 x log_popularity / its max (rows.py)
    _language_masks: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, catalog: Catalog, popularity: np.ndarray) -> CatalogArrays:
        titles = catalog.titles
        n = len(titles)
        log_pop = np.log1p(popularity)
        peak = float(np.max(np.abs(log_pop))) if log_pop.size else 0.0
        return cls(
            ids=catalog.ids(),
            level=np.fromiter((t.level for t in titles), dtype=np.int64, count=n),
            published=np.fromiter((t.published for t in titles), dtype=bool, count=n),
            available_from=np.array([-np.inf if t.available_from is None else t.available_from for t in titles]),
            available_until=np.array([np.inf if t.available_until is None else t.available_until for t in titles]),
            language=np.array([t.language for t in titles], dtype=object),
            log_popularity=log_pop,
            popularity_tiebreak=1e-3 * (log_pop / peak if peak > 0 else log_pop),
        )

    def available(self, now: float) -> np.ndarray:
        """``Title.is_available(now)`` for every title."""
        return self.published & (now >= self.available_from) & (now < self.available_until)

    def language_mask(self, language: str) -> np.ndarray:
        mask = self._language_masks.get(language)
        if mask is None:
            mask = self.language == language
            self._language_masks[language] = mask
        return mask


@dataclass
class Models:
    catalog: Catalog
    config: EngineConfig
    cf_kind: str
    cf: EASE | ALS  # a ContextEASE when cf_kind == "ease"
    session: SessionKNN | None
    content: ContentModel
    popularity: np.ndarray  # distinct profiles per title
    trending: np.ndarray  # time-decayed plays per title at fit time
    attributes: tuple[str, ...] = ()  # the profile attribute tokens the CF model knows

    def score_matrix(self, X: sp.csr_matrix, A: sp.csr_matrix | None = None) -> np.ndarray:
        """Personal scores (profiles x titles) of the shipped hybrid: CF + session + content,
        each normalised per profile before weighting, minus the popularity penalty. ``X`` is
        ``history_matrix`` rows, ``A`` the same profiles' ``attribute_matrix`` rows (optional).
        Seen titles are *not* removed here."""
        cf = self.cf.score(X, A) if isinstance(self.cf, ContextEASE) else self.cf.score(X)
        total = normalise_rows(np.asarray(cf, dtype=np.float64))
        if self.session is not None and self.config.session_weight:
            total += self.config.session_weight * normalise_rows(self.session.score(X))
        if self.config.content_weight:
            total += self.config.content_weight * normalise_rows(self.content.score(X))
        if self.config.popularity_penalty:
            total -= self.config.popularity_penalty * self.arrays().log_popularity[None, :]
        return total

    def arrays(self) -> CatalogArrays:
        """Per-title arrays for serving, built on first use and kept with the loaded model (never
        pickled into the artifact: see ``__getstate__``)."""
        cached: CatalogArrays | None = self.__dict__.get("_arrays")
        if cached is None:
            cached = CatalogArrays.of(self.catalog, self.popularity)
            self.__dict__["_arrays"] = cached
        return cached

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "_arrays"}

    def history_matrix(self, interactions: Iterable[Interaction], profile_ids: Sequence[str]) -> sp.csr_matrix:
        """The scoring input: one row per profile, 1 per title watched, + loved_weight if loved."""
        events = list(interactions)
        X, _ = interaction_matrix(events, self.catalog, profile_ids=profile_ids)
        if self.config.loved_weight:
            loved = [e for e in events if e.rating is not None and e.rating >= self.config.loved_rating]
            L, _ = interaction_matrix(loved, self.catalog, profile_ids=profile_ids)
            X = sp.csr_matrix(X + np.float32(self.config.loved_weight) * L)
        return X

    def attribute_matrix(self, attributes: Sequence[Iterable[str]]) -> sp.csr_matrix:
        """One 0/1 row per profile over ``self.attributes``; tokens unknown at fit time are ignored."""
        return attribute_matrix(attributes, self.attributes)

    def profile_scores(self, history: Sequence[Interaction], attributes: Iterable[str] = ()) -> np.ndarray:
        """One profile's personal scores from its current history (folded in, no retraining)."""
        return self.score_matrix(self.history_row(history), self.attribute_matrix([attributes]))[0]

    def history_row(self, history: Iterable[Interaction]) -> sp.csr_matrix:
        """``history_matrix`` of one profile (1 x titles, the same float32 values), built straight
        from the events: 1 per known title, 1 + loved_weight when any of its events is loved."""
        lw, loved_at = self.config.loved_weight, self.config.loved_rating
        loved_value = np.float32(1.0) + np.float32(lw)  # as X + float32(lw) * L adds them
        values: dict[int, np.float32] = {}
        index = self.catalog.index
        for e in history:
            j = index.get(e.title_id)
            if j is None:
                continue
            if lw and e.rating is not None and e.rating >= loved_at:
                values[j] = loved_value
            else:
                values.setdefault(j, np.float32(1.0))
        cols = np.fromiter(sorted(values), dtype=np.int32, count=len(values))
        data = np.fromiter((values[int(j)] for j in cols), dtype=np.float32, count=len(cols))
        return sp.csr_matrix((data, cols, np.array([0, len(cols)], dtype=np.int32)), shape=(1, len(self.catalog)))

    def similar_to(self, title_id: str) -> np.ndarray:
        j = self.catalog.index[title_id]
        return self.content.similar(j)


def fit_models(
    interactions: Iterable[Interaction],
    catalog: Catalog,
    now: float,
    config: EngineConfig | None = None,
    profile_attributes: Mapping[str, Iterable[str]] | None = None,
) -> Models:
    """``profile_attributes``: profile id -> attribute tokens (e.g. "age:25-34", "region:9")."""
    cfg = config or EngineConfig()
    events = list(interactions)
    X, users = interaction_matrix(events, catalog)
    ev = indexed_events(events, catalog, users)
    kind = choose_cf(len(catalog), cfg.max_ease_titles)
    known = profile_attributes or {}
    vocab = tuple(sorted({a for u in users for a in known.get(u, ())})) if cfg.attribute_weight else ()
    cf: EASE | ALS
    if kind == "ease":
        A = attribute_matrix([known.get(u, ()) for u in users], vocab) if vocab else None
        cf = make_context_ease(cfg, len(catalog)).fit_events(ev, genre_matrix(catalog), release_years(catalog), A)
    else:
        cf = make_cf(
            len(catalog),
            max_ease_titles=cfg.max_ease_titles,
            als_factors=cfg.als_factors,
            als_regularization=cfg.als_regularization,
            als_alpha=cfg.als_alpha,
            als_iterations=cfg.als_iterations,
            seed=cfg.seed,
        ).fit(X)
    session = None
    if cfg.session_weight:
        session = SessionKNN(cfg.session_tau_seconds).fit_events(ev.users, ev.items, ev.ts, len(catalog))
    return Models(
        catalog=catalog,
        config=cfg,
        cf_kind=kind,
        cf=cf,
        session=session,
        content=ContentModel().fit(catalog),
        popularity=popularity_scores(X),
        trending=trending_scores(events, catalog, now, cfg.trending_half_life_days),
        attributes=vocab if kind == "ease" else (),
    )


def make_context_ease(cfg: EngineConfig, n_titles: int) -> ContextEASE:
    """The (unfitted) context EASE that ``cfg`` describes."""
    return ContextEASE(
        cfg.ease_lambda,
        cfg.ease_dropout,
        context_weights(cfg),
        session_gap_seconds=cfg.context_session_gap_seconds,
        like_threshold=cfg.context_like_threshold,
        loved_rating=cfg.loved_rating,
        loved_weight=cfg.loved_weight,
        size_exponent=cfg.context_size_exponent,
        diag_relax=cfg.ease_diag_relax,
        attribute_weight=cfg.attribute_weight,
        dtype=ease_dtype(n_titles),
    )


def context_weights(cfg: EngineConfig) -> ContextWeights:
    return ContextWeights(
        session=cfg.context_session,
        same_rating=cfg.context_same_rating,
        liked=cfg.context_liked,
        genre=cfg.context_genre,
        rating_genre=cfg.context_rating_genre,
        era=cfg.context_era,
        year=cfg.context_year,
    )


def indexed_events(events: Sequence[Interaction], catalog: Catalog, users: Sequence[str]) -> Events:
    """Events of known profiles and titles as index arrays (rows follow ``users``)."""
    uidx = {u: k for k, u in enumerate(users)}
    known = [e for e in events if e.title_id in catalog.index and e.profile_id in uidx]
    n = len(known)
    return Events(
        users=np.fromiter((uidx[e.profile_id] for e in known), dtype=np.int64, count=n),
        items=np.fromiter((catalog.index[e.title_id] for e in known), dtype=np.int64, count=n),
        ts=np.fromiter((e.ts for e in known), dtype=np.float64, count=n),
        ratings=np.fromiter((np.nan if e.rating is None else e.rating for e in known), dtype=np.float64, count=n),
        n_items=len(catalog),
    )


def attribute_matrix(attributes: Sequence[Iterable[str]], vocab: Sequence[str]) -> sp.csr_matrix:
    """Profiles x ``vocab`` tokens, 0/1; tokens missing from ``vocab`` are ignored."""
    index = {a: k for k, a in enumerate(vocab)}
    rows, cols = [], []
    for r, tokens in enumerate(attributes):
        for c in sorted({index[t] for t in tokens if t in index}):
            rows.append(r)
            cols.append(c)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(attributes), len(vocab)))
