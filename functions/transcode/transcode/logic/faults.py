"""Fault injection by configuration (TRANSCODE_FAULTS), to exercise Retry/Catch for real.

`{"encode_chunk": {"fail_attempts": 1, "chunks": [1]}}` makes chunk 1 fail its first attempt.
The attempt number is `$$.State.RetryCount`, which the state machine passes in the task input, so
the handler needs no memory of earlier attempts. Keys: `fail_attempts` (default 1), `chunks`
(indices; omitted = every chunk; ignored by steps without chunks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transcode.models.errors import TransientError


def maybe_fail(faults: Mapping[str, Any], step: str, *, attempt: int, index: int | None = None) -> None:
    spec = faults.get(step)
    if not isinstance(spec, Mapping):
        return
    if attempt >= int(spec.get("fail_attempts", 1)):
        return
    chunks = spec.get("chunks")
    if index is not None and chunks is not None and index not in {int(c) for c in chunks}:
        return
    where = f" chunk {index}" if index is not None else ""
    raise TransientError(f"injected fault: {step}{where} attempt {attempt} (TRANSCODE_FAULTS)")
