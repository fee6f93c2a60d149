"""`--extend` hook for the local cloud: wire the media pipeline and the catalog service into the
Reelstack stack exactly as infra/reelstack_stack.py is asked to, unless the stack already has them."""

from __future__ import annotations

from typing import Any


def add_media_and_catalog(app: Any) -> None:
    from infra.constructs.catalog import CatalogService
    from infra.constructs.media_pipeline import MediaPipeline

    stack = app.node.find_child("Reelstack")
    if getattr(stack, "media", None) is not None or stack.node.try_find_child("Catalog") is not None:
        return  # already composed by ReelstackStack itself
    stack.media = MediaPipeline(stack, "MediaPipeline")
    stack.catalog = CatalogService(
        stack,
        "Catalog",
        api=stack.edge,
        identity=stack.identity,
        catalog_table=stack.media.catalog_table,
        ingest_bucket=stack.media.ingest_bucket,
        layers=stack.layers.all,
    )
