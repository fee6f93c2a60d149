"""Step Functions task handlers, one module per step: `transcode.handlers.<step>.lambda_handler`."""

from __future__ import annotations

import logging
import os
from typing import Any

logging.getLogger().setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())


def time_budget(context: Any, margin_s: float = 20.0) -> float | None:
    """Seconds an ffmpeg run may take: the Lambda's remaining time minus time to report back."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return max(1.0, remaining() / 1000.0 - margin_s)
