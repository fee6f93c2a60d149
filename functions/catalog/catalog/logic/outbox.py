"""The outbox relay: which committed title changes become events, and their details.

A catalog write that must be announced marks itself in the same write (``outbox_event`` = the
detail-type, ``outbox_version`` = the version it created). The table's stream hands every change to
the relay; it announces a new image iff that image carries a marker for its own version and the
version changed (so a later transcode write, which moves ``version`` past the marker, announces
nothing here, and neither does a change that left the version alone). No SDK here: the bus is a port.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

EVENT_SOURCE = "reelstack.catalog"


@dataclass(frozen=True)
class Change:
    """One stream record of a title item: images as plain Python values (None when absent)."""

    sequence_number: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None


@dataclass(frozen=True)
class Announcement:
    detail_type: str
    detail: dict[str, Any]


class EventPublisher(Protocol):
    def publish(self, announcements: Sequence[Announcement]) -> list[bool]:
        """Publish in one go; per announcement, whether the bus took it."""
        ...


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def announcement(change: Change) -> Announcement | None:
    new = change.new
    if not new or new.get("sk") != "META" or not new.get("outbox_event"):
        return None
    version = _int(new.get("version"))
    if version is None or _int(new.get("outbox_version")) != version:
        return None
    if change.old is not None and _int(change.old.get("version")) == version:
        return None
    detail: dict[str, Any] = {
        "title_id": str(new["title_id"]),
        "version": version,
        "kind": str(new.get("kind") or "movie"),
        "status": str(new.get("status")),
    }
    if new.get("series_id"):
        detail["series_id"] = str(new["series_id"])
    return Announcement(detail_type=str(new["outbox_event"]), detail=detail)


class OutboxRelay:
    def __init__(self, bus: EventPublisher, *, max_entries: int = 10) -> None:
        self._bus = bus
        self._max = max_entries  # PutEvents takes at most 10 entries per call

    def relay(self, changes: Sequence[Change]) -> str | None:
        """Announce what ``changes`` call for, in order. Returns the sequence number of the first
        change whose announcement the bus did not take (the stream resumes from it: that change and
        everything after it is delivered again), or None when all were announced."""
        pending = [(c.sequence_number, a) for c in changes if (a := announcement(c)) is not None]
        for start in range(0, len(pending), self._max):
            chunk = pending[start : start + self._max]
            taken = self._bus.publish([a for _, a in chunk])
            for (sequence_number, _), ok in zip(chunk, taken, strict=True):
                if not ok:
                    return sequence_number
        return None
