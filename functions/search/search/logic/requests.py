"""Validation of search parameters and the paging cursor (rules only; the handler passes raw
query-string values in)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable

from search.logic.text import collapse
from search.models.errors import InvalidCursor, InvalidSearch
from search.models.query import (
    DEFAULT_LIMIT,
    LANGUAGE,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    MAX_WINDOW,
    YEAR_MAX,
    YEAR_MIN,
    Filters,
    Kind,
    SearchRequest,
)

MAX_GENRE_CHARS = 80


def check_known(names: Iterable[str], allowed: frozenset[str]) -> None:
    """Unknown parameters are refused: a misspelt filter must not silently widen the results."""
    unknown = sorted(set(names) - allowed)
    if unknown:
        shown = ", ".join(n if n.isidentifier() and len(n) <= 40 else "<unexpected>" for n in unknown[:5])
        raise InvalidSearch(f"unknown parameter(s): {shown}; allowed: {', '.join(sorted(allowed))}")


def query_text(q: str | None) -> str:
    text = collapse(q or "")
    if not text:
        raise InvalidSearch("q: must not be empty")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidSearch(f"q: at most {MAX_QUERY_CHARS} characters")
    return text


def _year(name: str, value: int | None) -> int | None:
    if value is not None and not YEAR_MIN <= value <= YEAR_MAX:
        raise InvalidSearch(f"{name}: between {YEAR_MIN} and {YEAR_MAX}")
    return value


def filters(
    *,
    genre: str | None = None,
    language: str | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    kind: str | None = None,
) -> Filters:
    if genre is not None:
        genre = collapse(genre)
        if not genre or len(genre) > MAX_GENRE_CHARS:
            raise InvalidSearch(f"genre: 1 to {MAX_GENRE_CHARS} characters")
    if language is not None and not LANGUAGE.match(language):
        raise InvalidSearch("language: a language tag such as en or pt-BR")
    _year("year_from", year_from)
    _year("year_to", year_to)
    if year_from is not None and year_to is not None and year_from > year_to:
        raise InvalidSearch("year_from: must not be after year_to")
    parsed_kind: Kind | None = None
    if kind is not None:
        try:
            parsed_kind = Kind(kind)
        except ValueError:
            raise InvalidSearch(f"kind: one of {', '.join(k.value for k in Kind)}") from None
    return Filters(genre=genre, language=language, year_from=year_from, year_to=year_to, kind=parsed_kind)


def fingerprint(profile_id: str, q: str, f: Filters) -> str:
    """What a cursor is bound to: the same profile, text and filters."""
    raw = json.dumps([profile_id, q, f.genre, f.language, f.year_from, f.year_to, f.kind], default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_cursor(offset: int, bound_to: str) -> str:
    raw = json.dumps({"o": offset, "f": bound_to}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, bound_to: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidCursor() from None
    if (
        not isinstance(data, dict)
        or set(data) != {"o", "f"}
        or data["f"] != bound_to
        or not isinstance(data["o"], int)
        or isinstance(data["o"], bool)
        or not 0 < data["o"] < MAX_WINDOW
    ):
        raise InvalidCursor()
    return int(data["o"])


def search_request(
    *, profile_id: str, q: str | None, limit: int | None, cursor: str | None, **filter_values: object
) -> tuple[SearchRequest, str]:
    """The validated request and the fingerprint its cursors carry."""
    text = query_text(q)
    f = filters(**filter_values)  # type: ignore[arg-type]
    size = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise InvalidSearch(f"limit: between 1 and {MAX_LIMIT}")
    bound_to = fingerprint(profile_id, text, f)
    offset = decode_cursor(cursor, bound_to) if cursor is not None else 0
    size = min(size, MAX_WINDOW - offset)
    return SearchRequest(q=text, filters=f, limit=size, offset=offset), bound_to
