"""CloudFront signed cookies / signed URLs with a custom policy: one module for the signer (the
functions that hand out playback access) and the verifier (the local edge fleet), so a grant that
works locally is byte for byte the one CloudFront accepts.

Format (CloudFront developer guide, "custom policy"):

* policy: ``{"Statement":[{"Resource":"<url with * and ?>","Condition":{"DateLessThan":
  {"AWS:EpochTime":<int>}}}]}`` -- compact JSON, keys in this order (the same bytes botocore's
  ``CloudFrontSigner.build_policy`` writes). Optional conditions ``DateGreaterThan`` and
  ``IpAddress`` (``AWS:SourceIp``, CIDR) are honoured by :func:`verify`.
* signature: RSA PKCS#1 v1.5 over SHA-1 of the policy bytes (CloudFront's only algorithm for key
  groups).
* encoding: standard base64 with ``+``->``-``, ``=``->``_``, ``/``->``~`` (URL- and cookie-safe).
* cookies ``CloudFront-Policy``, ``CloudFront-Signature``, ``CloudFront-Key-Pair-Id``; or query
  parameters ``Policy``, ``Signature``, ``Key-Pair-Id`` (same values).

``verify`` also accepts canned-policy URLs/cookies (``Expires`` instead of ``Policy``), which
CloudFront accepts too. Wildcards follow CloudFront: ``*`` matches any run of characters (``/``
included), ``?`` exactly one; everything else is literal and case-sensitive (no regex is built from
the resource, so a resource cannot smuggle pattern syntax).

Functions that sign use :meth:`CdnSigner.from_environment`: env ``CDN_URL`` (``https://<domain>``
in AWS, the local front door locally), ``CDN_KEY_PAIR_ID`` (the CloudFront PublicKey id),
``CDN_SIGNING_KEY_SECRET`` (Secrets Manager secret name; SecretString = the private key PEM) and,
optionally, ``CDN_SIGNING_KEY_STAGE`` (the secret version's staging label that holds the private key
matching ``CDN_KEY_PAIR_ID``; ``infra.cdn_keys`` labels every version with the public key's
fingerprint, so functions still on the old key id keep signing with the old key during a rotation;
without it the current version is read).
The secret is read once per warm process.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# --- names ---------------------------------------------------------------------------------------
COOKIE_POLICY = "CloudFront-Policy"
COOKIE_SIGNATURE = "CloudFront-Signature"
COOKIE_KEY_PAIR_ID = "CloudFront-Key-Pair-Id"
COOKIE_EXPIRES = "CloudFront-Expires"
QUERY_POLICY = "Policy"
QUERY_SIGNATURE = "Signature"
QUERY_KEY_PAIR_ID = "Key-Pair-Id"
QUERY_EXPIRES = "Expires"
# Query parameters CloudFront strips before comparing the URL with the policy's resource.
SIGNING_QUERY_PARAMS = frozenset({QUERY_POLICY, QUERY_SIGNATURE, QUERY_KEY_PAIR_ID, QUERY_EXPIRES})

ENV_CDN_URL = "CDN_URL"
ENV_KEY_PAIR_ID = "CDN_KEY_PAIR_ID"
ENV_SECRET = "CDN_SIGNING_KEY_SECRET"
ENV_SECRET_STAGE = "CDN_SIGNING_KEY_STAGE"

# --- reasons verify() gives (None = valid) ---------------------------------------------------------
MISSING = "missing"  # no signing parameters at all
MALFORMED = "malformed"  # bad characters, base64, JSON or policy shape
OVERSIZED = "oversized"  # a parameter (or the URL) longer than any real grant
UNKNOWN_KEY = "unknown_key"  # Key-Pair-Id not in the trusted key group
BAD_SIGNATURE = "bad_signature"
EXPIRED = "expired"  # now >= DateLessThan
NOT_YET_VALID = "not_yet_valid"  # now < DateGreaterThan
IP_MISMATCH = "ip_mismatch"  # policy has IpAddress and the viewer is outside it (or unknown)
OUTSIDE_RESOURCE = "outside_resource"  # URL not matched by the policy's resource

# --- bounds, checked before any decoding or parsing -------------------------------------------------
# A custom policy with one resource is ~150-400 bytes (base64 ~1.33x); cookies are capped at 4 KB by
# browsers and CloudFront's whole URL at 8,192 bytes. An RSA-4096 signature is 684 base64 chars.
MAX_POLICY_CHARS = 4096
MAX_SIGNATURE_CHARS = 1024
MAX_KEY_ID_CHARS = 128
MAX_EXPIRES_CHARS = 12
MAX_URL_CHARS = 8192
MAX_RESOURCE_CHARS = 2048

_B64_IN = b"-_~"
_B64_OUT = b"+=/"
_CF_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~")
_KEY_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def cf_b64encode(data: bytes) -> str:
    """CloudFront's URL-safe base64 (``+``->``-``, ``=``->``_``, ``/``->``~``)."""
    return base64.b64encode(data).translate(bytes.maketrans(_B64_OUT, _B64_IN)).decode("ascii")


