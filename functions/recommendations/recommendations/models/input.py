"""Request bodies of the recommendations HTTP API (unknown fields are a 400, not dropped data)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

# The engine's maturity tiers (engine/data.py TIERS): a campaign's audience is a tier.
Audience = Literal["little_kids", "older_kids", "teens", "adults"]
LanguageTag = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
TitleId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Thumb = Literal["up", "down", "love"]

MAX_CAMPAIGN_TITLES = 20  # one row's worth (RowConfig.row_size): a longer list could never show


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RatingRequest(_Strict):
    thumb: Thumb


class CampaignRequest(_Strict):
    """A sponsored placement. Empty ``languages`` / ``audiences`` target everyone."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    title_ids: list[TitleId] = Field(min_length=1, max_length=MAX_CAMPAIGN_TITLES)
    # Time-zone aware: a flight date without a zone would mean different instants to different readers.
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    languages: list[LanguageTag] = Field(default_factory=list, max_length=20)
    audiences: list[Audience] = Field(default_factory=list, max_length=4)
    priority: int = Field(default=0, ge=0, le=1000)

    @model_validator(mode="after")
    def _ordered_and_distinct(self) -> CampaignRequest:
        # Years 2000-2100: a campaign outside them is a typo, and 0001-01-01T00:30+01:00 or
        # 9999-12-31T23:59-05:00 overflow datetime when converted to UTC (a 500, not a 400).
        for moment in (self.starts_at, self.ends_at):
            if not 2000 <= moment.year <= 2100:
                raise ValueError("starts_at and ends_at must lie in the years 2000-2100")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if len(set(self.title_ids)) != len(self.title_ids):
            raise ValueError("title_ids must be distinct")
        return self

    def window(self) -> tuple[datetime, datetime]:
        return self.starts_at, self.ends_at
