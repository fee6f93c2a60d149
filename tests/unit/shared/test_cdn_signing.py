"""reelstack_common.cdn_signing: CloudFront custom-policy grants, signed and verified the way
CloudFront does (botocore's CloudFrontSigner as the reference), and hostile parameters refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from moto import mock_aws
from reelstack_common import cdn_signing as cs

CDN = "https://d111111abcdef8.cloudfront.net"
KEY_ID = "K2JCJMDEHXQW5F"
NOW = 1_800_000_000
TITLE = f"{CDN}/titles/T1/hls/cap2160/cap1080/*"


def _pem(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pub(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def keys(key: Any) -> dict[str, bytes]:
    return {KEY_ID: _pub(key)}


def _grant(key: Any, resource: str = TITLE, expires_at: int = NOW + 600) -> cs.Grant:
    return cs.sign_grant(resource=resource, expires_at=expires_at, key_pair_id=KEY_ID, private_key_pem=_pem(key))


def _check(url: str, params: dict[str, str], keys: dict[str, bytes], now: float = NOW, **kw: Any) -> str | None:
    return cs.verify(url=url, params=params, public_keys=keys, now=now, **kw)


def _forge_policy(key: Any, doc: Any) -> dict[str, str]:
    raw = json.dumps(doc, separators=(",", ":")).encode()
    sig = key.sign(raw, padding.PKCS1v15(), hashes.SHA1())
    return {"Policy": cs.cf_b64encode(raw), "Signature": cs.cf_b64encode(sig), "Key-Pair-Id": KEY_ID}


# --- the format is CloudFront's ---------------------------------------------------------------------


def test_signed_url_is_identical_to_botocores(key: Any) -> None:
    url = f"{CDN}/titles/T1/hls/cap2160/cap1080/720p/seg_00001.m4s"
    signer = CloudFrontSigner(KEY_ID, lambda msg: key.sign(msg, padding.PKCS1v15(), hashes.SHA1()))
    policy = signer.build_policy(TITLE, datetime.fromtimestamp(NOW + 600, tz=UTC))
    expected = signer.generate_presigned_url(url, policy=policy)
    grant = _grant(key)
    assert grant.sign_url(url) == expected
    assert cs.custom_policy(TITLE, NOW + 600) == policy.encode()


def test_policy_with_optional_conditions_matches_botocore(key: Any) -> None:
    signer = CloudFrontSigner(KEY_ID, lambda msg: b"")
    policy = signer.build_policy(
        TITLE,
        datetime.fromtimestamp(NOW + 600, tz=UTC),
        date_greater_than=datetime.fromtimestamp(NOW - 5, tz=UTC),
        ip_address="203.0.113.7",
    )
    assert cs.custom_policy(TITLE, NOW + 600, not_before=NOW - 5, source_ip="203.0.113.7") == policy.encode()


def test_cookies_and_query_carry_the_same_policy_and_signature(key: Any) -> None:
    grant = _grant(key)
    assert set(grant.cookies) == {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    assert grant.query == (
        f"Policy={grant.cookies['CloudFront-Policy']}&Signature={grant.cookies['CloudFront-Signature']}"
        f"&Key-Pair-Id={KEY_ID}"
    )
    # CloudFront's alphabet only: nothing a cookie or query string would need to escape.
    for value in (grant.cookies["CloudFront-Policy"], grant.cookies["CloudFront-Signature"]):
        assert not set(value) & set("+=/")
    doc = json.loads(cs.cf_b64decode(grant.cookies["CloudFront-Policy"]))
    assert doc == {"Statement": [{"Resource": TITLE, "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 600}}}]}


def test_botocore_signed_url_verifies(key: Any, keys: dict[str, bytes]) -> None:
    """The other direction: a URL CloudFront's reference signer makes passes our verifier."""
    url = f"{CDN}/titles/T1/hls/cap2160/cap1080/master.m3u8"
    signer = CloudFrontSigner(KEY_ID, lambda msg: key.sign(msg, padding.PKCS1v15(), hashes.SHA1()))
    policy = signer.build_policy(TITLE, datetime.fromtimestamp(NOW + 60, tz=UTC))
    signed = signer.generate_presigned_url(url, policy=policy)
    query = signed.split("?", 1)[1]
    assert _check(signed, cs.signing_params_from_query(query), keys) is None
    canned = signer.generate_presigned_url(url, date_less_than=datetime.fromtimestamp(NOW + 60, tz=UTC))
    assert _check(canned, cs.signing_params_from_query(canned.split("?", 1)[1]), keys) is None
    assert _check(canned.replace("master", "other"), cs.signing_params_from_query(canned.split("?", 1)[1]), keys) == (
        cs.BAD_SIGNATURE
    )


