"""The edges' origin: the media bucket in the local S3 (moto), read through boto3 at the local
endpoint with short timeouts and no retries, so an unreachable origin is a quick 503 at the edge,
never a hang (CloudFront's origin connection timeout and attempts are settings too)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


class OriginUnavailable(RuntimeError):
    """The origin did not answer (refused, timed out, 5xx)."""


class NotFound(LookupError):
    pass


@dataclass(frozen=True)
class OriginObject:
    body: bytes
    etag: str  # with its quotes, as S3 sends it
    content_type: str
    last_modified: str  # HTTP date
    cache_control: str | None


class S3Origin:
    def __init__(self, endpoint_url: str, bucket: str, *, connect_timeout: float = 1.0,
                 read_timeout: float = 5.0, region: str = "us-east-1") -> None:
        self.endpoint_url = endpoint_url
        self.bucket = bucket
        self._s3: Any = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region,
            aws_access_key_id="local", aws_secret_access_key="local",
            config=Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                          retries={"total_max_attempts": 1}, max_pool_connections=32),
        )

    def get(self, key: str) -> OriginObject:
        try:
            resp = self._s3.get_object(Bucket=self.bucket, Key=key)
            body = resp["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if code in ("NoSuchKey", "404", "NoSuchBucket") or status == 404:
                raise NotFound(key) from None
            raise OriginUnavailable(f"{code or status}") from None
        except (BotoCoreError, OSError) as exc:
            raise OriginUnavailable(type(exc).__name__) from None
        modified = resp.get("LastModified")
        return OriginObject(
            body=body,
            etag=str(resp.get("ETag") or ""),
            content_type=str(resp.get("ContentType") or "application/octet-stream"),
            last_modified=modified.strftime("%a, %d %b %Y %H:%M:%S GMT") if modified is not None else "",
            cache_control=resp.get("CacheControl"),
        )
