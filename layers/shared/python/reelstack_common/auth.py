"""Who is calling: the Cognito principal of the current request.

* HTTP API (payload v2.0) events: API Gateway's JWT authorizer already validated the token, so the
  claims are read from ``requestContext.authorizer.jwt.claims``. When an HTTP API event carries no
  authorizer claims (a route deployed without the authorizer, or a local emulation of the API), the
  bearer token is verified here instead -- the handler never trusts an unverified token.
* ALB events: the ALB has no JWT authorizer, so the ``Authorization: Bearer`` token is verified with
  pyjwt: RS256 against the user pool's JWKS, issuer, ``token_use``, ``client_id`` (access token) or
  ``aud`` (id token) equal to ``USER_POOL_CLIENT_ID``, and expiry.

The JWKS URL is ``$AWS_ENDPOINT_URL/<pool>/.well-known/jwks.json`` when ``AWS_ENDPOINT_URL`` is set
(the local cloud), else ``<issuer>/.well-known/jwks.json``. Keys are cached per URL; an unknown
``kid`` triggers at most one refetch per ``_MIN_REFETCH_SECONDS`` (key rotation without letting
forged kids hammer the endpoint).
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from reelstack_common.errors import Forbidden, ServiceUnavailable, Unauthorized

_JWKS_TTL_SECONDS = 3600.0
_MIN_REFETCH_SECONDS = 30.0
_LEEWAY_SECONDS = 5
_FETCH_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. ``email`` is None for access tokens (Cognito omits it there)."""

    user_id: str
    email: str | None = None
    groups: tuple[str, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def in_group(self, group: str) -> bool:
        return group in self.groups


# --- configuration ---------------------------------------------------------------------------


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def issuer(user_pool_id: str | None = None) -> str:
    pool = user_pool_id or os.environ["USER_POOL_ID"]
    # The pool id starts with its region ("us-east-1_AbC"); prefer it over the Lambda's region.
    region = pool.split("_", 1)[0] if "_" in pool else _region()
    return f"https://cognito-idp.{region}.amazonaws.com/{pool}"


def jwks_url(user_pool_id: str | None = None) -> str:
    pool = user_pool_id or os.environ["USER_POOL_ID"]
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/")
    if endpoint:
        return f"{endpoint}/{pool}/.well-known/jwks.json"
    return f"{issuer(pool)}/.well-known/jwks.json"


# --- JWKS cache --------------------------------------------------------------------------------


def _http_fetch_jwks(url: str) -> dict[str, Any]:
    """Default JWKS transport: stdlib only, so the layer needs no HTTP library."""
    with urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
        data: dict[str, Any] = json.loads(response.read())
    return data


# Replaceable transport (tests route it through moto's JWKS endpoint).
fetch_jwks: Callable[[str], dict[str, Any]] = _http_fetch_jwks


class _JwksCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, dict[str, Any]] = {}  # url -> {kid: key}
        self._fetched_at: dict[str, float] = {}

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
            self._fetched_at.clear()

    def key(self, url: str, kid: str) -> Any:
        with self._lock:
            now = time.monotonic()
            age = now - self._fetched_at.get(url, -1e12)
            keys = self._keys.get(url)
            stale = keys is None or age > _JWKS_TTL_SECONDS
            unknown_kid = keys is not None and kid not in keys and age > _MIN_REFETCH_SECONDS
            if stale or unknown_kid:
                try:
                    document = fetch_jwks(url)
                    keys = {
                        k["kid"]: jwt.PyJWK.from_dict(k, algorithm="RS256").key
                        for k in document.get("keys", [])
                        if k.get("kid") and k.get("kty") == "RSA"
                    }
                except Exception as exc:  # network, JSON or key errors: the caller gets a 401
                    if keys is None:
                        raise Unauthorized("Unable to verify token") from exc
                else:
                    self._keys[url] = keys
                    self._fetched_at[url] = now
            assert keys is not None
            if kid not in keys:
                raise Unauthorized("Invalid token")
            return keys[kid]


