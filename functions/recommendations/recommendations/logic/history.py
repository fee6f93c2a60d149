"""The history head: GET /home's copy of a profile's view history (contract E's watch states),
kept by the history projector (handlers/history_stream.py) from the playback table's stream.

Why: GET /home needs the view history on every page (Continue watching, and whether the stored
document is stale). Read from the playback table it is a Query of every watch state the profile
ever had, a second round trip beside the document's and one that grows with the profile's life.
Kept next to the document, the page reads the document and the head in ONE BatchGetItem.

Two items, because they change at different rates and DynamoDB bills a write by the item's size:
- ``titles`` (``HOME#<id>`` / ``HISTORY``): every title viewed (the newest ``TITLES_CAP``), when it
  last changed and whether it is finished: what scoring and the staleness key need. Written when a
  title is new, finishes (or stops being finished) or is removed: a few times per viewing session.
- ``progress`` (``HOME#<id>`` / ``PROGRESS``): the unfinished titles with their positions (the newest
  ``PROGRESS_CAP``): Continue watching. Written when a position crosses a ``POSITION_STEP_S``
  boundary (once per 30 s of viewing, not every 5 s heartbeat), and when a title starts or finishes.
  At most ~4 KB, so a viewer's 30-s step costs ~4 write units however long the history is.

Rules (no AWS here):
- A record is judged from its old and new images alone (``touches_titles``, ``touches_progress``):
  a plain heartbeat that crosses no step reads and writes nothing.
- A record older than the head's entry (a replay, or records of one profile from two shards) never
  moves it back.
- Concurrency: per part, read (consistent) -> apply -> conditional put on ``rev``; on a lost race,
  again. A missing part is built from the profile's whole history (a consistent Query, which already
  holds the records being applied), and only if there still is none (``attribute_not_exists``).
  GET /home seeds a missing head the same way from the Query it had to make: whichever write lands
  first, the other fails its condition or applies its records on top, so no state is lost.
- Staleness: the head follows the table by the stream's delay (a DynamoDB stream is read about four
  times a second: well under a second, locally and in AWS) and positions by up to one step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from recommendations.logic.ports import HeadPart, HistoryHead, HomeStore, ViewHistory, ViewState

TITLES, PROGRESS = "titles", "progress"
# ~54 bytes a title with the catalogue's 32-hex ids (~86 with the longest id playback accepts, 64):
# 216 KB (344 KB) at the cap, inside DynamoDB's 400 KB item. Beyond it the head drops titles by its
# own order, which can differ from the table's (a resumed old title keeps its older time here), so a
# profile with more titles may find its nightly documents stale and have them scored live.
TITLES_CAP = 4000
PROGRESS_CAP = 50  # Continue watching shows fewer; ~70 bytes each: ~3.5 KB
POSITION_STEP_S = 30.0  # Continue watching's progress moves in 30 s steps, not every 5 s heartbeat
FINISHED_PERCENT = 95.0  # contract E: past ~95 % a title is finished
PROJECT_ATTEMPTS = 5


class HistoryConflict(RuntimeError):
    """A part of the head kept changing under the projector (every conditional write lost)."""


@dataclass(frozen=True)
class Change:
    """One watch-state record: the state as written (None: the item was removed) and as it was
    before the write (None: the title is new to the profile)."""

    title_id: str
    state: ViewState | None
    old: ViewState | None = None


def finished(v: ViewState) -> bool:
    """Finished as contract E says (also ``mapping.is_finished``)."""
    return v.finished or v.percent >= FINISHED_PERCENT


def newest(views: Iterable[ViewState], cap: int = TITLES_CAP) -> list[ViewState]:
    """The newest ``cap`` states, newest first (ties: by title id, so any reader orders alike)."""
    return sorted(views, key=lambda v: (v.updated_at, v.title_id), reverse=True)[:cap]


def _step(v: ViewState) -> float:
    return math.floor(v.position_s / POSITION_STEP_S)


def touches_titles(c: Change) -> bool:
    return c.state is None or c.old is None or finished(c.old) != finished(c.state)


def touches_progress(c: Change) -> bool:
    if touches_titles(c):
        return True
    old, new = c.old, c.state
    assert old is not None and new is not None  # else touches_titles
    return in_progress(old) != in_progress(new) or _step(old) != _step(new) or old.duration_s != new.duration_s


def title_entry(v: ViewState) -> ViewState:
    """A state as the titles part keeps it: no position, ``finished`` as the rule says."""
    return ViewState(v.profile_id, v.title_id, v.updated_at, finished=finished(v))


def in_progress(v: ViewState) -> bool:
    return not finished(v) and (v.position_s > 0 or v.percent > 0)


def split(views: Iterable[ViewState]) -> tuple[list[ViewState], list[ViewState]]:
    """Full watch states (a Query of the playback table) -> the two parts' entries."""
    views = list(views)
    return (
        newest(title_entry(v) for v in views),
        newest((v for v in views if in_progress(v)), PROGRESS_CAP),
    )


