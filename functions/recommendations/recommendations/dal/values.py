"""DynamoDB value helpers shared by the adapters."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any


def num(value: Any, default: float = 0.0) -> float:
    if isinstance(value, Decimal | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                return default
    return default


def opt_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def decimal(value: float) -> Decimal:
    """A float as DynamoDB takes it (boto3 refuses float)."""
    return Decimal(repr(round(value, 6)))
