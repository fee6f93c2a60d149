"""The scheduled job's three steps (statemachines/home.asl.json): train, build a batch, publish.

train   loads the interactions (the playback table's view history, the ratings, and the lake: JSON
        lines under ``lake/`` in the model bucket, where exported or seeded histories land) and the
        READY catalog, cuts them at the cut-off, fits the models, and writes under
        ``models/<version>/``: the artifact, one batch file per PROFILES_PER_BATCH profiles (with
        their histories, so a batch needs no table reads), the fallback rows, and last the
        manifest (its presence means the version is complete).
build   scores one batch and writes its documents (batch writes), skipping profiles whose
        document is already at this version or newer.
publish makes the version current (the pointer item) and its fallback the served one.

Idempotent per model version: the version is the cut-off plus a hash of the config and of the
data, a re-run of the same version finds its manifest and fits nothing, and build skips what is
written. The cut-off is the scheduled event's time, so a redelivered event is the same run.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from recommendations.logic import documents, mapping
from recommendations.logic.caches import FALLBACK_KEY, dump_artifact, load_artifact
from recommendations.logic.home import build_document, card
from recommendations.logic.ports import (
    BlobStore,
    CatalogTitle,
    HomeStore,
    ModelPointer,
    ProfileDirectory,
    ProfileFacts,
    Rating,
    RatingStore,
    StoredHome,
    TitleSource,
    ViewHistory,
    ViewState,
)

LAKE_PREFIX = "lake/"
PROFILES_PER_BATCH = 500
FALLBACK_LANGUAGES = 30  # the languages with most titles get their own popular list


@dataclass
class JobDeps:
    titles: TitleSource
    history: ViewHistory
    ratings: RatingStore
    profiles: ProfileDirectory
    blobs: BlobStore
    home: HomeStore


def version_prefix(version: str) -> str:
    return f"models/{version}/"


def manifest_key(version: str) -> str:
    return version_prefix(version) + "manifest.json"


def batch_key(version: str, batch: int) -> str:
    return version_prefix(version) + f"batches/{batch:05d}.json"


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def read_lake(blobs: BlobStore) -> Iterator[tuple[str, str, float, float | None]]:
    """(profile_id, title_id, ts, stars or None) from every JSON-lines object under ``lake/``."""
    for key in blobs.list(LAKE_PREFIX):
        body = blobs.get(key) or b""
        if key.endswith(".gz"):
            body = gzip.decompress(body)
        for line in body.decode().splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            rating = r.get("rating")
            yield (
                str(r["profile_id"]),
                str(r["title_id"]),
                float(r["ts"]),
                float(rating) if rating is not None else None,
            )


def _history_rows(events: Iterable[Any]) -> list[list[Any]]:
    return [[e.title_id, e.ts, e.finished, e.rating] for e in events]


def train(
    deps: JobDeps,
    cutoff: float,
    *,
    config: Any = None,
    profiles_per_batch: int = PROFILES_PER_BATCH,
) -> dict[str, Any]:
    from recommendations.engine import Catalog, EngineConfig, Interaction, fit_models

    t0 = time.perf_counter()
    cfg = config or EngineConfig()
    ready = deps.titles.ready_titles()
    catalog = Catalog.of(mapping.engine_title(t) for t in ready)
    views_by: dict[str, list[ViewState]] = defaultdict(list)
    for v in deps.history.scan_all():
        if v.updated_at <= cutoff:
            views_by[v.profile_id].append(v)
    ratings_by: dict[str, list[Rating]] = defaultdict(list)
    for r in deps.ratings.scan_all():
        if r.rated_at <= cutoff:
            ratings_by[r.profile_id].append(r)
    own: dict[str, list[Any]] = {
        pid: mapping.interactions(pid, views_by.get(pid, []), ratings_by.get(pid, []))
        for pid in sorted(set(views_by) | set(ratings_by))
    }
    lake = [
        Interaction(p, t, ts, finished=True, rating=stars) for p, t, ts, stars in read_lake(deps.blobs) if ts <= cutoff
    ]
    events = [e for evs in own.values() for e in evs] + lake
    profiles = sorted(deps.profiles.all_profiles(), key=lambda p: p.profile_id)

    digest = hashlib.sha256()
    digest.update(_json(dataclasses.asdict(cfg)))
    digest.update(_json(sorted(catalog.ids())))
    digest.update(_json(sorted((e.profile_id, e.title_id, e.ts, e.rating) for e in events)))
    digest.update(_json([(p.profile_id, p.language, p.maturity_rating, p.kids) for p in profiles]))
    version = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(cutoff)) + "-" + digest.hexdigest()[:10]

    existing = deps.blobs.get(manifest_key(version))
    if existing is not None:
        done: dict[str, Any] = json.loads(existing)
        done["reused"] = True
        return _step_output(done)

    attrs = {p.profile_id: mapping.attributes(p.language, mapping.tier(p.maturity_rating, p.kids)) for p in profiles}
    fit_t0 = time.perf_counter()
    models = fit_models(events, catalog, now=cutoff, config=cfg, profile_attributes=attrs)
    fit_s = time.perf_counter() - fit_t0
    meta = {
        "model_version": version,
        "cutoff": cutoff,
        "config": dataclasses.asdict(cfg),
        "titles": len(catalog),
        "interactions": len(events),
        "cf_kind": models.cf_kind,
    }
    prefix = version_prefix(version)
    artifact = dump_artifact(models, meta)
    deps.blobs.put(prefix + "model.pkl", artifact)

    batches = []
    for k in range(0, max(len(profiles), 1), profiles_per_batch):
        chunk = profiles[k : k + profiles_per_batch]
        if not chunk:
            break
        entries = [
            _batch_entry(p, views_by.get(p.profile_id, []), ratings_by.get(p.profile_id, []), own) for p in chunk
        ]
        n = k // profiles_per_batch
        deps.blobs.put(batch_key(version, n), _json({"model_version": version, "cutoff": cutoff, "profiles": entries}))
        batches.append({"model_version": version, "batch": n})

    titles_by_id = {t.title_id: t for t in ready}
    deps.blobs.put(prefix + "fallback.json", _json(fallback_document(models, titles_by_id, version, cutoff)))
    manifest = {
        **meta,
        "artifact_key": prefix + "model.pkl",
        "fallback_key": prefix + "fallback.json",
        "artifact_bytes": len(artifact),
        "profiles": len(profiles),
        "batches": batches,
        "fit_s": round(fit_s, 3),
        "train_s": round(time.perf_counter() - t0, 3),
    }
    deps.blobs.put(manifest_key(version), _json(manifest))  # last: the version is complete
    return _step_output(manifest)


def _step_output(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the state machine carries (no config: payloads stay small)."""
    keep = ("model_version", "batches", "profiles", "titles", "interactions", "fit_s", "train_s", "reused")
    return {k: manifest[k] for k in keep if k in manifest}


