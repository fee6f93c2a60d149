"""Query text normalisation shared by validation and query building."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def collapse(text: str) -> str:
    """Strip and collapse inner whitespace (tabs, newlines, runs of spaces) to one space."""
    return _SPACES.sub(" ", text).strip()


def fold(text: str) -> str:
    """Lowercase without accents: what the index's ``folded_keyword`` normalizer does, for terms
    sent against ``title.exact`` (so "AMÉLIE" is an exact match of "Amélie")."""
    decomposed = unicodedata.normalize("NFKD", collapse(text).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
