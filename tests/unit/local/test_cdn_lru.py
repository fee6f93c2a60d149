"""local/cdn/lru.py: least-recently-used eviction bounded in bytes."""

from __future__ import annotations

import pytest

from local.cdn.lru import ByteLRU


def test_evicts_least_recently_used_until_the_new_object_fits() -> None:
    c: ByteLRU[str] = ByteLRU(100)
    c.put("a", "A", 40)
    c.put("b", "B", 40)
    assert c.get("a") == "A"  # a is now more recent than b
    c.put("c", "C", 40)
    assert "b" not in c and c.get("a") == "A" and c.get("c") == "C"
    assert c.used_bytes == 80 and c.evictions == 1


def test_one_large_object_evicts_several() -> None:
    c: ByteLRU[int] = ByteLRU(100)
    for i in range(10):
        c.put(i, i, 10)
    c.put("big", -1, 95)
    assert c.list_keys() == ["big"] and c.used_bytes == 95 and c.evictions == 10


def test_an_object_larger_than_the_cache_is_not_stored_and_evicts_nothing() -> None:
    c: ByteLRU[str] = ByteLRU(100)
    c.put("a", "A", 50)
    assert c.put("huge", "H", 101) is False
    assert "huge" not in c and c.get("a") == "A" and c.used_bytes == 50


def test_replacing_a_key_counts_its_bytes_once() -> None:
    c: ByteLRU[str] = ByteLRU(100)
    c.put("a", "v1", 60)
    c.put("a", "v2", 30)
    assert c.get("a") == "v2" and c.used_bytes == 30 and len(c) == 1


def test_peek_does_not_refresh_and_pop_frees_bytes() -> None:
    c: ByteLRU[str] = ByteLRU(20)
    c.put("a", "A", 10)
    c.put("b", "B", 10)
    assert c.peek("a") == "A"
    c.put("c", "C", 10)  # a is still the least recent
    assert "a" not in c
    assert c.pop("b") == "B" and c.used_bytes == 10 and c.pop("zz") is None


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        ByteLRU(-1)
    with pytest.raises(ValueError):
        ByteLRU(10).put("a", 1, -5)
