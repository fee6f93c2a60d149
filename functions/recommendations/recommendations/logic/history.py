"""The history head: GET /home's copy of a profile's view history (contract E's watch states),
kept by the history projector (handlers/history_stream.py) from the playback table's stream.

Why: GET /home needs the view history on every page (Continue watching, and whether the stored
document is stale). Read from the playback table it is a Query of every watch state the profile
ever had, a second round trip beside the document's and one that grows with the profile's life.
Kept next to the document (``HOME#<id>`` / ``HISTORY``), the page reads both in ONE BatchGetItem.

Rules (no AWS here):
- The head holds the newest ``HISTORY_CAP`` states, newest first (``newest``); the document's
  staleness key (``mapping.history_key``) is computed over the same newest states, so a head and a
  full Query of the table give the same key.
- A stream record changes the head only when it matters to a page (``apply``): a title new to the
  head, a change of ``finished``, a removal, or the position moving ``POSITION_STEP_S`` or more (the
  progress bar of Continue watching). Plain heartbeats in between write nothing. A record older
  than the head's entry (a replay, or records of one profile from two shards) never moves it back.
- Concurrency: read (consistent) -> apply -> conditional put on ``rev``; on a lost race, again.
  A missing head is built from the profile's whole history (a consistent Query, which already holds
  the records being applied), and only if there still is none (``attribute_not_exists``). GET /home
  seeds a missing head the same way from its own Query: whichever write lands first, the other
  fails its condition or applies its records on top, so no state is lost.
- Staleness: the head follows the table by the stream's delay (a DynamoDB stream is read about four
  times a second: well under a second, locally and in AWS).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from recommendations.logic.ports import HistoryHead, HomeStore, ViewHistory, ViewState

HISTORY_CAP = 2000  # ~70 bytes a state: ~140 KB at the cap, well inside DynamoDB's 400 KB item
POSITION_STEP_S = 30.0  # Continue watching's progress moves in 30 s steps, not every 5 s heartbeat
PROJECT_ATTEMPTS = 5


class HistoryConflict(RuntimeError):
    """The head kept changing under the projector (every conditional write lost)."""


@dataclass(frozen=True)
class Change:
    """One watch-state record: the state as written, or None when the item was removed."""

    title_id: str
    state: ViewState | None


def newest(views: Iterable[ViewState], cap: int = HISTORY_CAP) -> list[ViewState]:
    """The newest ``cap`` states, newest first (ties: by title id, so any reader orders alike)."""
    return sorted(views, key=lambda v: (v.updated_at, v.title_id), reverse=True)[:cap]


def _matters(old: ViewState, new: ViewState) -> bool:
    return (
        old.finished != new.finished
        or abs(new.position_s - old.position_s) >= POSITION_STEP_S
        or new.duration_s != old.duration_s
    )


def apply(head: Sequence[ViewState], changes: Iterable[Change]) -> list[ViewState] | None:
    """The head after ``changes`` (oldest first), or None when none of them matters to a page."""
    by_title = {v.title_id: v for v in head}
    changed = False
    for change in changes:
        old = by_title.get(change.title_id)
        if change.state is None:
            changed |= by_title.pop(change.title_id, None) is not None
            continue
        if old is not None and (change.state.updated_at < old.updated_at or not _matters(old, change.state)):
            continue
        by_title[change.title_id] = change.state
        changed = True
    return newest(by_title.values()) if changed else None


def project(profile_id: str, changes: Sequence[Change], *, home: HomeStore, history: ViewHistory) -> bool:
    """Apply one profile's records to its head. True when the head was written, False when nothing
    in them mattered. Raises ``HistoryConflict`` after ``PROJECT_ATTEMPTS`` lost races, and any
    store error as it came (the batch is retried from this profile's first record)."""
    for _ in range(PROJECT_ATTEMPTS):
        head = home.get_history(profile_id)
        if head is None:
            whole = history.for_profile(profile_id, consistent=True)
            views = apply(whole, changes) or newest(whole)
            if home.put_history(HistoryHead(profile_id, tuple(views), 1), expected_rev=None):
                return True
            continue
        after = apply(head.views, changes)
        if after is None:
            return False
        if home.put_history(HistoryHead(profile_id, tuple(after), head.rev + 1), expected_rev=head.rev):
            return True
    raise HistoryConflict(f"the history head of {profile_id} changed {PROJECT_ATTEMPTS} times while applying")


def seed(profile_id: str, views: Sequence[ViewState]) -> HistoryHead:
    """The head GET /home writes (``put_history(..., expected_rev=None)``) when a profile has none:
    from the Query it had to make instead."""
    return HistoryHead(profile_id, tuple(newest(views)), 1)
