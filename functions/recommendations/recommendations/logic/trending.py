"""Trending now: time-decayed view counts per language, kept fresh by the view-stream consumer.

Each language has one snapshot: title -> (day, week) counts decayed to the snapshot's time ``at``
with half-lives of one day and one week. A view at time t adds 0.5 ** ((at - t) / half_life) to
each; moving a snapshot to a later time multiplies every count by the same factor, so merging a
batch of views is exact. Only the TOP_KEEP best titles are kept (bounded item size); a title
outside them that is viewed again starts from its new views, which only drops counts too small to
trend. ``ANY_LANGUAGE`` holds every view, for profiles whose language has too few titles.

A view is a playback session's ``start`` event (contract E): one per session, so heartbeats and
seeks never count, and one profile's binge counts once per title it starts.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recommendations.logic.ports import CatalogTitle, Trending, TrendingStore

DAY_S = 86_400.0
HALF_LIFE_DAY_S = DAY_S
HALF_LIFE_WEEK_S = 7 * DAY_S
TOP_KEEP = 300
ANY_LANGUAGE = "*"
VIEW_EVENT = "start"
MAX_ATTEMPTS = 8  # optimistic-concurrency retries per language and batch


@dataclass(frozen=True)
class View:
    title_id: str
    ts: float
    language: str | None


def score(day: float, week: float) -> float:
    """Ranking: today's views, plus the week's at its daily rate (a title steady all week trends)."""
    return day + week / 7.0


def _factor(dt: float, half_life: float) -> float:
    return math.pow(0.5, max(dt, 0.0) / half_life)


def advanced(t: Trending, now: float) -> Trending:
    """The snapshot decayed to ``now`` (never backwards)."""
    if now <= t.at:
        return Trending(t.language, t.at, dict(t.counts), t.revision)
    fd, fw = _factor(now - t.at, HALF_LIFE_DAY_S), _factor(now - t.at, HALF_LIFE_WEEK_S)
    return Trending(t.language, now, {k: (d * fd, w * fw) for k, (d, w) in t.counts.items()}, t.revision)


def merged(current: Trending | None, language: str, views: Iterable[View], now: float) -> Trending:
    base = advanced(current, now) if current is not None else Trending(language, now, {}, 0)
    counts = dict(base.counts)
    for v in views:
        # A clock far in the future counts as now, never as a boost.
        ts = base.at if v.ts > base.at + 300 else v.ts
        d, w = counts.get(v.title_id, (0.0, 0.0))
        counts[v.title_id] = (
            d + _factor(base.at - ts, HALF_LIFE_DAY_S),
            w + _factor(base.at - ts, HALF_LIFE_WEEK_S),
        )
    top = sorted(counts.items(), key=lambda kv: (-score(*kv[1]), kv[0]))[:TOP_KEEP]
    return Trending(language, base.at, dict(top), base.revision)


def ranked(t: Trending | None, now: float) -> list[str]:
    if t is None:
        return []
    t = advanced(t, now)
    return [k for k, _ in sorted(t.counts.items(), key=lambda kv: (-score(*kv[1]), kv[0]))]


def views_from_events(events: Iterable[Mapping[str, Any]]) -> list[View]:
    """The view events of a batch (contract E); malformed records are skipped, never fatal."""
    out = []
    for e in events:
        if not isinstance(e, Mapping) or e.get("event") != VIEW_EVENT:
            continue
        title_id, ts = e.get("title_id"), e.get("ts")
        if not isinstance(title_id, str) or not title_id or len(title_id) > 64:
            continue
        if not isinstance(ts, int | float) or not math.isfinite(ts):
            continue
        # Episodes trend as their series (the row shows series, not episode 7).
        series = e.get("series_id")
        key = series if isinstance(series, str) and series else title_id
        lang = e.get("language")
        out.append(View(key, float(ts), lang if isinstance(lang, str) and lang else None))
    return out


def record_views(
    views: Sequence[View],
    store: TrendingStore,
    titles: Callable[[Sequence[str]], Mapping[str, CatalogTitle]],
    now: float,
) -> dict[str, int]:
    """Merge ``views`` into each language's snapshot and ``ANY_LANGUAGE``; returns views per language.
    A view without a language takes its title's (one catalog batch read for the batch)."""
    missing = sorted({v.title_id for v in views if v.language is None})
    known = titles(missing) if missing else {}
    by_lang: dict[str, list[View]] = defaultdict(list)
    for v in views:
        lang = v.language or (known[v.title_id].language if v.title_id in known else None)
        if lang:
            by_lang[lang].append(v)
        by_lang[ANY_LANGUAGE].append(v)
    for lang, batch in by_lang.items():
        for _ in range(MAX_ATTEMPTS):
            current = store.get(lang)
            new = merged(current, lang, batch, now)
            if store.replace(new, current.revision if current is not None else 0):
                break
        else:
            raise RuntimeError(f"trending[{lang}]: too much contention, batch not merged")
    return {k: len(v) for k, v in by_lang.items()}


def encode_counts(counts: Mapping[str, tuple[float, float]]) -> str:
    return json.dumps({k: [round(d, 6), round(w, 6)] for k, (d, w) in counts.items()}, separators=(",", ":"))


def decode_counts(text: str) -> dict[str, tuple[float, float]]:
    raw = json.loads(text)
    return {str(k): (float(v[0]), float(v[1])) for k, v in raw.items()}
