"""`Range:` as CloudFront answers it for a cached object: one byte range → 206 with Content-Range;
a range that starts past the end → 416 with `Content-Range: bytes */size`; a header that does not
parse, or asks for several ranges, is ignored (200, whole object), as S3 does behind CloudFront."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SINGLE = re.compile(r"^bytes=(\d{0,19})-(\d{0,19})$")


class Unsatisfiable(ValueError):
    """The range lies wholly outside the object (416)."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to send, None for the whole object; raises Unsatisfiable for a 416."""
    if header is None:
        return None
    m = _SINGLE.match(header.strip().replace(" ", ""))
    if m is None:
        return None  # malformed or multi-range: ignored
    first, last = m.group(1), m.group(2)
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        n = int(last)
        if n == 0:
            raise Unsatisfiable(header)
        return ByteRange(max(0, size - n), size - 1) if size else _empty(header)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # RFC 9110: an invalid range-spec; the header is ignored
    if start >= size:
        raise Unsatisfiable(header)
    return ByteRange(start, min(end, size - 1))


def _empty(header: str) -> ByteRange:
    raise Unsatisfiable(header)
