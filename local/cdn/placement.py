"""Where an object lives in the edge fleet: a consistent-hash ring over edge ids (uhashring: md5,
640 points per edge), bounded loads on top of it (Mirrokni, Thorup, Zadimoghaddam, SODA 2018:
an edge takes a request only while its load is under ⌈(1+ε)·(m+1)/n⌉, else the request walks on
clockwise) and more than one copy for popular titles (the first `copies` edges of an object's walk).

The fleet (local/cdn/front_door.py) and the trace simulator (bench/delivery.py) both place with
this module, so what the benchmark measures is what `make up` runs.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence

from uhashring import HashRing

# Points per edge. uhashring's default 160 leaves the largest edge 1.11-1.20x its fair share at N=4..16
# (removing it would move more than 1.1/N of the keys); 640 keeps every edge within 0.93-1.07x.
DEFAULT_VNODES = 640
DEFAULT_EPSILON = 0.25  # capacity 1.25× the mean: HAProxy's hash-balance-factor 125, as Vimeo ran it
# Walks remembered per key (one md5 saved per repeat request), least recently used forgotten first.
# A key is up to 1 KiB, so this bounds the memo at ~40 MB even when every key is as long as S3 allows.
MEMO_KEYS = 1 << 15
POPULARITY_TITLES = 10_000  # titles whose share is tracked; the least recently requested forgotten first


class Ring:
    """The consistent-hash ring. `walk(key)` lists every edge once, in the clockwise order from the
    key's point: the first is the key's owner, the next ones its replicas and fallbacks."""

    def __init__(self, edge_ids: Iterable[str], vnodes: int = DEFAULT_VNODES, memo_keys: int = MEMO_KEYS) -> None:
        self.vnodes = vnodes
        self.memo_keys = memo_keys
        self._lock = threading.Lock()
        self._ring = HashRing(nodes=[], vnodes=vnodes)
        for edge in edge_ids:
            self._ring.add_node(edge)
        self._rebuild()

    def _rebuild(self) -> None:
        # The walk from a key only depends on which ring point the key lands on: precompute the
        # distinct-edge order once per point (n·vnodes points), so a lookup is one md5 + bisect.
        points = [node for _pos, node in self._ring.get_points()]
        n = len(set(points))
        walks: list[tuple[str, ...]] = []
        if points:
            # Walk backwards once, keeping for each point the order of first appearance clockwise.
            size = len(points)
            nxt: list[tuple[str, ...]] = [()] * size
            order: list[str] = []
            # Seed with a full turn so positions near the end wrap to the start.
            for i in range(2 * size - 1, -1, -1):
                node = points[i % size]
                if node in order:
                    order.remove(node)
                order.insert(0, node)
                if i < size:
                    nxt[i] = tuple(order[:n])
            walks = nxt
        self._walks = walks
        self._edges = tuple(sorted(set(points)))
        self._memo: OrderedDict[str, tuple[str, ...]] = OrderedDict()

    @property
    def edges(self) -> tuple[str, ...]:
        return self._edges

    def walk(self, key: str, remember: bool = True) -> tuple[str, ...]:
        """`remember=False` for keys seen once (a bulk fill): they would only push out the memo."""
        memo = self._memo
        walk = memo.get(key)
        if walk is not None:
            with contextlib.suppress(KeyError):  # another thread evicted it meanwhile
                memo.move_to_end(key)
            return walk
        walks = self._walks
        if not walks:
            return ()
        walk = walks[self._ring.get_node_pos(key)]
        if remember:
            memo[key] = walk
            while len(memo) > self.memo_keys:
                try:
                    memo.popitem(last=False)
                except KeyError:  # emptied by a concurrent rebuild
                    break
        return walk

    @property
    def memo_size(self) -> int:
        return len(self._memo)

    def owner(self, key: str) -> str | None:
        walk = self.walk(key)
        return walk[0] if walk else None

    def add(self, edge: str) -> None:
        with self._lock:
            self._ring.add_node(edge)
            self._rebuild()

    def remove(self, edge: str) -> None:
        with self._lock:
            self._ring.remove_node(edge)
            self._rebuild()


def capacity(total_load: int, edges: int, epsilon: float) -> int:
    """MTZ's per-edge capacity when the next unit of load arrives: ⌈(1+ε)·(m+1)/n⌉."""
    return max(1, math.ceil((1 + epsilon) * (total_load + 1) / max(1, edges)))


def copies_for_share(share: float, max_copies: int = 3) -> int:
    """How many edges hold a title, from its share of the fleet's requests: Open Connect keeps more
    copies of what is watched more. One copy below 1 %, two from 1 %, three from 5 % (with Zipf(1.0)
    over 2,000 titles that is the top ~12 titles with 2+ copies and the top 2 with 3)."""
    copies = 1 + (share >= 0.01) + (share >= 0.05)
    return min(max_copies, int(copies))


