"""Fixtures for reelstack_common tests: a private RSA key + JWKS standing in for a Cognito pool."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

POOL_ID = "eu-west-1_TestPool"
CLIENT_ID = "client-abc"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL_ID}"


@dataclass
class Issuer:
    key: Any
    kid: str = "key-1"
    fetched: list[str] = field(default_factory=list)

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def token(self, token_use: Any = "access", *, key: Any = None, kid: Any = None, **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "sub": "user-1",
            "iss": ISSUER,
            "token_use": token_use,
            "iat": now,
            "exp": now + 600,
        }
        payload["client_id" if token_use == "access" else "aud"] = CLIENT_ID
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})


@pytest.fixture(scope="session")
def rsa_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def issuer(rsa_key: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Issuer]:
    from reelstack_common import auth

    monkeypatch.setenv("USER_POOL_ID", POOL_ID)
    monkeypatch.setenv("USER_POOL_CLIENT_ID", CLIENT_ID)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    the_issuer = Issuer(key=rsa_key)

    def fetch(url: str) -> dict[str, Any]:
        the_issuer.fetched.append(url)
        return the_issuer.jwks()

    monkeypatch.setattr(auth, "fetch_jwks", fetch)
    auth.jwks_cache.clear()
    yield the_issuer
    auth.jwks_cache.clear()


Fetcher = Callable[[str], dict[str, Any]]