def test_base64_round_trip_and_alphabet() -> None:
    data = bytes(range(256))
    assert cs.cf_b64decode(cs.cf_b64encode(data)) == data
    with pytest.raises(ValueError):
        cs.cf_b64decode("abc+def=")  # standard base64 characters are not CloudFront's
    with pytest.raises(ValueError):
        cs.cf_b64decode("")


# --- verify: accepted ---------------------------------------------------------------------------------


def test_cookie_grant_covers_every_object_under_the_prefix(key: Any, keys: dict[str, bytes]) -> None:
    grant = _grant(key)
    for path in ("720p/init.mp4", "720p/seg_00001.m4s", "cap720/480p/seg_9.m4s", "master.m3u8", ""):
        assert _check(f"{CDN}/titles/T1/hls/cap2160/cap1080/{path}", grant.cookies, keys) is None


def test_signed_url_with_extra_query_parameters(key: Any, keys: dict[str, bytes]) -> None:
    grant = _grant(key)
    url = grant.sign_url(f"{CDN}/titles/T1/hls/cap2160/cap1080/720p/seg.m4s?_HLS_msn=3")
    query = url.split("?", 1)[1]
    assert _check(url, cs.signing_params_from_query(query), keys) is None


# --- verify: refused ----------------------------------------------------------------------------------


def test_other_title_or_higher_tier_is_outside_the_resource(key: Any, keys: dict[str, bytes]) -> None:
    grant = _grant(key)
    assert _check(f"{CDN}/titles/T2/hls/cap2160/cap1080/720p/s.m4s", grant.cookies, keys) == cs.OUTSIDE_RESOURCE
    # A 1080-capped grant does not reach the 2160 tier's renditions.
    assert _check(f"{CDN}/titles/T1/hls/cap2160/2160p/s.m4s", grant.cookies, keys) == cs.OUTSIDE_RESOURCE
    assert _check(f"{CDN}/titles/T1/hls/master.m3u8", grant.cookies, keys) == cs.OUTSIDE_RESOURCE
    assert _check("https://other.example/titles/T1/hls/cap2160/cap1080/a", grant.cookies, keys) == (cs.OUTSIDE_RESOURCE)
    assert _check(f"{CDN}/work/T1/chunk", grant.cookies, keys) == cs.OUTSIDE_RESOURCE


def test_expired_and_not_yet_valid(key: Any, keys: dict[str, bytes]) -> None:
    grant = _grant(key, expires_at=NOW + 10)
    url = f"{CDN}/titles/T1/hls/cap2160/cap1080/a.m4s"
    assert _check(url, grant.cookies, keys, now=NOW + 9.9) is None
    assert _check(url, grant.cookies, keys, now=NOW + 10) == cs.EXPIRED
    doc = {
        "Statement": [
            {
                "Resource": TITLE,
                "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 60}, "DateGreaterThan": {"AWS:EpochTime": NOW}},
            }
        ]
    }
    params = _forge_policy(key, doc)
    assert _check(url, params, keys, now=NOW - 1) == cs.NOT_YET_VALID
    assert _check(url, params, keys, now=NOW) is None


def test_ip_condition(key: Any, keys: dict[str, bytes]) -> None:
    doc = {
        "Statement": [
            {
                "Resource": TITLE,
                "Condition": {
                    "DateLessThan": {"AWS:EpochTime": NOW + 60},
                    "IpAddress": {"AWS:SourceIp": "203.0.113.0/24"},
                },
            }
        ]
    }
    params = _forge_policy(key, doc)
    url = f"{CDN}/titles/T1/hls/cap2160/cap1080/a.m4s"
    assert _check(url, params, keys, source_ip="203.0.113.9") is None
    assert _check(url, params, keys, source_ip="198.51.100.1") == cs.IP_MISMATCH
    assert _check(url, params, keys) == cs.IP_MISMATCH  # address unknown: refuse, never assume
    assert _check(url, params, keys, source_ip="not-an-ip") == cs.IP_MISMATCH


