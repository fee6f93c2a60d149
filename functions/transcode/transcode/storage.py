"""S3 access and the key layout. boto3 only; the endpoint comes from the environment.

ffmpeg reads sources through presigned GET URLs: it fetches only the byte ranges it needs (a
10 s chunk of a 5 GB film reads ~1/500 of it), so a chunk's /tmp holds its outputs, never the
source. Everything a step writes has a deterministic key, so retries and re-runs overwrite.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

PRESIGN_SECONDS = 3600  # > the 15 min Lambda limit: reconnects reuse the URL


# --- key layout ----------------------------------------------------------------------------------

def work_prefix(title_id: str) -> str:
    return f"work/{title_id}/"


def chunk_key(title_id: str, rendition: str, index: int) -> str:
    return f"work/{title_id}/chunks/{rendition}/{index:05d}.mp4"


def chunk_meta_key(title_id: str, index: int) -> str:
    return f"work/{title_id}/chunks/meta/{index:05d}.json"


def audio_key(title_id: str) -> str:
    return f"work/{title_id}/audio/audio.mp4"


def title_prefix(title_id: str) -> str:
    return f"titles/{title_id}/"


def hls_prefix(title_id: str) -> str:
    return f"titles/{title_id}/hls/"


def manifest_key(title_id: str) -> str:
    return f"{hls_prefix(title_id)}master.m3u8"


# --- client --------------------------------------------------------------------------------------

@functools.cache
def s3() -> Any:
    # Adaptive retries absorb S3 503 SlowDown when many chunks upload at once.
    return boto3.client("s3", config=Config(retries={"max_attempts": 8, "mode": "adaptive"}))


def head(bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return s3().head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def read_range(bucket: str, key: str, length: int = 512) -> bytes:
    try:
        return s3().get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{length - 1}")["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidRange":  # empty object
            return b""
        raise


def presigned_url(bucket: str, key: str) -> str:
    return s3().generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                       ExpiresIn=PRESIGN_SECONDS)


def upload_file(path: Path, bucket: str, key: str, content_type: str = "application/octet-stream",
                cache_control: str | None = None) -> None:
    extra: dict[str, str] = {"ContentType": content_type}
    if cache_control:
        extra["CacheControl"] = cache_control
    s3().upload_file(str(path), bucket, key, ExtraArgs=extra)


def download_file(bucket: str, key: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    s3().download_file(bucket, key, str(path))
    return path


def put_json(bucket: str, key: str, data: Any) -> None:
    s3().put_object(Bucket=bucket, Key=key, Body=json.dumps(data, sort_keys=True).encode(),
                    ContentType="application/json")


def get_json(bucket: str, key: str) -> Any:
    return json.loads(s3().get_object(Bucket=bucket, Key=key)["Body"].read())


def list_keys(bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return keys


def delete_keys(bucket: str, keys: list[str]) -> int:
    for i in range(0, len(keys), 1000):
        batch = keys[i:i + 1000]
        resp = s3().delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch],
                                                          "Quiet": True})
        if resp.get("Errors"):
            raise RuntimeError(f"could not delete {len(resp['Errors'])} objects: {resp['Errors'][:3]}")
    return len(keys)


def delete_prefix(bucket: str, prefix: str) -> int:
    if not prefix.endswith("/") or prefix.count("/") < 2:
        raise ValueError(f"refusing to delete a broad prefix {prefix!r}")
    return delete_keys(bucket, list_keys(bucket, prefix))


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A fresh /tmp directory removed afterwards: warm Lambdas reuse /tmp between invocations."""
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
