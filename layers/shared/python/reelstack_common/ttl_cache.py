"""A warm function's small cache of values that may be a few seconds stale (who the viewer is, for
the services that act for a profile): entries expire ``ttl_s`` seconds after they were put
(monotonic clock), and the cache never grows past ``max_entries`` (a burst of distinct keys
starts it over rather than growing a Lambda's memory). Thread-safe: the handlers read it from
their worker threads.

``VIEWER_CACHE_TTL_S`` (seconds, set by infra per function; 0 turns caching off) is the staleness
bound a viewer cache gives: a profile switched to kids stops seeing adult titles within it (plus
DAX's item-cache TTL when the value was read through DAX).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

VIEWER_TTL_S = 5.0  # default of VIEWER_CACHE_TTL_S
MAX_ENTRIES = 10_000


def viewer_ttl_s() -> float:
    return float(os.environ.get("VIEWER_CACHE_TTL_S") or VIEWER_TTL_S)


class TtlCache(Generic[K, V]):
    def __init__(
        self, ttl_s: float, clock: Callable[[], float] = time.monotonic, max_entries: int = MAX_ENTRIES
    ) -> None:
        self.ttl_s, self.clock, self.max_entries = ttl_s, clock, max_entries
        self._items: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            if self.clock() - hit[0] >= self.ttl_s:
                del self._items[key]
                return None
            return hit[1]

    def put(self, key: K, value: V) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._items) >= self.max_entries and key not in self._items:
                self._items.clear()
            self._items[key] = (self.clock(), value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