def cf_b64decode(text: str) -> bytes:
    """Inverse of :func:`cf_b64encode`; raises ValueError on any character outside its alphabet."""
    if not text or not set(text) <= _CF_B64_CHARS:
        raise ValueError("not CloudFront base64")
    try:
        return base64.b64decode(text.encode("ascii").translate(bytes.maketrans(_B64_IN, _B64_OUT)), validate=True)
    except binascii.Error as exc:
        raise ValueError("not CloudFront base64") from exc


def custom_policy(
    resource: str,
    expires_at: int,
    *,
    not_before: int | None = None,
    source_ip: str | None = None,
) -> bytes:
    """The policy bytes that get signed. Key order as botocore writes it (Resource, then Condition:
    DateLessThan, IpAddress, DateGreaterThan), compact separators."""
    condition: dict[str, Any] = {"DateLessThan": {"AWS:EpochTime": int(expires_at)}}
    if source_ip:
        condition["IpAddress"] = {"AWS:SourceIp": source_ip if "/" in source_ip else f"{source_ip}/32"}
    if not_before is not None:
        condition["DateGreaterThan"] = {"AWS:EpochTime": int(not_before)}
    statement = {"Statement": [{"Resource": resource, "Condition": condition}]}
    return json.dumps(statement, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Grant:
    """One signed grant, in both forms CloudFront accepts (same policy, same signature)."""

    resource: str  # e.g. "https://dxyz.cloudfront.net/titles/T/hls/cap2160/cap1080/*"
    expires_at: int  # epoch seconds
    cookies: dict[str, str]  # CloudFront-Policy, CloudFront-Signature, CloudFront-Key-Pair-Id
    query: str  # "Policy=...&Signature=...&Key-Pair-Id=..." (signed-URL form)

    def sign_url(self, url: str) -> str:
        """``url`` with the signed-URL query appended (``url`` must lie inside ``resource``)."""
        return f"{url}{'&' if '?' in url else '?'}{self.query}"


def _load_private_key(private_key_pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("CloudFront signing keys are RSA")
    return key


def _check_resource(resource: str) -> None:
    if not isinstance(resource, str) or not resource or len(resource) > MAX_RESOURCE_CHARS:
        raise ValueError(f"resource must be 1..{MAX_RESOURCE_CHARS} characters")
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in resource):
        raise ValueError("resource must be printable ASCII without spaces")


def _check_key_id(key_pair_id: str) -> None:
    if not key_pair_id or len(key_pair_id) > MAX_KEY_ID_CHARS or not set(key_pair_id) <= _KEY_ID_CHARS:
        raise ValueError("key_pair_id must be 1..128 characters of [A-Za-z0-9_-]")


def _sign(key: rsa.RSAPrivateKey, *, resource: str, expires_at: int, key_pair_id: str) -> Grant:
    _check_resource(resource)
    _check_key_id(key_pair_id)
    if isinstance(expires_at, bool) or not isinstance(expires_at, int) or expires_at <= 0:
        raise ValueError("expires_at must be a positive integer (epoch seconds)")
    policy = custom_policy(resource, expires_at)
    signature = key.sign(policy, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 -- CloudFront's algorithm
    policy_b64, signature_b64 = cf_b64encode(policy), cf_b64encode(signature)
    return Grant(
        resource=resource,
        expires_at=expires_at,
        cookies={
            COOKIE_POLICY: policy_b64,
            COOKIE_SIGNATURE: signature_b64,
            COOKIE_KEY_PAIR_ID: key_pair_id,
        },
        query=f"{QUERY_POLICY}={policy_b64}&{QUERY_SIGNATURE}={signature_b64}&{QUERY_KEY_PAIR_ID}={key_pair_id}",
    )


def sign_grant(*, resource: str, expires_at: int, key_pair_id: str, private_key_pem: bytes) -> Grant:
    """Sign a custom policy granting ``resource`` (wildcards allowed) until ``expires_at``."""
    return _sign(
        _load_private_key(private_key_pem),
        resource=resource,
        expires_at=expires_at,
        key_pair_id=key_pair_id,
    )


# --- verification ----------------------------------------------------------------------------------


def wildcard_match(pattern: str, text: str) -> bool:
    """CloudFront's resource matching: ``*`` = any run of characters (``/`` included, possibly
    empty), ``?`` = exactly one character, everything else literal. Iterative greedy matching with
    one backtrack point: O(len(pattern) * len(text)) worst case, no regex, no recursion."""
    p = t = 0
    star_p, star_t = -1, 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star_p, star_t = p, t
            p += 1
        elif star_p >= 0:
            # Let the last '*' swallow one more character and retry from there.
            star_t += 1
            p, t = star_p + 1, star_t
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def url_for_policy(url: str) -> str:
    """The request URL as CloudFront compares it with a policy's resource: the signing parameters
    (Policy, Signature, Key-Pair-Id, Expires) removed from the query string, the rest kept in order."""
    parts = urlsplit(url)
    if not parts.query:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    kept = [piece for piece in parts.query.split("&") if piece and piece.split("=", 1)[0] not in SIGNING_QUERY_PARAMS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), ""))


