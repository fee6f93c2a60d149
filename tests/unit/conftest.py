"""Root fixtures of the unit suite: import paths for every Lambda asset + a fake AWS environment.

Runs at collection time (before any test module imports service code), so module-level clients
never see real credentials or a local-cloud endpoint.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# The shared layer, then every functions/<service> asset directory (each holds one package named
# after the service, so they coexist on sys.path without clashes).
_paths = [REPO_ROOT / "layers" / "shared" / "python"]
_paths += sorted(p for p in (REPO_ROOT / "functions").iterdir() if p.is_dir() and not p.name.startswith("."))
for _path in reversed(_paths):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))

# Fake credentials and region: a unit test must never reach a real account or the local cloud.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "ReelstackTest",
        "POWERTOOLS_DEV": "false",
    }
)
for _name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "DAX_ENDPOINT"):
    os.environ.pop(_name, None)