def _batch_entry(
    p: ProfileFacts, views: Sequence[ViewState], ratings: Sequence[Rating], own: dict[str, list[Any]]
) -> dict[str, Any]:
    return {
        "profile_id": p.profile_id,
        "language": p.language,
        "tier": mapping.tier(p.maturity_rating, p.kids),
        "kids": p.kids,
        "history": _history_rows(own.get(p.profile_id, [])),
        "history_key": mapping.history_key(views),
        "disliked": mapping.disliked(ratings),
    }


_loaded: dict[str, Any] = {}  # model version -> engine.Models, for a warm build function


def _models(deps: JobDeps, version: str) -> tuple[Any, dict[str, Any]]:
    if version not in _loaded:
        manifest = json.loads(deps.blobs.get(manifest_key(version)) or b"null")
        if manifest is None:
            raise FileNotFoundError(f"no manifest for model {version}")
        body = deps.blobs.get(manifest["artifact_key"])
        if body is None:
            raise FileNotFoundError(manifest["artifact_key"])
        _loaded.clear()  # one model per warm function: they are large
        _loaded[version] = (load_artifact(body)[0], manifest)
    models, manifest = _loaded[version]
    return models, manifest


def build_batch(deps: JobDeps, version: str, batch: int) -> dict[str, Any]:
    from recommendations.engine import Interaction

    t0 = time.perf_counter()
    models, _ = _models(deps, version)
    body = deps.blobs.get(batch_key(version, batch))
    if body is None:
        raise FileNotFoundError(batch_key(version, batch))
    spec = json.loads(body)
    cutoff = float(spec["cutoff"])
    entries = spec["profiles"]
    current = deps.home.versions([e["profile_id"] for e in entries])
    homes: list[StoredHome] = []
    skipped = 0
    largest = 0
    for e in entries:
        pid = e["profile_id"]
        have = current.get(pid)
        if have is not None and have.doc_json is not None and (have.model_version or "") >= version:
            skipped += 1
            continue
        history = [Interaction(pid, t, float(ts), finished=bool(f), rating=r) for t, ts, f, r in e["history"]]
        doc = build_document(
            models, version, pid, e["language"], e["tier"], bool(e["kids"]), history, e["disliked"], cutoff
        )
        text = documents.dumps(doc)
        largest = max(largest, len(text.encode()))
        homes.append(
            StoredHome(
                pid,
                text,
                model_version=version,
                history_key=e["history_key"],
                data_at=cutoff,
                ratings_at=have.ratings_at if have is not None else 0.0,
            )
        )
    written = deps.home.put_many(homes)
    return {
        "batch": batch,
        "written": written,
        "skipped": skipped,
        "largest_doc_bytes": largest,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def publish(deps: JobDeps, version: str) -> dict[str, Any]:
    manifest = json.loads(deps.blobs.get(manifest_key(version)) or b"null")
    if manifest is None:
        raise FileNotFoundError(f"no manifest for model {version}")
    current = deps.home.current_model()
    if current is not None and current.model_version > version:
        return {"model_version": version, "published": False, "current": current.model_version}
    fallback = deps.blobs.get(manifest["fallback_key"])
    if fallback is not None:
        deps.blobs.put(FALLBACK_KEY, fallback)
    deps.home.set_current_model(ModelPointer(version, manifest["artifact_key"], manifest["fallback_key"]))
    return {"model_version": version, "published": True}


def fallback_document(models: Any, titles: dict[str, CatalogTitle], version: str, now: float) -> dict[str, Any]:
    """Popular, maturity-safe rows per level, and popular per language and level, with the cards
    embedded: serving it needs no store at all."""
    import numpy as np
    from reelstack_common.maturity import title_level

    from recommendations.engine import RowConfig, build_fallback

    levels: dict[str, list[dict[str, Any]]] = {}
    for level, tier_name in enumerate(mapping.TIERS):
        doc = build_fallback(models, now=now, max_maturity=tier_name, config=RowConfig(model_version=version))
        levels[str(level)] = [
            {
                "row_id": r["row_id"],
                "kind": r["kind"],
                "title": r["title"],
                "items": [card(titles[t]) for t in r["title_ids"] if t in titles],
            }
            for r in doc["rows"]
        ]
    cat = models.catalog
    order = np.lexsort((np.arange(len(cat)), -np.asarray(models.popularity)))
    langs = [lang for lang, _ in Counter(t.language for t in cat.titles).most_common(FALLBACK_LANGUAGES)]
    by_language: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for lang in langs:
        per_level: dict[str, list[dict[str, Any]]] = {}
        for level in range(len(mapping.TIERS)):
            picked = []
            for j in order:
                t = cat.titles[int(j)]
                src = titles.get(t.title_id)
                if src is None or t.language != lang or title_level(src.maturity_rating) > level:
                    continue
                picked.append(card(src))
                if len(picked) >= documents.MAX_ROW_ITEMS:
                    break
            per_level[str(level)] = picked
        by_language[lang] = per_level
    return {
        "schema_version": documents.SCHEMA_VERSION,
        "model_version": version,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "levels": levels,
        "by_language": by_language,
    }
