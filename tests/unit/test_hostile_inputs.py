"""Inputs a reviewer found turning into 500s (2026-11-30): each must be a validation error (400)."""

from __future__ import annotations

import base64
import json

import pytest
from catalog.logic.titles import _decode_episode_cursor
from catalog.models.errors import InvalidCursor
from playback.models.input import HeartbeatRequest
from pydantic import ValidationError
from recommendations.models.input import CampaignRequest


def test_heartbeat_seconds_are_rounded_so_dynamodb_numbers_cannot_underflow() -> None:
    beat = HeartbeatRequest(position_s=1e-300, seq=1, buffer_s=5e-324)
    assert (beat.position_s, beat.buffer_s) == (0.0, 0.0)
    assert HeartbeatRequest(position_s=12.34567, seq=2).position_s == 12.346


@pytest.mark.parametrize(("starts", "ends"), [("0001-01-01T00:30:00+01:00", "2030-01-01T00:00:00Z"),
                                              ("2030-01-01T00:00:00Z", "9999-12-31T23:59:00-05:00")])
def test_campaign_dates_outside_2000_2100_are_refused(starts: str, ends: str) -> None:
    with pytest.raises(ValidationError):
        CampaignRequest.model_validate({"name": "x", "title_ids": ["t1"], "starts_at": starts, "ends_at": ends})


def _cursor(season: int | None, after: str) -> str:
    raw = json.dumps({"series": "s1", "season": season, "after": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_an_episode_cursor_from_another_season_is_invalid() -> None:
    # DynamoDB refuses an ExclusiveStartKey outside the season's key condition (a 500 before).
    with pytest.raises(InvalidCursor):
        _decode_episode_cursor(_cursor(2, "EPISODE#005#0001"), "s1", 2)
    assert _decode_episode_cursor(_cursor(2, "EPISODE#002#0007"), "s1", 2) == "EPISODE#002#0007"
    assert _decode_episode_cursor(_cursor(None, "EPISODE#005#0001"), "s1", None) == "EPISODE#005#0001"
