"""Content-based similarity: TF-IDF over genres, cast, language and description words.

Each field's tokens are prefixed (``g:drama``, ``c:<person>``) so a word cannot match across
fields, and weighted per field before the L2 normalisation, so cosine similarity is a weighted
mix of "same genres", "same people", "same language", "similar synopsis".
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from .data import Catalog, Title

_WORD = re.compile(r"[a-z][a-z']{2,}")
_STOP = frozenset(
    {
        "the",
        "and",
        "for",
        "with",
        "from",
        "that",
        "this",
        "into",
        "their",
        "his",
        "her",
        "its",
        "are",
        "was",
        "were",
        "who",
        "whom",
        "which",
        "what",
        "when",
        "where",
        "while",
        "about",
        "after",
        "before",
        "over",
        "under",
        "than",
        "then",
        "them",
        "they",
        "she",
        "him",
        "has",
        "have",
        "had",
        "not",
        "but",
        "all",
        "one",
        "two",
        "out",
        "off",
        "you",
        "your",
        "our",
        "ours",
    }
)
DEFAULT_FIELD_WEIGHTS: Mapping[str, float] = {"g": 1.0, "c": 1.0, "l": 0.3, "w": 0.5}


def title_tokens(t: Title) -> list[tuple[str, str]]:
    toks: list[tuple[str, str]] = [("g", "g:" + g.strip().lower()) for g in t.genres if g.strip()]
    toks += [("c", "c:" + c.strip().lower()) for c in t.cast if c.strip()]
    if t.language:
        toks.append(("l", "l:" + t.language.lower()))
    text = f"{t.name} {t.description}".lower()
    toks += [("w", "w:" + w) for w in _WORD.findall(text) if w not in _STOP]
    return toks


class ContentModel:
    name = "content"

    def __init__(self, field_weights: Mapping[str, float] | None = None) -> None:
        self.field_weights = dict(DEFAULT_FIELD_WEIGHTS if field_weights is None else field_weights)
        self.T: sp.csr_matrix | None = None  # n_titles x vocab, rows L2-normalised
        self.vocab: dict[str, int] = {}

    def fit(self, catalog: Catalog) -> ContentModel:
        rows, cols, vals = [], [], []
        vocab: dict[str, int] = {}
        field_of: dict[int, str] = {}
        for i, t in enumerate(catalog.titles):
            for field, tok in title_tokens(t):
                j = vocab.setdefault(tok, len(vocab))
                field_of[j] = field
                rows.append(i)
                cols.append(j)
                vals.append(1.0)
        n = len(catalog)
        tf = sp.csr_matrix((vals, (rows, cols)), shape=(n, max(len(vocab), 1)), dtype=np.float64)
        tf.sum_duplicates()
        tf.data = 1.0 + np.log(tf.data)  # sublinear tf: a repeated word is evidence, not 5x evidence
        df = np.asarray((tf > 0).sum(axis=0)).ravel()
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        fw = np.array([self.field_weights.get(field_of.get(j, "w"), 0.0) for j in range(tf.shape[1])])
        T = sp.csr_matrix(tf @ sp.diags(idf * fw))
        norms = np.sqrt(np.asarray(T.multiply(T).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        self.T = sp.csr_matrix(sp.diags(1.0 / norms) @ T)
        self.vocab = vocab
        return self

    def similar(self, j: int) -> np.ndarray:
        """Cosine similarity of title ``j`` to every title (itself included)."""
        assert self.T is not None, "fit first"
        return np.asarray((self.T @ self.T[j].T).toarray()).ravel()

    def score(self, X: sp.csr_matrix) -> np.ndarray:
        """Sum of similarities to the titles in each history row (X @ T Tᵀ without the n² matrix)."""
        assert self.T is not None, "fit first"
        return np.asarray(((X @ self.T) @ self.T.T).toarray())
