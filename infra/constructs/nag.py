"""cdk-nag 3 helpers: register the rule packs and acknowledge findings one by one, with a reason.

cdk-nag 3 runs as a CDK *policy validation plugin* (``cdk.Validations``), not as an Aspect.
Every acknowledgement goes through ``acknowledge()`` so that:
  * it targets one construct (the narrowest one that carries the finding),
  * it must carry a non-empty written reason.
CDK records each one as construct metadata (``Validations.ACKNOWLEDGED_RULES_METADATA_KEY``);
``iter_acknowledgements()`` lists them for tests and audits.

cdk-nag 3 matches finding IDs exactly (no prefix matching): an IAM5 finding on a wildcard resource
is ``AwsSolutions-IAM5[Resource::<Table.Arn>/index/*]`` and must be acknowledged as such.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_nag_checks(app: cdk.App, *, verbose: bool = True) -> None:
    """AwsSolutions rule pack as a validation plugin; findings fail synth (unless context says not)."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=verbose))


def acknowledge(
    construct: IConstruct,
    rule_id: str,
    reason: str,
    *,
    applies_to: Sequence[str] | None = None,
) -> None:
    """Acknowledge one AwsSolutions rule on one construct (and its children) with a reason.

    ``applies_to``: finding IDs of multi-finding rules (IAM4/IAM5), e.g. ``["Resource::*"]``; each
    becomes its own acknowledgement ``<rule_id>[<finding>]``.
    """
    if not reason or not reason.strip():
        raise ValueError(f"acknowledgement of {rule_id} on {construct.node.path} needs a reason")
    if not rule_id.startswith("AwsSolutions-"):
        raise ValueError(f"unexpected rule id {rule_id!r}")
    ids = [f"{rule_id}[{finding}]" for finding in applies_to] if applies_to else [rule_id]
    for ack_id in ids:
        cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=ack_id, reason=reason))


def _rule_part(ack_id: str) -> str:
    """``Annotation::AwsSolutions-IAM5[Resource::*]`` -> ``AwsSolutions-IAM5[Resource::*]``."""
    head = ack_id.split("[", 1)[0]
    return ack_id.split("::", 1)[1] if "::" in head else ack_id


def iter_acknowledgements(
    root: IConstruct, *, prefix: str = "AwsSolutions-"
) -> Iterator[tuple[str, str, str]]:
    """(construct path, rule id, reason) of every acknowledgement under ``root`` whose rule id starts
    with ``prefix`` (CDK itself acknowledges some of its own CloudFormation-Validate rules)."""
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    for node in root.node.find_all():
        for entry in node.node.metadata:
            if entry.type == key and entry.data:
                for ack_id, reason in dict(entry.data).items():
                    rule = _rule_part(str(ack_id))
                    if rule.startswith(prefix):
                        yield node.node.path, rule, str(reason)
