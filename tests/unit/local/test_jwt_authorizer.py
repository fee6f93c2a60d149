"""The local HTTP API's JWT authorizer: the checks, and the remembered tokens (a token verified once
is checked only for its time afterwards, and never outlives its exp)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from local.edge import jwt_authorizer
from local.edge.jwt_authorizer import JwksCache, JwtAuthorizer, Unauthorized, verify

ISSUER = "http://127.0.0.1:1/us-east-1_pool"


class Keys(JwksCache):
    """The pool's JWKS without a server; counts the lookups (one per signature check)."""

    def __init__(self, public: Any) -> None:
        super().__init__("http://unused")
        self.jwk = {**jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True), "kid": "k1", "alg": "RS256"}
        self.lookups = 0

    def keys(self, issuer: str) -> dict[str, Any]:
        self.lookups += 1
        return {"k1": self.jwk} if issuer == ISSUER else {}


@pytest.fixture
def signer(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Keys]:
    monkeypatch.setattr(jwt_authorizer, "_verified", type(jwt_authorizer._verified)())
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private, Keys(private.public_key())


def _token(private: Any, **claims: Any) -> str:
    body = {"iss": ISSUER, "exp": int(time.time()) + 60, "client_id": "app", "scope": "aws.cognito.signin.user.admin",
            **claims}  # fmt: skip
    return jwt.encode(body, private, algorithm="RS256", headers={"kid": "k1"})


def test_a_verified_token_is_remembered_until_it_expires(signer: tuple[Any, Keys], monkeypatch: Any) -> None:
    private, keys = signer
    auth = JwtAuthorizer(ISSUER, audience=("app",))
    token = _token(private, exp=int(time.time()) + 30, sub="u1")
    assert verify(token, auth, keys)["sub"] == "u1"
    assert verify(token, auth, keys)["sub"] == "u1" and keys.lookups == 1  # the second use checks no signature
    with pytest.raises(Unauthorized, match="audience"):
        verify(token, JwtAuthorizer(ISSUER, audience=("other",)), keys)  # another route's authorizer: checked anew
    later = time.time() + 31
    monkeypatch.setattr(jwt_authorizer.time, "time", lambda: later)
    with pytest.raises(Unauthorized, match="expired"):
        verify(token, auth, keys)  # remembered, and still refused once its exp has passed


def test_bad_tokens_are_refused_and_not_remembered(signer: tuple[Any, Keys]) -> None:
    private, keys = signer
    auth = JwtAuthorizer(ISSUER)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = _token(other)
    for _ in range(2):
        with pytest.raises(Unauthorized, match="invalid token"):
            verify(forged, auth, keys)
    assert keys.lookups == 2 and not jwt_authorizer._verified
    with pytest.raises(Unauthorized, match="insufficient scope"):
        verify(_token(private), JwtAuthorizer(ISSUER, scopes=("admin",)), keys)
    with pytest.raises(Unauthorized, match="no bearer"):
        verify("", auth, keys)
