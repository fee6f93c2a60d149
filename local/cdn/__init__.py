"""The local CDN: an edge fleet standing in for CloudFront / Open Connect in `python -m local up`.

N edge caches (byte-bounded LRUs, each its own HTTP server that a test can kill) in front of the
media bucket in the local S3, a front door at `cdn_url` that places every object on the edges by
consistent hashing with bounded loads (local/cdn/placement.py), routes around an edge that does not
answer, and fans a prefill request out to the edges that will hold the object. Every edge checks
the same signed cookies / signed URLs as CloudFront with reelstack_common.cdn_signing.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The signing module lives in the shared Lambda layer; the local cloud imports it from there (the
# same file the functions run), not from a copy.
_LAYER = Path(__file__).resolve().parents[2] / "layers" / "shared" / "python"
if str(_LAYER) not in sys.path:
    sys.path.append(str(_LAYER))
