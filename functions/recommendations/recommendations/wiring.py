"""Composition root: the adapters and warm caches the handlers hand to the logic, built once per
warm Lambda (the same place in every service: ``<service>/wiring.py``)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from recommendations.dal import s3_blobs
from recommendations.dal.accounts_profiles import DynamoProfileDirectory
from recommendations.dal.catalog_titles import DynamoCatalogTitles
from recommendations.dal.home_table import DynamoCampaignStore, DynamoHomeStore, DynamoTrendingStore
from recommendations.dal.page_reads import DynamoPageReads
from recommendations.dal.playback_history import DynamoViewHistory
from recommendations.dal.ratings_table import DynamoRatingStore
from recommendations.dal.s3_blobs import S3BlobStore
from recommendations.logic.caches import (
    CampaignCache,
    FallbackCache,
    ModelCache,
    RatingsCache,
    TitleCache,
    TrendingCache,
)
from recommendations.logic.home import HomeDeps
from recommendations.logic.training import JobDeps
from recommendations.logic.viewers import ViewerCache


@dataclass(frozen=True)
class Dependencies:
    home: HomeDeps
    catalog: DynamoCatalogTitles  # uncached: campaign and rating checks read the title as it is now
    campaigns: DynamoCampaignStore
    ratings: DynamoRatingStore
    page_reads: DynamoPageReads  # GET /home's first round trip: viewer + document
    viewers: ViewerCache  # GET /home's warm viewers (logic/viewers.py: the staleness bound)


_lock = threading.Lock()
_deps: Dependencies | None = None
_job: JobDeps | None = None


def dependencies() -> Dependencies:
    global _deps
    with _lock:
        if _deps is None:
            env = os.environ
            home = DynamoHomeStore(env["HOME_TABLE"])
            blobs = S3BlobStore(env["MODEL_BUCKET"])
            catalog = DynamoCatalogTitles(env["CATALOG_TABLE"])
            campaigns = DynamoCampaignStore(env["HOME_TABLE"])
            ratings = DynamoRatingStore(env["RATINGS_TABLE"])
            _deps = Dependencies(
                home=HomeDeps(
                    home=home,
                    history=DynamoViewHistory(env.get("PLAYBACK_TABLE") or None),
                    ratings=ratings,
                    titles=TitleCache(catalog),
                    campaigns=CampaignCache(campaigns),
                    trending=TrendingCache(DynamoTrendingStore(env["HOME_TABLE"])),
                    models=ModelCache(home, blobs),
                    fallback=FallbackCache(blobs),
                    clock=time.time,
                    ratings_cache=RatingsCache(ratings),
                ),
                catalog=catalog,
                campaigns=campaigns,
                ratings=ratings,
                page_reads=DynamoPageReads(env["ACCOUNTS_TABLE"], env["HOME_TABLE"]),
                viewers=ViewerCache(),
            )
        return _deps


def job_dependencies() -> JobDeps:
    global _job
    with _lock:
        if _job is None:
            env = os.environ
            _job = JobDeps(
                titles=DynamoCatalogTitles(env["CATALOG_TABLE"]),
                history=DynamoViewHistory(env.get("PLAYBACK_TABLE") or None),
                ratings=DynamoRatingStore(env["RATINGS_TABLE"]),
                profiles=DynamoProfileDirectory(env["ACCOUNTS_TABLE"]),
                blobs=S3BlobStore(env["MODEL_BUCKET"]),
                home=DynamoHomeStore(env["HOME_TABLE"]),
            )
        return _job


def reset() -> None:
    """Drop the cached adapters and caches (tests change the environment between cases)."""
    global _deps, _job
    with _lock:
        _deps = None
        _job = None
    with s3_blobs._lock:
        s3_blobs._client = None
