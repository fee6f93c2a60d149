"""Interactions -> sparse user x title matrices, the common input of every model."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from .data import Catalog, Interaction

DAY = 86_400.0


def decay(ts: np.ndarray, now: float, half_life_days: float | None) -> np.ndarray:
    """0.5 ** (age / half-life); events from the future get weight 0 (clock skew must not make a
    title trend). ``half_life_days=None`` disables decay."""
    ts = np.asarray(ts, dtype=np.float64)
    if half_life_days is None:
        return np.where(ts <= now, 1.0, 0.0)
    age = (now - ts) / (half_life_days * DAY)
    return np.where(age >= 0, np.exp2(-np.maximum(age, 0.0)), 0.0)


def interaction_matrix(
    interactions: Iterable[Interaction],
    catalog: Catalog,
    *,
    profile_ids: Sequence[str] | None = None,
    now: float | None = None,
    half_life_days: float | None = None,
    use_weight: bool = False,
) -> tuple[sp.csr_matrix, list[str]]:
    """Build the profile x title matrix.

    Values are 1 (implicit positive), or ``weight`` if ``use_weight``, optionally multiplied by a
    recency decay. Repeated events on one (profile, title) keep the maximum: a rewatch confirms
    the taste but should not count as two different titles. Titles missing from the catalog are
    dropped. Rows follow ``profile_ids`` if given, otherwise the sorted distinct profile ids.
    """
    rows: list[str] = []
    cols: list[int] = []
    vals: list[float] = []
    tss: list[float] = []
    for it in interactions:
        j = catalog.index.get(it.title_id)
        if j is None:
            continue
        rows.append(it.profile_id)
        cols.append(j)
        vals.append(float(it.weight) if use_weight else 1.0)
        tss.append(float(it.ts))
    users = list(profile_ids) if profile_ids is not None else sorted(set(rows))
    uindex = {u: i for i, u in enumerate(users)}
    keep = [k for k, u in enumerate(rows) if u in uindex]
    r = np.fromiter((uindex[rows[k]] for k in keep), dtype=np.int64, count=len(keep))
    c = np.asarray([cols[k] for k in keep], dtype=np.int64)
    v = np.asarray([vals[k] for k in keep], dtype=np.float64)
    if half_life_days is not None and now is not None:
        v = v * decay(np.asarray([tss[k] for k in keep]), now, half_life_days)
    return max_dedup(r, c, v, (len(users), len(catalog))), users


def max_dedup(
    r: np.ndarray, c: np.ndarray, v: np.ndarray, shape: tuple[int, int], dtype: type = np.float32
) -> sp.csr_matrix:
    """COO -> CSR keeping the max value of duplicates (scipy would sum them)."""
    if len(r) == 0:
        return sp.csr_matrix(shape, dtype=dtype)
    key = r.astype(np.int64) * shape[1] + c
    order = np.lexsort((-v, key))  # per key, the largest value first
    key, v = key[order], v[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, v = key[first], v[first]
    m = sp.csr_matrix((v.astype(dtype), (key // shape[1], key % shape[1])), shape=shape)
    m.sort_indices()
    return m


def topk(scores: np.ndarray, k: int, exclude: sp.csr_matrix | np.ndarray | None = None) -> np.ndarray:
    """Row-wise indices of the k best scores, best first; excluded cells never appear.

    Ties are broken by the lower column index (stable), so results are deterministic.
    """
    s = np.array(scores, dtype=np.float64, copy=True, ndmin=2)
    s[np.isnan(s)] = -np.inf  # a NaN must never outrank a real score (nor break the partition)
    if exclude is not None:
        if isinstance(exclude, sp.spmatrix | sp.sparray):
            ex = exclude.tocoo()
            s[ex.row, ex.col] = -np.inf
        else:
            s[np.asarray(exclude, dtype=bool).reshape(s.shape)] = -np.inf
    k = min(k, s.shape[1])
    if k <= 0:
        return np.empty((s.shape[0], 0), dtype=np.int64)
    # argpartition is not stable; take a superset bounded by the k-th value, then sort stably.
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(s, part, axis=1).min(axis=1, keepdims=True)
    out = np.empty((s.shape[0], k), dtype=np.int64)
    for i in range(s.shape[0]):
        cand = np.flatnonzero(s[i] >= kth[i])
        order = np.lexsort((cand, -s[i, cand]))
        out[i] = cand[order[:k]]
    return out
