"""What the distribution in the synthesized template says the edges do: per path pattern, the cache
policy's TTLs (CloudFront keeps an object for the origin's max-age clamped to [MinTTL, MaxTTL], for
DefaultTTL when the origin sends none) and whether a signed grant is required; the response headers
policy's CORS and custom headers. Without a distribution in the template (or for what it leaves
out) the defaults below hold: manifests seconds, segments a year, every title object signed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from local.edge.cors import CorsConfig

# AWS-managed cache policies a template may name by id instead of declaring.
MANAGED_CACHE_POLICIES: dict[str, tuple[int, int, int]] = {  # id -> (min, default, max) seconds
    "658327ea-f89d-4fab-a63d-7e88639e58f6": (1, 86400, 31536000),  # CachingOptimized
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": (0, 0, 0),  # CachingDisabled
    "08627262-05a9-4f76-9ded-b50ca2e3a84f": (0, 86400, 31536000),  # Elemental-MediaPackage
}


@dataclass(frozen=True)
class Behavior:
    pattern: str  # CloudFront path pattern without the leading "/" ("*" for the default behavior)
    min_ttl: int = 0
    default_ttl: int = 86400
    max_ttl: int = 31536000
    signed: bool = True  # trusted key groups on this behavior: a grant is required
    headers: tuple[tuple[str, str, bool], ...] = ()  # response headers policy: (name, value, override)

    def matches(self, key: str) -> bool:
        return _pattern(self.pattern).fullmatch(key) is not None

    def ttl(self, origin_cache_control: str | None) -> int:
        m = re.search(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*(\d+)", origin_cache_control or "")
        if m is None:
            return self.default_ttl
        return max(self.min_ttl, min(self.max_ttl, int(m.group(1))))


def _pattern(pattern: str) -> re.Pattern[str]:
    # CloudFront path patterns: "*" any run of characters, "?" exactly one; case-sensitive.
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


DEFAULT_BEHAVIORS = (
    Behavior("titles/*.m3u8", min_ttl=0, default_ttl=2, max_ttl=10),
    Behavior("titles/*", min_ttl=86400, default_ttl=31536000, max_ttl=31536000),
)
DEFAULT_CORS = CorsConfig(allow_origins=("*",), allow_methods=("GET", "HEAD", "OPTIONS"),
                          allow_headers=("*",), expose_headers=("Content-Length", "Content-Range", "ETag",
                                                                "Age", "X-Cache", "X-Reelstack-Edge"),
                          max_age=600)


@dataclass
class Distribution:
    behaviors: tuple[Behavior, ...] = DEFAULT_BEHAVIORS
    cors: CorsConfig = DEFAULT_CORS
    public_keys: dict[str, bytes] = field(default_factory=dict)  # key id -> PEM (trusted key groups)

    def behavior(self, key: str) -> Behavior | None:
        """The first behavior whose pattern matches (CloudFront's order); None: not served."""
        return next((b for b in self.behaviors if b.matches(key)), None)

    @classmethod
    def from_template(cls, dist: dict[str, Any], cache_policies: dict[str, dict[str, Any]],
                      header_policies: dict[str, dict[str, Any]], public_keys: dict[str, bytes],
                      key_groups: dict[str, list[str]]) -> Distribution:
        """From a resolved AWS::CloudFront::Distribution's DistributionConfig and the resolved
        policies, keys and key groups it references (by id)."""
        conf = dist.get("DistributionConfig", dist)
        cors: CorsConfig | None = None
        behaviors: list[Behavior] = []
        trusted: set[str] = set()
        raw = [*conf.get("CacheBehaviors", [])]
        if conf.get("DefaultCacheBehavior"):
            raw.append({**conf["DefaultCacheBehavior"], "PathPattern": "*"})
        for b in raw:
            groups = list(b.get("TrustedKeyGroups") or [])
            for g in groups:
                trusted.update(key_groups.get(g, []))
            lo, default, hi = _ttls(b, cache_policies)
            headers: tuple[tuple[str, str, bool], ...] = ()
            hp = header_policies.get(str(b.get("ResponseHeadersPolicyId", "")))
            if hp is not None:
                hp_conf = hp.get("ResponseHeadersPolicyConfig", hp)
                cors = cors or _cors(hp_conf.get("CorsConfig"))
                headers = tuple((h["Header"], str(h["Value"]), bool(h.get("Override", True)))
                                for h in hp_conf.get("CustomHeadersConfig", {}).get("Items", []))
            behaviors.append(Behavior(str(b.get("PathPattern", "*")).lstrip("/"), lo, default, hi,
                                      signed=bool(groups), headers=headers))
        keys = {k: v for k, v in public_keys.items() if k in trusted} if trusted else dict(public_keys)
        return cls(tuple(behaviors) or DEFAULT_BEHAVIORS, cors or DEFAULT_CORS, keys)


def _ttls(b: dict[str, Any], cache_policies: dict[str, dict[str, Any]]) -> tuple[int, int, int]:
    pid = str(b.get("CachePolicyId", ""))
    if pid in MANAGED_CACHE_POLICIES:
        return MANAGED_CACHE_POLICIES[pid]
    pol = cache_policies.get(pid)
    if pol is not None:
        c = pol.get("CachePolicyConfig", pol)
        return int(c.get("MinTTL", 0)), int(c.get("DefaultTTL", 86400)), int(c.get("MaxTTL", 31536000))
    # Legacy cache settings on the behavior itself.
    return int(b.get("MinTTL", 0)), int(b.get("DefaultTTL", 86400)), int(b.get("MaxTTL", 31536000))


def _cors(c: dict[str, Any] | None) -> CorsConfig | None:
    if not c:
        return None

    def items(name: str) -> tuple[str, ...]:
        return tuple(c.get(name, {}).get("Items", []))

    return CorsConfig(allow_origins=items("AccessControlAllowOrigins"),
                      allow_methods=items("AccessControlAllowMethods") or ("GET", "HEAD", "OPTIONS"),
                      allow_headers=items("AccessControlAllowHeaders") or ("*",),
                      expose_headers=items("AccessControlExposeHeaders"),
                      allow_credentials=bool(c.get("AccessControlAllowCredentials")),
                      max_age=int(c["AccessControlMaxAgeSec"]) if c.get("AccessControlMaxAgeSec") else None)
