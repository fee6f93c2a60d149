"""The front door at `cdn_url`: picks the edge for each request (placement.py), forwards it over
HTTP, and routes around an edge that does not answer; a request carrying
`X-Reelstack-Prefill-Copies: n` is sent to the object's first n edges so each holds a copy.
`/_reelstack/...` is the admin surface for tests and operators (edges, placement, stop/start an
edge, purge a title's prefix); it needs the admin token from endpoints.json (the purge also takes a
grant signed by the distribution's key: the delivery function's withdrawal purge) and never serves
content.

Checks come before state: a request is admitted (a `titles/` key, a valid grant covering it: the
edges' own check, edge.admit) before it is counted for popularity, walked on the ring (the walk memo)
or prefilled, so a client without a grant costs nothing but the answer. A prefill also needs the
platform's say-so -- the admin token, or `X-Reelstack-Prefill-Grant`: a grant signed with the
distribution's key for `{cdn_url}/_reelstack/prefill/titles/{id}/*`, which the prefill function signs
and a viewer's grant (always under `titles/`) never is. Every per-key structure is bounded: the walk
memo and the popularity counts (placement.py) and the prefill copies here, least recently used first."""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import urllib3
from reelstack_common import cdn_signing

from local.cdn.behaviors import Distribution
from local.cdn.edge import EDGE_HEADER, Refusal, admit
from local.cdn.placement import Placement, Popularity, title_of
from local.edge.messages import Reply, Request, error

log = logging.getLogger("reelstack.local.cdn")

PREFILL_HEADER = "x-reelstack-prefill-copies"
PREFILLED_HEADER = "x-reelstack-prefilled"
ADMIN_PREFIX = "/_reelstack/"
ADMIN_TOKEN_HEADER = "x-reelstack-admin-token"
PREFILL_GRANT_HEADER = "x-reelstack-prefill-grant"
PREFILL_GRANT_PREFIX = "/_reelstack/prefill"  # a prefill grant's resource: {cdn_url}/_reelstack/prefill/titles/...
PURGE_GRANT_HEADER = "x-reelstack-purge-grant"
PURGE_PREFIX = ADMIN_PREFIX + "purge/"  # POST {cdn_url}/_reelstack/purge/titles/{id}/
# Keys whose prefill copies are remembered (least recently prefilled forgotten first: it falls back to
# the popularity rule). A whole off-peak title is ~10^4 keys; keys are ~60 bytes, at most 1 KiB.
MAX_PREFILLED_KEYS = 1 << 17
DOWN_FOR_S = 2.0  # an edge that failed is skipped this long, then tried again
_FORWARD_DROP = ("host", "connection", "content-length", "keep-alive", "transfer-encoding", PREFILL_HEADER,
                 ADMIN_TOKEN_HEADER, PREFILL_GRANT_HEADER, PURGE_GRANT_HEADER)


@dataclass
class EdgeAdmin:
    """What the front door may do to the fleet (fleet.py implements it)."""

    stop: Callable[[str], None]
    start: Callable[[str], None]
    describe: Callable[[str, str], dict[str, Any]]
    purge: Callable[[str], dict[str, int]]  # prefix -> objects dropped per edge


