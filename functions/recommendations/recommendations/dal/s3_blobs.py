"""The model bucket (``$MODEL_BUCKET``): artifacts, batch files, fallback rows, the lake."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

_CONFIG = Config(connect_timeout=2, read_timeout=30, retries={"max_attempts": 4, "mode": "standard"})
_lock = threading.Lock()
_client: Any = None


def _s3() -> Any:
    global _client
    with _lock:
        if _client is None:
            _client = boto3.client("s3", config=_CONFIG)
        return _client


class S3BlobStore:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def get(self, key: str) -> bytes | None:
        try:
            body: bytes = _s3().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return body

    def put(self, key: str, body: bytes) -> None:
        _s3().put_object(Bucket=self.bucket, Key=key, Body=body)

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in _s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return sorted(keys)
