"""The execution input (EventBridge "Object Created" from S3) and the title it is about."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from transcode.errors import InvalidEvent

UPLOAD_KEY = re.compile(r"^uploads/(?P<title_id>[A-Za-z0-9][A-Za-z0-9_-]{0,127})/source$")


@dataclass(frozen=True)
class Upload:
    title_id: str
    job_id: str
    bucket: str
    key: str
    size: int | None
    etag: str | None


def title_id_from_key(key: str) -> str | None:
    m = UPLOAD_KEY.match(key)
    return m.group("title_id") if m else None


def parse_upload_event(event: dict[str, Any], ingest_bucket: str = "") -> Upload:
    if event.get("source") != "aws.s3" or event.get("detail-type") != "Object Created":
        raise InvalidEvent(f"not an S3 Object Created event: source={event.get('source')!r} "
                           f"detail-type={event.get('detail-type')!r}")
    detail = event.get("detail") or {}
    bucket = (detail.get("bucket") or {}).get("name", "")
    obj = detail.get("object") or {}
    # EventBridge delivers keys URL-encoded like S3 notifications do ("a+b" for "a b").
    key = unquote_plus(obj.get("key", ""))
    if ingest_bucket and bucket != ingest_bucket:
        raise InvalidEvent(f"upload to bucket {bucket!r}, expected the ingest bucket {ingest_bucket!r}")
    title_id = title_id_from_key(key)
    if not title_id:
        raise InvalidEvent(f"object key {key!r} is not uploads/{{title_id}}/source")
    size = obj.get("size")
    return Upload(title_id=title_id, job_id=str(event.get("id") or f"{title_id}:{obj.get('etag', '')}"),
                  bucket=bucket, key=key, size=int(size) if size is not None else None, etag=obj.get("etag"))


def title_id_of(state: dict[str, Any]) -> str | None:
    """The title a (possibly failed) state is about: the job's field, else the raw event's key."""
    if isinstance(state.get("title_id"), str):
        return state["title_id"]
    key = ((state.get("detail") or {}).get("object") or {}).get("key")
    return title_id_from_key(unquote_plus(key)) if isinstance(key, str) else None


def job_id_of(state: dict[str, Any]) -> str | None:
    job = state.get("job_id")
    if isinstance(job, str):
        return job
    return str(state["id"]) if state.get("source") == "aws.s3" and state.get("id") else None