def _apply(
    entries: Sequence[ViewState],
    changes: Iterable[Change],
    keep: Callable[[ViewState], ViewState | None],
    cap: int,
) -> list[ViewState] | None:
    """``entries`` after ``changes`` (oldest first): ``keep(state)`` is the entry a state leaves
    (None: none). None when nothing changed."""
    by_title = {v.title_id: v for v in entries}
    changed = False
    for c in changes:
        have = by_title.get(c.title_id)
        if c.state is not None and have is not None and c.state.updated_at < have.updated_at:
            continue  # older than what the head holds: a replay
        entry = keep(c.state) if c.state is not None else None
        if entry is None:
            changed |= by_title.pop(c.title_id, None) is not None
        elif entry != have:
            by_title[c.title_id] = entry
            changed = True
    return newest(by_title.values(), cap) if changed else None


def apply_titles(entries: Sequence[ViewState], changes: Iterable[Change]) -> list[ViewState] | None:
    return _apply(entries, [c for c in changes if touches_titles(c)], title_entry, TITLES_CAP)


def apply_progress(entries: Sequence[ViewState], changes: Iterable[Change]) -> list[ViewState] | None:
    return _apply(
        entries, [c for c in changes if touches_progress(c)], lambda v: v if in_progress(v) else None, PROGRESS_CAP
    )


def project(profile_id: str, changes: Sequence[Change], *, home: HomeStore, history: ViewHistory) -> int:
    """Apply one profile's records (oldest first) to its head; the number of parts written. Raises
    ``HistoryConflict`` after ``PROJECT_ATTEMPTS`` lost races on a part, and any store error as it
    came (the batch is retried from this profile's first record; applying again is idempotent)."""
    whole: list[ViewState] | None = None

    def table() -> tuple[list[ViewState], list[ViewState]]:
        nonlocal whole
        if whole is None:
            whole = history.for_profile(profile_id, consistent=True)
        return split(whole)

    written = 0
    if any(touches_titles(c) for c in changes):
        written += _project_part(profile_id, TITLES, changes, home, apply_titles, lambda: table()[0])
    if any(touches_progress(c) for c in changes):
        written += _project_part(profile_id, PROGRESS, changes, home, apply_progress, lambda: table()[1])
    return written


def _project_part(
    profile_id: str,
    kind: str,
    changes: Sequence[Change],
    home: HomeStore,
    apply: Callable[[Sequence[ViewState], Iterable[Change]], list[ViewState] | None],
    from_table: Callable[[], list[ViewState]],
) -> bool:
    for _ in range(PROJECT_ATTEMPTS):
        part = home.get_part(profile_id, kind)
        if part is None:
            start = from_table()
            entries = apply(start, changes) or start
            if home.put_part(HeadPart(profile_id, kind, tuple(entries), 1), expected_rev=None):
                return True
            continue
        after = apply(part.views, changes)
        if after is None:
            return False
        if home.put_part(HeadPart(profile_id, kind, tuple(after), part.rev + 1), expected_rev=part.rev):
            return True
    raise HistoryConflict(f"the {kind} of {profile_id}'s history head changed {PROJECT_ATTEMPTS} times")


def seed(profile_id: str, views: Sequence[ViewState]) -> HistoryHead:
    """The head GET /home writes (each part with ``expected_rev=None``) when a profile has none: from
    the Query it had to make instead."""
    titles, progress = split(views)
    return HistoryHead(
        profile_id, HeadPart(profile_id, TITLES, tuple(titles)), HeadPart(profile_id, PROGRESS, tuple(progress))
    )
