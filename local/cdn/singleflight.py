"""One origin fetch for concurrent misses of the same object (what Origin Shield does for
CloudFront): the first caller fetches, the others wait for its result (or its exception)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, Future[T]] = {}
        self.calls = 0  # how many times `fn` actually ran (tests and stats)
        self._waiting: dict[Hashable, int] = {}

    def do(self, key: Hashable, fn: Callable[[], T], timeout: float | None = None) -> tuple[T, bool]:
        """(result, shared): `shared` is True for a caller that waited on another's fetch."""
        with self._lock:
            fut = self._inflight.get(key)
            leader = fut is None
            if leader:
                fut = Future()
                self._inflight[key] = fut
                self.calls += 1
            else:
                self._waiting[key] = self._waiting.get(key, 0) + 1
        assert fut is not None
        if not leader:
            try:
                return fut.result(timeout), True
            finally:
                with self._lock:
                    self._waiting[key] -= 1
                    if not self._waiting[key]:
                        del self._waiting[key]
        try:
            result = fn()
        except BaseException as exc:
            fut.set_exception(exc)
            raise
        else:
            fut.set_result(result)
            return result, False
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def waiting(self, key: Hashable) -> int:
        """Callers waiting on the fetch in flight for `key`."""
        with self._lock:
            return self._waiting.get(key, 0)
