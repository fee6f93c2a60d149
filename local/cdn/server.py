"""An HTTP server for one fleet member (edge or front door) that can be killed like a machine that
dies: `kill()` closes the listening socket AND every open connection, so a client holding a
keep-alive connection sees it drop instead of being answered by a "stopped" edge."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.edge.http_server import EdgeHandler
from local.edge.messages import Reply, Request, error

log = logging.getLogger("reelstack.local.cdn")

_HOP_BY_HOP = ("content-length", "connection", "transfer-encoding", "keep-alive")
MAX_BODY = 64 * 1024  # a CDN request carries no body worth reading


class FleetServer(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True

    def __init__(self, addr: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def kill(self) -> None:
        self.shutdown()
        self.server_close()
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)


def serve(handle: Callable[[Request], Reply], name: str, host: str, port: int) -> FleetServer:
    class Handler(EdgeHandler):
        timeout = 60  # a client that stops sending (slowloris) frees its thread after a minute

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s %s", name, fmt % args)

        def _handle(self) -> None:
            started = time.perf_counter()
            raw_length = (self.headers.get("content-length") or "0").strip()
            # Only origin-form targets ("/titles/..."): the front door appends the target to an edge's
            # URL, and "@other-host:port/x" (which http.server accepts) made that a fetch from another
            # host. A Content-Length that is not a plain count (-1 read until the client closed) is 400.
            if not self.path.startswith("/") or not raw_length.isdigit() or len(raw_length) > 12:
                self.close_connection = True
                self._send(error(400, "BAD_REQUEST", "malformed request target or Content-Length", "Bad Request"))
                return
            length = int(raw_length)
            if length > MAX_BODY or "chunked" in self.headers.get("transfer-encoding", "").lower():
                self.close_connection = True
                self._send(error(413, "PAYLOAD_TOO_LARGE", "CDN requests carry no body", "Payload Too Large"))
                return
            body = self.rfile.read(length) if length else b""
            headers: dict[str, str] = {}
            for k, v in self.headers.items():
                k = k.lower()
                headers[k] = f"{headers[k]}; {v}" if k == "cookie" and k in headers else \
                    f"{headers[k]},{v}" if k in headers else v
            try:
                reply = handle(Request(self.command, self.path, headers, body, self.client_address[0]))
            except Exception:
                log.exception("%s failure", name)
                reply = error(500, "INTERNAL", "Internal Server Error", "Internal Server Error")
            try:
                self._send(reply)
            except OSError:
                self.close_connection = True  # the client (or a kill) closed the connection
            log.debug("%s %s %s -> %d (%.1f ms)", name, self.command, self.path, reply.status,
                      (time.perf_counter() - started) * 1000)

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for k, v in reply.headers.items():
                if k not in _HOP_BY_HOP:
                    self.send_header(k, v)
            self.send_header("content-length", reply.headers.get("content-length", str(len(reply.body))))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

    server = FleetServer((host, port), Handler)
    # A short poll: kill() (shutdown) returns within it, so stopping an edge is immediate.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                     name=f"cdn-{name}").start()
    return server
