"""Encode-chunk step (one Map iteration). Input: `EncodeChunkInput`. Output: `EncodedChunk`.
"""

from __future__ import annotations

from typing import Any

from transcode.handlers import time_budget
from transcode.logic.encoding import encode_title_chunk
from transcode.models.steps import EncodeChunkInput, step_output
from transcode.wiring import dependencies


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    job = EncodeChunkInput.model_validate(event)
    return step_output(encode_title_chunk(job, dependencies(), time_budget(context)))
