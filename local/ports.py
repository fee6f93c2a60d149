"""Ports the local cloud listens on: is one free to bind, and a free one for tests."""

from __future__ import annotations

import socket


class PortInUse(SystemExit):
    """Another process listens on a port the local cloud needs (a clear message, no traceback)."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def ensure_free(host: str, ports: dict[str, int]) -> None:
    """Raise PortInUse naming the first port (by its role) that cannot be bound.

    Binds as the servers do (ThreadingHTTPServer and moto's werkzeug server set SO_REUSEADDR), so
    connections a stopped run left in TIME_WAIT do not count: only a live listener does."""
    for role, port in ports.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                raise PortInUse(
                    f"port {port} on {host} ({role}) is in use by another process (another `make up`?)"
                ) from None
