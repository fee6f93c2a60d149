"""The template's CloudFront resources, resolved locally: `Ref` of a PublicKey is the key id the
edges trust (local/cdn/keys.py), the distribution's DomainName is the front door, and what the
distribution declares (behaviors, cache and response headers policies, trusted key groups, the
S3 origin) is collected for the fleet to apply (local/cdn/behaviors.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from local.cdn.behaviors import Distribution
from local.cdn.keys import local_key_id
from local.resolve import ACCOUNT, PARTITION, Physical

CLOUDFRONT_TYPES = (
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::PublicKey",
    "AWS::CloudFront::KeyGroup",
    "AWS::CloudFront::CachePolicy",
    "AWS::CloudFront::ResponseHeadersPolicy",
    "AWS::CloudFront::OriginRequestPolicy",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::CloudFrontOriginAccessIdentity",
    "AWS::CloudFront::Function",
)


@dataclass
class CdnResources:
    front_door: str = ""  # the fleet's URL (http://host:port)
    public_keys: dict[str, bytes] = field(default_factory=dict)  # key id -> PEM
    key_groups: dict[str, list[str]] = field(default_factory=dict)  # group id -> key ids
    cache_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    header_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    distributions: list[dict[str, Any]] = field(default_factory=list)  # resolved DistributionConfig

    def distribution(self) -> Distribution | None:
        """The fleet's configuration from the (first) distribution; None when the template has none."""
        if not self.distributions:
            return None
        return Distribution.from_template(self.distributions[0], self.cache_policies, self.header_policies,
                                          self.public_keys, self.key_groups)

    def origin_bucket(self) -> str | None:
        """The S3 bucket behind the distribution: its origin's domain is <bucket>.s3[.<region>].amazonaws.com."""
        for conf in self.distributions:
            for origin in conf.get("Origins", []):
                m = re.match(r"^([a-z0-9.-]+?)\.s3[.-]", str(origin.get("DomainName", "")))
                if m:
                    return m.group(1)
        return None

    def resolve(self, lid: str, rtype: str, p: dict[str, Any]) -> Physical:
        """Record one resource and answer its Ref and GetAtt as CloudFront would."""
        ident = re.sub(r"[^A-Z0-9]", "", lid.upper())[:14] or "LOCAL"
        host = self.front_door.split("://", 1)[-1]
        if rtype == "AWS::CloudFront::PublicKey":
            pem = str(p.get("PublicKeyConfig", {}).get("EncodedKey", "")).encode()
            try:
                ident = local_key_id(pem)
            except ValueError:
                pass  # not a PEM (a placeholder): the id stays the logical one and no edge trusts it
            else:
                self.public_keys[ident] = pem
        elif rtype == "AWS::CloudFront::KeyGroup":
            self.key_groups[ident] = [str(k) for k in p.get("KeyGroupConfig", {}).get("Items", [])]
        elif rtype == "AWS::CloudFront::CachePolicy":
            self.cache_policies[ident] = p
        elif rtype == "AWS::CloudFront::ResponseHeadersPolicy":
            self.header_policies[ident] = p
        elif rtype == "AWS::CloudFront::Distribution":
            self.distributions.append(p.get("DistributionConfig", {}))
            arn = f"arn:{PARTITION}:cloudfront::{ACCOUNT}:distribution/{ident}"
            return Physical(ident, {"Id": ident, "DomainName": host, "Arn": arn})
        elif rtype == "AWS::CloudFront::Function":
            arn = f"arn:{PARTITION}:cloudfront::{ACCOUNT}:function/{ident}"
            return Physical(arn, {"FunctionARN": arn, "Stage": "LIVE"})
        return Physical(ident, {"Id": ident, "S3CanonicalUserId": ident, "LastModifiedTime": "", "CreatedTime": ""})
