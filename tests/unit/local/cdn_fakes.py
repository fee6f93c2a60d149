"""Shared by the test_cdn_* modules: a signing key, grants, and an in-memory origin."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from reelstack_common.cdn_signing import Grant, sign_grant

from infra.cdn_keys import generate_key_pair
from local.cdn.keys import local_key_id
from local.cdn.origin import NotFound, OriginObject, OriginUnavailable

KEYS = generate_key_pair()
KEY_ID = local_key_id(KEYS.public_pem)
OTHER = generate_key_pair()


def grant(cdn_url: str, prefix: str, ttl: int = 600, key_id: str = KEY_ID, pem: bytes = KEYS.private_pem) -> Grant:
    return sign_grant(resource=f"{cdn_url}/{prefix}*", expires_at=int(time.time()) + ttl, key_pair_id=key_id,
                      private_key_pem=pem)


@dataclass
class FakeOrigin:
    objects: dict[str, OriginObject] = field(default_factory=dict)
    down: bool = False
    delay_s: float = 0.0
    calls: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str, body: bytes, cache_control: str | None = None, content_type: str = "video/mp4") -> None:
        self.objects[key] = OriginObject(body, f'"{abs(hash(body)):x}"', content_type,
                                         "Mon, 30 Nov 2026 00:00:00 GMT", cache_control)

    def get(self, key: str) -> OriginObject:
        with self._lock:
            self.calls.append(key)
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.down:
            raise OriginUnavailable("refused")
        if key not in self.objects:
            raise NotFound(key)
        return self.objects[key]
