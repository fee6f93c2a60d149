"""The engine as a child process (what the local cloud and the bench run): its own interpreter, so
its searches never wait on the parent's GIL, and ``--parent-pid`` so it exits with the parent."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class EngineProcess:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, log_path: Path | None = None,
                 timeout: float = 60.0) -> None:
        cmd = [sys.executable, "-m", "local.search_engine", "--host", host, "--port", str(port),
               "--parent-pid", str(os.getpid())]
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
        stderr = log_path.open("ab") if log_path is not None else subprocess.DEVNULL
        self.process = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.url = self._wait_listening(timeout)

    def _wait_listening(self, timeout: float) -> str:
        assert self.process.stdout is not None
        found: list[str] = []

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                text = line.decode(errors="replace").strip()
                if text.startswith("listening on "):
                    found.append(text.removeprefix("listening on "))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + timeout
        while not found and time.monotonic() < deadline and self.process.poll() is None:
            reader.join(0.05)
        if not found:
            self.stop()
            raise RuntimeError("the local search engine did not start (python -m local.search_engine)")
        return found[0]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, grace: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
