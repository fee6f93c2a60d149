"""Plan step: the ladder and the chunk grid. Input: `PlanInput` (probe's media). Output: `Plan` ($.plan).
"""

from __future__ import annotations

from typing import Any

from transcode.logic.planning import make_plan
from transcode.models.steps import PlanInput, step_output
from transcode.wiring import settings


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return step_output(make_plan(PlanInput.model_validate(event).media, settings()))
