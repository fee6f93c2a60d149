"""Fail step (every Catch leads here). Input: `FailInput` (the failing state plus $.error).
Output: `Failed` (status FAILED, NOT_OWNED or IGNORED).
"""

from __future__ import annotations

from typing import Any

from transcode.logic.failure import fail
from transcode.models.steps import FailInput, step_output
from transcode.wiring import dependencies


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return step_output(fail(FailInput.model_validate(event), dependencies()))
