"""The training workflow's steps (statemachines/home.asl.json), one function each:

- ``train_handler``: input the scheduled event (its ``time`` is the data cut-off) or
  ``{"cutoff": <epoch s>}``; output ``{model_version, batches: [{model_version, batch}], ...}``.
- ``build_handler``: input one Map item ``{model_version, batch}``; writes that batch's documents.
- ``publish_handler``: input ``{model_version}``; makes the model and its fallback current.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

from recommendations.handlers.observability import logger
from recommendations.logic import training
from recommendations.wiring import job_dependencies


def cutoff_of(event: dict[str, Any]) -> float:
    if isinstance(event.get("cutoff"), int | float):
        return float(event["cutoff"])
    when = event.get("time")
    if isinstance(when, str):
        return datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
    return float(int(time.time()))


@logger.inject_lambda_context
def train_handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    per_batch = int(os.environ.get("PROFILES_PER_BATCH") or training.PROFILES_PER_BATCH)
    out = training.train(job_dependencies(), cutoff_of(event), profiles_per_batch=per_batch)
    logger.info("trained", extra={k: v for k, v in out.items() if k != "batches"})
    return out


@logger.inject_lambda_context
def build_handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    out = training.build_batch(job_dependencies(), str(event["model_version"]), int(event["batch"]))
    logger.info("built", extra=out)
    return out


@logger.inject_lambda_context
def publish_handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    out = training.publish(job_dependencies(), str(event["model_version"]))
    logger.info("published", extra=out)
    return out
