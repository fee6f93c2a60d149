"""The training job's steps: idempotent per model version, batches cover every profile, the data
cut-off holds, publish never moves back, and the fallback it builds is maturity-safe."""

from __future__ import annotations

import json

from home_world import DRAMA, NOW, Titles, World, trained, world
from recommendations.logic import training
from recommendations.logic.caches import FALLBACK_KEY, load_artifact
from recommendations.logic.ports import Rating
from reelstack_common.maturity import title_level


def test_one_run_writes_artifact_batches_documents_fallback_and_pointer() -> None:
    w, out = trained()
    v = out["model_version"]
    assert v.startswith("20270115T080000Z-")
    manifest = json.loads(w.blobs.objects[training.manifest_key(v)])
    assert manifest["cutoff"] == NOW and manifest["config"]["ease_lambda"] > 0
    models, meta = load_artifact(w.blobs.objects[manifest["artifact_key"]])
    assert meta["model_version"] == v and len(models.catalog) == 90
    assert len(out["batches"]) == 2 and out["profiles"] == 4  # 2 per batch
    assert {h.model_version for h in w.home.docs.values()} == {v}
    assert w.home.pointer is not None and w.home.pointer.model_version == v
    assert FALLBACK_KEY in w.blobs.objects


def test_a_rerun_of_the_same_version_fits_nothing_and_writes_nothing() -> None:
    w, out = trained()
    puts = w.home.puts
    again = training.train(w.job(), NOW, profiles_per_batch=2)
    assert again["model_version"] == out["model_version"] and again["reused"] is True
    for item in again["batches"]:
        result = training.build_batch(w.job(), item["model_version"], item["batch"])
        assert result["written"] == 0 and result["skipped"] == 2
    assert w.home.puts == puts


def test_data_after_the_cutoff_is_left_out_and_gives_another_version() -> None:
    w = world()
    first = training.train(w.job(), NOW)
    w.ratings.put(Rating(DRAMA, "a01", "love", NOW + 10))  # after the cut-off
    same = training.train(w.job(), NOW)
    assert same["model_version"] == first["model_version"]
    later = training.train(w.job(), NOW + 60)
    assert later["model_version"] != first["model_version"]
    assert later["interactions"] == first["interactions"] + 1


def test_publish_never_moves_the_pointer_back_to_an_older_model() -> None:
    w, old = trained()
    new = training.train(w.job(), NOW + 3600)
    training.publish(w.job(), new["model_version"])
    result = training.publish(w.job(), old["model_version"])
    assert result["published"] is False
    assert w.home.pointer is not None and w.home.pointer.model_version == new["model_version"]


def test_a_build_keeps_the_rating_time_of_the_profile(w: World | None = None) -> None:
    w = world()
    out = training.train(w.job(), NOW, profiles_per_batch=10)
    w.home.mark_ratings_changed(DRAMA, NOW + 5)  # a thumb given while the job ran
    training.build_batch(w.job(), out["model_version"], 0)
    stored = w.home.docs[DRAMA]
    assert stored.ratings_at == NOW + 5 > stored.data_at  # so the page is still seen as stale


def test_the_fallback_is_maturity_safe_per_level_and_per_language() -> None:
    w, _ = trained()
    fb = json.loads(w.blobs.objects[FALLBACK_KEY])
    for level in range(4):
        items = [i for r in fb["levels"][str(level)] for i in r["items"]]
        assert items, level
        assert all(title_level(i["maturity_rating"]) <= level for i in items)
        for per_level in fb["by_language"].values():
            assert all(title_level(i["maturity_rating"]) <= level for i in per_level[str(level)])
    assert set(fb["by_language"]) >= {"en", "es", "fr"}
    assert all(i["language"] == "es" for i in fb["by_language"]["es"]["3"])


def test_a_run_on_a_fresh_platform_without_titles_publishes_an_empty_model() -> None:
    # A fresh `make up` has no READY title yet when the schedule first fires: LAPACK refused the
    # 0 x 0 Gram matrix (potri -4) and the workflow failed instead of publishing an empty model.
    w = world()
    w.titles = Titles({})
    w, out = trained(w)
    assert out["titles"] == 0 and len(out["batches"]) == 2
    assert w.home.pointer is not None and w.home.pointer.model_version == out["model_version"]
    docs = [json.loads(d.doc_json) for d in w.home.docs.values() if d.doc_json]
    assert len(docs) == 4 and all(not row["items"] for doc in docs for row in doc["rows"])