def signing_params_from_query(query: str) -> dict[str, str]:
    """The signing parameters of a query string (others ignored); bounded before parsing."""
    if len(query) > MAX_URL_CHARS:
        return {}  # not parsed; verify() refuses the URL itself as oversized
    return {
        name: value
        for name, value in parse_qsl(query, keep_blank_values=True, max_num_fields=64)
        if name in SIGNING_QUERY_PARAMS
    }


def _pick(params: Mapping[str, str], cookie: str, query: str) -> str | None:
    value = params.get(cookie)
    return value if value is not None else params.get(query)


@lru_cache(maxsize=64)
def _load_public_key(pem: bytes) -> rsa.RSAPublicKey | None:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def _epoch(condition: Mapping[str, Any], name: str) -> int | None:
    """``Condition[name]["AWS:EpochTime"]`` as int; None when absent; ValueError when malformed."""
    if name not in condition:
        return None
    block = condition[name]
    if not isinstance(block, dict) or set(block) != {"AWS:EpochTime"}:
        raise ValueError(name)
    value = block["AWS:EpochTime"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(name)
    return value


@dataclass(frozen=True)
class _Policy:
    resource: str
    expires_at: int
    not_before: int | None
    source_ip: ipaddress.IPv4Network | ipaddress.IPv6Network | None


def _parse_policy(raw: bytes) -> _Policy:
    """A custom policy's one statement; ValueError for anything CloudFront would not accept."""
    doc = json.loads(raw.decode("utf-8"))
    if not isinstance(doc, dict) or set(doc) != {"Statement"}:
        raise ValueError("policy")
    statements = doc["Statement"]
    if not isinstance(statements, list) or len(statements) != 1 or not isinstance(statements[0], dict):
        raise ValueError("statement")
    statement = statements[0]
    if set(statement) - {"Resource", "Condition"}:
        raise ValueError("statement keys")
    resource, condition = statement.get("Resource"), statement.get("Condition")
    # CloudFront treats a missing Resource as "everything this key group protects"; grants here
    # always name one, so a policy without it is refused rather than honoured as a master key.
    if not isinstance(resource, str) or not resource or len(resource) > MAX_RESOURCE_CHARS:
        raise ValueError("resource")
    if not isinstance(condition, dict) or set(condition) - {"DateLessThan", "DateGreaterThan", "IpAddress"}:
        raise ValueError("condition")
    expires_at = _epoch(condition, "DateLessThan")
    if expires_at is None:
        raise ValueError("DateLessThan is required")
    network = None
    if "IpAddress" in condition:
        block = condition["IpAddress"]
        if not isinstance(block, dict) or set(block) != {"AWS:SourceIp"} or not isinstance(block["AWS:SourceIp"], str):
            raise ValueError("IpAddress")
        network = ipaddress.ip_network(block["AWS:SourceIp"], strict=False)
    return _Policy(resource, expires_at, _epoch(condition, "DateGreaterThan"), network)


def verify(
    *,
    url: str,
    params: Mapping[str, str],
    public_keys: Mapping[str, bytes],
    now: float,
    source_ip: str | None = None,
) -> str | None:
    """Check a request the way CloudFront checks a signed URL or signed cookies.

    url: the full request URL (scheme://host/path?query); signing query parameters are ignored
        when it is compared with the policy's resource.
    params: the signing values, by cookie names (``CloudFront-Policy`` ...) or query names
        (``Policy`` ...); :func:`signing_params_from_query` extracts the latter from a query string.
        Pass ONE source: CloudFront judges a request that carries a signed URL by the URL alone and
        ignores its cookies, so a caller takes the query's values when there are any, else the cookies.
    public_keys: key id -> public key PEM (the key group).
    source_ip: the viewer's address, needed only when a policy carries an ``IpAddress`` condition
        (a policy with one is refused when the address is unknown).
    Returns None when the request may be served, else one of the reason constants above.
    """
    if len(url) > MAX_URL_CHARS:
        return OVERSIZED
    policy_b64 = _pick(params, COOKIE_POLICY, QUERY_POLICY)
    expires_raw = _pick(params, COOKIE_EXPIRES, QUERY_EXPIRES)
    signature_b64 = _pick(params, COOKIE_SIGNATURE, QUERY_SIGNATURE)
    key_id = _pick(params, COOKIE_KEY_PAIR_ID, QUERY_KEY_PAIR_ID)
    if policy_b64 is None and expires_raw is None and signature_b64 is None and key_id is None:
        return MISSING
    if (policy_b64 is None) == (expires_raw is None) or signature_b64 is None or key_id is None:
        return MALFORMED
    # Sizes first: nothing below decodes, parses or hashes more than these bounds.
    if (
        len(signature_b64) > MAX_SIGNATURE_CHARS
        or len(key_id) > MAX_KEY_ID_CHARS
        or (policy_b64 is not None and len(policy_b64) > MAX_POLICY_CHARS)
        or (expires_raw is not None and len(expires_raw) > MAX_EXPIRES_CHARS)
    ):
        return OVERSIZED
    if not set(key_id) <= _KEY_ID_CHARS:
        return MALFORMED
    pem = public_keys.get(key_id)
    public_key = _load_public_key(pem) if pem is not None else None
    if public_key is None:
        return UNKNOWN_KEY
    target = url_for_policy(url)
    try:
        signature = cf_b64decode(signature_b64)
        if policy_b64 is not None:
            raw = cf_b64decode(policy_b64)
            policy = _parse_policy(raw)
        else:
            # Canned policy: the resource is the exact URL, the signed bytes are rebuilt from it.
            if expires_raw is None or not expires_raw.isascii() or not expires_raw.isdigit():
                return MALFORMED
            policy = _Policy(target, int(expires_raw), None, None)
            raw = custom_policy(target, policy.expires_at)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return MALFORMED
    try:
        public_key.verify(signature, raw, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    except InvalidSignature:
        return BAD_SIGNATURE
    if now >= policy.expires_at:
        return EXPIRED
    if policy.not_before is not None and now < policy.not_before:
        return NOT_YET_VALID
    if policy.source_ip is not None:
        try:
            if source_ip is None or ipaddress.ip_address(source_ip) not in policy.source_ip:
                return IP_MISMATCH
        except ValueError:
            return IP_MISMATCH
    if not wildcard_match(policy.resource, target):
        return OUTSIDE_RESOURCE
    return None


# --- the signer functions use ----------------------------------------------------------------------


class CdnSigner:
    """Signs grants for one distribution with one key (the private key parsed once)."""

    def __init__(
        self,
        *,
        cdn_url: str,
        key_pair_id: str,
        private_key_pem: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(cdn_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"CDN_URL must be http(s)://host[:port][/path], got {cdn_url!r}")
        _check_key_id(key_pair_id)
        self.cdn_url = cdn_url.rstrip("/")
        self.key_pair_id = key_pair_id
        self._key = _load_private_key(private_key_pem)
        self._clock = clock

    def grant(self, prefix: str, ttl_s: int) -> Grant:
        """A grant for every object under ``prefix`` (``titles/T/hls/cap2160/``) for ``ttl_s``."""
        if prefix.startswith("/") or "*" in prefix or "?" in prefix:
            # A caller-supplied '*' or '?' would widen the grant beyond the prefix.
            raise ValueError(f"prefix must be a relative key prefix without wildcards: {prefix!r}")
        self._check_ttl(ttl_s)
        return _sign(
            self._key,
            resource=f"{self.cdn_url}/{prefix}*",
            expires_at=int(self._clock()) + ttl_s,
            key_pair_id=self.key_pair_id,
        )

    def signed_url(self, key: str, ttl_s: int) -> str:
        """A signed URL for exactly one object (``titles/T/hls/master.m3u8``; no wildcard)."""
        if key.startswith("/") or "*" in key or "?" in key:
            raise ValueError(f"key must be a relative object key without wildcards: {key!r}")
        self._check_ttl(ttl_s)
        url = f"{self.cdn_url}/{key}"
        grant = _sign(self._key, resource=url, expires_at=int(self._clock()) + ttl_s, key_pair_id=self.key_pair_id)
        return grant.sign_url(url)

    @staticmethod
    def _check_ttl(ttl_s: int) -> None:
        if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or ttl_s <= 0:
            raise ValueError("ttl_s must be a positive integer")

    @classmethod
    def from_environment(cls) -> CdnSigner:
        """The signer the environment describes; the secret is fetched once per warm process."""
        try:
            cdn_url = os.environ[ENV_CDN_URL]
            key_pair_id = os.environ[ENV_KEY_PAIR_ID]
            secret = os.environ[ENV_SECRET]
        except KeyError as exc:
            raise RuntimeError(f"{exc.args[0]} is not set (Delivery.grant_signing sets it)") from None
        stage = os.environ.get(ENV_SECRET_STAGE, "").strip() or None
        cache_key = (cdn_url, key_pair_id, secret, stage)
        with _signers_lock:
            signer = _signers.get(cache_key)
            if signer is None:
                signer = cls(
                    cdn_url=cdn_url,
                    key_pair_id=key_pair_id,
                    private_key_pem=_fetch_private_key(secret, stage),
                )
                _signers[cache_key] = signer
            return signer


_signers_lock = threading.Lock()
_signers: dict[tuple[str, str, str, str | None], CdnSigner] = {}


def _fetch_private_key(secret_name: str, stage: str | None) -> bytes:
    import boto3  # noqa: PLC0415 -- the verifier (edge) never needs boto3

    kwargs: dict[str, Any] = {"SecretId": secret_name}
    if stage:
        kwargs["VersionStage"] = stage
    value = boto3.client("secretsmanager").get_secret_value(**kwargs)
    return str(value["SecretString"]).encode("utf-8")


def clear_cache() -> None:
    """Forget cached signers (tests; a process that must pick up a rotated key)."""
    with _signers_lock:
        _signers.clear()
