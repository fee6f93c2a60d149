"""Shared helpers for tests/infra: the real app synthesized ONCE per session (jsii start + synth ~5 s;
the tests only read it); a module's own variant apps once per module."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import infra  # noqa: E402,F401  (silences the jsii Node banner before aws_cdk starts)

# Skip asset bundling (the deps layer's pip run) and collect cdk-nag findings in
# validation-report.json instead of failing synth, so tests can show every finding at once.
TEST_CONTEXT: dict[str, Any] = {
    "aws:cdk:bundling-stacks": [],
    "@aws-cdk/core:failSynthOnValidationErrors": False,
}


def _test_cdn_public_key() -> str:
    """A fresh RSA public key for the CloudFront key group (issue 12): synth needs one in context
    (``infra.cdn_keys`` writes the real one for deploys); its private half is thrown away."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode()


TEST_CDN_PUBLIC_KEY_PEM = _test_cdn_public_key()
TEST_CONTEXT["reelstack:cdnPublicKeyPem"] = TEST_CDN_PUBLIC_KEY_PEM


@dataclass
class Synth:
    app: Any
    stack: Any
    outdir: Path
    template_json: dict[str, Any]
    template: Any  # aws_cdk.assertions.Template

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{self.stack.artifact_id}.template.json"

    def validation_report(self) -> dict[str, Any]:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.exists() else {"pluginReports": []}

    def resources(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template_json["Resources"].items() if v["Type"] == cfn_type}


def synth_stack(app: Any, stack: Any, outdir: Path) -> Synth:
    from aws_cdk.assertions import Template

    app.synth()
    template_json = json.loads((outdir / f"{stack.artifact_id}.template.json").read_text())
    return Synth(app, stack, outdir, template_json, Template.from_json(template_json))


@pytest.fixture(scope="session")
def reelstack(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The real app, built through infra.app.build_app exactly like app.py (builtin validation off).
    Session-wide: eight modules read it and none changes it (it was synthesized once per module)."""
    from infra.app import STACK_ID, build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(outdir=str(outdir), context=TEST_CONTEXT)
    stack = app.node.find_child(STACK_ID)
    return synth_stack(app, stack, outdir)


def logical_id(synth: Synth, construct: Any) -> str:
    """Logical ID of a construct's CfnResource in the synthesized template (overrides included)."""
    cfn = construct if hasattr(construct, "cfn_resource_type") else construct.node.default_child
    return str(synth.stack.resolve(cfn.logical_id))


def find_one(items: dict[str, Any], predicate: Callable[[str, dict[str, Any]], bool]) -> tuple[str, dict]:
    found = [(k, v) for k, v in items.items() if predicate(k, v)]
    assert len(found) == 1, f"expected exactly one match, got {[k for k, _ in found]}"
    return found[0]
