"""Reindex function: rebuild the index from the catalog table and swap the alias (invoked by an
operator: ``aws lambda invoke``; the domain is reachable only inside the VPC). Handler string:
``search.handlers.reindex.lambda_handler``. Locally, ``python -m search reindex`` does the same."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from search.handlers.observability import logger, tracer
from search.logic.reindex import reindex
from search.wiring import catalog, title_index


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = reindex(catalog(), title_index())
    logger.info("reindexed", extra=asdict(report))
    return asdict(report)
