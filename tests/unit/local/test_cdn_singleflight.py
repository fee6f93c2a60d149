"""local/cdn/singleflight.py: concurrent misses of one object make one origin fetch."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from local.cdn.singleflight import SingleFlight


def test_concurrent_callers_share_one_call() -> None:
    sf: SingleFlight[bytes] = SingleFlight()
    release = threading.Event()
    calls = []

    def fetch() -> bytes:
        calls.append(1)
        release.wait(5)
        return b"body"

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(sf.do, "k", fetch) for _ in range(16)]
        deadline = time.monotonic() + 5
        while sf.waiting("k") < 15 and time.monotonic() < deadline:  # all others queued on the leader
            time.sleep(0.001)
        release.set()
        results = [f.result(5) for f in futures]
    assert len(calls) == 1 and sf.calls == 1
    assert all(r == b"body" for r, _ in results)
    assert sum(1 for _, shared in results if not shared) == 1


def test_the_leaders_error_reaches_every_waiter_and_the_next_call_tries_again() -> None:
    sf: SingleFlight[int] = SingleFlight()
    started, release = threading.Event(), threading.Event()

    def boom() -> int:
        started.set()
        release.wait(5)
        raise OSError("origin down")

    with ThreadPoolExecutor(4) as pool:
        leader = pool.submit(sf.do, "k", boom)
        started.wait(5)
        waiters = [pool.submit(sf.do, "k", lambda: 1) for _ in range(3)]
        release.set()
        for f in [leader, *waiters]:
            with pytest.raises(OSError):
                f.result(5)
    assert sf.do("k", lambda: 7) == (7, False)


def test_different_keys_do_not_wait_for_each_other() -> None:
    sf: SingleFlight[str] = SingleFlight()
    assert sf.do("a", lambda: "A") == ("A", False)
    assert sf.do("b", lambda: "B") == ("B", False)
    assert sf.calls == 2
