"""Response bodies (the public JSON contract)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from recommendations.models.input import Audience, Thumb


class RatingOut(BaseModel):
    profile_id: str
    title_id: str
    thumb: Thumb
    rated_at: float


class CampaignOut(BaseModel):
    campaign_id: str
    name: str
    title_ids: list[str]
    starts_at: str
    ends_at: str
    languages: list[str]
    audiences: list[Audience]
    priority: int
    created_at: str
    updated_at: str


class CampaignList(BaseModel):
    campaigns: list[CampaignOut]


class TitleCard(BaseModel):
    """What a row tile shows; progress fields only in "Continue watching"."""

    title_id: str
    title: str
    genres: list[str] = Field(default_factory=list)
    year: int | None = None
    language: str | None = None
    maturity_rating: str | None = None
    position_s: float | None = None
    percent: float | None = None


RowKind = Literal[
    "continue_watching",
    "because_you_watched",
    "similar_interests",
    "trending",
    "sponsored",
    "new",
    "popular",
]


class HomeRow(BaseModel):
    row_id: str
    kind: RowKind
    title: str
    sponsored: bool = False
    campaign_id: str | None = None
    anchor_title_id: str | None = None
    items: list[TitleCard]


class HomeOut(BaseModel):
    profile_id: str
    # "precomputed": the stored document; "live": scored now (no or stale document);
    # "fallback": a dependency failed, the static rows are served instead.
    source: Literal["precomputed", "live", "fallback"]
    fallback: bool
    model_version: str | None = None
    generated_at: str | None = None
    rows: list[HomeRow]
