"""Local path setup until the shared tests/unit/conftest.py exists (it will put functions/* on
sys.path); harmless afterwards. BLAS is pinned to one thread: the machine is shared and the
models are tiny here."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

_HERE = Path(__file__).resolve().parent
_SERVICE = _HERE.parents[2] / "functions" / "recommendations"
# The service package, and this folder for the shared ``recs_world`` fixture module (kept
# importable even if the test tree later becomes packages with __init__.py files).
for p in (_SERVICE, _HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from home_world import World, trained  # noqa: E402 -- importable once the paths above are set


@pytest.fixture(scope="module")
def base() -> World:
    """The home service's in-memory world after one full job run (home_world.trained), per module."""
    return trained()[0]


@pytest.fixture
def w(base: World) -> World:
    """A fresh copy of the trained world per test (documents and stores are mutated)."""
    return copy.deepcopy(base)
