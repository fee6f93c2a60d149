"""The execution input (EventBridge "Object Created" from S3) and the title it is about."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from transcode.models.domain import Upload
from transcode.models.errors import InvalidEvent
from transcode.models.steps import FailInput, UploadEvent

UPLOAD_KEY = re.compile(r"^uploads/(?P<title_id>[A-Za-z0-9][A-Za-z0-9_-]{0,127})/source$")
S3_SOURCE = "aws.s3"


def title_id_from_key(key: str) -> str | None:
    m = UPLOAD_KEY.match(key)
    return m.group("title_id") if m else None


def parse_upload(event: UploadEvent, ingest_bucket: str = "") -> Upload:
    if event.source != S3_SOURCE or event.detail_type != "Object Created":
        raise InvalidEvent(f"not an S3 Object Created event: source={event.source!r} "
                           f"detail-type={event.detail_type!r}")
    bucket = event.detail.bucket.name
    obj = event.detail.object
    # EventBridge delivers keys URL-encoded like S3 notifications do ("a+b" for "a b").
    key = unquote_plus(obj.key)
    if ingest_bucket and bucket != ingest_bucket:
        raise InvalidEvent(f"upload to bucket {bucket!r}, expected the ingest bucket {ingest_bucket!r}")
    title_id = title_id_from_key(key)
    if not title_id:
        raise InvalidEvent(f"object key {key!r} is not uploads/{{title_id}}/source")
    return Upload(title_id=title_id, job_id=event.id or f"{title_id}:{obj.etag or ''}",
                  bucket=bucket, key=key, size=obj.size, etag=obj.etag)


def title_id_of(state: FailInput) -> str | None:
    """The title a (possibly failed) state is about: the job's field, else the raw event's key."""
    if state.title_id:
        return state.title_id
    return title_id_from_key(unquote_plus(state.detail.object.key)) if state.detail else None


def job_id_of(state: FailInput) -> str | None:
    if state.job_id:
        return state.job_id
    return state.id if state.source == S3_SOURCE and state.id else None
