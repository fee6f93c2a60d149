"""Ports the local cloud listens on: is one free to bind, and a free one for tests."""

from __future__ import annotations

import random
import socket
from pathlib import Path


class PortInUse(SystemExit):
    """Another process listens on a port the local cloud needs (a clear message, no traceback)."""


# Ports are chosen below the kernel's ephemeral range: a port the kernel handed out (bind to 0) and
# that was released until its server binds it can meanwhile become the local end of an outgoing
# connection (any boto3 call), and the server's bind then fails with "Address already in use". A
# port below the range is never picked for outgoing connections; a random pick keeps two test
# processes choosing at once apart.
_BELOW_EPHEMERAL_FROM = 20_000
_ATTEMPTS = 50


def _ephemeral_low(default: int = 32_768) -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, below the ephemeral range (the kernel's own pick if none is)."""
    low, high = _BELOW_EPHEMERAL_FROM, _ephemeral_low() - 1
    if high > low:
        for _ in range(_ATTEMPTS):
            port = random.randint(low, high)  # noqa: S311 -- spreading, not security
            with socket.socket() as s:
                try:
                    s.bind((host, port))
                except OSError:
                    continue
                return port
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
