"""Synthesize the CDK app and read the cloud assembly.

The local cloud provisions from what `cdk synth` produced — the same templates `cdk deploy` sends
to CloudFormation — so a table, route or function added in `infra/` exists locally without a
second list. Assets (function code, layers) are read from the assembly's staged asset directories.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class StackTemplate:
    name: str
    template: dict[str, Any]
    outdir: Path

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Resources", {})

    def of_type(self, *types: str) -> list[tuple[str, dict[str, Any]]]:
        return [(lid, r) for lid, r in self.resources.items() if r.get("Type") in types]

    def asset_dir(self, logical_id: str) -> Path | None:
        """The staged asset directory of a Lambda function / layer (None for inline or external code)."""
        meta = self.resources[logical_id].get("Metadata", {})
        rel = meta.get("aws:asset:path")
        if not rel:
            return None
        path = (self.outdir / rel).resolve()
        return path if path.is_dir() else None


@dataclass
class CloudAssembly:
    outdir: Path
    stacks: list[StackTemplate] = field(default_factory=list)


def synth(outdir: Path, context: dict[str, Any] | None = None, extend: Any = None) -> CloudAssembly:
    """Build the app in-process and synthesize it into `outdir`.

    `extend(app)` may add constructs before synthesis — tests use it to prove that something
    declared only in CDK shows up locally. Bundling is skipped: the local runtime runs code from
    the staged source directories with the project's own virtualenv for third-party packages.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from infra.app import build_app  # noqa: PLC0415 — jsii start-up is paid only when synthesizing

    ctx = {
        "aws:cdk:bundling-stacks": [],
        "aws:cdk:enable-asset-metadata": True,  # asset paths per resource, as the CDK CLI sets
        "@aws-cdk/core:failSynthOnValidationErrors": False,
    }
    ctx.update(context or {})
    outdir.mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(ROOT)  # asset paths in infra/ are relative to the project root
    try:
        app = build_app(outdir=str(outdir), context=ctx)
        if extend is not None:
            extend(app)
        app.synth()
    finally:
        os.chdir(cwd)
    return load(outdir)


def load(outdir: Path) -> CloudAssembly:
    manifest = json.loads((outdir / "manifest.json").read_text())
    asm = CloudAssembly(outdir=outdir)
    for name, art in manifest.get("artifacts", {}).items():
        if art.get("type") != "aws:cloudformation:stack":
            continue
        tfile = art["properties"]["templateFile"]
        template = json.loads((outdir / tfile).read_text())
        asm.stacks.append(StackTemplate(name=name, template=template, outdir=outdir))
    # Deploy order: dependencies first (cross-stack exports must exist before imports).
    order = {n: i for i, n in enumerate(_topo(manifest))}
    asm.stacks.sort(key=lambda s: order.get(s.name, 0))
    return asm


def _topo(manifest: dict[str, Any]) -> list[str]:
    arts = manifest.get("artifacts", {})
    seen: list[str] = []

    def visit(n: str) -> None:
        if n in seen or n not in arts:
            return
        for d in arts[n].get("dependencies", []):
            visit(d)
        seen.append(n)

    for n in arts:
        visit(n)
    return seen
