"""Start and stop the local edge fleet: N edges (each its own HTTP server on its own port, killable
one by one) and the front door at `cdn_url`."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from typing import Any

from local.cdn.behaviors import Distribution
from local.cdn.edge import Edge
from local.cdn.front_door import EdgeAdmin, FrontDoor
from local.cdn.origin import S3Origin
from local.cdn.placement import Placement
from local.cdn.server import FleetServer, serve
from local.ports import free_port

log = logging.getLogger("reelstack.local.cdn")

DEFAULT_EDGES = 4
DEFAULT_CACHE_MB = 256


def edges_from_env(default: int = DEFAULT_EDGES) -> int:
    return int(os.environ.get("REELSTACK_EDGES", str(default)))


def cache_mb_from_env(default: int = DEFAULT_CACHE_MB) -> int:
    return int(os.environ.get("REELSTACK_EDGE_CACHE_MB", str(default)))


@dataclass
class FleetSettings:
    host: str
    port: int  # the front door's
    origin_endpoint: str  # the local S3
    bucket: str  # the media bucket
    edges: int = DEFAULT_EDGES
    cache_mb: int = DEFAULT_CACHE_MB
    distribution: Distribution = field(default_factory=Distribution)
    origin_connect_timeout: float = 1.0
    origin_read_timeout: float = 5.0


class Fleet:
    def __init__(self, s: FleetSettings, origin: Any = None) -> None:
        """`origin`: anything with S3Origin's `get(key)` (tests); default the local S3."""
        if not 1 <= s.edges <= 64:
            raise ValueError(f"edges must be 1..64, got {s.edges}")
        self.s = s
        self.url = f"http://{s.host}:{s.port}"
        self.admin_token = secrets.token_urlsafe(24)
        origin = origin or S3Origin(s.origin_endpoint, s.bucket, connect_timeout=s.origin_connect_timeout,
                                    read_timeout=s.origin_read_timeout)
        ids = [f"edge-{i}" for i in range(s.edges)]
        self.edges = {e: Edge(e, origin, s.distribution, self.url, s.cache_mb * 1024 * 1024) for e in ids}
        self.ports = {e: free_port(s.host) for e in ids}
        self.edge_urls = {e: f"http://{s.host}:{p}" for e, p in self.ports.items()}
        self.placement = Placement(ids)
        self.front_door = FrontDoor(self.placement, self.edge_urls, self.admin_token,
                                    EdgeAdmin(self.stop_edge, self.start_edge, self.describe, self.purge),
                                    s.distribution, self.url)
        self._servers: dict[str, FleetServer] = {}
        self._front: FleetServer | None = None

    def start(self) -> None:
        for e in self.edges:
            self.start_edge(e)
        self._front = serve(self.front_door.handle, "cdn", self.s.host, self.s.port)

    def start_edge(self, edge: str) -> None:
        if edge not in self._servers:
            self._servers[edge] = serve(self.edges[edge].handle, edge, self.s.host, self.ports[edge])

    def stop_edge(self, edge: str) -> None:
        server = self._servers.pop(edge, None)
        if server is not None:
            server.kill()
            log.info("edge %s stopped", edge)

    def purge(self, prefix: str) -> dict[str, int]:
        """Every edge forgets ``prefix``, running or stopped (a stopped edge keeps its cache, as a
        machine's disk does, and would serve it again when started)."""
        return {e: edge.purge(prefix) for e, edge in self.edges.items()}

    def describe(self, edge: str, prefix: str = "") -> dict[str, Any]:
        return {**self.edges[edge].describe(prefix), "running": edge in self._servers}

    def endpoints(self) -> dict[str, Any]:
        """What endpoints.json says about the fleet."""
        return {
            "edges": [{"id": e, "url": u} for e, u in self.edge_urls.items()],
            "cache_mb_per_edge": self.s.cache_mb,
            "admin_token": self.admin_token,
            "admin_url": f"{self.url}/_reelstack",
        }

    def stop(self) -> None:
        if self._front is not None:
            self._front.kill()
            self._front = None
        for e in list(self._servers):
            self.stop_edge(e)
