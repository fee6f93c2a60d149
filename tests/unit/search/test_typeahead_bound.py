"""bench.typeahead_bound: the bound it reports must be the generator's own probabilities."""

from __future__ import annotations

import itertools
import random

import pytest

from bench import search as bench_search
from bench.typeahead_bound import bayes_rank, p_prefix, tiered_rank


def test_p_prefix_counts_every_cut_that_types_the_prefix() -> None:
    # "Toy Story 2" (11 characters): cuts 3..11, and both "Toy" and "Toy " type "Toy" (trailing
    # spaces are stripped by the generator).
    assert p_prefix("Toy Story 2", "Toy") == pytest.approx(2 / 9)
    assert p_prefix("Toy Story 2", "Toy S") == pytest.approx(1 / 9)
    assert p_prefix("Toy Story 2", "Toy Story 3") == 0
    # Titles over 20 characters are cut at 20 at most.
    long = "The Lord of the Rings: The Return of the King"
    assert p_prefix(long, long[:20]) == pytest.approx(1 / 18)
    assert p_prefix(long, long[:21]) == 0


def test_p_prefix_matches_the_generator_it_describes() -> None:
    rng = random.Random(3)
    title = "Return to Toy Story: Origins"
    draws = [bench_search.prefix(title, rng) for _ in range(40_000)]
    for text in ("Ret", "Return", "Return to Toy Story"):
        assert draws.count(text) / len(draws) == pytest.approx(p_prefix(title, text), abs=0.01)


def test_bayes_rank_is_the_best_top_k_on_a_small_corpus() -> None:
    """Exhaustively: no other set of suggestions has a larger chance of holding the target."""
    names = ["Toy Story", "Toy Story 2", "Toy Story 3", "Toy Soldiers", "Toys", "Toy Story: Origins",
             "Toy Story of Terror", "Toy Boy"]
    pops = [50.0, 30.0, 20.0, 5.0, 4.0, 25.0, 9.0, 1.0]
    items = [{"title": n, "popularity": p} for n, p in zip(names, pops, strict=True)]
    rank = bayes_rank(items)
    for text in ("Toy", "Toy S", "Toy Story"):
        weight = {n: p * p_prefix(n, text) for n, p in zip(names, pops, strict=True)}
        best = max(sum(weight[n] for n in combo) for combo in itertools.combinations(names, 5))
        assert sum(weight[n] for n in rank(text)) == pytest.approx(best)


def test_tiered_rank_puts_the_exact_title_then_starts_with_then_infix() -> None:
    items = [{"title": t, "popularity": p} for t, p in
             [("Lord of the Rings", 1.0), ("Ring", 0.5), ("Rings of Power", 9.0), ("The Ring", 3.0)]]
    assert tiered_rank(items)("ring") == ["Ring", "Rings of Power", "The Ring", "Lord of the Rings"]
