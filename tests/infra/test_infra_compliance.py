"""Compliance of the synthesized Reelstack template: cdk-nag, acknowledgements, least privilege, cfn-lint."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.constructs.nag import iter_acknowledgements
from tests.infra.conftest import Synth, logical_id

# Every acknowledgement in the app, by rule. Adding one must be a deliberate change to this list.
EXPECTED_ACKNOWLEDGED_RULES = {
    "AwsSolutions-APIG4",  # the public routes, each with the reason its decorator declares
    "AwsSolutions-COG1",
    "AwsSolutions-COG2",
    "AwsSolutions-COG8",
    "AwsSolutions-EC23",  # internet-facing ALB security group
    "AwsSolutions-ELB2",  # env-agnostic stack: no ALB access logs
    "AwsSolutions-L1",  # python3.12 pinned with the deps layer
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
    "AwsSolutions-IAM5[Resource::*]",  # X-Ray / vended logs only (checked below)
    # Media pipeline: object-prefix grants (the narrowest S3 scope), the access-log bucket that
    # cannot log to itself, and the ingest rule's dead-letter queue.
    "AwsSolutions-IAM5[Resource::<MediaIngestBucket7D3916A4.Arn>/uploads/*]",
    "AwsSolutions-IAM5[Resource::<MediaMediaBucket84A4FA0D.Arn>/work/*]",
    "AwsSolutions-IAM5[Resource::<MediaMediaBucket84A4FA0D.Arn>/titles/*]",
    "AwsSolutions-S1",
    "AwsSolutions-SQS3",
    # Search (issue 14): dedicated masters are a sizing setting; VPC + IAM-only access instead of an
    # IP allowlist or a resource policy; HTTP actions per path under the one domain.
    "AwsSolutions-OS3",
    "AwsSolutions-OS4",
    "AwsSolutions-OS5",
    "AwsSolutions-IAM5[Resource::<SearchDomain62FD613E.Arn>/*]",
    # Delivery (issue 12): no distribution-wide geo block (per-title territories), no WAF (every
    # byte needs a signed grant; a CloudFront web ACL lives in us-east-1), the default certificate.
    "AwsSolutions-CFR1",
    "AwsSolutions-CFR2",
    "AwsSolutions-CFR4",
    # Playback (issue 13): Firehose's objects under the lake's two prefixes, a Kinesis-sourced
    # delivery stream (no SSE of its own: the source stream is encrypted).
    "AwsSolutions-IAM5[Resource::<PlaybackLakeBucket195E014D.Arn>/views/*]",
    "AwsSolutions-IAM5[Resource::<PlaybackLakeBucket195E014D.Arn>/errors/*]",
    "AwsSolutions-KDF1",
    # Home (issue 15): the model bucket's per-version objects (models/<version>/), the served fallback
    # rows and the training lake, each grant one prefix.
    "AwsSolutions-IAM5[Resource::<HomeModelBucket1DC27D14.Arn>/models/*]",
    "AwsSolutions-IAM5[Resource::<HomeModelBucket1DC27D14.Arn>/fallback/*]",
    "AwsSolutions-IAM5[Resource::<HomeModelBucket1DC27D14.Arn>/lake/*]",
    # Web app (issue 16): CDK's BucketDeployment copy function (its own grant: CDK's asset bucket, any
    # key of the app bucket, which holds only the app).
    *(f"AwsSolutions-IAM5[{w}]" for w in ("Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*",
                                          "Action::s3:Abort*", "Action::s3:DeleteObject*",
                                          "Resource::<WebOriginBucket6A559A4C.Arn>/*",
                                          "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-"
                                          "<AWS::AccountId>-<AWS::Region>/*")),
}
# Actions that only support Resource "*".
STAR_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    # a DynamoDB stream event source (the catalog outbox): ListStreams has no resource-level scope
    "dynamodb:ListStreams",
}


def _unacknowledged(report: dict[str, Any]) -> list[str]:
    out = []
    for plugin in report.get("pluginReports", []):
        for v in plugin.get("violations", []):
            paths = [c.get("constructPath") for c in v.get("violatingConstructs", [])]
            out.append(f"{plugin['pluginName']}: {v['ruleName']} ({v.get('severity')}) at {paths}")
    return out


def test_cdk_nag_has_no_unacknowledged_findings(reelstack: Synth) -> None:
    findings = _unacknowledged(reelstack.validation_report())
    assert findings == [], "unacknowledged cdk-nag findings:\n" + "\n".join(findings)


def test_every_acknowledgement_is_expected_and_has_a_reason(reelstack: Synth) -> None:
    acks = list(iter_acknowledgements(reelstack.app))
    assert acks, "no acknowledgements found: is the metadata key still the same?"
    for path, rule_id, reason in acks:
        assert len(reason.strip()) >= 20, f"{rule_id} on {path} has no real reason: {reason!r}"
        assert path.startswith("Reelstack/"), f"{rule_id} acknowledged above the stack ({path})"
        assert path != "Reelstack", f"{rule_id} acknowledged on the whole stack; use the narrowest construct"
    assert {rule_id for _, rule_id, _ in acks} == EXPECTED_ACKNOWLEDGED_RULES


def _policy_statements(synth: Synth, role_lid: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for pol in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_lid} in pol["Properties"]["Roles"]:
            statements += pol["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_resource_star_only_for_unscopable_actions(reelstack: Synth) -> None:
    """The IAM5[Resource::*] acknowledgements are safe only while '*' is limited to these actions."""
    for lid, pol in reelstack.resources("AWS::IAM::Policy").items():
        for st in pol["Properties"]["PolicyDocument"]["Statement"]:
            actions = set(_as_list(st["Action"]))
            assert "*" not in actions, lid
            if "*" in _as_list(st["Resource"]):
                assert actions <= STAR_RESOURCE_ACTIONS, f"{lid}: Resource '*' for {sorted(actions)}"


@pytest.mark.parametrize("which", ["accounts", "billing"])
def test_accounts_roles_are_least_privilege(reelstack: Synth, which: str) -> None:
    stack = reelstack.stack
    fn = stack.accounts.function if which == "accounts" else stack.billing.function
    role_lid = logical_id(reelstack, fn.role)
    statements = _policy_statements(reelstack, role_lid)
    assert statements
    by_service: dict[str, set[str]] = {}
    for st in statements:
        assert st["Effect"] == "Allow"
        actions = _as_list(st["Action"])
        resources = _as_list(st["Resource"])
        for action in actions:
            assert action != "*" and not action.endswith(":*"), f"wildcard action {action}"
            by_service.setdefault(action.split(":")[0], set()).add(action)
        if "*" in resources:
            assert set(actions) <= STAR_RESOURCE_ACTIONS, f"Resource '*' for {actions}"
        for res in resources:
            assert "/index/*" not in json.dumps(res), f"index wildcard {res}"
    assert by_service["cognito-idp"] == {
        "cognito-idp:AdminDeleteUser",
        "cognito-idp:AdminGetUser",
        "cognito-idp:AdminListGroupsForUser",
        "cognito-idp:AdminInitiateAuth",
        "cognito-idp:InitiateAuth",
    }
    assert {"dax:GetItem", "dax:PutItem", "dax:Query"} <= by_service["dax"]
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"} <= by_service["dynamodb"]
    assert "dynamodb:DeleteTable" not in by_service["dynamodb"]
    # Scoped resources: the pool, the DAX cluster, the two tables + gsi1.
    pool = logical_id(reelstack, stack.identity.user_pool)
    dax = logical_id(reelstack, stack.dax.cluster)
    for st in statements:
        actions = _as_list(st["Action"])
        if actions[0].startswith("cognito-idp:"):
            assert st["Resource"] == {"Fn::GetAtt": [pool, "Arn"]}
        if actions[0].startswith("dax:"):
            assert st["Resource"] == {"Fn::GetAtt": [dax, "Arn"]}
        if actions[0].startswith("dynamodb:"):
            text = json.dumps(st["Resource"])
            assert "/index/gsi1" in text and len(_as_list(st["Resource"])) == 3


def test_cfn_lint_has_no_errors(reelstack: Synth, tmp_path: Path) -> None:
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or shutil.which("cfn-lint")
    if cfn_lint is None:
        pytest.fail("cfn-lint is not installed (dev extra)")
    proc = subprocess.run(
        [cfn_lint, "--ignore-checks", "W3005", "--format", "parseable", "--", str(reelstack.template_path)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    # cfn-lint exit code is a bitmask: 2 = errors, 4 = warnings, 8 = informational.
    assert proc.returncode & 2 == 0 and proc.returncode in (0, 4, 8, 12), proc.stdout + proc.stderr
    warnings = [line for line in proc.stdout.splitlines() if ":W" in line]
    if warnings:
        print("cfn-lint warnings:\n" + "\n".join(warnings))
