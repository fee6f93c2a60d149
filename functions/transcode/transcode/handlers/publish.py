"""Publish step: READY and TitlePublished. Input: `PublishInput`. Output: `Published`.
"""

from __future__ import annotations

from typing import Any

from transcode.logic.publishing import publish
from transcode.models.steps import PublishInput, step_output
from transcode.wiring import dependencies


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return step_output(publish(PublishInput.model_validate(event), dependencies()))