def title_of(key: str) -> str | None:
    """`titles/{id}/...` -> id (the unit copies are decided for); None for any other key."""
    parts = key.split("/", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "titles" and parts[1] else None


class Placement:
    """Ring + bounded loads + copies: the edges an object is stored on and the order a request for
    it tries them."""

    def __init__(self, edge_ids: Iterable[str], *, epsilon: float | None = DEFAULT_EPSILON,
                 vnodes: int = DEFAULT_VNODES, ring: Ring | None = None) -> None:
        self.ring = ring or Ring(edge_ids, vnodes)  # a shared ring shares its memo (the simulator)
        self.epsilon = epsilon  # None: plain consistent hashing (no load bound)

    def replicas(self, key: str, copies: int = 1, live: Iterable[str] | None = None,
                 remember: bool = True) -> list[str]:
        """The edges that hold `key`: the first `copies` live edges of its walk."""
        walk = self.ring.walk(key, remember)
        alive = walk if live is None else [e for e in walk if e in set(live)]
        return list(alive[: max(1, copies)])

    def pick(self, key: str, copies: int, loads: Mapping[str, int], live: Sequence[str] | None = None,
             total: int | None = None) -> str | None:
        """The edge one request of `key` goes to: the least-loaded of its replicas (ties: ring order);
        with bounded loads, when that one is at capacity the request walks on clockwise to the first
        edge under it. `total`: the sum of `loads` over the live edges when the caller keeps it (the
        simulator), else it is summed here. None when no edge is live."""
        walk: Sequence[str] = self.ring.walk(key)
        if live is not None:
            alive = set(live)
            walk = [e for e in walk if e in alive]
        if not walk:
            return None
        first = walk[0] if copies <= 1 else min(walk[:copies], key=lambda e: loads.get(e, 0))  # min: first on ties
        if self.epsilon is not None:
            if total is None:
                total = sum(loads.get(e, 0) for e in walk)
            cap = capacity(total, len(walk), self.epsilon)
            if loads.get(first, 0) >= cap:
                start = walk.index(first)
                first = next((e for e in [*walk[start:], *walk[:start]] if loads.get(e, 0) < cap), first)
        return first

    def route(self, key: str, copies: int, loads: Mapping[str, int], live: Sequence[str] | None = None) -> list[str]:
        """The order in which to try edges for one request of `key`: `pick`'s edge, then the rest of
        the key's walk, for failover when an edge does not answer."""
        first = self.pick(key, copies, loads, live)
        if first is None:
            return []
        alive = None if live is None else set(live)
        return [first, *(e for e in self.ring.walk(key) if e != first and (alive is None or e in alive))]


class Popularity:
    """Each title's share of recent requests (counts decayed with a half-life), for `copies`. A
    share means nothing on a handful of requests: until `min_samples` requests were seen every
    title has one copy."""

    def __init__(self, half_life_s: float = 600.0, min_samples: int = 500, max_copies: int = 3,
                 max_titles: int = POPULARITY_TITLES) -> None:
        self._rate = math.log(2) / half_life_s
        self._min_samples = min_samples
        self.max_copies = max_copies
        self.max_titles = max_titles
        # title -> decayed count, least recently requested first: a forgotten title's count has decayed
        # the longest, and the map never holds more than max_titles however many titles are requested
        self._counts: OrderedDict[str, float] = OrderedDict()
        self._total = 0.0
        self._samples = 0
        self._ref: float | None = None
        self._lock = threading.Lock()

    def record(self, title: str, now: float, weight: float = 1.0) -> None:
        # Lazy decay: new weights grow as exp(rate·t) instead of every count shrinking; rescale rarely.
        with self._lock:
            if self._ref is None:
                self._ref = now
            w = math.exp(self._rate * (now - self._ref)) * weight
            if w > 1e12:
                scale = weight / w
                self._counts = OrderedDict((k, v * scale) for k, v in self._counts.items() if v * scale > 1e-9)
                self._total *= scale
                self._ref, w = now, weight
            self._counts[title] = self._counts.get(title, 0.0) + w
            self._counts.move_to_end(title)
            self._total += w
            self._samples += 1
            while len(self._counts) > self.max_titles:
                _title, forgotten = self._counts.popitem(last=False)
                self._total -= forgotten

    def __len__(self) -> int:
        """Titles tracked (at most max_titles)."""
        return len(self._counts)

    def share(self, title: str) -> float:
        with self._lock:
            return self._counts.get(title, 0.0) / self._total if self._total > 0 else 0.0

    def copies(self, title: str) -> int:
        if self._samples < self._min_samples:
            return 1
        return copies_for_share(self.share(title), self.max_copies)
