"""The web app at `web_url`: web/dist served as CloudFront serves it from its bucket (index.html for
the app's routes, long-lived hashed assets), plus `/config.json` naming this cloud's API and CDN —
the one thing that differs between environments, so one build runs everywhere.

The build runs only when web/'s sources changed since the last one (a stamp of their hashes in
web/dist/.stamp), under a file lock so concurrent local clouds (tests) build it once."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import mimetypes
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from local.assembly import ROOT

log = logging.getLogger("reelstack.local")

WEB = ROOT / "web"
DIST = WEB / "dist"
STAMP = DIST / ".stamp"
_SOURCES = ("index.html", "package-lock.json", "vite.config.ts", "tsconfig.json", "src", "public")


def sources_digest(web: Path = WEB) -> str:
    h = hashlib.sha256()
    for name in _SOURCES:
        p = web / name
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else ([p] if p.exists() else [])
        for f in files:
            h.update(str(f.relative_to(web)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def build_if_stale(web: Path = WEB, timeout_s: float = 300) -> str:
    """Build web/dist when its sources changed; returns "fresh", "built" or why it is unavailable."""
    dist, stamp = web / "dist", web / "dist" / ".stamp"
    digest = sources_digest(web)
    if stamp.exists() and stamp.read_text().strip() == digest and (dist / "index.html").exists():
        return "fresh"
    vite = web / "node_modules" / ".bin" / "vite"
    if not vite.exists() or shutil.which("node") is None:
        return "not built: web/node_modules is missing (make install runs npm ci in web/)"
    with (web / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another cloud may be building: wait, then re-check
        if stamp.exists() and stamp.read_text().strip() == digest and (dist / "index.html").exists():
            return "fresh"
        proc = subprocess.run([str(vite), "build", "--logLevel", "error"], cwd=web, capture_output=True, text=True,
                              timeout=timeout_s, check=False)
        if proc.returncode != 0:
            return f"not built: vite build failed: {(proc.stderr or proc.stdout)[-600:]}"
        stamp.write_text(digest + "\n")
    return "built"


class _Handler(BaseHTTPRequestHandler):
    server: WebServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: the app makes many requests
        log.debug("web: " + fmt, *args)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path == "/config.json":
            return self._send(200, json.dumps(self.server.config).encode(), "application/json", "no-store", head)
        root = self.server.root
        target = (root / path.lstrip("/")).resolve()
        if not target.is_relative_to(root) or target.name.startswith("."):
            return self._send(404, b"not found", "text/plain", "no-store", head)
        if target.is_file():
            immutable = target.parent.name == "assets"  # content-hashed names: never change
            ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return self._send(200, target.read_bytes(), ctype, cache, head)
        if "." in path.rsplit("/", 1)[-1]:
            return self._send(404, b"not found", "text/plain", "no-store", head)
        index = root / "index.html"  # an app route: the app decides (CloudFront's error response does the same)
        if not index.exists():
            return self._send(503, b"the web app is not built (make install; see the local cloud's log)",
                              "text/plain", "no-store", head)
        return self._send(200, index.read_bytes(), "text/html; charset=utf-8", "no-cache", head)

    def _send(self, status: int, body: bytes, ctype: str, cache: str, head: bool) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.send_header("cache-control", cache)
        self.send_header("x-content-type-options", "nosniff")
        self.send_header("referrer-policy", "strict-origin-when-cross-origin")
        self.end_headers()
        if not head:
            self.wfile.write(body)


class WebServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, root: Path, config: dict[str, str]) -> None:
        super().__init__((host, port), _Handler)
        self.root = root.resolve()
        self.config = config


def serve(host: str, port: int, config: dict[str, str], root: Path = DIST) -> WebServer:
    srv = WebServer(host, port, root, config)
    threading.Thread(target=srv.serve_forever, daemon=True, name="web").start()
    return srv
