"""Presigned ingest uploads into the ingest bucket.

The URLs are signed with the function's own credentials, so the function's role needs
``s3:PutObject`` (and ``s3:AbortMultipartUpload``) on ``uploads/*`` and nothing more; a URL is
valid for at most the lifetime of those credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from catalog.dal.interface import UploadMissing, UploadPartsRejected

_REJECTED_PART_CODES = {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML"}


class S3UploadStore:
    """``UploadStore`` over a boto3 S3 client (SigV4, so presigned URLs carry signed headers)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def presign_put(self, key: str, *, content_type: str, expires_in: int, content_length: int) -> str:
        # ContentType and ContentLength are signed headers: the client must send exactly these
        # values, so S3 answers 403 SignatureDoesNotMatch to a body of another length. (moto
        # checks no signature, so locally the length is not enforced; it also stores an empty body
        # for a presigned PUT without a Content-Type.)
        url: str = self._s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type, "ContentLength": content_length},
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )
        return url

    def start_multipart(self, key: str, *, content_type: str) -> str:
        response = self._s3.create_multipart_upload(Bucket=self._bucket, Key=key, ContentType=content_type)
        return str(response["UploadId"])

    def presign_part(self, key: str, *, upload_id: str, part_number: int, expires_in: int, content_length: int) -> str:
        url: str = self._s3.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "UploadId": upload_id,
                "PartNumber": part_number,
                "ContentLength": content_length,
            },
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )
        return url

    def complete_multipart(self, key: str, *, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        try:
            self._s3.complete_multipart_upload(
                Bucket=self._bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "NoSuchUpload":
                raise UploadMissing(upload_id) from exc
            if code in _REJECTED_PART_CODES:
                raise UploadPartsRejected(code) from exc
            raise
