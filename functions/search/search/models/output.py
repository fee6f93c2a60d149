"""Response bodies of the search API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FacetValue(BaseModel):
    value: str
    count: int


class Facets(BaseModel):
    genre: list[FacetValue] = Field(default_factory=list)
    language: list[FacetValue] = Field(default_factory=list)
    decade: list[FacetValue] = Field(default_factory=list, description='e.g. "1990s"')


class SearchHit(BaseModel):
    title_id: str
    title: str
    kind: str
    year: int | None = None
    genres: list[str] = Field(default_factory=list)
    language: str | None = None
    maturity_rating: str | None = None
    cast: list[str] = Field(default_factory=list, description="the first few names")
    highlights: dict[str, list[str]] = Field(
        default_factory=dict, description="field -> fragments with matches wrapped in <em>...</em>"
    )


class SearchPage(BaseModel):
    items: list[SearchHit]
    total: int = Field(description="titles matching, as far as this profile may see them")
    facets: Facets
    # null on the last page: the client stops paging.
    next_cursor: str | None = None


class Suggestion(BaseModel):
    title_id: str
    title: str
    kind: str
    year: int | None = None


class SuggestionList(BaseModel):
    suggestions: list[Suggestion]