jwks_cache = _JwksCache()


# --- verification ------------------------------------------------------------------------------


def verify_token(
    token: str,
    *,
    user_pool_id: str | None = None,
    client_id: str | None = None,
    allowed_token_uses: Iterable[str] = ("access", "id"),
) -> dict[str, Any]:
    """Verify a Cognito JWT and return its claims; any failure raises ``Unauthorized``."""
    pool = user_pool_id or os.environ.get("USER_POOL_ID")
    client = client_id or os.environ.get("USER_POOL_CLIENT_ID")
    if not pool or not client:
        raise Unauthorized("Authentication is not configured")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid token") from exc
    if header.get("alg") != "RS256" or not header.get("kid"):
        raise Unauthorized("Invalid token")
    key = jwks_cache.key(jwks_url(pool), str(header["kid"]))
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            issuer=issuer(pool),
            leeway=_LEEWAY_SECONDS,
            # Cognito access tokens carry no "aud" (it is "client_id"); checked below per token_use.
            options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid token") from exc
    token_use = claims.get("token_use")
    if token_use not in set(allowed_token_uses):
        raise Unauthorized("Invalid token")
    audience = claims.get("client_id") if token_use == "access" else claims.get("aud")
    if audience != client:
        raise Unauthorized("Invalid token")
    return claims


def _groups(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, list | tuple):
        return tuple(str(g) for g in raw)
    text = str(raw).strip()
    # HTTP API's JWT authorizer flattens arrays to "[a b]"; a JSON array is also seen in the wild.
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
            if isinstance(parsed, list):
                return tuple(str(g) for g in parsed)
        except ValueError:
            pass
        text = text[1:-1]
    return tuple(g for g in text.replace(",", " ").split() if g)


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    sub = claims.get("sub")
    if not sub:
        raise Unauthorized("Invalid token")
    email = claims.get("email")
    return Principal(
        user_id=str(sub),
        email=str(email) if email else None,
        groups=_groups(claims.get("cognito:groups")),
        claims=dict(claims),
    )


def _bearer(headers: Mapping[str, str] | None) -> str:
    value = ""
    for name, header_value in (headers or {}).items():
        if name.lower() == "authorization":
            value = header_value or ""
            break
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing bearer token")
    return token.strip()


