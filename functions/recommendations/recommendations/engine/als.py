"""Implicit-feedback ALS (Hu, Koren, Volinsky 2008) through the ``implicit`` package.

Used instead of EASE for catalogs too large for an n² item matrix. Set OPENBLAS_NUM_THREADS=1 in
the process: implicit runs its own threads and an oversubscribed BLAS is ~5x slower.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class ALS:
    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 2.0,
        iterations: int = 15,
        seed: int = 0,
        num_threads: int = 1,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed
        self.num_threads = num_threads
        self.item_factors: np.ndarray | None = None
        self._yty: np.ndarray | None = None

    def fit(self, X: sp.csr_matrix) -> ALS:
        # Imported lazily: the module (and its OpenMP runtime) is only needed when ALS is chosen.
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.seed,
            num_threads=self.num_threads,
            calculate_training_loss=False,
        )
        model.fit(sp.csr_matrix(X, dtype=np.float32), show_progress=False)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float64)
        self._yty = self.item_factors.T @ self.item_factors
        return self

    def user_vectors(self, X: sp.csr_matrix) -> np.ndarray:
        """Fold-in: the exact ALS user step for each row, so a profile's latest history counts
        without retraining (and training and serving share one code path)."""
        assert self.item_factors is not None and self._yty is not None, "fit first"
        Y = self.item_factors
        X = sp.csr_matrix(X)
        out = np.zeros((X.shape[0], Y.shape[1]))
        reg = self.regularization * np.eye(Y.shape[1])
        for u in range(X.shape[0]):
            lo, hi = X.indptr[u], X.indptr[u + 1]
            if lo == hi:
                continue
            idx = X.indices[lo:hi]
            conf = self.alpha * X.data[lo:hi].astype(np.float64)
            Yi = Y[idx]
            A = self._yty + (Yi.T * (conf - 1.0)) @ Yi + reg
            out[u] = np.linalg.solve(A, Yi.T @ conf)
        return out

    def score(self, X: sp.csr_matrix) -> np.ndarray:
        assert self.item_factors is not None, "fit first"
        return self.user_vectors(X) @ self.item_factors.T
