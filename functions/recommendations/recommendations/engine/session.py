"""Session co-occurrence item-kNN: titles that profiles watched close together in time.

Two titles watched minutes apart by the same profile (a binge, a family movie night) are far
stronger evidence of similarity than two titles a profile watched a year apart, which is all
plain co-occurrence (and EASE's gram matrix) can see. Each pair of one profile's events is
weighted by exp(-|Δt| / tau); pairs further apart than ``window = 8 * tau`` are dropped, which
keeps the matrix sparse (memory grows with events, not titles²).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class SessionKNN:
    name = "session_knn"

    def __init__(self, tau_seconds: float = 60.0, max_lag: int = 64) -> None:
        self.tau = tau_seconds
        self.max_lag = max_lag  # only the next ``max_lag`` events of a profile are paired
        self.S: sp.csr_matrix | None = None

    def fit_events(self, users: np.ndarray, items: np.ndarray, ts: np.ndarray, n_items: int) -> SessionKNN:
        """``users``/``items`` are integer indices, ``ts`` epoch seconds (one row per event)."""
        order = np.lexsort((items, ts, users))  # deterministic order, ties broken by title
        u, i, t = users[order], items[order], ts[order].astype(np.float64)
        window = 8.0 * self.tau
        rows, cols, vals = [], [], []
        for lag in range(1, self.max_lag + 1):
            if lag >= len(u):
                break
            same = (u[lag:] == u[:-lag]) & (t[lag:] - t[:-lag] <= window) & (i[lag:] != i[:-lag])
            if not same.any():
                break
            dt = (t[lag:] - t[:-lag])[same]
            rows.append(i[:-lag][same])
            cols.append(i[lag:][same])
            vals.append(np.exp(-dt / self.tau))
        if rows:
            r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
            C = sp.coo_matrix((np.r_[v, v], (np.r_[r, c], np.r_[c, r])), shape=(n_items, n_items)).tocsr()
        else:
            C = sp.csr_matrix((n_items, n_items))
        C.sum_duplicates()
        # Cosine-style normalisation by each title's audience: otherwise blockbusters, which
        # co-occur with everything, would be every title's nearest neighbour.
        aud = np.bincount(i, minlength=n_items).astype(np.float64)
        d = 1.0 / np.sqrt(np.maximum(aud, 1.0))
        self.S = sp.csr_matrix(sp.diags(d) @ C @ sp.diags(d))
        return self

    def fit(self, X: sp.csr_matrix, ts: sp.csr_matrix) -> SessionKNN:
        """Matrix form: ``ts`` has the same sparsity as ``X`` and holds event times."""
        X, ts = sp.coo_matrix(X), sp.csr_matrix(ts)
        tvals = np.asarray(ts[X.row, X.col]).ravel()
        return self.fit_events(X.row, X.col, tvals, X.shape[1])

    def score(self, X: sp.csr_matrix) -> np.ndarray:
        assert self.S is not None, "fit first"
        return np.asarray((X @ self.S).toarray() if sp.issparse(X) else X @ self.S)
