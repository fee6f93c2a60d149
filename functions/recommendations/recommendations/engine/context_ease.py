"""Context EASE: EASE whose item-item gram counts co-occurrence inside several *contexts*.

Plain EASE learns from one context, the whole profile: two titles are related if the same
profiles watched them, however far apart and whatever the profile thought of them. Viewing
data carries more than that, and each extra context is one more gram added before the closed
form (one inverse, same serving cost: scores are still ``history @ B``):

- ``session``: a profile's viewing sessions (events at most ``session_gap_seconds`` apart) —
  titles picked in one sitting are closer than titles a year apart;
- ``same_rating``: titles one profile rated with the same value — a shared *opinion*, not just
  a shared audience;
- ``liked``: titles one profile liked (rating ≥ ``like_threshold``) / rated below it;
- ``genre`` and ``rating_genre``: the profile / same-rating co-occurrence of two titles,
  multiplied by the number of genres they share (Σ_g (X∘g)ᵀ(X∘g) = XᵀX ∘ GGᵀ);
- ``era`` and ``year``: the profile co-occurrence of two titles released in the same decade, and
  weighted by exp(-|Δ release year| / 3) (titles without a year get neither).

Each weight is relative to the profile context (1); all zeros is plain EASE. Pairs from big
groups weigh less (``size_exponent``, see ``_groups_gram``). Profile attributes (an age band, a
region) can join the gram as pseudo-titles (user side information, ``context_grams``).

Memory: the n_titles² dense gram of EASE, plus the context grams, which stay sparse; the
metadata products are added one block of rows at a time. Accuracy against plain EASE and peak
memory are measured by ``bench.recs`` (figures: docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .data import Catalog
from .ease import EASE
from .matrix import max_dedup

YEAR_SCALE = 3.0  # years: the "year" context links titles released ~3 years apart by e^-1
_BLOCK = 1024


@dataclass(frozen=True)
class ContextWeights:
    session: float = 1.0
    same_rating: float = 0.5
    liked: float = 0.25
    genre: float = 0.1
    rating_genre: float = 0.1
    era: float = 0.0
    year: float = 0.0


@dataclass(frozen=True)
class Events:
    """Integer-indexed events: profile index, title index, epoch seconds, rating (NaN = none)."""

    users: np.ndarray
    items: np.ndarray
    ts: np.ndarray
    ratings: np.ndarray
    n_items: int


def genre_matrix(catalog: Catalog) -> sp.csr_matrix:
    """Titles x genres indicator (genre names compared case-insensitively)."""
    names = sorted({g.strip().lower() for t in catalog.titles for g in t.genres if g.strip()})
    col = {g: k for k, g in enumerate(names)}
    rows, cols = [], []
    for j, t in enumerate(catalog.titles):
        for g in {g.strip().lower() for g in t.genres if g.strip()}:
            rows.append(j)
            cols.append(col[g])
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(catalog), len(names)))


def _groups_gram(
    keys: np.ndarray,
    items: np.ndarray,
    n_items: int,
    values: np.ndarray | None = None,
    size_exponent: float = 0.0,
) -> sp.csr_matrix:
    """Σ over groups of (group row)ᵀ(group row). A title appears once per group, with value 1
    or, given ``values``, the largest of its events' values. With ``size_exponent`` = e each
    group's pairs weigh (titles in the group)^-e, rescaled so the gram's total is unchanged: a
    title pair from a 5-title evening says more than one from a 300-title rating spree."""
    if len(keys) == 0:
        return sp.csr_matrix((n_items, n_items))
    _, g = np.unique(keys, axis=0, return_inverse=True)
    g = np.asarray(g).reshape(-1)
    v = np.ones(len(items)) if values is None else np.asarray(values, dtype=np.float64)
    M = max_dedup(g, items, v, (int(g.max()) + 1, n_items), dtype=np.float64)
    if size_exponent:
        row_mass = np.asarray(M.sum(axis=1)).ravel() ** 2  # each group's total in the unweighted gram
        shrink = np.diff(M.indptr).astype(np.float64) ** -size_exponent
        M = sp.csr_matrix(sp.diags(np.sqrt(shrink * row_mass.sum() / (row_mass * shrink).sum())) @ M)
    return sp.csr_matrix(M.T @ M)


def session_ids(users: np.ndarray, ts: np.ndarray, gap_seconds: float) -> np.ndarray:
    """Per event, a session number that is unique across profiles: a profile's session ends
    when more than ``gap_seconds`` pass between two of its consecutive events."""
    order = np.lexsort((ts, users))
    u, t = users[order], ts[order].astype(np.float64)
    new = np.ones(len(u), dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | (t[1:] - t[:-1] > gap_seconds)
    out = np.empty(len(u), dtype=np.int64)
    out[order] = np.cumsum(new) - 1
    return out


def release_years(catalog: Catalog) -> np.ndarray:
    """Release year per title, NaN where unknown."""
    return np.array([np.nan if t.year is None else float(t.year) for t in catalog.titles])


@dataclass(frozen=True)
class Grams:
    """Sparse co-occurrence grams per context, plus the title metadata the products need."""

    counts: dict[str, sp.csr_matrix]
    genres: sp.csr_matrix | None = None
    years: np.ndarray | None = None
    # Profile attributes as pseudo-titles (see ``context_grams``): attributes x titles and
    # attributes x attributes co-occurrence; None without attributes.
    attr_cross: np.ndarray | None = None
    attr_gram: np.ndarray | None = None


def context_grams(
    ev: Events,
    genres: sp.csr_matrix | None = None,
    years: np.ndarray | None = None,
    *,
    session_gap_seconds: float = 60.0,
    like_threshold: float = 4.0,
    loved_rating: float = 5.0,
    loved_weight: float = 0.0,
    size_exponent: float = 0.0,
    attributes: sp.csr_matrix | None = None,
) -> Grams:
    """The profile gram and the per-group context grams (sparse), from integer-indexed events.
    In the profile gram a title the profile rated >= ``loved_rating`` weighs 1 + ``loved_weight``
    (as in the scoring row, ``Models.history_matrix``: the model learns from the rows it scores).
    ``size_exponent`` down-weights big groups (profiles, sessions...): see ``_groups_gram``.

    ``attributes`` (profiles x attribute tokens, 0/1; rows follow ``ev.users``) are profile
    facts such as an age band or a region: each becomes a pseudo-title the profile "watched",
    so EASE also learns which titles go with which attributes (user side information)."""
    n = ev.n_items
    rated = ~np.isnan(ev.ratings)
    ru, ri, rv = ev.users[rated], ev.items[rated], ev.ratings[rated]
    with np.errstate(invalid="ignore"):
        row_value = 1.0 + loved_weight * (ev.ratings >= loved_rating)
    e = size_exponent
    counts = {
        "profile": _groups_gram(ev.users[:, None], ev.items, n, row_value if loved_weight else None, e),
        "session": _groups_gram(session_ids(ev.users, ev.ts, session_gap_seconds)[:, None], ev.items, n, None, e),
        "same_rating": _groups_gram(np.c_[ru, np.round(rv * 2)], ri, n, None, e),  # half-star resolution
        "liked": _groups_gram(np.c_[ru, rv >= like_threshold], ri, n, None, e),
    }
    cross = agram = None
    if attributes is not None and attributes.shape[1]:
        n_users = int(ev.users.max()) + 1 if len(ev.users) else 0
        rows = max_dedup(ev.users, ev.items, row_value, (n_users, n), dtype=np.float64)  # profile rows
        A = sp.csr_matrix(attributes[: rows.shape[0]], dtype=np.float64)
        cross = np.asarray((A.T @ rows).todense())
        agram = np.asarray((A.T @ A).todense())
    return Grams(counts, genres if genres is not None and genres.shape[1] else None, years, cross, agram)


def _metadata_block(grams: Grams, w: ContextWeights, a: int, b: int, dtype: type) -> np.ndarray | None:
    """Rows a:b of genre/era/year products, or None if every such weight is 0 or unusable."""
    use_genres = grams.genres is not None and bool(w.genre or w.rating_genre)
    use_years = grams.years is not None and bool(w.era or w.year)
    if not (use_genres or use_years):
        return None
    prof = grams.counts["profile"][a:b].toarray()  # densified once per block
    out: np.ndarray | None = None

    def add(x: np.ndarray) -> None:
        nonlocal out
        out = x if out is None else out + x

    if use_genres:
        assert grams.genres is not None
        shared = (grams.genres[a:b] @ grams.genres.T).toarray()
        if w.genre:
            add(w.genre * prof * shared)
        if w.rating_genre:
            add(w.rating_genre * grams.counts["same_rating"][a:b].toarray() * shared)
    if use_years:
        assert grams.years is not None
        ya, yb = grams.years[a:b, None], grams.years[None, :]
        with np.errstate(invalid="ignore"):  # NaN years compare False / give NaN: no link
            if w.era:
                add(w.era * prof * (np.floor(ya / 10) == np.floor(yb / 10)))
            if w.year:
                k = np.nan_to_num(np.exp(-np.abs(ya - yb) / YEAR_SCALE), nan=0.0)
                add(w.year * prof * k)
    return None if out is None else out.astype(dtype, copy=False)


def combine(grams: Grams, weights: ContextWeights, dtype: type = np.float64, pad: int = 0) -> np.ndarray:
    """Profile gram + Σ weight x context gram, as one dense n_titles² matrix — the top-left
    corner of an (n_titles + pad)² matrix when ``pad`` leaves room for pseudo-titles."""
    profile = grams.counts["profile"].astype(dtype)
    n = profile.shape[0]
    if pad:
        G = np.zeros((n + pad, n + pad), dtype=dtype)
        c = profile.tocoo()
        G[c.row, c.col] = c.data
    else:
        G = profile.toarray()
    for name in ("session", "same_rating", "liked"):
        w = getattr(weights, name)
        if w:
            # sparse into dense without an n² temporary (no duplicate cells after tocoo of a csr)
            c = grams.counts[name].tocoo()
            G[c.row, c.col] += (w * c.data).astype(dtype, copy=False)
    for a in range(0, n, _BLOCK):
        b = min(n, a + _BLOCK)
        blk = _metadata_block(grams, weights, a, b, dtype)
        if blk is not None:
            G[a:b, :n] += blk
    return G


class ContextEASE(EASE):
    name = "context_ease"

    def __init__(
        self,
        lam: float = 400.0,
        dropout: float = 0.25,
        weights: ContextWeights | None = None,
        *,
        session_gap_seconds: float = 60.0,
        like_threshold: float = 4.0,
        loved_rating: float = 5.0,
        loved_weight: float = 0.0,
        size_exponent: float = 0.0,
        diag_relax: float = 0.0,
        attribute_weight: float = 1.0,
        dtype: type = np.float64,
    ) -> None:
        super().__init__(lam=lam, dropout=dropout, dtype=dtype, diag_relax=diag_relax)
        self.weights = weights or ContextWeights()
        self.size_exponent = size_exponent
        self.session_gap_seconds = session_gap_seconds
        self.like_threshold = like_threshold
        self.loved_rating = loved_rating
        self.loved_weight = loved_weight
        self.attribute_weight = attribute_weight
        self.B_attr: np.ndarray | None = None  # attribute pseudo-titles x titles

    def fit_events(
        self,
        ev: Events,
        genres: sp.csr_matrix | None = None,
        years: np.ndarray | None = None,
        attributes: sp.csr_matrix | None = None,
    ) -> ContextEASE:
        grams = context_grams(
            ev,
            genres,
            years,
            session_gap_seconds=self.session_gap_seconds,
            like_threshold=self.like_threshold,
            loved_rating=self.loved_rating,
            loved_weight=self.loved_weight,
            size_exponent=self.size_exponent,
            attributes=attributes,
        )
        return self.fit_grams(grams)

    def fit_grams(self, grams: Grams) -> ContextEASE:
        w = self.attribute_weight
        if grams.attr_cross is None or grams.attr_gram is None or not w:
            self.fit_gram(combine(grams, self.weights, self.dtype))
            self.B_attr = None
            return self
        # Attributes join the gram as pseudo-titles with value w: one closed form learns the
        # title-title and attribute-title weights together (same ridge, same relaxed diagonal).
        n, k = grams.attr_cross.shape[1], grams.attr_cross.shape[0]
        G = combine(grams, self.weights, self.dtype, pad=k)
        G[n:, :n] = w * grams.attr_cross
        G[:n, n:] = G[n:, :n].T
        G[n:, n:] = w * w * grams.attr_gram
        self.fit_gram(G)
        assert self.B is not None
        self.B_attr = w * self.B[n:, :n]  # folds the input value w in: scores = A @ B_attr
        self.B = self.B[:n, :n]
        return self

    def score(self, X: sp.csr_matrix, attributes: sp.csr_matrix | None = None) -> np.ndarray:
        """``X @ B``, plus ``attributes @ B_attr`` when the model was fitted with attributes."""
        out = super().score(X)
        if attributes is not None and self.B_attr is not None:
            out += np.asarray(sp.csr_matrix(attributes, dtype=self.B_attr.dtype) @ self.B_attr)
        return out
