"""Time in one place, so tests and records agree."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> float:
    return time.time()


def iso_ms(moment: float) -> str:
    """ISO-8601 UTC with milliseconds: sorts as time, finer than a heartbeat interval."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(moment * 1000) % 1000:03d}Z"