def _authorizer_claims(raw_event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    authorizer = (raw_event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims")
    return claims if isinstance(claims, Mapping) and claims else None


def current_user(app: Any) -> Principal:
    """The caller of the request ``app`` (a Powertools resolver or Router) is handling.

    Raises ``Unauthorized`` (401) when there is no valid identity.
    """
    event = app.current_event
    return event_principal(getattr(event, "raw_event", event))


def event_principal(raw: Mapping[str, Any]) -> Principal:
    """The caller of a raw HTTP API v2.0 or ALB event (``current_user`` before any resolver runs).

    Raises ``Unauthorized`` (401) when there is no valid identity.
    """
    is_alb = "elb" in (raw.get("requestContext") or {})
    if not is_alb:
        claims = _authorizer_claims(raw)
        if claims is not None:
            return principal_from_claims(claims)
    headers = raw.get("headers") or {}
    if not headers and raw.get("multiValueHeaders"):
        headers = {k: (v[-1] if v else "") for k, v in raw["multiValueHeaders"].items()}
    return principal_from_claims(verify_token(_bearer(headers)))


# --- standing: is the caller still enabled, still in the group? ---------------------------------
#
# A JWT stays valid until it expires (access tokens: ACCESS_TOKEN_MINUTES in
# infra/constructs/identity.py), whatever happens to its user meanwhile. Privileged routes therefore
# also ask Cognito (AdminGetUser, AdminListGroupsForUser) whether the user is still enabled and still
# in the group. The answer is cached per user for STANDING_TTL_SECONDS: a disabled or demoted user
# loses privileged access within that window, and Cognito sees one pair of calls per user per window
# per warm Lambda, not one per request.

STANDING_TTL_SECONDS = 10.0
_STANDING_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Standing:
    """What Cognito says about a user now: ``exists`` and ``enabled``, and its groups."""

    exists: bool
    enabled: bool = False
    groups: tuple[str, ...] = ()


def _cognito_standing(user_pool_id: str, username: str) -> Standing:
    """Default transport: boto3 (imported lazily: most requests never need it)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    client = _standing_clients.get("cognito")
    if client is None:
        config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})
        client = _standing_clients.setdefault("cognito", boto3.client("cognito-idp", config=config))
    try:
        user = client.admin_get_user(UserPoolId=user_pool_id, Username=username)
        groups = client.admin_list_groups_for_user(UserPoolId=user_pool_id, Username=username, Limit=60)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "UserNotFoundException":
            return Standing(exists=False)
        raise
    return Standing(
        exists=True,
        enabled=bool(user.get("Enabled", True)),
        groups=tuple(g["GroupName"] for g in groups.get("Groups", [])),
    )


_standing_clients: dict[str, Any] = {}
# Replaceable transport, like ``fetch_jwks``.
fetch_standing: Callable[[str, str], Standing] = _cognito_standing


class _StandingCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, Standing]] = {}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, user_pool_id: str, username: str) -> Standing:
        key = (user_pool_id, username)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and self.clock() - cached[0] < STANDING_TTL_SECONDS:
                return cached[1]
        try:
            standing = fetch_standing(user_pool_id, username)
        except Exception as exc:  # Cognito unreachable or refusing us: privileged routes fail closed
            raise ServiceUnavailable("Unable to verify the caller's standing") from exc
        with self._lock:
            if len(self._entries) >= _STANDING_MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (self.clock(), standing)
        return standing


standing_cache = _StandingCache()


def _cognito_username(principal: Principal) -> str:
    # Access tokens carry "username", id tokens "cognito:username"; with email sign-in both are the sub.
    claims = principal.claims
    return str(claims.get("username") or claims.get("cognito:username") or principal.user_id)


def _enabled_standing(principal: Principal) -> Standing:
    """Cognito's (cached) standing of the caller, who must still exist and be enabled: else 401."""
    pool = os.environ.get("USER_POOL_ID")
    if not pool:
        raise Unauthorized("Authentication is not configured")
    standing = standing_cache.get(pool, _cognito_username(principal))
    if not (standing.exists and standing.enabled):
        raise Unauthorized("The account is disabled or deleted")
    return standing


def require_active(app: Any) -> Principal:
    """The caller, whose Cognito user must still exist and be enabled (cached): else 401."""
    principal = current_user(app)
    _enabled_standing(principal)
    return principal


def admins_group() -> str:
    """The admins' Cognito group: ``$ADMINS_GROUP``, which CDK sets from ``infra.constructs.identity``
    (its one definition); ``admins`` when unset, as in unit tests."""
    return os.environ.get("ADMINS_GROUP") or "admins"


def is_admin(app: Any) -> bool:
    """Whether the signed-in caller's token says admin (401 when nobody is signed in). For what an
    admin may *see*; routes that *change* things use ``require_group``, which also asks Cognito."""
    return current_user(app).in_group(admins_group())


def require_group(app: Any, group: str | None = None) -> Principal:
    """The caller, who must belong to ``group`` (default ``admins_group()``): else 403.

    The token's ``cognito:groups`` and Cognito now (cached, see ``require_active``) must both say so;
    a disabled or deleted user gets 401.
    """
    wanted = group or admins_group()
    principal = current_user(app)
    if not principal.in_group(wanted) or wanted not in _enabled_standing(principal).groups:
        raise Forbidden(f"Requires membership of group '{wanted}'")
    return principal
