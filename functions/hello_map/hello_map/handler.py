"""Square one integer: the Lambda task inside statemachines/demo_map.asl.json."""

from __future__ import annotations

from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    n = event.get("n") if isinstance(event, dict) else None
    # bool is an int subclass; True is not a number to square here.
    if not isinstance(n, int) or isinstance(n, bool):
        raise ValueError(f"'n' must be an integer, got {n!r}")
    return {"n": n, "square": n * n}
