"""A warm function's small cache of values that may be a few seconds stale (who the viewer is, for
the services that act for a profile): an entry expires ``ttl_s`` seconds after its value was READ
(monotonic clock; the caller takes ``now()`` before the read and passes it to ``put``, so slow or
retried reads do not stretch the bound), a slow read of an older state never replaces an entry
read later, and the cache never grows past ``max_entries`` (a burst of distinct keys starts it
over rather than growing a Lambda's memory). Thread-safe: handlers read it from worker threads.

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

    def now(self) -> float:
        """Take it BEFORE reading the value, and pass it to ``put``: the bound then counts from the
        read, however long the read took (retries), not from when it finished."""
        return self.clock()

    def put(self, key: K, value: V, read_at: float | None = None) -> None:
        """Keep ``value`` until ``read_at`` (default: now) + ttl_s. An entry read later than this
        one is kept instead: a slow read of an older state never replaces a newer one."""
        if self.ttl_s <= 0:
            return
        at = self.clock() if read_at is None else read_at
        with self._lock:
            held = self._items.get(key)
            if held is not None and held[0] > at:
                return
            if len(self._items) >= self.max_entries and key not in self._items:
                self._items.clear()
            self._items[key] = (at, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
