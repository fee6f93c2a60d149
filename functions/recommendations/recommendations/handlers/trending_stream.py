"""Consumer of the playback view stream (Kinesis, contract E): each batch's ``start`` events go
into the time-decayed trending snapshots per language. Records that are not JSON are skipped (a
poison record must not stall the shard); a store failure fails the batch so Lambda retries it
(the merge is per batch, so a retried batch counts its views again -- bounded by the retry
policy and acceptable for a popularity signal)."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

from recommendations.dal.catalog_titles import DynamoCatalogTitles
from recommendations.dal.home_table import DynamoTrendingStore
from recommendations.handlers.observability import logger
from recommendations.logic import trending


def decode_records(event: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for record in event.get("Records", []):
        data = record.get("kinesis", {}).get("data")
        try:
            parsed = json.loads(base64.b64decode(data))
        except (TypeError, ValueError):
            continue
        if isinstance(parsed, dict):
            out.append(parsed)
    return out


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    views = trending.views_from_events(decode_records(event))
    if not views:
        return {"views": 0}
    store = DynamoTrendingStore(os.environ["HOME_TABLE"], consistent=True)
    catalog = DynamoCatalogTitles(os.environ["CATALOG_TABLE"])
    per_language = trending.record_views(views, store, catalog.get_many, time.time())
    logger.info("trending updated", extra={"views": len(views), "languages": len(per_language)})
    return {"views": len(views), "languages": per_language}