def test_tampered_policy_or_signature(key: Any, other_key: Any, keys: dict[str, bytes]) -> None:
    grant = _grant(key)
    url = f"{CDN}/titles/T2/hls/cap2160/a.m4s"
    # Re-point the policy at another title, keep the signature: the signature no longer matches.
    wider = cs.cf_b64encode(cs.custom_policy(f"{CDN}/titles/*", NOW + 600))
    assert _check(url, {**grant.cookies, "CloudFront-Policy": wider}, keys) == cs.BAD_SIGNATURE
    # Signed with a key that is not the one registered under this id.
    forged = cs.sign_grant(resource=TITLE, expires_at=NOW + 600, key_pair_id=KEY_ID, private_key_pem=_pem(other_key))
    assert _check(f"{CDN}/titles/T1/hls/cap2160/cap1080/a", forged.cookies, keys) == cs.BAD_SIGNATURE


def test_unknown_key_id(key: Any, keys: dict[str, bytes]) -> None:
    grant = _grant(key)
    params = {**grant.cookies, "CloudFront-Key-Pair-Id": "KUNKNOWN"}
    assert _check(f"{CDN}/titles/T1/hls/cap2160/cap1080/a", params, keys) == cs.UNKNOWN_KEY
    assert _check(f"{CDN}/titles/T1/hls/cap2160/cap1080/a", grant.cookies, {KEY_ID: b"not a pem"}) == cs.UNKNOWN_KEY


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({}, cs.MISSING),
        ({"CloudFront-Policy": "abc"}, cs.MALFORMED),
        ({"CloudFront-Signature": "abc", "CloudFront-Key-Pair-Id": KEY_ID}, cs.MALFORMED),
        ({"Policy": "A" * 5000, "Signature": "abc", "Key-Pair-Id": KEY_ID}, cs.OVERSIZED),
        ({"Policy": "abcd", "Signature": "A" * 2000, "Key-Pair-Id": KEY_ID}, cs.OVERSIZED),
        ({"Policy": "abcd", "Signature": "abcd", "Key-Pair-Id": "K" * 200}, cs.OVERSIZED),
        ({"Policy": "abcd", "Signature": "abcd", "Key-Pair-Id": "K/../x"}, cs.MALFORMED),
        ({"Policy": "ab+d", "Signature": "abcd", "Key-Pair-Id": KEY_ID}, cs.MALFORMED),
        ({"Policy": "a", "Signature": "abcd", "Key-Pair-Id": KEY_ID}, cs.MALFORMED),
        ({"Expires": "12ab", "Signature": "abcd", "Key-Pair-Id": KEY_ID}, cs.MALFORMED),
        ({"Expires": "1" * 40, "Signature": "abcd", "Key-Pair-Id": KEY_ID}, cs.OVERSIZED),
        ({"Policy": "abcd", "Expires": "1", "Signature": "abcd", "Key-Pair-Id": KEY_ID}, cs.MALFORMED),
    ],
)
def test_malformed_and_oversized_parameters(params: dict[str, str], reason: str, keys: dict[str, bytes]) -> None:
    assert _check(f"{CDN}/titles/T1/hls/a", params, keys) == reason


