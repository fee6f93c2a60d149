"""What a search asks for, validated: the HTTP layer builds these, the logic turns them into
engine queries. Limits are the API's (docs/openapi.json shows them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_QUERY_CHARS = 200
MAX_LIMIT = 50
DEFAULT_LIMIT = 20
# Deep paging is not what a search box is for, and the engine's result window is bounded.
MAX_WINDOW = 1000
SUGGEST_SIZE = 10
YEAR_MIN, YEAR_MAX = 1888, 2100

LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

SEARCH_PARAMS = frozenset(
    {"q", "profile_id", "genre", "language", "year_from", "year_to", "kind", "limit", "cursor"}
)
SUGGEST_PARAMS = frozenset({"q", "profile_id"})


class Kind(StrEnum):
    MOVIE = "movie"
    SERIES = "series"
    EPISODE = "episode"


@dataclass(frozen=True)
class Filters:
    genre: str | None = None
    language: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    kind: Kind | None = None


@dataclass(frozen=True)
class SearchRequest:
    q: str  # normalised: stripped, inner whitespace collapsed
    filters: Filters
    limit: int = DEFAULT_LIMIT
    offset: int = 0
