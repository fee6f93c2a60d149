"""Template assertions for playback (issue 13): table with TTL, view stream, Firehose to the lake,
both edges (incl. the continue-watching ALB rule in front of accounts'), least-privilege grants."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.constructs.playback import CONTINUE_WATCHING_PATTERN, CONTINUE_WATCHING_PRIORITY
from infra.routers import ACCOUNTS, PLAYBACK
from tests.infra.conftest import Synth, logical_id


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def pb(reelstack: Synth) -> Any:
    return reelstack.stack.playback


def _statements(synth: Synth, role_lid: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for pol in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_lid} in pol["Properties"]["Roles"]:
            out += pol["Properties"]["PolicyDocument"]["Statement"]
    return out


def test_table_keys_index_and_ttl(reelstack: Synth, pb: Any) -> None:
    table = reelstack.template_json["Resources"][logical_id(reelstack, pb.table)]
    props = table["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [k["AttributeName"] for k in props["KeySchema"]] == ["pk", "sk"]
    assert [g["IndexName"] for g in props["GlobalSecondaryIndexes"]] == ["gsi1"]
    assert props["BillingMode"] == "PAY_PER_REQUEST" and table["DeletionPolicy"] == "Retain"


def test_view_stream_is_encrypted_on_demand(reelstack: Synth, pb: Any) -> None:
    props = reelstack.template_json["Resources"][logical_id(reelstack, pb.view_stream)]["Properties"]
    assert props["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert props["StreamEncryption"]["EncryptionType"] == "KMS"


def test_firehose_delivers_the_stream_to_the_lake(reelstack: Synth, pb: Any) -> None:
    (stream,) = reelstack.resources("AWS::KinesisFirehose::DeliveryStream").values()
    props = stream["Properties"]
    assert props["DeliveryStreamType"] == "KinesisStreamAsSource"
    assert props["KinesisStreamSourceConfiguration"]["KinesisStreamARN"] == {
        "Fn::GetAtt": [logical_id(reelstack, pb.view_stream), "Arn"]
    }
    dest = props["ExtendedS3DestinationConfiguration"]
    assert dest["BucketARN"] == {"Fn::GetAtt": [logical_id(reelstack, pb.lake_bucket), "Arn"]}
    assert dest["Prefix"].startswith("views/") and dest["CompressionFormat"] == "GZIP"
    # The delivery role reads the stream and writes the lake's prefixes; nothing else, no deletes.
    role_lid = dest["RoleARN"]["Fn::GetAtt"][0]
    actions = {a for st in _statements(reelstack, role_lid) for a in _as_list(st["Action"])}
    assert actions == {
        "kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards",
        "s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads",
        "s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload",
    }  # fmt: skip


def test_routes_on_both_edges(reelstack: Synth, pb: Any) -> None:
    fn_lid = logical_id(reelstack, pb.function)
    keys = {r["Properties"]["RouteKey"] for r in reelstack.resources("AWS::ApiGatewayV2::Route").values()}
    assert {
        "POST /playback/sessions",
        "PUT /playback/sessions/{session_id}/heartbeat",
        "DELETE /playback/sessions/{session_id}",
        "GET /profiles/{profile_id}/continue-watching",
    } <= keys
    rules = {
        r["Properties"]["Priority"]: r["Properties"]["Conditions"][0]["PathPatternConfig"]["Values"]
        for r in reelstack.resources("AWS::ElasticLoadBalancingV2::ListenerRule").values()
    }
    assert rules[PLAYBACK.alb_priority] == ["/playback*"]
    # In front of accounts' /profiles*: the smaller number wins on the ALB.
    assert rules[CONTINUE_WATCHING_PRIORITY] == [CONTINUE_WATCHING_PATTERN]
    assert ACCOUNTS.alb_priority > CONTINUE_WATCHING_PRIORITY
    tg_lid = logical_id(reelstack, pb.service.target_group)
    tg = reelstack.template_json["Resources"][tg_lid]["Properties"]
    assert tg["Targets"] == [{"Id": {"Fn::GetAtt": [fn_lid, "Arn"]}}]


def test_function_environment(reelstack: Synth, pb: Any) -> None:
    env = reelstack.template_json["Resources"][logical_id(reelstack, pb.function)]["Properties"]["Environment"][
        "Variables"
    ]
    assert env["PLAYBACK_TABLE"] == {"Ref": logical_id(reelstack, pb.table)}
    assert env["VIEW_STREAM"] == {"Ref": logical_id(reelstack, pb.view_stream)}
    assert {"ACCOUNTS_TABLE", "CATALOG_TABLE", "USER_POOL_ID", "USER_POOL_CLIENT_ID", "LEASE_SECONDS"} <= set(env)
    # Delivery's signing env (contract C).
    assert {"CDN_URL", "CDN_KEY_PAIR_ID", "CDN_SIGNING_KEY_SECRET"} <= set(env)


def _grants(reelstack: Synth, pb: Any) -> dict[str, set[str]]:
    """The playback function's synthesized grants: resource (as JSON) -> actions."""
    grants: dict[str, set[str]] = {}
    for st in _statements(reelstack, logical_id(reelstack, pb.function.role)):
        for res in _as_list(st["Resource"]):
            grants.setdefault(json.dumps(res, sort_keys=True), set()).update(_as_list(st["Action"]))
    return grants