@pytest.mark.parametrize(
    "doc",
    [
        [],
        {"Statement": []},
        {"Statement": [{"Resource": TITLE}]},  # no expiry
        {"Statement": [{"Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 60}}}]},  # no resource
        {"Statement": [{"Resource": TITLE, "Condition": {"DateLessThan": {"AWS:EpochTime": "soon"}}}]},
        {"Statement": [{"Resource": TITLE, "Condition": {"DateLessThan": {"AWS:EpochTime": True}}}]},
        {"Statement": [{"Resource": TITLE, "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 1}, "X": {}}}]},
        {"Statement": [{"Resource": TITLE, "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 1}}}] * 2},
        {"Statement": [{"Resource": 7, "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 1}}}]},
        {
            "Statement": [
                {
                    "Resource": TITLE,
                    "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 1}, "IpAddress": {"AWS:SourceIp": "x"}},
                }
            ]
        },
    ],
)
def test_validly_signed_but_malformed_policy_is_refused(key: Any, keys: dict[str, bytes], doc: Any) -> None:
    assert _check(f"{CDN}/titles/T1/hls/cap2160/cap1080/a", _forge_policy(key, doc), keys) == cs.MALFORMED


def test_non_json_and_deeply_nested_policy(key: Any, keys: dict[str, bytes]) -> None:
    for raw in (b"\xff\xfe not utf8", b"{not json", b"[" * 3000):
        params = {
            "Policy": cs.cf_b64encode(raw),
            "Signature": cs.cf_b64encode(key.sign(raw, padding.PKCS1v15(), hashes.SHA1())),
            "Key-Pair-Id": KEY_ID,
        }
        assert _check(f"{CDN}/titles/T1/a", params, keys) in (cs.MALFORMED, cs.OVERSIZED)


def test_oversized_url_and_query(key: Any, keys: dict[str, bytes]) -> None:
    grant = _grant(key)
    long_url = f"{CDN}/titles/T1/hls/cap2160/cap1080/" + "a" * 9000
    assert _check(long_url, grant.cookies, keys) == cs.OVERSIZED
    huge_query = "a=" + "b" * 9000
    assert cs.signing_params_from_query(huge_query) == {}
    assert _check(f"{CDN}/x?{huge_query}", cs.signing_params_from_query(huge_query), keys) == cs.OVERSIZED


# --- wildcard matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text", "match"),
    [
        ("https://d/titles/T1/*", "https://d/titles/T1/a/b/c.m4s", True),
        ("https://d/titles/T1/*", "https://d/titles/T1/", True),
        ("https://d/titles/T1/*", "https://d/titles/T10/a", False),
        ("https://d/titles/T1*", "https://d/titles/T10/a", True),
        ("https://d/a?c", "https://d/abc", True),
        ("https://d/a?c", "https://d/ac", False),
        ("https://d/a?c", "https://d/abbc", False),
        ("http*://d/*.m3u8", "https://d/x/y.m3u8", True),
        ("http*://d/*.m3u8", "https://d/x/y.m4s", False),
        ("https://d/titles/T.1/*", "https://d/titles/TX1/a", False),  # '.' is literal, not regex
        ("https://d/(a|b)/*", "https://d/a/x", False),
        ("https://d/[ab]/*", "https://d/[ab]/x", True),
        ("*", "", True),
        ("", "", True),
        ("a*b*c", "aXXbYYc", True),
        ("a*b*c", "aXXbYY", False),
        ("HTTPS://D/*", "https://d/x", False),  # case-sensitive
    ],
)
def test_wildcard_match(pattern: str, text: str, match: bool) -> None:
    assert cs.wildcard_match(pattern, text) is match


def test_wildcard_match_is_not_exponential() -> None:
    # A classic regex-backtracking bomb: many stars and a text that almost matches.
    pattern = "*a" * 60 + "b"
    assert cs.wildcard_match(pattern, "a" * 2000) is False


def test_url_for_policy_strips_only_signing_parameters() -> None:
    url = f"{CDN}/p/a.m4s?x=1&Policy=P&Signature=S&Key-Pair-Id=K&y=2&Expires=3"
    assert cs.url_for_policy(url) == f"{CDN}/p/a.m4s?x=1&y=2"
    assert cs.url_for_policy(f"{CDN}/p/a.m4s?Policy=P") == f"{CDN}/p/a.m4s"


# --- signer -------------------------------------------------------------------------------------------


def test_signer_grants_a_prefix_with_ttl(key: Any, keys: dict[str, bytes]) -> None:
    signer = cs.CdnSigner(cdn_url=CDN + "/", key_pair_id=KEY_ID, private_key_pem=_pem(key), clock=lambda: NOW + 0.7)
    grant = signer.grant("titles/T1/hls/cap2160/cap1080/", ttl_s=3600)
    assert grant.resource == TITLE
    assert grant.expires_at == NOW + 3600
    assert _check(f"{CDN}/titles/T1/hls/cap2160/cap1080/720p/init.mp4", grant.cookies, keys) is None
    one = signer.signed_url("titles/T1/hls/master.m3u8", 60)
    assert one.startswith(f"{CDN}/titles/T1/hls/master.m3u8?Policy=")
    assert _check(one, cs.signing_params_from_query(one.split("?", 1)[1]), keys) is None
    assert _check(f"{CDN}/titles/T1/hls/master.m3u8x", cs.signing_params_from_query(one.split("?", 1)[1]), keys) == (
        cs.OUTSIDE_RESOURCE
    )


@pytest.mark.parametrize("prefix", ["titles/*", "titles/T?/", "/titles/T1/"])
def test_signer_refuses_wildcards_in_prefix(key: Any, prefix: str) -> None:
    signer = cs.CdnSigner(cdn_url=CDN, key_pair_id=KEY_ID, private_key_pem=_pem(key))
    with pytest.raises(ValueError):
        signer.grant(prefix, 60)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"resource": "", "expires_at": NOW},
        {"resource": "https://d/a b", "expires_at": NOW},
        {"resource": TITLE, "expires_at": 0},
        {"resource": TITLE, "expires_at": True},
        {"resource": TITLE, "expires_at": NOW, "key_pair_id": "bad id"},
    ],
)
def test_sign_grant_validates_input(key: Any, kwargs: dict[str, Any]) -> None:
    args = {"key_pair_id": KEY_ID, "private_key_pem": _pem(key), **kwargs}
    with pytest.raises(ValueError):
        cs.sign_grant(**args)


def test_signer_refuses_a_bad_cdn_url(key: Any) -> None:
    for url in ("dxyz.cloudfront.net", "ftp://d", "https://d/?q=1"):
        with pytest.raises(ValueError):
            cs.CdnSigner(cdn_url=url, key_pair_id=KEY_ID, private_key_pem=_pem(key))


def test_from_environment_reads_the_secret_once_per_process(
    key: Any, keys: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for var in ("AWS_ENDPOINT_URL", "CDN_SIGNING_KEY_STAGE"):
        monkeypatch.delenv(var, raising=False)
    cs.clear_cache()
    with mock_aws():
        sm = boto3.client("secretsmanager")
        sm.create_secret(Name="reelstack/cdn-signing-key", SecretString=_pem(key).decode())
        monkeypatch.setenv("CDN_URL", CDN)
        monkeypatch.setenv("CDN_KEY_PAIR_ID", KEY_ID)
        monkeypatch.setenv("CDN_SIGNING_KEY_SECRET", "reelstack/cdn-signing-key")
        signer = cs.CdnSigner.from_environment()
        calls: list[Any] = []
        monkeypatch.setattr(cs, "_fetch_private_key", lambda *a: calls.append(a) or b"")
        assert cs.CdnSigner.from_environment() is signer
        assert calls == []
    grant = signer.grant("titles/T1/", 60)
    assert _check(f"{CDN}/titles/T1/hls/master.m3u8", grant.cookies, keys, now=grant.expires_at - 1) is None
    cs.clear_cache()


def test_from_environment_reads_the_staged_version(key: Any, other_key: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """During a rotation the secret's current version is the new key; a function still deployed with
    the old key id reads the version labelled with the old key's fingerprint."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    cs.clear_cache()
    with mock_aws():
        sm = boto3.client("secretsmanager")
        old_label = "pk-0123456789abcdef01234567"
        # The new key is current; the old one stays reachable under its fingerprint label.
        sm.create_secret(Name="s", SecretString=_pem(other_key).decode())
        sm.put_secret_value(SecretId="s", SecretString=_pem(key).decode(), VersionStages=[old_label])
        monkeypatch.setenv("CDN_URL", CDN)
        monkeypatch.setenv("CDN_KEY_PAIR_ID", KEY_ID)
        monkeypatch.setenv("CDN_SIGNING_KEY_SECRET", "s")
        monkeypatch.setenv("CDN_SIGNING_KEY_STAGE", old_label)
        grant = cs.CdnSigner.from_environment().grant("titles/T1/", 60)
    assert _check(f"{CDN}/titles/T1/a", grant.cookies, {KEY_ID: _pub(key)}, now=grant.expires_at - 1) is None
    cs.clear_cache()


def test_from_environment_names_the_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    cs.clear_cache()
    monkeypatch.delenv("CDN_URL", raising=False)
    with pytest.raises(RuntimeError, match="CDN_URL"):
        cs.CdnSigner.from_environment()
