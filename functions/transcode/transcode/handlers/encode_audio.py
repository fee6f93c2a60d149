"""Encode-audio step (Parallel branch beside the chunk Map). Input: `EncodeAudioInput`.
Output: `AudioTrack` ($.encoded.audio; key null for a source without audio).
"""

from __future__ import annotations

from typing import Any

from transcode.handlers import time_budget
from transcode.logic.encoding import encode_title_audio
from transcode.models.steps import EncodeAudioInput, step_output
from transcode.wiring import dependencies


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    job = EncodeAudioInput.model_validate(event)
    return step_output(encode_title_audio(job, dependencies(), time_budget(context)))
