"""The event prefill consumes: ``TitlePublished`` (source ``reelstack.catalog``) as the transcoder
announces it (contracts B and D in the brief; docs/architecture.md "Events").

Fields prefill does not use are ignored; the ones it uses are validated here, because they end up
in URLs: ``title_id`` is a plain identifier, paths are checked again in logic against the title's
own prefix.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from delivery.models.errors import BadEvent

TITLE_PUBLISHED = "TitlePublished"
TITLE_WITHDRAWN = "TitleWithdrawn"
EVENT_SOURCE = "reelstack.catalog"

TitleId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")]
KeyPath = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PlaybackTier(_Model):
    """One plan tier's directory (contract B): its master lists the renditions inside it."""

    max_height: int = Field(ge=0)
    prefix: KeyPath
    master: KeyPath
    renditions: list[str] = Field(default_factory=list, max_length=64)


class TitlePublished(_Model):
    title_id: TitleId
    # Events written before titles had versions count as version 0: any versioned event supersedes them.
    version: int = Field(default=0, ge=0)
    # None for a series (catalog outbox: metadata only, no media): nothing to pre-position.
    manifest_path: KeyPath | None = None
    playback_tiers: list[PlaybackTier] = Field(default_factory=list, max_length=16)
    kind: str = "movie"
    duration_s: float | None = None
    # An optional hint a publisher may add (nothing sets it yet): "high" gets the most copies.
    expected_popularity: Literal["low", "normal", "high"] = "normal"


class TitleWithdrawn(_Model):
    """``{title_id, version, kind, status: "WITHDRAWN"}`` from the catalog's outbox (contract D):
    the title is final-withdrawn, its media must leave the CDN's caches."""

    title_id: TitleId
    version: int = Field(default=0, ge=0)
    kind: str = "movie"


Detail = TypeVar("Detail", bound=_Model)


def event_detail(body: str, detail_type: str, model: type[Detail]) -> tuple[Detail, dict[str, Any]]:
    """An SQS message body holding an EventBridge event of ``detail_type``: its detail as ``model``,
    and the whole event. Raises BadEvent for anything else (the handlers drop it)."""
    try:
        event = json.loads(body)
    except json.JSONDecodeError as exc:
        raise BadEvent("body is not JSON") from exc
    if not isinstance(event, dict) or event.get("detail-type") != detail_type:
        raise BadEvent(f"not a {detail_type} event")
    try:
        return model.model_validate(event.get("detail")), event
    except ValidationError as exc:
        raise BadEvent(f"invalid detail: {exc.errors()[0].get('loc')}") from exc
