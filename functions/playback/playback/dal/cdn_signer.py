"""Adapter of ``Signer`` over ``reelstack_common.cdn_signing.CdnSigner`` (delivery's, contract C)."""

from __future__ import annotations

from reelstack_common.cdn_signing import CdnSigner

from playback.logic.ports import Signer
from playback.models.domain import Grant


class CdnGrantSigner(Signer):
    def __init__(self) -> None:
        self._signer: CdnSigner | None = None

    def _get(self) -> CdnSigner:
        if self._signer is None:  # the secret is read on first use, not at cold start
            self._signer = CdnSigner.from_environment()
        return self._signer

    @property
    def cdn_url(self) -> str:
        return self._get().cdn_url

    def grant(self, prefix: str, ttl_s: int) -> Grant:
        g = self._get().grant(prefix, ttl_s)
        return Grant(resource=g.resource, expires_at=g.expires_at, cookies=dict(g.cookies), query=g.query)
