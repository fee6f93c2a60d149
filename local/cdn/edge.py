"""One edge cache: CloudFront's checks (only `titles/` objects, a valid signed grant), a byte-bounded
LRU in front of the origin, one origin fetch for concurrent misses, byte ranges, and the headers a
CDN user looks at (Cache-Control, ETag, Age, X-Cache, X-Reelstack-Edge)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote

from reelstack_common import cdn_signing

from local.cdn.behaviors import Behavior, Distribution
from local.cdn.lru import ByteLRU
from local.cdn.origin import NotFound, OriginObject, OriginUnavailable
from local.cdn.ranges import Unsatisfiable, parse_range
from local.cdn.singleflight import SingleFlight
from local.edge.messages import Reply, Request, error

MAX_KEY_BYTES = 1024  # S3's key limit
# Purges remembered to tell whether one happened during an origin fetch: fetches last seconds, so
# only the last few matter; if more than this many purges landed during one fetch, its object is not
# cached (the safe side: a miss later, never a purged object back).
RECENT_PURGES = 1024
EDGE_HEADER = "x-reelstack-edge"
_COOKIE_NAMES = (cdn_signing.COOKIE_POLICY, cdn_signing.COOKIE_SIGNATURE, cdn_signing.COOKIE_KEY_PAIR_ID,
                 cdn_signing.COOKIE_EXPIRES)


class Origin(Protocol):
    def get(self, key: str) -> OriginObject: ...


@dataclass(frozen=True)
class Cached:
    obj: OriginObject
    stored_at: float  # epoch seconds
    expires_at: float


@dataclass
class EdgeStats:
    hits: int = 0
    misses: int = 0
    origin_fetches: int = 0
    denied: int = 0
    bytes_out: int = 0
    purged: int = 0


def object_key(path: str) -> str | None:
    """The S3 key a request path names, or None for a path no CloudFront origin request could
    carry: dot segments, empty segments, control characters, over-long keys."""
    key = unquote(path.removeprefix("/"), errors="strict") if "%" in path else path.removeprefix("/")
    if not key or len(key.encode()) > MAX_KEY_BYTES or "\\" in key:
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        return None
    if any(seg in ("", ".", "..") for seg in key.split("/")):
        return None
    return key


def signing_params(req: Request) -> dict[str, str]:
    """The grant a request carries: the signed-URL query wins over cookies, as on CloudFront."""
    query = cdn_signing.signing_params_from_query(req.query) if req.query else {}
    if query:
        return query
    found: dict[str, str] = {}
    for part in req.headers.get("cookie", "").split(";")[:64]:
        name, _, value = part.strip().partition("=")
        if name in _COOKIE_NAMES:
            found[name] = value.strip().strip('"')
    return found


@dataclass(frozen=True)
class Refusal:
    """Why a request gets no content (always 403, as CloudFront answers)."""

    code: str
    message: str


def admit(req: Request, distribution: Distribution, cdn_url: str, now: float) -> tuple[str, Behavior] | Refusal:
    """CloudFront's checks before anything is looked up: a `titles/` key, a behavior that serves it
    and, when the behavior has trusted key groups, a valid grant covering the URL. The edges and
    the front door both run it; the front door before it keeps any state for the request."""
    try:
        key = object_key(req.path)
    except UnicodeDecodeError:
        key = None
    if key is None or not key.startswith("titles/"):
        return Refusal("FORBIDDEN", "only titles/ objects are served")
    behavior = distribution.behavior(key)
    if behavior is None:
        return Refusal("FORBIDDEN", "no cache behavior serves this path")
    if behavior.signed:
        reason = cdn_signing.verify(url=cdn_url + req.target, params=signing_params(req),
                                    public_keys=distribution.public_keys, now=now, source_ip=req.source_ip)
        if reason is not None:
            return Refusal("ACCESS_DENIED", f"signed grant refused: {reason}")
    return key, behavior


class Edge:
    def __init__(self, edge_id: str, origin: Origin, distribution: Distribution, cdn_url: str,
                 capacity_bytes: int, clock: Callable[[], float] = time.time) -> None:
        self.id = edge_id
        self.origin = origin
        self.distribution = distribution
        self.cdn_url = cdn_url.rstrip("/")
        self.cache: ByteLRU[Cached] = ByteLRU(capacity_bytes)
        # Each flight carries the purge count at its start with its object.
        self.flights: SingleFlight[tuple[int, OriginObject]] = SingleFlight()
        self.stats = EdgeStats()
        self._stats_lock = threading.Lock()
        self.clock = clock
        # Purges so far, and the recent ones (count, prefix): an origin fetch that a purge of its
        # prefix overtook is answered but not cached (it may hold what the purge removed).
        self._purge_lock = threading.Lock()
        self._purges = 0
        self._recent_purges: deque[tuple[int, str]] = deque(maxlen=RECENT_PURGES)

    # ------------------------------------------------------------------ request
    def handle(self, req: Request) -> Reply:
        reply = self._handle(req)
        reply.headers[EDGE_HEADER] = self.id
        if req.method != "OPTIONS":  # a preflight reply carries its CORS headers already
            self.distribution.cors.decorate(reply, req.headers.get("origin"))
        return reply

    def _handle(self, req: Request) -> Reply:
        if req.method == "OPTIONS":
            return self.distribution.cors.preflight(req.headers.get("origin"))
        if req.method not in ("GET", "HEAD"):
            return self._denied(403, "METHOD_NOT_ALLOWED", f"{req.method} is not allowed on this distribution")
        admitted = admit(req, self.distribution, self.cdn_url, self.clock())
        if isinstance(admitted, Refusal):
            return self._denied(403, admitted.code, admitted.message)
        key, behavior = admitted
        now = self.clock()
        entry = self.cache.get(key)
        hit = entry is not None and entry.expires_at > now
        if not hit:
            try:
                (started, obj), _shared = self.flights.do(key, lambda: self._fetch(key), timeout=30)
            except NotFound:
                return self._count_miss(error(404, "NOT_FOUND", f"no object {key}", "Not Found"))
            except (OriginUnavailable, TimeoutError):
                return self._count_miss(error(503, "ORIGIN_UNAVAILABLE", "the origin did not answer",
                                              "Service Unavailable"))
            ttl = behavior.ttl(obj.cache_control)
            entry = Cached(obj, now, now + ttl)
            if ttl > 0:
                self._store_unless_purged(key, entry, started)
        assert entry is not None
        with self._stats_lock:
            if hit:
                self.stats.hits += 1
            else:
                self.stats.misses += 1
        return self._object_reply(req, entry, hit, behavior.headers, now)

    def _fetch(self, key: str) -> tuple[int, OriginObject]:
        with self._stats_lock:
            self.stats.origin_fetches += 1
        with self._purge_lock:
            started = self._purges
        return started, self.origin.get(key)

    def _store_unless_purged(self, key: str, entry: Cached, started: int) -> bool:
        """Cache what a fetch brought unless a purge of its prefix came after the fetch began (a
        withdrawal's purge must not be undone by a fetch already in flight). Checked and stored
        under the purge's lock, so no purge falls between the two."""
        with self._purge_lock:
            if self._purges != started:
                recent = self._recent_purges
                if len(recent) == recent.maxlen and recent[0][0] > started + 1:
                    return False  # more purges since than remembered: do not guess
                for count, prefix in reversed(recent):
                    if count <= started:
                        break
                    if key.startswith(prefix):
                        return False
            self.cache.put(key, entry, len(entry.obj.body))
            return True

    def _object_reply(self, req: Request, entry: Cached, hit: bool,
                      custom: tuple[tuple[str, str, bool], ...], now: float) -> Reply:
        obj = entry.obj
        headers: dict[str, str] = {
            "content-type": obj.content_type,
            "etag": obj.etag,
            "accept-ranges": "bytes",
            "age": str(max(0, int(now - entry.stored_at))),
            "x-cache": ("Hit" if hit else "Miss") + " from reelstack-edge",
        }
        if obj.last_modified:
            headers["last-modified"] = obj.last_modified
        if obj.cache_control:
            headers["cache-control"] = obj.cache_control
        for name, value, override in custom:
            if override or name.lower() not in headers:
                headers[name.lower()] = value
        inm = req.headers.get("if-none-match")
        if inm and obj.etag and (inm.strip() == "*" or obj.etag in [t.strip() for t in inm.split(",")]):
            return Reply(304, {k: v for k, v in headers.items() if k != "content-type"})
        size = len(obj.body)
        try:
            rng = parse_range(req.headers.get("range"), size)
        except Unsatisfiable:
            headers["content-range"] = f"bytes */{size}"
            return Reply(416, headers)
        status, body = 200, obj.body
        if rng is not None:
            status, body = 206, obj.body[rng.start:rng.end + 1]
            headers["content-range"] = rng.content_range(size)
        headers["content-length"] = str(len(body))
        with self._stats_lock:
            self.stats.bytes_out += len(body) if req.method == "GET" else 0
        return Reply(status, headers, body if req.method == "GET" else b"")

    def _denied(self, status: int, code: str, message: str) -> Reply:
        with self._stats_lock:
            self.stats.denied += 1
        reply = error(status, code, message, "Access Denied" if status == 403 else message)
        reply.headers["x-cache"] = "Error from reelstack-edge"
        return reply

    def _count_miss(self, reply: Reply) -> Reply:
        with self._stats_lock:
            self.stats.misses += 1
        reply.headers["x-cache"] = "Error from reelstack-edge"
        return reply

    # ------------------------------------------------------------------ admin
    def purge(self, prefix: str) -> int:
        """Forget every cached object under ``prefix`` (a withdrawn title): the next request is a miss."""
        with self._purge_lock:
            n = self.cache.pop_prefix(prefix)
            self._purges += 1
            self._recent_purges.append((self._purges, prefix))
        with self._stats_lock:
            self.stats.purged += n
        return n

    def describe(self, prefix: str = "") -> dict[str, Any]:
        return {
            "id": self.id,
            "objects": len(self.cache),
            "used_bytes": self.cache.used_bytes,
            "capacity_bytes": self.cache.capacity_bytes,
            "evictions": self.cache.evictions,
            **vars(self.stats),
            **({"keys": sorted(str(k) for k in self.cache.list_keys() if str(k).startswith(prefix))} if prefix else {}),
        }
