"""Locating and running the static ffmpeg binary (there is no ffprobe anywhere we run)."""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from transcode.models.errors import ConfigError, FfmpegError

log = logging.getLogger(__name__)

LAYER_PATH = "/opt/bin/ffmpeg"
_URL = re.compile(r"https?://[^\s'\"]+")

# Input options for http(s) sources (presigned S3 URLs): a dropped connection mid-read of a
# multi-GB source should resume with a Range request, not fail the chunk.
HTTP_INPUT_OPTIONS = (
    "-reconnect", "1",
    "-reconnect_on_network_error", "1",
    "-reconnect_on_http_error", "5xx",
    "-reconnect_delay_max", "8",
    "-rw_timeout", "30000000",
)


@functools.cache
def ffmpeg_exe() -> str:
    """FFMPEG_PATH, else the Lambda layer, else imageio-ffmpeg's bundled binary, else PATH."""
    explicit = os.environ.get("FFMPEG_PATH", "").strip()
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise ConfigError(f"FFMPEG_PATH={explicit} is not an executable file")
        return explicit
    if os.access(LAYER_PATH, os.X_OK):
        return LAYER_PATH
    try:
        import imageio_ffmpeg  # dev/test dependency; absent in Lambda where the layer exists

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception:  # noqa: BLE001 - any failure here just means "try PATH next"
        pass
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise ConfigError("ffmpeg not found: set FFMPEG_PATH or attach the ffmpeg layer (/opt/bin/ffmpeg)")


def input_args(source: str) -> list[str]:
    """`-i source`, with reconnect options when the source is a URL."""
    if source.startswith(("http://", "https://")):
        return [*HTTP_INPUT_OPTIONS, "-i", source]
    return ["-i", source]


def run(
    args: Sequence[str],
    *,
    timeout: float | None = None,
    check: bool = True,
    what: str = "ffmpeg",
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with `args`; stdout and stderr are captured as bytes.

    `-nostdin` keeps ffmpeg from reading the Lambda's stdin; `-hide_banner` keeps stderr parseable.
    """
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", *args]
    log.debug("running %s", redact_urls(" ".join(cmd)))
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FfmpegError(f"{what} timed out after {timeout} s") from exc
    if check and proc.returncode != 0:
        raise FfmpegError(f"{what} failed with exit code {proc.returncode}", stderr_tail(proc.stderr))
    return proc


def redact_urls(text: str) -> str:
    """ffmpeg names its inputs in errors, and a source is a presigned URL: its query carries a
    signature and the function's session token. Error text goes into failure reasons and logs."""
    return _URL.sub("<source URL>", text)


def stderr_tail(stderr: bytes, lines: int = 12, limit: int = 1500) -> str:
    text = redact_urls(stderr.decode("utf-8", "replace")).strip().splitlines()
    return "\n".join(text[-lines:])[-limit:]


def frame_count(path: str | Path) -> int:
    """Video frames in a file, counted from its packets (stream copy: no decoding)."""
    proc = run(["-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"],
               what="frame count")
    return sum(1 for line in proc.stdout.decode().splitlines() if line and not line.startswith("#"))
