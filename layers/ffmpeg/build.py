"""Build the ffmpeg Lambda layer content: `<out_dir>/bin/ffmpeg` (mounted as /opt/bin/ffmpeg).

Called in-process by the CDK construct's local (Docker-free) bundling; also runnable:
`python layers/ffmpeg/build.py OUT_DIR`.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def source_binary() -> Path:
    """The static ffmpeg shipped in the imageio-ffmpeg wheel (x86_64 Linux, glibc >= 2.28)."""
    import imageio_ffmpeg

    exe = Path(imageio_ffmpeg.get_ffmpeg_exe())
    if not exe.is_file():
        raise FileNotFoundError(f"imageio-ffmpeg reports {exe}, which does not exist")
    return exe


def build(out_dir: str | os.PathLike[str]) -> Path:
    """Copy the static ffmpeg to `<out_dir>/bin/ffmpeg`, executable; returns that path."""
    target = Path(out_dir) / "bin" / "ffmpeg"
    target.parent.mkdir(parents=True, exist_ok=True)
    src = source_binary()
    # A plain copy (not a link): the bundling output directory is zipped and hashed as it is.
    shutil.copyfile(src, target)
    readable_executable = 0o555  # r-x for everyone: Lambda runs layers as another user
    target.chmod(target.stat().st_mode | readable_executable)
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build.py OUT_DIR")
    print(build(sys.argv[1]))
