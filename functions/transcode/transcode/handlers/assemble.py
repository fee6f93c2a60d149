"""Assemble step: playlists from the chunks' and the audio's segment records (no media), title outputs.
Input: `AssembleInput`. Output: `Assembled`.
"""

from __future__ import annotations

from typing import Any

from transcode.logic.assembly import assemble
from transcode.models.steps import AssembleInput, step_output
from transcode.wiring import dependencies


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return step_output(assemble(AssembleInput.model_validate(event), dependencies()))
