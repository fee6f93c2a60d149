"""local/cdn/keys.py and template.py: the key per state directory, and the template's CloudFront
resources resolved for the fleet (ids, domain, behaviours, TTLs, CORS, trusted keys, origin)."""

from __future__ import annotations

import stat
from pathlib import Path

from local.cdn.keys import KEY_FILE, load_or_create, local_key_id
from local.cdn.template import CdnResources
from tests.unit.local.cdn_fakes import KEYS, OTHER


def test_a_kept_state_keeps_its_key_and_a_fresh_one_gets_a_new_key(tmp_path: Path) -> None:
    first = load_or_create(tmp_path, keep=True)
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    again = load_or_create(tmp_path, keep=True)
    assert again.private_pem == first.private_pem and again.public_pem == first.public_pem
    fresh = load_or_create(tmp_path, keep=False)
    assert fresh.public_pem != first.public_pem


def test_key_ids_look_like_cloudfronts_and_follow_the_key() -> None:
    kid = local_key_id(KEYS.public_pem)
    assert len(kid) == 14 and kid[0] == "K" and kid.isalnum() and kid == kid.upper()
    assert local_key_id(KEYS.public_pem) == kid != local_key_id(OTHER.public_pem)


def test_the_distribution_resolves_to_the_front_door_and_configures_the_fleet() -> None:
    cdn = CdnResources(front_door="http://127.0.0.1:4600")
    pk = cdn.resolve("DeliveryKey", "AWS::CloudFront::PublicKey",
                     {"PublicKeyConfig": {"EncodedKey": KEYS.public_pem.decode(), "Name": "k"}})
    unused = cdn.resolve("OtherKey", "AWS::CloudFront::PublicKey",
                         {"PublicKeyConfig": {"EncodedKey": OTHER.public_pem.decode()}})
    assert pk.ref == local_key_id(KEYS.public_pem)
    group = cdn.resolve("Group", "AWS::CloudFront::KeyGroup", {"KeyGroupConfig": {"Items": [pk.ref]}})
    playlists = cdn.resolve("Pl", "AWS::CloudFront::CachePolicy",
                            {"CachePolicyConfig": {"MinTTL": 0, "DefaultTTL": 5, "MaxTTL": 10}})
    headers = cdn.resolve("Rh", "AWS::CloudFront::ResponseHeadersPolicy", {"ResponseHeadersPolicyConfig": {
        "CorsConfig": {"AccessControlAllowOrigins": {"Items": ["http://app.local"]},
                       "AccessControlAllowMethods": {"Items": ["GET", "HEAD"]},
                       "AccessControlAllowHeaders": {"Items": ["Range"]},
                       "AccessControlAllowCredentials": True, "AccessControlMaxAgeSec": 600}}})
    dist = cdn.resolve("Dist", "AWS::CloudFront::Distribution", {"DistributionConfig": {
        "Origins": [{"DomainName": "reelstack-media-bucket.s3.us-east-1.amazonaws.com", "Id": "o"}],
        "CacheBehaviors": [{"PathPattern": "titles/*.m3u8", "CachePolicyId": playlists.ref,
                            "ResponseHeadersPolicyId": headers.ref, "TrustedKeyGroups": [group.ref]},
                           {"PathPattern": "titles/*", "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                            "TrustedKeyGroups": [group.ref]}],
        "DefaultCacheBehavior": {"CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"}}})
    assert dist.attrs["DomainName"] == "127.0.0.1:4600"
    assert cdn.origin_bucket() == "reelstack-media-bucket"
    d = cdn.distribution()
    assert d is not None
    assert d.public_keys == {pk.ref: KEYS.public_pem} and unused.ref not in d.public_keys  # trusted groups only
    m3u8, seg, other = d.behavior("titles/T/hls/a.m3u8"), d.behavior("titles/T/hls/s.m4s"), d.behavior("x/y")
    assert m3u8 is not None and (m3u8.min_ttl, m3u8.default_ttl, m3u8.max_ttl) == (0, 5, 10) and m3u8.signed
    assert m3u8.ttl("public, max-age=60") == 10 and m3u8.ttl(None) == 5
    assert seg is not None and seg.ttl("public, max-age=86400") == 86400 and seg.pattern == "titles/*"
    assert other is not None and other.pattern == "*" and not other.signed and other.default_ttl == 0
    assert d.cors.allow_origins == ("http://app.local",) and d.cors.allow_credentials


def test_without_a_distribution_there_is_no_fleet_configuration() -> None:
    assert CdnResources().distribution() is None and CdnResources().origin_bucket() is None
