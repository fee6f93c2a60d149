"""Tiny generated media for transcode tests (unit and, later, integration).

Everything is synthesised with ffmpeg's lavfi sources (testsrc2 + sine): no fixtures on disk,
deterministic, and small (320x180-640x360, a few seconds) so a loaded 2-core box stays fast.

    from tests.unit.transcode.media_factory import make_video, make_text, make_truncated
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

_CHANNEL_LAYOUTS = {"mono": "mono", "stereo": "stereo", "5.1": "5.1"}


def ffmpeg_exe() -> str:
    explicit = os.environ.get("FFMPEG_PATH")
    if explicit:
        return explicit
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except ImportError:
        found = shutil.which("ffmpeg")
        if not found:
            raise
        return found


def _run(args: list[str]) -> None:
    proc = subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", *args],
                          capture_output=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"ffmpeg failed: {proc.stderr.decode(errors='replace')[-800:]}")


def make_video(
    path: Path,
    *,
    width: int = 320,
    height: int = 180,
    seconds: float = 4.0,
    rate: str = "25",
    audio: str | None = "stereo",
    sar: str | None = None,
    rotation: int | None = None,
    faststart: bool = False,
    container: str = "mp4",
    bframes: bool = True,
) -> Path:
    """A testsrc2 clip (moving pattern + frame counter) with an optional sine tone.

    rate: e.g. "25", "30000/1001". audio: None, "mono", "stereo" or "5.1".
    sar: e.g. "4/3" (anamorphic storage). rotation: display-matrix rotation (90 makes portrait).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={rate}:duration={seconds}"]
    if audio:
        layout = _CHANNEL_LAYOUTS[audio]
        args += ["-f", "lavfi", "-i",
                 f"sine=frequency=440:sample_rate=48000:duration={seconds},aformat=channel_layouts={layout}"]
    vf = ["format=yuv420p"]
    if sar:
        vf.append(f"setsar={sar}")
    args += ["-map", "0:v"] + (["-map", "1:a"] if audio else [])
    args += ["-vf", ",".join(vf), "-c:v", "libx264", "-preset", "ultrafast", "-g", "50"]
    if bframes:
        args += ["-x264-params", "bframes=2"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "96k"]
    if faststart and container == "mp4":
        args += ["-movflags", "+faststart"]
    target = path if rotation is None else path.with_name(path.name + ".norot." + container)
    _run([*args, "-f", container, "-y", str(target)])
    if rotation is not None:
        # The display matrix is container metadata: stream-copy with an input rotation option.
        _run(["-display_rotation", str(rotation), "-i", str(target), "-c", "copy", "-f", container,
              "-y", str(path)])
        target.unlink()
    return path


def make_audio_only(path: Path, seconds: float = 2.0) -> Path:
    _run(["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
          "-c:a", "aac", "-f", "mp4", "-y", str(path)])
    return path


def make_image(path: Path) -> Path:
    _run(["-f", "lavfi", "-i", "testsrc2=size=320x180:duration=1", "-frames:v", "1", "-f", "image2",
          "-c:v", "png", "-y", str(path)])
    return path


def make_text(path: Path) -> Path:
    """A text file, as if someone renamed notes.txt to movie.mp4."""
    path.write_text("Shooting notes, day 3\nScene 12: retake the wide shot\n" * 20)
    return path


def make_empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def make_truncated(src: Path, path: Path, fraction: float = 0.5) -> Path:
    """The first `fraction` of a file's bytes: an interrupted upload."""
    data = Path(src).read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path
