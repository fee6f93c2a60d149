"""local/cdn/placement.py: the ring (uhashring), bounded loads (MTZ) and copies for popular titles."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from uhashring import HashRing

from local.cdn.placement import DEFAULT_VNODES, Placement, Popularity, Ring, capacity, copies_for_share, title_of

EDGES = [f"edge-{i}" for i in range(8)]
KEYS = [f"titles/t{i % 500}/hls/720p/seg_{i:05d}.m4s" for i in range(20000)]


def test_walk_lists_every_edge_once_starting_at_the_libraries_owner() -> None:
    ring = Ring(EDGES)
    lib = HashRing(nodes=EDGES, vnodes=DEFAULT_VNODES)
    for key in KEYS[:2000]:
        walk = ring.walk(key)
        assert sorted(walk) == sorted(EDGES)
        assert walk[0] == lib.get_node(key)
        assert list(walk) == [n["nodename"] for n in lib.range(key)]


def test_adding_an_edge_moves_keys_only_to_it_and_about_one_share() -> None:
    ring = Ring(EDGES)
    before = {k: ring.owner(k) for k in KEYS}
    ring.add("edge-new")
    moved = [k for k in KEYS if ring.owner(k) != before[k]]
    assert all(ring.owner(k) == "edge-new" for k in moved)
    assert len(moved) / len(KEYS) <= 1.1 / len(EDGES)


@pytest.mark.parametrize("n", [4, 8, 16])
def test_removing_any_edge_moves_at_most_1_1_over_n_of_the_keys(n: int) -> None:
    ids = [f"edge-{i}" for i in range(n)]
    ring = Ring(ids)
    owners = {k: ring.owner(k) for k in KEYS}
    share = max(sum(1 for o in owners.values() if o == e) for e in ids) / len(KEYS)
    assert share <= 1.1 / n  # the largest edge's keys are what its removal moves


def test_removing_an_edge_moves_only_its_keys_to_their_next_edge() -> None:
    ring = Ring(EDGES)
    before = {k: ring.walk(k) for k in KEYS}
    ring.remove("edge-3")
    for k in KEYS:
        if before[k][0] == "edge-3":
            assert ring.owner(k) == before[k][1]
        else:
            assert ring.owner(k) == before[k][0]


def test_capacity_is_the_ceiling_of_one_plus_epsilon_times_the_mean() -> None:
    assert capacity(99, 4, 0.25) == math.ceil(1.25 * 100 / 4)
    assert capacity(0, 4, 0.25) == 1
    assert capacity(10, 0, 0.25) >= 1


def test_bounded_loads_walk_on_past_a_full_edge() -> None:
    p = Placement(EDGES, epsilon=0.25)
    key = KEYS[0]
    walk = p.ring.walk(key)
    loads = dict.fromkeys(EDGES, 10)
    loads[walk[0]] = 40  # over ⌈1.25·(80+30+1)/8⌉ = 18
    order = p.route(key, 1, loads)
    assert order[0] == walk[1] and sorted(order) == sorted(EDGES)
    assert Placement(EDGES, epsilon=None).route(key, 1, loads)[0] == walk[0]  # plain hashing ignores load


def test_bounded_loads_keep_every_edge_under_capacity_as_load_arrives() -> None:
    p = Placement(EDGES, epsilon=0.25)
    loads: Counter[str] = Counter()
    hot = ["titles/hot/hls/720p/seg_00000.m4s"] * 3000 + KEYS[:5000]  # one very hot object first
    for i, key in enumerate(hot):
        edge = p.route(key, 1, loads)[0]
        assert loads[edge] < capacity(i, len(EDGES), 0.25)
        loads[edge] += 1
    assert max(loads.values()) / (sum(loads.values()) / len(EDGES)) <= 1.25 + len(EDGES) / len(hot)


def test_replicas_are_the_first_live_edges_of_the_walk() -> None:
    p = Placement(EDGES)
    key = KEYS[7]
    walk = p.ring.walk(key)
    assert p.replicas(key, 3) == list(walk[:3])
    live = [e for e in EDGES if e != walk[1]]
    assert p.replicas(key, 2, live) == [walk[0], walk[2]]
    # copies spread load: with the first replica busier, the second takes the request
    assert p.route(key, 2, {walk[0]: 2, walk[1]: 0})[0] == walk[1]
    assert p.route(key, 2, {})[0] == walk[0]  # ties go to ring order


def test_dead_edges_are_skipped_in_ring_order() -> None:
    p = Placement(EDGES)
    key = KEYS[3]
    walk = p.ring.walk(key)
    order = p.route(key, 1, {}, live=[e for e in EDGES if e != walk[0]])
    assert order[0] == walk[1] and walk[0] not in order


@pytest.mark.parametrize(("share", "copies"), [(0.0, 1), (0.009, 1), (0.01, 2), (0.049, 2), (0.05, 3), (0.5, 3)])
def test_copies_grow_with_share(share: float, copies: int) -> None:
    assert copies_for_share(share) == copies


def test_popularity_gives_hot_titles_more_copies_after_enough_samples() -> None:
    pop = Popularity(half_life_s=60, min_samples=100)
    for i in range(99):
        pop.record("hot", float(i))
    assert pop.copies("hot") == 1  # too few samples to judge
    for i in range(900):
        pop.record("hot" if i % 10 == 0 else f"cold{i}", 100.0 + i / 10)
    assert pop.copies("hot") == 3 and pop.copies("cold11") == 1


def test_popularity_decays_old_requests() -> None:
    pop = Popularity(half_life_s=10, min_samples=1)
    for _ in range(100):
        pop.record("old", 0.0)
    for _ in range(100):
        pop.record("new", 100.0)  # ten half-lives later: 'old' weighs 1/1024 as much
    assert pop.share("new") > 0.99 > 0.01 > pop.share("old")


def test_popularity_survives_weights_that_would_overflow() -> None:
    pop = Popularity(half_life_s=1, min_samples=1)
    pop.record("a", 0.0)
    pop.record("b", 100.0)  # 2^100: rescaled
    pop.record("b", 200.0)
    assert pop.share("b") == pytest.approx(1.0) and math.isfinite(pop.share("a"))


def test_title_of() -> None:
    assert title_of("titles/abc/hls/master.m3u8") == "abc"
    assert title_of("work/abc/x") is None and title_of("titles/") is None and title_of("titles//x") is None


def test_the_walk_memo_forgets_the_least_recently_used_key_beyond_its_cap() -> None:
    ring = Ring(EDGES, memo_keys=100)
    hot = "titles/hot/hls/master.m3u8"
    expected = ring.walk(hot, remember=False)
    for i in range(1000):
        assert ring.walk(f"titles/t{i}/x.m4s") == ring.walk(f"titles/t{i}/x.m4s", remember=False)
        ring.walk(hot)  # requested all along: never the least recently used
        assert ring.memo_size <= 100
    assert ring.memo_size == 100 and hot in ring._memo and ring.walk(hot) == expected
    assert "titles/t0/x.m4s" not in ring._memo and "titles/t999/x.m4s" in ring._memo


def test_popularity_tracks_at_most_max_titles_and_keeps_the_shares_a_distribution() -> None:
    pop = Popularity(half_life_s=600, min_samples=1, max_titles=50)
    for i in range(5000):
        pop.record("hot", float(i))
        pop.record(f"once{i}", float(i))
    assert len(pop) == 50
    assert pop.share("once0") == 0.0 and pop.share("once4999") > 0
    # the forgotten titles' weight left the total with them: the tracked shares still sum to 1
    assert sum(pop.share(t) for t in ["hot", *(f"once{i}" for i in range(4951, 5000))]) == pytest.approx(1.0)
    assert pop.copies("hot") == 3
