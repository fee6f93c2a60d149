"""local/cdn/ranges.py: byte ranges answered as CloudFront does."""

from __future__ import annotations

import pytest

from local.cdn.ranges import ByteRange, Unsatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-", ByteRange(100, 999)),
        ("bytes=-100", ByteRange(900, 999)),
        ("bytes=-5000", ByteRange(0, 999)),  # suffix longer than the object: all of it
        ("bytes=990-5000", ByteRange(990, 999)),  # end past the object: clipped
        ("bytes=999-999", ByteRange(999, 999)),
        (" bytes = 1 - 2 ", ByteRange(1, 2)),
    ],
)
def test_satisfiable_ranges(header: str, expected: ByteRange) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", [None, "bytes=0-1,5-6", "items=0-5", "bytes=abc", "bytes=-", "bytes=9-3",
                                    "bytes=" + "9" * 40 + "-", ""])
def test_ignored_headers_mean_the_whole_object(header: str | None) -> None:
    assert parse_range(header, 1000) is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable(header: str) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, 1000)


def test_any_range_of_an_empty_object_is_unsatisfiable() -> None:
    with pytest.raises(Unsatisfiable):
        parse_range("bytes=0-", 0)
    with pytest.raises(Unsatisfiable):
        parse_range("bytes=-10", 0)


def test_content_range() -> None:
    assert ByteRange(10, 19).content_range(100) == "bytes 10-19/100" and ByteRange(10, 19).length == 10
