"""Composition root: the signer, the ledger and the policy, built from the environment once per
execution environment (warm invocations reuse them).

Env: ``PREFILL_TABLE``; ``CDN_URL``, ``CDN_KEY_PAIR_ID``, ``CDN_SIGNING_KEY_SECRET``
(+ ``CDN_SIGNING_KEY_STAGE``) from ``Delivery.grant_signing``; optional ``PREFILL_SECONDS`` (300),
``PREFILL_HOT_SECONDS`` (60), ``PREFILL_COPIES`` (1), ``PREFILL_MAX_COPIES`` (3),
``PREFILL_CONCURRENCY`` (8), ``PREFILL_LEASE_S`` (360). Off-peak fill: ``HOME_TABLE`` (trending),
``CATALOG_TABLE``, optional ``OFFPEAK_BUDGET_BYTES`` (200 GB), ``OFFPEAK_BYTES_PER_SECOND`` (1.3 MB/s),
``OFFPEAK_MAX_CANDIDATES`` (500). Withdrawal purge: ``DISTRIBUTION_ID`` (AWS: CloudFront
invalidations); under the local cloud (``AWS_ENDPOINT_URL`` set: its CloudFront is the edge fleet,
which has no CloudFront API) the fleet's purge through ``CDN_URL`` with the signing key;
``PURGE_QUEUE_URL`` (the purge queue: the delayed second purge) and optional ``PURGE_LATE_DELAY_S`` (900).
"""

from __future__ import annotations

import os
import threading

import boto3
from reelstack_common.cdn_signing import CdnSigner

from delivery.dal.cdn_http import CdnHttp
from delivery.dal.dynamo_ledger import DynamoPrefillLedger
from delivery.dal.late_purge import SqsLatePurges
from delivery.dal.offpeak_sources import CatalogReadyTitles, TrendingPopularity
from delivery.dal.purge import CloudFrontInvalidator, FleetPurger
from delivery.dal.redelivery import SqsRedelivery
from delivery.logic.offpeak import OffpeakPolicy
from delivery.logic.prefill import PrefillPolicy
from delivery.logic.withdraw import LATE_PURGE_DELAY_S

_lock = threading.Lock()
_ledgers: dict[str, DynamoPrefillLedger] = {}


def policy_from_env() -> PrefillPolicy:
    d = PrefillPolicy()
    env = os.environ.get
    return PrefillPolicy(
        prefill_seconds=float(env("PREFILL_SECONDS") or d.prefill_seconds),
        hot_seconds=float(env("PREFILL_HOT_SECONDS") or d.hot_seconds),
        base_copies=int(env("PREFILL_COPIES") or d.base_copies),
        max_copies=int(env("PREFILL_MAX_COPIES") or d.max_copies),
        lease_s=int(env("PREFILL_LEASE_S") or d.lease_s),
        concurrency=int(env("PREFILL_CONCURRENCY") or d.concurrency),
    )


def offpeak_policy_from_env() -> OffpeakPolicy:
    d = OffpeakPolicy()
    env = os.environ.get
    return OffpeakPolicy(
        budget_bytes=int(env("OFFPEAK_BUDGET_BYTES") or d.budget_bytes),
        bytes_per_second=float(env("OFFPEAK_BYTES_PER_SECOND") or d.bytes_per_second),
        max_candidates=int(env("OFFPEAK_MAX_CANDIDATES") or d.max_candidates),
        max_copies=int(env("PREFILL_MAX_COPIES") or d.max_copies),
    )


def ledger(prefix: str = "PREFILL#") -> DynamoPrefillLedger:
    with _lock:
        if prefix not in _ledgers:
            if len(_ledgers) > 8:  # one per day of off-peak fills: keep a warm environment small
                _ledgers.clear()
            table = boto3.resource("dynamodb").Table(os.environ["PREFILL_TABLE"])
            _ledgers[prefix] = DynamoPrefillLedger(table, prefix)
        return _ledgers[prefix]


def popularity() -> TrendingPopularity:
    return TrendingPopularity(os.environ["HOME_TABLE"])


def catalog() -> CatalogReadyTitles:
    return CatalogReadyTitles(os.environ["CATALOG_TABLE"])


def cdn_for_title(title_id: str, grant_ttl_s: int) -> CdnHttp:
    """A CDN client holding a grant for this title only (the signer and its key are cached)."""
    return CdnHttp(CdnSigner.from_environment(), f"titles/{title_id}/", grant_ttl_s=grant_ttl_s)


def purger() -> CloudFrontInvalidator | FleetPurger:
    """The CDN's purge. Endpoint by environment only, as everywhere else: with ``AWS_ENDPOINT_URL``
    (the local cloud) the distribution is the edge fleet at ``CDN_URL``."""
    if os.environ.get("AWS_ENDPOINT_URL", "").strip():
        return FleetPurger(CdnSigner.from_environment())
    return CloudFrontInvalidator(os.environ.get("DISTRIBUTION_ID", ""))


def late_purges() -> SqsLatePurges | None:
    """The withdrawal's delayed second purge through ``PURGE_QUEUE_URL`` (the purge queue itself);
    None (and no second purge) where it is not configured."""
    url = os.environ.get("PURGE_QUEUE_URL", "").strip()
    return SqsLatePurges(url) if url else None


def late_purge_delay_s() -> int:
    return int(os.environ.get("PURGE_LATE_DELAY_S") or LATE_PURGE_DELAY_S)


_redelivery: list[SqsRedelivery] = []


def redelivery() -> SqsRedelivery:
    with _lock:
        if not _redelivery:
            _redelivery.append(SqsRedelivery())
        return _redelivery[0]


def reset() -> None:
    with _lock:
        _ledgers.clear()
        _redelivery.clear()
