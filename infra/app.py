"""build_app(): the one place the CDK app is assembled (app.py, tests/infra and the local cloud use it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from infra.constructs.nag import add_nag_checks
from infra.reelstack_stack import ReelstackStack

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = REPO_ROOT / "cdk.json"
STACK_ID = "Reelstack"


def cdk_json_context() -> dict[str, Any]:
    """The ``context`` block of cdk.json. The CDK CLI passes it itself; ``python app.py``, tests and
    the local cloud do not go through the CLI, so build_app merges it to synthesize the same thing."""
    try:
        return dict(json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {}))
    except FileNotFoundError:
        return {}


def build_app(
    outdir: str | None = None,
    context: dict[str, Any] | None = None,
    validate: bool = False,
) -> cdk.App:
    """Assemble the Reelstack app.

    outdir: cloud assembly directory (default: CDK_OUTDIR from the CLI, else a temp dir).
    context: extra context, overriding cdk.json (tests pass ``{"aws:cdk:bundling-stacks": []}``).
    validate: run CDK's built-in CloudFormation validation (21-30 s per synth; cfn-lint in the
        test suite covers it, so it is off unless asked for).
    """
    merged = {**cdk_json_context(), **(context or {})}
    app = cdk.App(
        outdir=outdir,
        context=merged,
        builtin_cloud_formation_validation=validate,
    )
    # Env-less on purpose: one template for every account/region (and the local cloud); env-less
    # stacks see 2 AZs, which is what the network is designed for.
    ReelstackStack(app, STACK_ID, description="Reelstack: serverless Netflix-style backend")
    add_nag_checks(app)
    return app
