"""Encode-audio step (Parallel branch beside the chunk Map): the title's audio, once.

Input: {"title_id", "job_id", "source": {"bucket", "key"}, "media", "duration_s", "attempt"}.
Output: {"key": "work/{title_id}/audio/audio.mp4", "channels": 2, "source_channels": n}, or
{"key": null} for a source without audio (the title is then video-only).
"""

from __future__ import annotations

from typing import Any

from transcode import faults, storage
from transcode.config import Settings
from transcode.handlers import time_budget
from transcode.media.encode import encode_audio


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    settings = Settings.from_env()
    faults.maybe_fail(settings.faults, "encode_audio", attempt=int(event.get("attempt") or 0))
    title_id = event["title_id"]
    media = event["media"]
    key = storage.audio_key(title_id)
    if not media.get("has_audio"):
        # Assemble packages exactly the key returned here, so a stale track of an earlier upload
        # under the same key can never leak into this one.
        return {"key": None, "channels": 0, "source_channels": 0}
    source = storage.presigned_url(event["source"]["bucket"], event["source"]["key"])
    duration = float(event.get("duration_s") or media["duration_s"])
    with storage.scratch_dir("audio") as workdir:
        out = encode_audio(source, workdir / "audio.mp4",
                           video_start_s=float(media.get("video_start_s", 0.0)),
                           duration_s=duration, timeout=time_budget(context))
        storage.upload_file(out, settings.media_bucket, key, "audio/mp4")
    return {"key": key, "channels": 2, "source_channels": int(media.get("audio_channels") or 0)}
