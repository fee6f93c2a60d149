"""S3 adapter of `ObjectStore`.

ffmpeg reads sources through presigned GET URLs: it fetches only the byte ranges it needs (a
10 s chunk of a 5 GB film reads ~1/500 of it), so a chunk's /tmp holds its outputs, never the
source.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from transcode.logic.ports import ObjectStore
from transcode.models.domain import ObjectHead

PRESIGN_SECONDS = 3600  # > the 15 min Lambda limit: reconnects reuse the URL
DELETE_BATCH = 1000  # DeleteObjects' limit


class S3ObjectStore(ObjectStore):
    def __init__(self, client: Any) -> None:
        self.s3 = client

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        try:
            resp = self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return ObjectHead(size=int(resp["ContentLength"]), etag=str(resp.get("ETag", "")).strip('"'))

    def read_range(self, bucket: str, key: str, length: int) -> bytes:
        try:
            body: bytes = self.s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{length - 1}")["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":  # empty object
                return b""
            raise
        return body

    def presigned_url(self, bucket: str, key: str) -> str:
        return str(self.s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                                  ExpiresIn=PRESIGN_SECONDS))

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str,
                  cache_control: str | None = None) -> None:
        extra: dict[str, str] = {"ContentType": content_type}
        if cache_control:
            extra["CacheControl"] = cache_control
        self.s3.put_object(Bucket=bucket, Key=key, Body=data, **extra)

    def list_etags(self, bucket: str, prefix: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out.update({obj["Key"]: str(obj.get("ETag", "")).strip('"') for obj in page.get("Contents", [])})
        return out

    def put_json(self, bucket: str, key: str, data: Any) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(data, sort_keys=True).encode(),
                           ContentType="application/json")

    def get_json(self, bucket: str, key: str) -> Any | None:
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                return None
            raise
        return json.loads(body)

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [obj["Key"] for obj in page.get("Contents", [])]
        return keys

    def delete_keys(self, bucket: str, keys: Sequence[str]) -> int:
        for i in range(0, len(keys), DELETE_BATCH):
            batch = keys[i:i + DELETE_BATCH]
            resp = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch],
                                                                 "Quiet": True})
            if resp.get("Errors"):
                raise RuntimeError(f"could not delete {len(resp['Errors'])} objects: {resp['Errors'][:3]}")
        return len(keys)

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        if not prefix.endswith("/") or prefix.count("/") < 2:
            raise ValueError(f"refusing to delete a broad prefix {prefix!r}")
        return self.delete_keys(bucket, self.list_keys(bucket, prefix))
