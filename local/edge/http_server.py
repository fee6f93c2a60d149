"""The HTTP server in front of an edge: any method (API Gateway and ALB answer every method, never
the stdlib's HTML 501), chunked request bodies, and a JSON 500 if the edge itself fails."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.edge.messages import Reply, Request, error

log = logging.getLogger("reelstack.local")

_HOP_BY_HOP = ("content-length", "connection", "transfer-encoding")


class _EdgeServer(ThreadingHTTPServer):
    # http.server listens with a backlog of 5: a burst of connections (20 racing clients, a browser's
    # parallel fetches) overflowed it while Lambda invokes held the threads, and clients got
    # ConnectionResetError. 128 is werkzeug's (moto's server) and a common kernel default.
    request_queue_size = 128


class EdgeHandler(BaseHTTPRequestHandler):
    """What every local server's handler shares (API/ALB edges here, the CDN fleet in local/cdn):
    HTTP/1.1 keep-alive, TCP_NODELAY, every method routed to ``_handle`` (API Gateway, ALB and
    CloudFront answer every method, never the stdlib's HTML 501), and http.server's own refusals
    (malformed request line, URI or headers too long) answered as JSON through ``_send``."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY the body waits for the client's
        # delayed ACK: every keep-alive request cost ~40 ms (a no-op edge answered in 44 ms p50).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def __getattr__(self, attr: str) -> Any:
        # http.server dispatches to do_<METHOD> and answers an HTML 501 when there is none.
        if attr.startswith("do_"):
            return self._handle
        raise AttributeError(attr)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        status = HTTPStatus(code)
        self.close_connection = True
        # A request line that did not parse leaves http.server assuming HTTP/0.9, which has no
        # status line or headers; nobody speaks 0.9, so answer in 1.1.
        self.request_version = "HTTP/1.1"
        self._send(error(code, status.name, message or status.phrase, status.phrase))

    def _handle(self) -> None:
        raise NotImplementedError

    def _send(self, reply: Reply) -> None:
        raise NotImplementedError


def serve(handle: Callable[[Request], Reply], name: str, host: str, port: int) -> ThreadingHTTPServer:
    """Serve `handle` on host:port from a daemon thread. ThreadingHTTPServer binds with SO_REUSEADDR,
    so a port left in TIME_WAIT by a previous run can be bound again at once."""

    class Handler(EdgeHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s %s", name, fmt % args)

        def _handle(self) -> None:
            started = time.perf_counter()
            body = self._read_body()
            headers: dict[str, str] = {}
            for k, v in self.headers.items():
                k = k.lower()
                headers[k] = f"{headers[k]},{v}" if k in headers else v
            try:
                reply = handle(Request(self.command, self.path, headers, body, self.client_address[0]))
            except Exception:  # the edge itself must never hang up on a client
                log.exception("%s edge failure", name)
                reply = error(500, "INTERNAL", "Internal Server Error", "Internal Server Error")
            self._send(reply)
            log.info("%s %s %s -> %d (%.0f ms)", name, self.command, self.path, reply.status,
                     (time.perf_counter() - started) * 1000)

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for k, v in reply.headers.items():
                if k not in _HOP_BY_HOP:
                    self.send_header(k, v)
            for c in reply.cookies:
                self.send_header("set-cookie", c)
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("transfer-encoding", "").lower():
                parts: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()  # the blank line after the last chunk
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("content-length") or 0)
            return self.rfile.read(length) if length else b""

    server = _EdgeServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name=f"edge-{name}").start()
    return server
