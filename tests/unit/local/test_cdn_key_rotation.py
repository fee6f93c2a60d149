"""Key rotation with overlap (python -m infra.cdn_keys --rotate/--promote/--retire) as the local edges
see it: during the overlap the template's key group holds the signing key and the retiring one, and a
grant signed with either is accepted; once the retiring key has left the template, its grants are not."""

from __future__ import annotations

from infra.cdn_keys import KeyPair
from local.cdn.edge import Edge
from local.cdn.keys import local_key_id
from local.cdn.template import CdnResources
from local.edge.messages import Request
from tests.unit.local.cdn_fakes import KEYS, OTHER, FakeOrigin, grant

CDN = "http://127.0.0.1:9999"
SEG = "titles/T1/hls/cap2160/cap1080/720p/seg_00001.m4s"
RETIRING, SIGNING = KEYS, OTHER  # phase 2: OTHER was promoted, KEYS signed every grant before that


def _edge(*keys: bytes) -> Edge:
    """An edge configured like the local cloud configures it: from the template's PublicKeys, the key
    group listing them (as Refs, resolved to their ids) and a titles/* behaviour trusting the group."""
    cdn = CdnResources(front_door=CDN)
    refs = [
        cdn.resolve(f"DeliveryPublicKey{i}", "AWS::CloudFront::PublicKey",
                    {"PublicKeyConfig": {"EncodedKey": pem.decode(), "Name": f"k{i}"}}).ref
        for i, pem in enumerate(keys)
    ]
    group = cdn.resolve("DeliveryKeyGroup", "AWS::CloudFront::KeyGroup", {"KeyGroupConfig": {"Items": refs}})
    cdn.resolve("Dist", "AWS::CloudFront::Distribution", {"DistributionConfig": {
        "CacheBehaviors": [{"PathPattern": "titles/*", "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                            "TrustedKeyGroups": [group.ref]}]}})
    distribution = cdn.distribution()
    assert distribution is not None
    origin = FakeOrigin()
    origin.add(SEG, b"segment", "public, max-age=86400")
    return Edge("edge-0", origin, distribution, CDN, 1 << 20)


def _status(edge: Edge, pair: KeyPair) -> int:
    g = grant(CDN, "titles/T1/", key_id=local_key_id(pair.public_pem), pem=pair.private_pem)
    cookie = "; ".join(f"{k}={v}" for k, v in g.cookies.items())
    return edge.handle(Request("GET", "/" + SEG, {"cookie": cookie})).status


def test_during_the_overlap_grants_of_the_retiring_and_the_signing_key_are_accepted() -> None:
    edge = _edge(SIGNING.public_pem, RETIRING.public_pem)
    assert set(edge.distribution.public_keys) == {local_key_id(SIGNING.public_pem), local_key_id(RETIRING.public_pem)}
    assert _status(edge, RETIRING) == 200  # a viewer mid-film with a grant from before the switch
    assert _status(edge, SIGNING) == 200


def test_after_retirement_the_retired_keys_grants_are_refused() -> None:
    edge = _edge(SIGNING.public_pem)
    assert _status(edge, SIGNING) == 200
    assert _status(edge, RETIRING) == 403
