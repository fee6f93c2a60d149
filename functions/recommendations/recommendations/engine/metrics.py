"""Top-K ranking metrics, defined as in Microsoft Recommenders (binary relevance).

NDCG@K = DCG / IDCG with gains 1/log2(rank+1) and IDCG over min(K, |relevant|);
P@K = hits / K; R@K = hits / |relevant|; averaged over profiles that have relevant items.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def ranking_metrics(top: np.ndarray, truth: sp.csr_matrix, k: int = 10) -> dict[str, float]:
    truth = sp.csr_matrix(truth)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ndcg, prec, rec = [], [], []
    for u in range(truth.shape[0]):
        rel = truth.indices[truth.indptr[u] : truth.indptr[u + 1]]
        if len(rel) == 0:
            continue
        hits = np.isin(top[u, :k], rel)
        dcg = float(disc[: hits.size][hits].sum())
        idcg = float(disc[: min(k, len(rel))].sum())
        ndcg.append(dcg / idcg)
        prec.append(hits.sum() / k)
        rec.append(hits.sum() / len(rel))
    return {
        f"ndcg@{k}": float(np.mean(ndcg)),
        f"precision@{k}": float(np.mean(prec)),
        f"recall@{k}": float(np.mean(rec)),
        "users": len(ndcg),
    }


def catalog_coverage(top: np.ndarray, n_items: int, k: int = 10) -> float:
    """Share of the catalog that appears in at least one profile's top K."""
    return float(len(np.unique(top[:, :k])) / n_items) if n_items else 0.0