def _arn(reelstack: Synth, construct: Any, suffix: str = "") -> str:
    base: Any = {"Fn::GetAtt": [logical_id(reelstack, construct), "Arn"]}
    if suffix:
        base = {"Fn::Join": ["", [base, suffix]]}
    return json.dumps(base, sort_keys=True)


def test_function_grants_are_exactly_what_it_calls(reelstack: Synth, pb: Any) -> None:
    s = reelstack.stack
    grants = _grants(reelstack, pb)

    def arn(construct: Any, suffix: str = "") -> str:
        return _arn(reelstack, construct, suffix)

    # The base table: no Query (playback.dal queries only gsi1); the index: Query only.
    assert grants[arn(pb.table)] == {
        "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
    }  # fmt: skip
    assert grants[arn(pb.table, "/index/gsi1")] == {"dynamodb:Query"}
    assert grants[arn(s.data.accounts_table)] == {"dynamodb:GetItem"}  # read-only, contract A
    assert grants[arn(s.catalog_data.catalog_table)] == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
    assert grants[arn(pb.view_stream)] == {"kinesis:PutRecords"}
    every = set().union(*grants.values())
    assert not {a for a in every if a.endswith((":DeleteItem", ":Scan", ":DeleteTable", ":*"))}
    assert "secretsmanager:GetSecretValue" in every  # the signing key, via Delivery.grant_signing


# boto3 method -> the IAM action it needs; a TransactWriteItems needs the actions of its items.
_ACTIONS = {"get_item": "GetItem", "batch_get_item": "BatchGetItem", "put_item": "PutItem",
            "update_item": "UpdateItem", "delete_item": "DeleteItem", "query": "Query", "scan": "Scan"}
_TRANSACT_ITEMS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem"}


def _dal_actions() -> tuple[set[str], set[str]]:
    """The DynamoDB actions playback.dal's playback-table adapter calls: (base table, gsi1)."""
    import ast
    from pathlib import Path

    dal = Path(__file__).resolve().parents[2] / "functions" / "playback" / "playback" / "dal"
    tree = ast.parse((dal / "dynamo_playback.py").read_text())
    base: set[str] = set()
    index: set[str] = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
        for call in calls:
            name = call.func.attr  # type: ignore[attr-defined]
            if name in _ACTIONS:
                on_index = any(k.arg == "IndexName" for k in call.keywords)
                (index if on_index else base).add("dynamodb:" + _ACTIONS[name])
            elif name in ("transact_write", "transact_write_items"):
                # The items this function builds: dict literals keyed Put/Update/Delete/ConditionCheck.
                for node in ast.walk(fn):
                    if isinstance(node, ast.Dict):
                        for key in node.keys:
                            if isinstance(key, ast.Constant) and key.value in _TRANSACT_ITEMS:
                                base.add("dynamodb:" + _TRANSACT_ITEMS[key.value])
    return base, index


def test_grants_match_the_calls_the_code_makes(reelstack: Synth, pb: Any) -> None:
    """Read the DynamoDB calls out of playback.dal and compare them with the synthesized grants: an
    action the code starts making without a grant, or a grant the code no longer needs, fails here."""
    base, index = _dal_actions()
    assert "dynamodb:PutItem" in base and "dynamodb:UpdateItem" in base  # the start's transaction items
    assert "dynamodb:Query" not in base, "playback queries only its index"
    grants = _grants(reelstack, pb)
    assert grants[_arn(reelstack, pb.table)] == base
    assert grants[_arn(reelstack, pb.table, "/index/gsi1")] == index == {"dynamodb:Query"}
