"""EventBridge schedule expressions as the local scheduler evaluates them."""

from __future__ import annotations

import datetime as dt

import pytest

from local.schedule import cron_matches, rate_seconds


def at(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC)


def test_rate() -> None:
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("rate(1 hour)") == 3600
    assert rate_seconds("rate(2 days)") == 172800
    assert rate_seconds("cron(0 2 * * ? *)") is None


@pytest.mark.parametrize(
    ("expr", "when", "fires"),
    [
        ("cron(0 2 * * ? *)", "2026-11-25T02:00:00", True),  # the billing run: daily 02:00 UTC
        ("cron(0 2 * * ? *)", "2026-11-25T02:01:00", False),
        ("cron(0 2 * * ? *)", "2026-11-25T03:00:00", False),
        ("cron(0/15 * * * ? *)", "2026-11-25T10:45:00", True),
        ("cron(0/15 * * * ? *)", "2026-11-25T10:46:00", False),
        ("cron(0 9 ? * MON-FRI *)", "2026-11-25T09:00:00", True),  # a Wednesday
        ("cron(0 9 ? * MON-FRI *)", "2026-11-29T09:00:00", False),  # a Sunday
        ("cron(0 9 ? * 1 *)", "2026-11-29T09:00:00", True),  # 1 = Sunday in EventBridge
        ("cron(30 6 1 JAN,JUL ? *)", "2026-07-01T06:30:00", True),
        ("cron(30 6 1 JAN,JUL ? *)", "2026-08-01T06:30:00", False),
        ("cron(0 0 L * ? *)", "2026-11-30T00:00:00", False),  # L is not evaluated locally
        ("cron(0 12 * * ? 2027)", "2026-11-25T12:00:00", False),
    ],
)
def test_cron(expr: str, when: str, fires: bool) -> None:
    assert cron_matches(expr, at(when)) is fires


def test_malformed_cron_is_an_error() -> None:
    with pytest.raises(ValueError):
        cron_matches("cron(0 2 * *)", at("2026-11-25T02:00:00"))
