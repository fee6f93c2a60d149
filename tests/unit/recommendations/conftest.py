"""Local path setup until the shared tests/unit/conftest.py exists (it will put functions/* on
sys.path); harmless afterwards. BLAS is pinned to one thread: the machine is shared and the
models are tiny here."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

_SERVICE = Path(__file__).resolve().parents[3] / "functions" / "recommendations"
if str(_SERVICE) not in sys.path:
    sys.path.insert(0, str(_SERVICE))
