"""The home table (``$HOME_TABLE``, keys ``pk``/``sk`` S): documents, campaigns, trending, model pointer.

==========================  ================  ==================================================
pk                          sk                attributes
==========================  ================  ==================================================
HOME#<profile_id>           DOC               doc (JSON string, bounded: logic.documents),
                                              model_version, history_key, data_at, ratings_at
HOME#<profile_id>           HISTORY           the history head's titles (logic/history.py): views
                                              (JSON string: [[title_id, updated_at, finished 0|1],
                                              ...] newest first, <= TITLES_CAP), rev
HOME#<profile_id>           PROGRESS          its progress: views (JSON string: [[title_id,
                                              updated_at, position_s, duration_s, percent], ...]
                                              newest first, <= PROGRESS_CAP), rev
CAMPAIGN                    <campaign_id>     name, title_ids, starts_at, ends_at (ISO UTC),
                                              languages, audiences, priority, created_at, updated_at
TRENDING                    LANG#<language>   counts (JSON {title: [day, week]}), at, rev
MODEL                       CURRENT           model_version, artifact_key, fallback_key
==========================  ================  ==================================================

GET /home reads the document and the history head's two items together: one BatchGetItem through
``reelstack_common.dynamo`` (DAX when configured). The history projector reads each part
consistently and writes it on the condition of its ``rev`` (logic/history.py). A
rating change only sets ``ratings_at`` (UpdateItem: it creates the item if there is none), which
marks the document stale. Campaigns are one partition: a handful of items, read whole and cached.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from reelstack_common import dynamo

from recommendations.dal.values import decimal, num
from recommendations.logic import trending as trending_logic
from recommendations.logic.ports import (
    CampaignRecord,
    DependencyFailed,
    HeadPart,
    HistoryHead,
    ModelPointer,
    StoredHome,
    Trending,
    ViewState,
)

log = logging.getLogger(__name__)

DOC_SK = "DOC"


def home_key(profile_id: str) -> dict[str, str]:
    return {"pk": f"HOME#{profile_id}", "sk": DOC_SK}


PART_SK = {"titles": "HISTORY", "progress": "PROGRESS"}
PART_OF_SK = {sk: kind for kind, sk in PART_SK.items()}


def part_key(profile_id: str, kind: str) -> dict[str, str]:
    return {"pk": f"HOME#{profile_id}", "sk": PART_SK[kind]}


def head_keys(profile_id: str) -> list[dict[str, str]]:
    return [part_key(profile_id, kind) for kind in PART_SK]


HEAD_FORMAT = 2  # the items' layout (``fmt``): a part in any other layout is rebuilt, never read


def part_item(part: HeadPart) -> dict[str, Any]:
    if part.kind == "titles":
        rows: list[list[Any]] = [[v.title_id, v.updated_at, int(v.finished)] for v in part.views]
    else:
        rows = [[v.title_id, v.updated_at, v.position_s, v.duration_s, v.percent] for v in part.views]
    return {
        **part_key(part.profile_id, part.kind),
        "views": json.dumps(rows, separators=(",", ":")),
        "rev": part.rev,
        "fmt": HEAD_FORMAT,
    }


def stored_part(item: dict[str, Any]) -> HeadPart | None:
    """A part as stored, or None when it cannot be read (another layout, or damaged): the readers
    treat it as missing and rebuild it from the playback table, and ``put_part(..., None)`` may
    overwrite it. A part that cannot be read must not make every page a fallback for good."""
    try:
        profile_id, kind = str(item["pk"]).removeprefix("HOME#"), PART_OF_SK[str(item["sk"])]
        if int(item.get("fmt", 0)) != HEAD_FORMAT:
            raise ValueError(f"layout {item.get('fmt')!r}")
        rows = json.loads(item["views"])
        if kind == "titles":
            views = tuple(ViewState(profile_id, str(t), float(at), finished=bool(fin)) for t, at, fin in rows)
        else:
            views = tuple(
                ViewState(profile_id, str(t), float(at), float(pos), float(dur), float(pct))
                for t, at, pos, dur, pct in rows
            )
        return HeadPart(profile_id, kind, views, int(item.get("rev", 1)))
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("history head part unreadable, rebuilt from the playback table: %s %s: %s",
                    item.get("pk"), item.get("sk"), exc)  # fmt: skip
        return None


def stored_head(items: Iterable[dict[str, Any]]) -> HistoryHead | None:
    """The head from its items (any others ignored); None unless both parts are there and readable."""
    parts = {p.kind: p for p in (stored_part(i) for i in items if i.get("sk") in PART_OF_SK) if p is not None}
    if len(parts) < len(PART_SK):
        return None
    return HistoryHead(parts["titles"].profile_id, parts["titles"], parts["progress"])


def stored_page(items: Iterable[dict[str, Any]]) -> tuple[StoredHome | None, HistoryHead | None]:
    """One profile's document and history head from the home items a read of ``home_key`` and
    ``head_keys`` found (GET /home's reads: ``get_page`` here, ``dal/page_reads.py``)."""
    items = list(items)
    doc = next((item for item in items if item.get("sk") == DOC_SK), None)
    return (stored_home(doc) if doc else None), stored_head(items)


def stored_home(item: dict[str, Any]) -> StoredHome:
    doc = item.get("doc")
    return StoredHome(
        profile_id=str(item["pk"]).removeprefix("HOME#"),
        doc_json=doc if isinstance(doc, str) else None,
        model_version=item.get("model_version"),
        history_key=item.get("history_key"),
        data_at=num(item.get("data_at")),
        ratings_at=num(item.get("ratings_at")),
    )


class DynamoHomeStore:
    def __init__(self, table_name: str) -> None:
        self.table = dynamo.table(table_name)
        self.name = table_name

    def get(self, profile_id: str) -> StoredHome | None:
        try:
            item = self.table.get_item(Key=home_key(profile_id)).get("Item")
        except Exception as exc:
            raise self._failed(exc) from exc
        return stored_home(item) if item else None

    def _failed(self, exc: Exception) -> DependencyFailed:
        # Named for the fallback metric: a DAX fault and a DynamoDB fault are told apart.
        return DependencyFailed("dax" if self.table.uses_dax else "store", f"{type(exc).__name__}: {exc}")

    def get_page(self, profile_id: str) -> tuple[StoredHome | None, HistoryHead | None]:
        """The document and the history head: one BatchGetItem (through DAX when configured)."""
        try:
            found = dynamo.batch_get({self.name: {"Keys": [home_key(profile_id), *head_keys(profile_id)]}})[self.name]
        except Exception as exc:
            raise self._failed(exc) from exc
        return stored_page(found)

    def get_part(self, profile_id: str, kind: str) -> HeadPart | None:
        item = self.table.get_item(Key=part_key(profile_id, kind), ConsistentRead=True).get("Item")
        return stored_part(item) if item else None

    def put_part(self, part: HeadPart, expected_rev: int | None) -> bool:
        """``expected_rev`` None: only if there is no readable part (none, or one in another layout)."""
        from botocore.exceptions import ClientError

        if expected_rev is None:
            condition: dict[str, Any] = {
                "ConditionExpression": "attribute_not_exists(pk) OR NOT fmt = :fmt",
                "ExpressionAttributeValues": {":fmt": HEAD_FORMAT},
            }
        else:
            condition = {
                "ConditionExpression": "rev = :seen AND fmt = :fmt",
                "ExpressionAttributeValues": {":seen": expected_rev, ":fmt": HEAD_FORMAT},
            }
        try:
            self.table.put_item(Item=part_item(part), **condition)
            return True
        except ClientError as exc:
            if dynamo.is_conditional_check_failure(exc):
                return False
            raise

    def _item(self, home: StoredHome) -> dict[str, Any]:
        item: dict[str, Any] = {
            **home_key(home.profile_id),
            "data_at": decimal(home.data_at),
            "ratings_at": decimal(home.ratings_at),
        }
        for name, value in (
            ("doc", home.doc_json),
            ("model_version", home.model_version),
            ("history_key", home.history_key),
        ):
            if value is not None:
                item[name] = value
        return item

    def put(self, home: StoredHome) -> None:
        self.table.put_item(Item=self._item(home))

    def put_document(self, home: StoredHome, expected_ratings_at: float | None) -> bool:
        """``put`` unless the profile's ratings were marked changed after the page read the item
        (``expected_ratings_at``: its ``ratings_at`` then; None: there was no item). A rating marked
        in between keeps its mark, so its page is rebuilt; False when the write lost that race."""
        from botocore.exceptions import ClientError

        if expected_ratings_at is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "ratings_at = :seen",
                "ExpressionAttributeValues": {":seen": decimal(expected_ratings_at)},
            }
        try:
            self.table.put_item(Item=self._item(home), **condition)
            return True
        except ClientError as exc:
            if dynamo.is_conditional_check_failure(exc):
                return False
            raise

    def put_many(self, homes: Iterable[StoredHome]) -> int:
        n = 0
        with self.table.batch_writer() as batch:
            for home in homes:
                batch.put_item(Item=self._item(home))
                n += 1
        return n

    def versions(self, profile_ids: Sequence[str]) -> dict[str, StoredHome]:
        """The stored version, ratings time and presence of a document per profile (no document
        bodies): what a batch needs to skip written profiles and keep ``ratings_at``."""
        out: dict[str, StoredHome] = {}
        ids = list(dict.fromkeys(profile_ids))
        client = dynamo.client()
        for k in range(0, len(ids), 100):
            keys = [dynamo.serialize(home_key(p)) for p in ids[k : k + 100]]
            # "doc" is deliberately not projected (up to tens of KB each); its presence is told by
            # model_version, which is only written together with a document.
            request: dict[str, Any] = {
                self.name: {
                    "Keys": keys,
                    "ProjectionExpression": "pk, model_version, ratings_at, data_at, history_key",
                    "ConsistentRead": True,
                }
            }
            while request:
                answer = client.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(self.name, []):
                    item = dynamo.deserialize(raw)
                    stored = stored_home(item)
                    has_doc = item.get("model_version") is not None
                    out[stored.profile_id] = StoredHome(
                        stored.profile_id,
                        "" if has_doc else None,
                        stored.model_version,
                        stored.history_key,
                        stored.data_at,
                        stored.ratings_at,
                    )
                request = answer.get("UnprocessedKeys") or {}
        return out

    def mark_ratings_changed(self, profile_id: str, at: float) -> None:
        self.table.update_item(
            Key=home_key(profile_id),
            UpdateExpression="SET ratings_at = :t",
            ExpressionAttributeValues={":t": decimal(at)},
        )

    def current_model(self) -> ModelPointer | None:
        item = self.table.get_item(Key={"pk": "MODEL", "sk": "CURRENT"}, ConsistentRead=True).get("Item")
        if not item:
            return None
        return ModelPointer(str(item["model_version"]), str(item["artifact_key"]), str(item["fallback_key"]))

    def set_current_model(self, pointer: ModelPointer) -> None:
        self.table.put_item(
            Item={
                "pk": "MODEL",
                "sk": "CURRENT",
                "model_version": pointer.model_version,
                "artifact_key": pointer.artifact_key,
                "fallback_key": pointer.fallback_key,
            }
        )