class FrontDoor:
    def __init__(self, placement: Placement, edge_urls: dict[str, str], admin_token: str, admin: EdgeAdmin,
                 distribution: Distribution, cdn_url: str, popularity: Popularity | None = None, *,
                 connect_timeout: float = 0.5, read_timeout: float = 15.0,
                 max_prefilled_keys: int = MAX_PREFILLED_KEYS, clock: Callable[[], float] = time.time) -> None:
        self.placement = placement
        self.distribution = distribution
        self.cdn_url = cdn_url.rstrip("/")
        self.max_prefilled_keys = max_prefilled_keys
        self.clock = clock
        self.edge_urls = dict(edge_urls)
        self.admin_token = admin_token
        self.admin = admin
        self.popularity = popularity or Popularity()
        # key -> copies its prefill asked for (the prefill function gives the opening minute, playlists
        # and init segments one copy more than the rest); bounded, oldest forgotten first
        self.prefill_copies: OrderedDict[str, int] = OrderedDict()
        self._inflight: dict[str, int] = dict.fromkeys(edge_urls, 0)
        self._down_until: dict[str, float] = {}
        self._lock = threading.Lock()
        self._http = urllib3.PoolManager(num_pools=64, maxsize=16, retries=False,
                                         timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout))

    # ------------------------------------------------------------------ routing
    def live(self) -> list[str]:
        now = time.monotonic()
        return [e for e in self.placement.ring.edges if self._down_until.get(e, 0.0) <= now]

    def copies(self, key: str) -> int:
        title = title_of(key)
        if title is None:
            return 1
        return max(self.prefill_copies.get(key, 1), self.popularity.copies(title))

    def handle(self, req: Request) -> Reply:
        if req.path.startswith(ADMIN_PREFIX):
            return self._admin(req)
        if req.method == "OPTIONS":  # a CORS preflight: any edge answers it, no key is looked at
            return self._forward_any(req)
        if req.method not in ("GET", "HEAD"):
            return self._refuse(req, Refusal("METHOD_NOT_ALLOWED", f"{req.method} is not allowed on this distribution"))
        admitted = admit(req, self.distribution, self.cdn_url, self.clock())
        if isinstance(admitted, Refusal):
            return self._refuse(req, admitted)
        key, _behavior = admitted
        prefill = req.headers.get(PREFILL_HEADER)
        if prefill is not None:
            return self._prefill(req, key, prefill)
        title = title_of(key)
        if title is not None and req.method == "GET":
            self.popularity.record(title, self.clock())
        live = self.live() or list(self.placement.ring.edges)  # all marked down: try them anyway
        with self._lock:
            loads = dict(self._inflight)
        order = self.placement.route(key, self.copies(key), loads, live)
        for edge in order:
            reply = self._forward(edge, req)
            if reply is not None:
                return reply
        return error(503, "NO_EDGE", "no edge answered", "Service Unavailable")

    def _refuse(self, req: Request, refusal: Refusal) -> Reply:
        """The edges' 403, answered here: nothing is counted, walked or forwarded."""
        reply = error(403, refusal.code, refusal.message, "Access Denied")
        reply.headers["x-cache"] = "Error from reelstack-edge"
        self.distribution.cors.decorate(reply, req.headers.get("origin"))
        return reply

    def _forward_any(self, req: Request) -> Reply:
        for edge in self.live() or list(self.placement.ring.edges):
            reply = self._forward(edge, req)
            if reply is not None:
                return reply
        return error(503, "NO_EDGE", "no edge answered", "Service Unavailable")

    def _prefill_allowed(self, req: Request) -> bool:
        if self._is_admin(req):
            return True
        proof = req.headers.get(PREFILL_GRANT_HEADER)
        if not proof:
            return False
        reason = cdn_signing.verify(url=self.cdn_url + PREFILL_GRANT_PREFIX + req.path,
                                    params=cdn_signing.signing_params_from_query(proof),
                                    public_keys=self.distribution.public_keys, now=self.clock(),
                                    source_ip=req.source_ip)
        return reason is None

    def _prefill(self, req: Request, key: str, raw: str) -> Reply:
        if not self._prefill_allowed(req):
            return self._refuse(req, Refusal("PREFILL_FORBIDDEN", f"a prefill needs the admin token or "
                                                                  f"{PREFILL_GRANT_HEADER}"))
        n = len(self.placement.ring.edges)
        text = raw.strip()
        if not text.isdigit() or len(text) > 3 or int(text) < 1:
            return error(400, "BAD_PREFILL", f"{PREFILL_HEADER} must be a count from 1", "Bad Request")
        # More copies than edges means one on every edge: the prefill function does not know the
        # fleet's size (REELSTACK_EDGES may be 1 or 2), and refusing would send its fill to the DLQ.
        copies = min(int(text), n)
        filled: list[str] = []
        first: Reply | None = None
        for edge in self.placement.replicas(key, copies, self.live()):
            reply = self._forward(edge, req)
            if reply is None:
                continue
            if reply.status < 400:
                filled.append(edge)
            first = first or reply
        if first is None:
            return error(503, "NO_EDGE", "no edge answered", "Service Unavailable")
        if filled and title_of(key) is not None:  # remembered only for an object the edges hold
            with self._lock:
                self.prefill_copies[key] = max(copies, self.prefill_copies.pop(key, 1))
                while len(self.prefill_copies) > self.max_prefilled_keys:
                    self.prefill_copies.popitem(last=False)
        first.headers[PREFILLED_HEADER] = ",".join(filled)
        return first

    def _forward(self, edge: str, req: Request) -> Reply | None:
        """The edge's reply, or None when it did not answer (then it is marked down for a while)."""
        headers = {k: v for k, v in req.headers.items() if k not in _FORWARD_DROP}
        headers["x-forwarded-for"] = req.source_ip
        with self._lock:
            self._inflight[edge] = self._inflight.get(edge, 0) + 1
        try:
            resp = self._http.request(req.method, self.edge_urls[edge] + req.target, headers=headers,
                                      preload_content=True, redirect=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("edge %s did not answer (%s): routing around it for %.0f s", edge, type(exc).__name__,
                        DOWN_FOR_S)
            with self._lock:
                self._down_until[edge] = time.monotonic() + DOWN_FOR_S
            return None
        finally:
            with self._lock:
                self._inflight[edge] -= 1
        with self._lock:
            self._down_until.pop(edge, None)
        out = {k.lower(): v for k, v in resp.headers.items()}
        if req.method != "HEAD":
            out.pop("content-length", None)  # the server counts the body it sends
        out.setdefault(EDGE_HEADER, edge)
        return Reply(resp.status, out, resp.data or b"")

    # ------------------------------------------------------------------ admin
    def _is_admin(self, req: Request) -> bool:
        token = req.headers.get(ADMIN_TOKEN_HEADER)
        return token is not None and hmac.compare_digest(token.encode(), self.admin_token.encode())

    def _purge(self, req: Request) -> Reply:
        """`POST /_reelstack/purge/titles/{id}/`: every edge (and the prefill copies) forgets that
        prefix -- the local CloudFront invalidation of a withdrawn title. Allowed with the admin token
        or a purge grant for `{cdn_url}/_reelstack/purge/titles/{id}/*` (the delivery function signs
        one with the distribution's key; a viewer's grant, always under `titles/`, never matches).
        Idempotent: a repeat drops nothing more and answers 200 again."""
        prefix = req.path[len(PURGE_PREFIX):]
        parts = prefix.split("/")
        if (req.method != "POST" or len(parts) < 3 or parts[0] != "titles" or parts[-1] != ""
                or any(p in ("", ".", "..") for p in parts[:-1]) or len(prefix) > 1024 or "%" in prefix):
            return error(400, "BAD_PURGE", "POST /_reelstack/purge/titles/{id}/", "Bad Request")
        if not self._is_admin(req):
            proof = req.headers.get(PURGE_GRANT_HEADER) or ""
            reason = cdn_signing.verify(url=self.cdn_url + req.path,
                                        params=cdn_signing.signing_params_from_query(proof),
                                        public_keys=self.distribution.public_keys, now=self.clock(),
                                        source_ip=req.source_ip)
            if reason is not None:
                return error(403, "FORBIDDEN", f"the admin token or a purge grant is required ({reason})", "Forbidden")
        with self._lock:
            for key in [k for k in self.prefill_copies if k.startswith(prefix)]:
                del self.prefill_copies[key]
        purged = self.admin.purge(prefix)
        log.info("purged %s: %s", prefix, purged)
        return _json(200, {"prefix": prefix, "purged": purged})

    def _admin(self, req: Request) -> Reply:
        if req.path.startswith(PURGE_PREFIX):
            return self._purge(req)
        if not self._is_admin(req):
            return error(403, "FORBIDDEN", "admin token required", "Forbidden")
        parts = req.path[len(ADMIN_PREFIX):].strip("/").split("/")
        q = {k: v[0] for k, v in parse_qs(req.query).items()}
        if parts == ["edges"] and req.method == "GET":
            live = set(self.live())
            return _json(200, {"edges": [{**self.admin.describe(e, q.get("prefix", "")), "url": self.edge_urls[e],
                                          "routed": e in live} for e in self.placement.ring.edges]})
        if parts == ["placement"] and req.method == "GET" and q.get("key"):
            key = q["key"].lstrip("/")
            return _json(200, {"key": key, "walk": list(self.placement.ring.walk(key)), "copies": self.copies(key),
                               "prefill_copies": self.prefill_copies.get(key, 0),
                               "replicas": self.placement.replicas(key, self.copies(key), self.live())})
        if len(parts) == 3 and parts[0] == "edges" and parts[1] in self.edge_urls and req.method == "POST":
            edge, action = parts[1], parts[2]
            if action == "stop":
                self.admin.stop(edge)
                return _json(200, {"edge": edge, "stopped": True})
            if action == "start":
                self.admin.start(edge)
                with self._lock:
                    self._down_until.pop(edge, None)
                return _json(200, {"edge": edge, "started": True})
        return error(404, "NOT_FOUND", f"no admin action {req.method} {req.path}", "Not Found")


def _json(status: int, body: Any) -> Reply:
    return Reply(status, {"content-type": "application/json"}, json.dumps(body).encode())
