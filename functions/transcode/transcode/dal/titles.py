"""DynamoDB adapter of `TitleStore`: the title item in the catalog table.

Status changes are conditional writes that keep the `gsi1` status index in step. A run owns the
title through `transcode_job_id` (the id of the S3 event that started it) from its claim on, and
only a title waiting for its source (UPLOADING) can be claimed: a run that did not claim the title
can neither publish it, record outputs on it, nor fail it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from transcode.dal.dynamo import conditional_failed, from_dynamo, now_iso, to_dynamo
from transcode.logic.ports import TitleStore
from transcode.models.domain import TitleStatus
from transcode.models.errors import Superseded, TitleNotFound

# The stored strings (the catalog service writes the same ones).
UPLOADING, TRANSCODING = TitleStatus.UPLOADING.value, TitleStatus.TRANSCODING.value
READY, FAILED = TitleStatus.READY.value, TitleStatus.FAILED.value


_deserialize = TypeDeserializer()


def title_key(title_id: str) -> dict[str, str]:
    return {"pk": f"TITLE#{title_id}", "sk": "META"}


class DynamoTitleStore(TitleStore):
    def __init__(self, table: Any) -> None:
        self.table = table  # a boto3 DynamoDB Table resource

    def claim(self, title_id: str, job_id: str, source_etag: str | None) -> str | None:
        """UPLOADING -> TRANSCODING, owned by `job_id`. Returns None when claimed, else the status
        that refused the claim (the title is not waiting for its source).

        Only a title waiting for its source may be claimed: a presigned PUT stays valid for its
        lifetime, and a reused one must not unpublish a READY title, take over a running transcode
        or revive a FAILED one. A retried probe of the same job finds its own claim and keeps it.
        """
        try:
            self.table.update_item(
                Key=title_key(title_id),
                UpdateExpression=("SET #s = :s, gsi1pk = :g, transcode_job_id = :j, source_etag = :e, "
                                  "updated_at = :now, gsi1sk = if_not_exists(gsi1sk, :gsk) "
                                  "REMOVE failure_reason ADD version :one"),
                ConditionExpression=("attribute_exists(pk) AND (#s = :waiting OR "
                                     "(#s = :s AND transcode_job_id = :j))"),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": TRANSCODING, ":g": f"STATUS#{TRANSCODING}", ":j": job_id,
                                           ":e": source_etag or "", ":now": now_iso(),
                                           ":gsk": f"{now_iso()}#{title_id}", ":waiting": UPLOADING,
                                           ":one": 1},
                # The refusing item comes back with the error: no GetItem (nor its IAM grant) needed.
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return None
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            current = exc.response.get("Item")  # low-level attribute values, absent if no item
        if not current:
            raise TitleNotFound(f"Title {title_id} does not exist in the catalog: create the title "
                                "before uploading its video.")
        return str(_deserialize.deserialize(current["status"])) if "status" in current else "(no status)"

    def ownership(self, title_id: str) -> tuple[str | None, str | None]:
        item = self.table.get_item(Key=title_key(title_id), ConsistentRead=True,
                                   ProjectionExpression="#s, transcode_job_id",
                                   ExpressionAttributeNames={"#s": "status"}).get("Item")
        if not item:
            return None, None
        job = item.get("transcode_job_id")
        return str(item.get("status")), (str(job) if job is not None else None)

    def record_outputs(self, title_id: str, job_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        """Set output attributes; returns their previous values (an earlier upload's renditions)."""
        names = {f"#a{i}": k for i, k in enumerate(attrs)}
        values = {f":a{i}": to_dynamo(v) for i, v in enumerate(attrs.values())}
        sets = ", ".join(f"#a{i} = :a{i}" for i in range(len(attrs)))
        return self._owned_update(title_id, job_id, f"SET {sets}, updated_at = :now",
                                  names, {**values, ":now": now_iso()}, allowed=(TRANSCODING,))

    def mark_ready(self, title_id: str, job_id: str) -> dict[str, Any]:
        # READY -> READY is allowed so a retried publish step is idempotent (it still counts as a
        # write: the version moves, and consumers only ever act on the newest version).
        return self._owned_update(title_id, job_id, "SET #s = :ready, gsi1pk = :g, updated_at = :now",
                                  {"#s": "status"},
                                  {":ready": READY, ":g": f"STATUS#{READY}", ":now": now_iso()},
                                  allowed=(TRANSCODING, READY), returns="ALL_NEW")

    def mark_failed(self, title_id: str, job_id: str | None, reason: str) -> int | None:
        """FAILED with a reason, only if `job_id` claimed the title and it is not READY. Returns the
        new version, or None when it was not marked.

        A job that never claimed the title (a failure before the claim, an upload for a title that
        was not waiting for its source) must not fail it: its outputs belong to another run."""
        if not job_id:
            return False
        # Never a READY title, even this job's own: TitlePublished has gone out (a Publish Lambda that
        # timed out after its write, or the execution's timeout, still lands in the Fail step), and
        # consumers hold it; demoting it and deleting its media would break them silently.
        condition = "attribute_exists(pk) AND transcode_job_id = :j AND #s <> :ready"
        values: dict[str, Any] = {":f": FAILED, ":g": f"STATUS#{FAILED}", ":r": reason[:1000],
                                  ":now": now_iso(), ":j": job_id, ":one": 1, ":ready": READY}
        try:
            resp = self.table.update_item(
                Key=title_key(title_id),
                UpdateExpression="SET #s = :f, gsi1pk = :g, failure_reason = :r, updated_at = :now "
                                 "REMOVE manifest_path, renditions, quality, duration_s, playback_tiers "
                                 "ADD version :one",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if conditional_failed(exc):
                return None
            raise
        return int(from_dynamo(resp.get("Attributes", {})).get("version") or 0)

    def _owned_update(self, title_id: str, job_id: str, expression: str, names: dict[str, str],
                      values: dict[str, Any], *, allowed: Sequence[str],
                      returns: str = "UPDATED_OLD") -> dict[str, Any]:
        """Contract D: every write of the title item moves its `version` (ADD: atomic)."""
        status_values = {f":st{i}": s for i, s in enumerate(allowed)}
        try:
            resp = self.table.update_item(
                Key=title_key(title_id),
                UpdateExpression=f"{expression} ADD version :one",
                ConditionExpression=(f"attribute_exists(pk) AND transcode_job_id = :job AND "
                                     f"#status IN ({', '.join(status_values)})"),
                ExpressionAttributeNames={**names, "#status": "status"},
                ExpressionAttributeValues={**values, **status_values, ":job": job_id, ":one": 1},
                ReturnValues=returns,
            )
        except ClientError as exc:
            if conditional_failed(exc):
                raise Superseded(f"title {title_id} is no longer owned by run {job_id} "
                                 "(a newer upload started, or the title was deleted)") from exc
            raise
        return from_dynamo(resp.get("Attributes") or {})