def _campaign(item: dict[str, Any]) -> CampaignRecord:
    return CampaignRecord(
        campaign_id=str(item["sk"]),
        name=str(item.get("name", "")),
        title_ids=tuple(item.get("title_ids", [])),
        starts_at=str(item.get("starts_at", "")),
        ends_at=str(item.get("ends_at", "")),
        languages=tuple(item.get("languages", [])),
        audiences=tuple(item.get("audiences", [])),
        priority=int(num(item.get("priority"))),
        created_at=str(item.get("created_at", "")),
        updated_at=str(item.get("updated_at", "")),
    )


class DynamoCampaignStore:
    PK = "CAMPAIGN"

    def __init__(self, table_name: str) -> None:
        self.table = dynamo.table(table_name)

    def put(self, c: CampaignRecord) -> None:
        self.table.put_item(
            Item={
                "pk": self.PK,
                "sk": c.campaign_id,
                "name": c.name,
                "title_ids": list(c.title_ids),
                "starts_at": c.starts_at,
                "ends_at": c.ends_at,
                "languages": list(c.languages),
                "audiences": list(c.audiences),
                "priority": c.priority,
                "created_at": c.created_at,
                "updated_at": c.updated_at,
            }
        )

    def get(self, campaign_id: str) -> CampaignRecord | None:
        item = self.table.get_item(Key={"pk": self.PK, "sk": campaign_id}, ConsistentRead=True).get("Item")
        return _campaign(item) if item else None

    def delete(self, campaign_id: str) -> bool:
        out = self.table.delete_item(Key={"pk": self.PK, "sk": campaign_id}, ReturnValues="ALL_OLD")
        return bool(out.get("Attributes"))

    def list(self) -> list[CampaignRecord]:
        items = self.table.query_all(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": self.PK})
        return [_campaign(i) for i in items]


class DynamoTrendingStore:
    """``consistent=True`` for the stream consumer's read-modify-write; the API reads eventually."""

    def __init__(self, table_name: str, *, consistent: bool = False) -> None:
        self.table = dynamo.table(table_name)
        self.consistent = consistent

    @staticmethod
    def _key(language: str) -> dict[str, str]:
        return {"pk": "TRENDING", "sk": f"LANG#{language}"}

    def get(self, language: str) -> Trending | None:
        item = self.table.get_item(Key=self._key(language), ConsistentRead=self.consistent).get("Item")
        if not item:
            return None
        return Trending(
            language,
            num(item.get("at")),
            trending_logic.decode_counts(str(item.get("counts", "{}"))),
            int(num(item.get("rev"))),
        )

    def replace(self, t: Trending, expected_revision: int) -> bool:
        from botocore.exceptions import ClientError

        condition = "attribute_not_exists(pk)" if expected_revision == 0 else "rev = :expected"
        values = {":expected": expected_revision} if expected_revision else {}
        try:
            self.table.put_item(
                Item={
                    **self._key(t.language),
                    "counts": trending_logic.encode_counts(t.counts),
                    "at": decimal(t.at),
                    "rev": expected_revision + 1,
                },
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
            return True
        except ClientError as exc:
            if dynamo.is_conditional_check_failure(exc):
                return False
            raise
