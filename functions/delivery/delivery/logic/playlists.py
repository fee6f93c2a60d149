"""Just enough HLS (RFC 8216) to know what a player fetches first: the renditions a master playlist
lists, and a media playlist's init segment and segments with their durations.

Keys are resolved relative to the playlist's own key; a URI with a scheme, an absolute path or one
that climbs out of ``root`` (the title's prefix) is ignored -- a playlist cannot make prefill fetch
something outside the title it was published for.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

MAX_PLAYLIST_BYTES = 2 * 1024 * 1024  # a 4-hour rendition at 2 s segments is ~0.5 MB
_URI_ATTR = re.compile(r'URI="([^"]{1,1024})"')


@dataclass(frozen=True)
class Segment:
    key: str
    start_s: float
    duration_s: float


@dataclass
class MediaPlaylist:
    init_keys: list[str] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)


def resolve(base_key: str, uri: str, root: str) -> str | None:
    """``uri`` relative to the directory of ``base_key``, normalised; None when it leaves ``root``."""
    uri = uri.strip()
    if not uri or "://" in uri or uri.startswith("/") or "?" in uri or "#" in uri or "\\" in uri:
        return None
    key = posixpath.normpath(posixpath.join(posixpath.dirname(base_key), uri))
    return key if key.startswith(root) and ".." not in key.split("/") else None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse_master(text: str, key: str, root: str) -> list[str]:
    """Keys of the media playlists a master lists: variant streams and EXT-X-MEDIA renditions
    (audio), in order, without duplicates. A media playlist passed here yields nothing."""
    out: list[str] = []
    expect_uri = False
    for line in _lines(text):
        if line.startswith("#EXT-X-STREAM-INF"):
            expect_uri = True
            continue
        if line.startswith("#EXT-X-MEDIA:") or line.startswith("#EXT-X-I-FRAME-STREAM-INF"):
            if line.startswith("#EXT-X-MEDIA:"):
                match = _URI_ATTR.search(line)
                resolved = resolve(key, match.group(1), root) if match else None
                if resolved and resolved not in out:
                    out.append(resolved)
            continue
        if line.startswith("#"):
            continue
        if expect_uri:
            resolved = resolve(key, line, root)
            if resolved and resolved not in out:
                out.append(resolved)
            expect_uri = False
    return out


def parse_media(text: str, key: str, root: str, until_s: float) -> MediaPlaylist:
    """The init segment(s) and the segments that START before ``until_s`` (what a player buffering
    ``until_s`` seconds from the start requests)."""
    result = MediaPlaylist()
    position = 0.0
    duration: float | None = None
    for line in _lines(text):
        if line.startswith("#EXT-X-MAP:"):
            match = _URI_ATTR.search(line)
            resolved = resolve(key, match.group(1), root) if match else None
            if resolved and resolved not in result.init_keys:
                result.init_keys.append(resolved)
        elif line.startswith("#EXTINF:"):
            try:
                duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
            except ValueError:
                duration = None
            if duration is not None and not (0 <= duration < 3600):
                duration = None
        elif not line.startswith("#"):
            if duration is None:
                continue  # a URI without a usable #EXTINF is not a segment we can place in time
            if position >= until_s:
                break
            resolved = resolve(key, line, root)
            if resolved:
                result.segments.append(Segment(resolved, position, duration))
            position += duration
            duration = None
    return result
