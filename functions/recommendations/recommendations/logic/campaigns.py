"""Sponsored campaigns (admins): titles that exist and are READY, ordered flight dates, targeting."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from recommendations.logic.ports import CampaignRecord, CampaignStore, TitleSource
from recommendations.models.exceptions import CampaignNotFound, UnknownTitles
from recommendations.models.input import CampaignRequest


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat()


def _record(campaign_id: str, body: CampaignRequest, created_at: str, updated_at: str) -> CampaignRecord:
    return CampaignRecord(
        campaign_id=campaign_id,
        name=body.name,
        title_ids=tuple(body.title_ids),
        starts_at=_iso(body.starts_at),
        ends_at=_iso(body.ends_at),
        languages=tuple(dict.fromkeys(body.languages)),
        audiences=tuple(dict.fromkeys(body.audiences)),
        priority=body.priority,
        created_at=created_at,
        updated_at=updated_at,
    )


def _check_titles(body: CampaignRequest, titles: TitleSource) -> None:
    found = titles.get_many(body.title_ids)
    missing = [t for t in body.title_ids if t not in found or not found[t].ready]
    if missing:
        raise UnknownTitles(missing)


def create(
    body: CampaignRequest,
    *,
    store: CampaignStore,
    titles: TitleSource,
    clock: Callable[[], datetime],
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
) -> CampaignRecord:
    _check_titles(body, titles)
    now = _iso(clock())
    record = _record(new_id(), body, now, now)
    store.put(record)
    return record


def replace(
    campaign_id: str,
    body: CampaignRequest,
    *,
    store: CampaignStore,
    titles: TitleSource,
    clock: Callable[[], datetime],
) -> CampaignRecord:
    current = store.get(campaign_id)
    if current is None:
        raise CampaignNotFound()
    _check_titles(body, titles)
    record = _record(campaign_id, body, current.created_at, _iso(clock()))
    store.put(record)
    return record


def get(campaign_id: str, *, store: CampaignStore) -> CampaignRecord:
    found = store.get(campaign_id)
    if found is None:
        raise CampaignNotFound()
    return found


def delete(campaign_id: str, *, store: CampaignStore) -> None:
    if not store.delete(campaign_id):
        raise CampaignNotFound()


def list_all(*, store: CampaignStore) -> list[CampaignRecord]:
    return sorted(store.list(), key=lambda c: (c.starts_at, c.campaign_id))
