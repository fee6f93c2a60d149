"""Continue watching: the profile's titles in progress, newest first; for a series the episode in
progress, or the next one once an episode is finished. Finished movies drop out."""

from __future__ import annotations

from dataclasses import dataclass

from reelstack_common.maturity import allows

from playback.logic.sessions import READY, Deps
from playback.models.domain import Title, WatchState

# The index holds every unfinished title and every episode watched: a few pages cover any row.
SCAN_LIMIT = 200


@dataclass(frozen=True)
class Row:
    title: Title
    state: WatchState | None  # None: the next episode, not started yet
    reason: str  # "in_progress" | "next_episode"
    updated_at: str


def continue_watching(user_id: str, profile_id: str, limit: int, deps: Deps) -> list[Row]:
    viewer = deps.viewers.load(user_id, profile_id)  # 404 for another account's profile
    states = deps.store.recent_states(profile_id, SCAN_LIMIT)
    picks: list[tuple[str, WatchState, str | None]] = []  # (reason, state, series id)
    series_seen: set[str] = set()
    for state in states:  # newest first: the first state of a series is where the viewer is
        if state.series_id:
            if state.series_id in series_seen:
                continue
            series_seen.add(state.series_id)
            picks.append(("next_episode" if state.finished else "in_progress", state, state.series_id))
        elif not state.finished:
            picks.append(("in_progress", state, None))

    titles = deps.titles.get_many({s.title_id for reason, s, _ in picks if reason == "in_progress"})
    rows: list[Row] = []
    for reason, state, series_id in picks:
        if len(rows) >= limit:
            break
        if reason == "next_episode":
            if state.season is None or state.number is None or series_id is None:
                continue
            title = deps.titles.next_episode(series_id, state.season, state.number)
            row_state = None
        else:
            title = titles.get(state.title_id)
            row_state = state
        # Withdrawn, not ready, or no longer allowed for this profile (its setting may have changed).
        if title is None or title.status != READY or not allows(viewer.maturity_rating, title.maturity_rating):
            continue
        rows.append(Row(title=title, state=row_state, reason=reason, updated_at=state.updated_at))
    return rows
