"""Powertools utilities of the delivery service (service name from POWERTOOLS_SERVICE_NAME)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Tracer
from reelstack_common.http import service_metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or __name__.split(".")[0]

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = service_metrics(SERVICE)
