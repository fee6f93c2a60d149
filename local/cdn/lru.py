"""An edge's cache: least-recently-used eviction bounded in bytes, as an appliance's disk is."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ByteLRU(Generic[V]):
    """`capacity_bytes` of values, each with its size; the least recently used go first. An object
    larger than the whole cache is not stored (it would evict everything and still not fit)."""

    def __init__(self, capacity_bytes: int) -> None:
        if capacity_bytes < 0:
            raise ValueError("capacity_bytes must be >= 0")
        self.capacity_bytes = capacity_bytes
        self.used_bytes = 0
        self.evictions = 0
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def peek(self, key: Hashable) -> V | None:
        """The value without touching its recency (admin listings, tests)."""
        with self._lock:
            item = self._items.get(key)
            return None if item is None else item[0]

    def put(self, key: Hashable, value: V, size: int) -> bool:
        """Store (or replace) `key`; False when it is larger than the cache and was not stored."""
        if size < 0:
            raise ValueError("size must be >= 0")
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.used_bytes -= old[1]
            if size > self.capacity_bytes:
                return False
            while self.used_bytes + size > self.capacity_bytes:
                _k, (_v, s) = self._items.popitem(last=False)
                self.used_bytes -= s
                self.evictions += 1
            self._items[key] = (value, size)
            self.used_bytes += size
            return True

    def pop(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.pop(key, None)
            if item is None:
                return None
            self.used_bytes -= item[1]
            return item[0]

    def pop_prefix(self, prefix: str) -> int:
        """Drop every string key starting with ``prefix`` (a purge); how many were dropped."""
        with self._lock:
            doomed = [k for k in self._items if isinstance(k, str) and k.startswith(prefix)]
            for k in doomed:
                _v, size = self._items.pop(k)
                self.used_bytes -= size
            return len(doomed)

    def list_keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)
