"""A small synthetic world with planted structure, shared by the recommendation tests.

- 60 titles: ``a**`` animation (G, kids), ``d**`` drama (R), ``c**`` comedy (PG-13); even
  numbers in English, odd in Spanish; drama and animation each have their own cast pool.
- two taste clusters: 40 "drama" profiles watch dramas only, 40 "family" profiles watch
  animation only (each profile watches 12 titles of its cluster, spread over 60 days);
- a trending burst: ``c07`` is watched by 25 profiles in the last day, while ``d00`` is the
  all-time favourite (every drama profile) but nobody watched it in the last 30 days.
"""

from __future__ import annotations

import random

from recommendations.engine import Catalog, Interaction, Title

DAY = 86_400.0
NOW = 1_800_000_000.0


def catalog() -> Catalog:
    titles = []
    for k in range(20):
        lang = "en" if k % 2 == 0 else "es"
        titles.append(
            Title(
                f"a{k:02d}",
                f"Animated {k}",
                ("animation", "family"),
                (f"voice{k % 5}",),
                lang,
                "G",
                "A cartoon adventure with talking animals",
            )
        )
        titles.append(
            Title(
                f"d{k:02d}",
                f"Drama {k}",
                ("drama",),
                (f"actor{k % 4}",),
                lang,
                "R",
                "A dark courtroom story about betrayal",
            )
        )
        titles.append(
            Title(
                f"c{k:02d}",
                f"Comedy {k}",
                ("comedy",),
                (f"comic{k % 3}",),
                lang,
                "PG-13",
                "A road trip comedy with friends",
            )
        )
    return Catalog.of(titles)  # fmt: skip


def interactions() -> list[Interaction]:
    rng = random.Random(7)
    out: list[Interaction] = []
    for u in range(40):
        start = NOW - 60 * DAY + u * 3600.0
        drama = ["d00"] + rng.sample([f"d{k:02d}" for k in range(1, 20)], 11)
        for n, t in enumerate(drama):
            # d00 is always watched first and more than 30 days ago: popular but not trending.
            out.append(Interaction(f"drama{u:02d}", t, start + n * DAY * 2))
        family = rng.sample([f"a{k:02d}" for k in range(20)], 12)
        for n, t in enumerate(family):
            out.append(Interaction(f"family{u:02d}", t, start + n * DAY * 2.5))
    for u in range(25):
        out.append(Interaction(f"burst{u:02d}", "c07", NOW - DAY * 0.5 + u * 60.0))
    return out
