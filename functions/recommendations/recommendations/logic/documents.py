"""The stored home document: its schema, its size bound, and the check a read applies to it.

The document is what ``engine.rows.build_home`` returns plus ``disliked`` (the profile's
thumbs-down titles, filtered again at serve time). Its size is bounded by design, far below
DynamoDB's 400 KB item limit: at most MAX_ROWS rows of at most MAX_ROW_ITEMS ids of at most
MAX_ID_CHARS characters, row titles of at most MAX_ROW_TITLE_CHARS, and MAX_DISLIKED ids.
``bound_document`` enforces it on every document before it is written, and ``WORST_CASE_BYTES``
(computed from the same constants, checked by a unit test against a real worst-case document) is
the largest item the table can ever hold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SCHEMA_VERSION = 1  # engine.rows.SCHEMA_VERSION: documents of another version are rebuilt
MAX_ROWS = 8
MAX_ROW_ITEMS = 20  # RowConfig.row_size
MAX_ID_CHARS = 64  # a catalog title id is 32 hex characters; the API accepts up to 64
MAX_ROW_TITLE_CHARS = 240  # "Because you watched " + a 200-character title name
MAX_DISLIKED = 500
DYNAMODB_ITEM_LIMIT = 400 * 1024
# JSON overhead per id ("...", ) and per row (keys, kind, flags), generously rounded up.
_ROW_OVERHEAD = 400
WORST_CASE_BYTES = (
    1024  # the envelope: schema, profile id, model version, timestamps, attribute names
    + MAX_ROWS * (_ROW_OVERHEAD + MAX_ROW_TITLE_CHARS + 2 * MAX_ID_CHARS + MAX_ROW_ITEMS * (MAX_ID_CHARS + 4))
    + MAX_DISLIKED * (MAX_ID_CHARS + 4)
)
assert WORST_CASE_BYTES < DYNAMODB_ITEM_LIMIT // 4, "the home document bound must stay far below the item limit"


class CorruptDocument(ValueError):
    pass


def _clip(text: Any, limit: int) -> str:
    return str(text)[:limit]


def bound_document(doc: Mapping[str, Any], disliked: list[str] | None = None) -> dict[str, Any]:
    """``doc`` cut to the bounds above (ids longer than MAX_ID_CHARS are dropped, not cut: a cut id
    would name another title)."""
    rows = []
    for row in list(doc.get("rows", []))[:MAX_ROWS]:
        ids = [t for t in row.get("title_ids", []) if isinstance(t, str) and len(t) <= MAX_ID_CHARS]
        kept = {k: v for k, v in row.items() if k in ("row_id", "kind", "sponsored", "campaign_id", "anchor_title_id")}
        kept["row_id"] = _clip(kept.get("row_id", ""), MAX_ID_CHARS + 16)
        kept["title"] = _clip(row.get("title", ""), MAX_ROW_TITLE_CHARS)
        if "anchor_title_id" in kept:
            kept["anchor_title_id"] = _clip(kept["anchor_title_id"], MAX_ID_CHARS)
        kept["title_ids"] = ids[:MAX_ROW_ITEMS]
        rows.append(kept)
    out = {
        "schema_version": SCHEMA_VERSION,
        "profile_id": _clip(doc.get("profile_id") or "", 128),
        "generated_at": _clip(doc.get("generated_at") or "", 40),
        "model_version": _clip(doc.get("model_version") or "", 120),
        "rows": rows,
        "disliked": [t for t in (disliked or []) if len(t) <= MAX_ID_CHARS][:MAX_DISLIKED],
    }
    return out


def dumps(doc: Mapping[str, Any]) -> str:
    text = json.dumps(doc, separators=(",", ":"), sort_keys=True)
    if len(text.encode()) > WORST_CASE_BYTES:  # unreachable after bound_document; a guard, not a rule
        raise CorruptDocument("home document over its size bound")
    return text


def parse(text: str) -> dict[str, Any]:
    """A stored document, checked; CorruptDocument when it cannot be served as it is."""
    try:
        doc = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise CorruptDocument("not JSON") from exc
    if not isinstance(doc, dict) or doc.get("schema_version") != SCHEMA_VERSION:
        raise CorruptDocument("unknown schema")
    rows = doc.get("rows")
    if not isinstance(rows, list):
        raise CorruptDocument("rows missing")
    for row in rows:
        if not (
            isinstance(row, dict)
            and isinstance(row.get("kind"), str)
            and isinstance(row.get("title_ids"), list)
            and all(isinstance(t, str) for t in row["title_ids"])
        ):
            raise CorruptDocument("malformed row")
    if not isinstance(doc.get("disliked", []), list):
        raise CorruptDocument("malformed disliked")
    return doc
