"""Settings read from the environment (set by CDK; the local cloud resolves the same values)."""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from typing import Any

from transcode.models.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SECONDS = 60
DEFAULT_SEGMENT_SECONDS = 2
# Limits, and what binds them (docs/architecture.md, "Transcode"): no step copies the source
# (ffmpeg reads byte ranges through presigned URLs) or holds more than one chunk of output, and
# assemble's work grows with the number of segments only. An MP4/MOV is probed from its index
# (~11 MB of a 2-hour film). What binds is the whole-source reads left in one Lambda (encode_audio
# reads through the interleaved video to reach the soundtrack; probe's full-read fallback for
# MKV/MPEG-TS) -- 50 GiB at >= 60 MB/s is ~14 of their 15 minutes -- and encode_audio's single AAC
# encode of the whole soundtrack at its worst case: `fast` up to 2.5 h (13.9x real time per core on
# a sustained tone: 647 s), `twoloop` beyond (22.7x on music: 4 h is 634 s). See media/encode.py.
DEFAULT_MAX_SOURCE_BYTES = 50 * 1024**3
DEFAULT_MAX_DURATION_S = 4 * 3600
# The plans' height caps (reelstack_common.plans.height_caps(); infra sets PLAN_HEIGHT_CAPS from
# them: this Lambda has no shared layer). The media layout nests renditions by these.
DEFAULT_PLAN_HEIGHT_CAPS = (720, 1080, 2160)
DEFAULT_X264_PRESET = "veryfast"


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(float(raw))
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    ingest_bucket: str
    media_bucket: str
    catalog_table: str
    parts_table: str
    event_bus_name: str
    chunk_seconds: int = DEFAULT_CHUNK_SECONDS
    segment_seconds: int = DEFAULT_SEGMENT_SECONDS
    max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES
    max_duration_s: int = DEFAULT_MAX_DURATION_S
    x264_preset: str = DEFAULT_X264_PRESET
    faults: dict[str, Any] = field(default_factory=dict)
    plan_height_caps: tuple[int, ...] = DEFAULT_PLAN_HEIGHT_CAPS

    @classmethod
    def from_env(cls) -> Settings:
        segment = _int_env("SEGMENT_SECONDS", DEFAULT_SEGMENT_SECONDS)
        chunk = _int_env("CHUNK_SECONDS", DEFAULT_CHUNK_SECONDS)
        if chunk % segment:
            # A chunk that does not start on the segment grid would put a keyframe mid-segment and
            # make HLS segments uneven; snap up instead of failing every upload on a config slip.
            snapped = math.ceil(chunk / segment) * segment
            log.warning("CHUNK_SECONDS=%s is not a multiple of SEGMENT_SECONDS=%s; using %s",
                        chunk, segment, snapped)
            chunk = snapped
        faults_raw = os.environ.get("TRANSCODE_FAULTS", "").strip()
        try:
            faults = json.loads(faults_raw) if faults_raw else {}
        except json.JSONDecodeError as exc:
            raise ConfigError(f"TRANSCODE_FAULTS is not JSON: {exc}") from exc
        if not isinstance(faults, dict):
            raise ConfigError("TRANSCODE_FAULTS must be a JSON object")
        return cls(
            ingest_bucket=os.environ.get("INGEST_BUCKET", ""),
            media_bucket=_required("MEDIA_BUCKET"),
            catalog_table=_required("CATALOG_TABLE"),
            parts_table=os.environ.get("PARTS_TABLE", ""),
            event_bus_name=os.environ.get("EVENT_BUS_NAME", "default") or "default",
            chunk_seconds=chunk,
            segment_seconds=segment,
            max_source_bytes=_int_env("MAX_SOURCE_BYTES", DEFAULT_MAX_SOURCE_BYTES),
            max_duration_s=_int_env("MAX_DURATION_S", DEFAULT_MAX_DURATION_S),
            x264_preset=os.environ.get("X264_PRESET", "").strip() or DEFAULT_X264_PRESET,
            faults=faults,
            plan_height_caps=_caps_env("PLAN_HEIGHT_CAPS"),
        )


def _caps_env(name: str) -> tuple[int, ...]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return DEFAULT_PLAN_HEIGHT_CAPS
    try:
        caps = tuple(sorted({int(part) for part in raw.split(",") if part.strip()}))
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a comma-separated list of heights") from exc
    if not caps or caps[0] <= 0:
        raise ConfigError(f"{name}={raw!r} must list positive heights")
    return caps


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is not set")
    return value
