"""What the off-peak fill chooses and what came of one run."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    title_id: str
    score: float  # popularity (trending views, or a rank prior for the newest titles); > 0
    size_bytes: int  # one copy of the whole title (every rendition), estimated or known


@dataclass(frozen=True)
class Pick:
    title_id: str
    rank: int  # 1 = most popular
    share: float  # of the candidates' total score
    copies: int
    cost_bytes: int  # size_bytes x copies: what it takes of the budget


@dataclass
class OffpeakResult:
    day: str
    source: str  # "trending" | "newest" | "none"
    picks: list[Pick] = field(default_factory=list)
    filled: list[str] = field(default_factory=list)  # titles filled by this run
    already: list[str] = field(default_factory=list)  # filled earlier today (or being filled)
    failed: list[str] = field(default_factory=list)  # some objects failed: the next run retries them
    objects: int = 0
    bytes: int = 0
    stopped: bool = False  # out of time: the next run resumes where this one stopped
