"""Purging a prefix from the CDN: a CloudFront invalidation in AWS; locally the edge fleet's purge
(its front door's ``POST /_reelstack/purge/{prefix}``, authorised by a grant signed with the
distribution's key for ``_reelstack/purge/{prefix}*`` -- the function holds that key; it has no
admin token)."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from delivery.models.errors import PurgeFailed, PurgeThrottled

PURGE_GRANT_HEADER = "X-Reelstack-Purge-Grant"
PURGE_ROOT = "_reelstack/purge/"  # local/cdn/front_door.py serves and checks the grant against this root
_GRANT_TTL_S = 300

# Explicit timeouts and standard retries, so one hung call cannot outlast the function's 30-s
# timeout (boto3's defaults are a 60-s read timeout and legacy retries) and time out the whole
# batch. Worst case of one CreateInvalidation: attempts x (connect + read) plus the back-off between.
CONNECT_TIMEOUT_S, READ_TIMEOUT_S, ATTEMPTS = 3, 8, 2
WORST_CALL_S = ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + 2
CLOUDFRONT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_S,
    read_timeout=READ_TIMEOUT_S,
    retries={"mode": "standard", "total_max_attempts": ATTEMPTS},  # the first call included
)
# Not one of botocore's throttling codes (it is not retried in-process, and should not be: an
# invalidation takes minutes to complete).
TOO_MANY_INVALIDATIONS = "TooManyInvalidationsInProgress"


class CloudFrontInvalidator:
    """``CreateInvalidation`` of ``/{prefix}*`` on one distribution. The CallerReference is the
    withdrawal's: CloudFront answers a repeat (same reference, same paths) with the invalidation it
    already made, so a retried record costs nothing."""

    def __init__(self, distribution_id: str, client: Any = None) -> None:
        if not distribution_id:
            raise ValueError("DISTRIBUTION_ID is not set")
        self.distribution_id = distribution_id
        self._client = client

    def _cloudfront(self) -> Any:
        if self._client is None:
            import boto3  # noqa: PLC0415 -- only the AWS path needs it

            self._client = boto3.client("cloudfront", config=CLOUDFRONT_CONFIG)
        return self._client

    def purge(self, prefix: str, *, reference: str) -> None:
        try:
            self._cloudfront().create_invalidation(
                DistributionId=self.distribution_id,
                InvalidationBatch={"Paths": {"Quantity": 1, "Items": [f"/{prefix}*"]}, "CallerReference": reference},
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == TOO_MANY_INVALIDATIONS:
                raise PurgeThrottled(f"CreateInvalidation of /{prefix}*: {code}") from exc
            raise PurgeFailed(f"CreateInvalidation of /{prefix}* failed: {code or type(exc).__name__}") from exc
        except BotoCoreError as exc:
            raise PurgeFailed(f"CreateInvalidation of /{prefix}* failed: {type(exc).__name__}") from exc


class _Grant(Protocol):
    @property
    def query(self) -> str: ...


class _Signer(Protocol):
    cdn_url: str

    def grant(self, prefix: str, ttl_s: int) -> _Grant: ...


class FleetPurger:
    """The local edge fleet's purge through its front door (every edge, running or stopped)."""

    def __init__(self, signer: _Signer, timeout_s: float = 10.0) -> None:
        self.signer = signer
        self.timeout_s = timeout_s

    def purge(self, prefix: str, *, reference: str) -> None:
        grant = self.signer.grant(PURGE_ROOT + prefix, _GRANT_TTL_S).query
        request = urllib.request.Request(  # noqa: S310 -- the CDN URL from the environment
            f"{self.signer.cdn_url}/{PURGE_ROOT}{prefix}",
            headers={PURGE_GRANT_HEADER: grant, "X-Reelstack-Purge-Reference": reference},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            raise PurgeFailed(f"the edge fleet refused the purge of {prefix}: {exc.code}") from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise PurgeFailed(f"the edge fleet did not answer the purge of {prefix}") from exc
