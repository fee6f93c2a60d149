"""Signed GETs through the CDN (``CDN_URL``: CloudFront in AWS, the local front door locally).

One grant per title (``titles/{id}/*``, signed-URL form: no cookie jar needed), the
``X-Reelstack-Prefill-Copies`` header, bodies streamed and discarded unless asked for. The local
front door honours that header only from the platform: ``X-Reelstack-Prefill-Grant`` carries a
second grant, for ``_reelstack/prefill/titles/{id}/*``, which no viewer is ever given (CloudFront
ignores both headers; neither is in its cache key). Transport
failures (refused, reset, timeout) and 5xx are retried with a short backoff; the last status is
returned to the logic, which decides what it means.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Protocol

from delivery.models.prefill import Fetched

COPIES_HEADER = "X-Reelstack-Prefill-Copies"
PREFILL_GRANT_HEADER = "X-Reelstack-Prefill-Grant"
PREFILL_GRANT_ROOT = "_reelstack/prefill/"  # local/cdn/front_door.py checks the grant against this root
_CHUNK = 256 * 1024


class _Grant(Protocol):
    @property
    def query(self) -> str: ...


class Signer(Protocol):
    """reelstack_common.cdn_signing.CdnSigner, as far as this adapter uses it."""

    cdn_url: str

    def grant(self, prefix: str, ttl_s: int) -> _Grant: ...


class CdnHttp:
    def __init__(
        self,
        signer: Signer,
        title_prefix: str,
        *,
        grant_ttl_s: int = 900,
        timeout_s: float = 10.0,
        attempts: int = 3,
        backoff_s: float = 0.5,
        max_body_bytes: int = 4 * 1024 * 1024,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cdn_url = signer.cdn_url
        self._query = signer.grant(title_prefix, grant_ttl_s).query
        self._prefill_grant = signer.grant(PREFILL_GRANT_ROOT + title_prefix, grant_ttl_s).query
        self.timeout_s, self.attempts, self.backoff_s = timeout_s, attempts, backoff_s
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self._local = threading.local()

    def url(self, key: str) -> str:
        return f"{self.cdn_url}/{key}?{self._query}"

    def get(self, key: str, *, copies: int, keep_body: bool) -> Fetched:
        fetched = Fetched(status=0)
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
            fetched = self._once(key, copies, keep_body)
            if fetched.status != 0 and fetched.status < 500:
                return fetched
        return fetched

    def _once(self, key: str, copies: int, keep_body: bool) -> Fetched:
        headers = {COPIES_HEADER: str(copies), PREFILL_GRANT_HEADER: self._prefill_grant}
        request = urllib.request.Request(self.url(key), headers=headers, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 -- https CDN URL
                return self._read(response.status, response, keep_body)
        except urllib.error.HTTPError as exc:
            exc.close()
            return Fetched(status=exc.code)
        except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError):
            return Fetched(status=0)

    def _read(self, status: int, response: http.client.HTTPResponse, keep_body: bool) -> Fetched:
        size, parts = 0, []
        while chunk := response.read(_CHUNK):
            size += len(chunk)
            if keep_body:
                if size > self.max_body_bytes:
                    return Fetched(status=status, size=size, body=None)
                parts.append(chunk)
        return Fetched(status=status, size=size, body=b"".join(parts) if keep_body else None)
