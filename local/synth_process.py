"""Synthesize the CDK app in a child process.

jsii runs the CDK in a Node kernel and registers an atexit hook that writes to it. In the
long-running local cloud that hook fired on every Ctrl-C, after the terminal's SIGINT had already
killed the kernel: a BrokenPipeError traceback each stop. In a child, the kernel lives and dies
with the synthesis (and its memory is returned at once); the local cloud only reads the assembly.

    python -m local.synth_process OUTDIR [--extend module:function]
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

from local.assembly import ROOT, CloudAssembly, load, synth


class SynthFailed(RuntimeError):
    pass


def synth_in_child(outdir: Path, extend: str | None = None, context: dict[str, str] | None = None) -> CloudAssembly:
    """`assembly.synth` in a child process; `extend` is a "module:function" spec (see synth); `context`
    adds CDK context values (e.g. the local CDN's public key as `reelstack:cdnPublicKeyPem`)."""
    cmd = [sys.executable, "-m", "local.synth_process", str(outdir), *(["--extend", extend] if extend else [])]
    for name, value in (context or {}).items():
        cmd += ["--context", f"{name}={value}"]
    # The child's output is shown only when it fails: a Ctrl-C during synthesis ends it quietly.
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SynthFailed(f"cdk synth failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    return load(outdir)


def load_extension(spec: str) -> Any:
    module, _, func = spec.partition(":")
    return getattr(importlib.import_module(module), func)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.synth_process")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--extend", help="module:function(app) adding constructs before synthesis (tests)")
    parser.add_argument("--context", action="append", default=[], metavar="NAME=VALUE", help="a CDK context value")
    args = parser.parse_args(argv)
    context = dict(c.split("=", 1) for c in args.context)
    try:
        synth(args.outdir, context=context, extend=load_extension(args.extend) if args.extend else None)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
