"""Delivery (issue 12) in the synthesized Reelstack template: the CloudFront distribution in front of
the media bucket (OAC, titles/ only, key group from context, cache policies, CORS, Origin Shield),
the bucket policy, the signing grant and the prefill wiring; plus a synth without the key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra import cdn_keys
from infra.constructs import delivery as delivery_construct
from tests.infra.conftest import TEST_CDN_PUBLIC_KEY_PEM, Synth, find_one, logical_id


def _distribution(reelstack: Synth) -> dict[str, Any]:
    _, dist = find_one(reelstack.resources("AWS::CloudFront::Distribution"), lambda k, v: True)
    return dist["Properties"]["DistributionConfig"]


def _behaviour(config: dict[str, Any], pattern: str) -> dict[str, Any]:
    return next(b for b in config["CacheBehaviors"] if b["PathPattern"] == pattern)


def _ref(reelstack: Synth, construct: Any) -> dict[str, str]:
    return {"Ref": logical_id(reelstack, construct)}


def test_only_titles_behaviours_exist_and_manifests_come_first(reelstack: Synth) -> None:
    config = _distribution(reelstack)
    assert [b["PathPattern"] for b in config["CacheBehaviors"]] == ["titles/*.m3u8", "titles/*"]
    for behaviour in [*config["CacheBehaviors"], config["DefaultCacheBehavior"]]:
        assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
        assert "POST" not in behaviour["AllowedMethods"] and "PUT" not in behaviour["AllowedMethods"]


def test_default_behaviour_serves_the_web_app_never_the_media_bucket(reelstack: Synth) -> None:
    """Issue 16: the default behaviour is the app's bucket; only titles/* reach the media bucket, so
    work/ and any other media key stay unreachable (the app bucket answers 403 for them)."""
    config = _distribution(reelstack)
    origins = {o["Id"]: o["DomainName"]["Fn::GetAtt"][0] for o in config["Origins"]}
    media = logical_id(reelstack, reelstack.stack.media.media_bucket)
    app = logical_id(reelstack, reelstack.stack.web_origin.bucket)
    assert origins[config["DefaultCacheBehavior"]["TargetOriginId"]] == app
    assert config["DefaultRootObject"] == "index.html"
    assert "TrustedKeyGroups" not in config["DefaultCacheBehavior"]
    assert {origins[b["TargetOriginId"]] for b in config["CacheBehaviors"]} == {media}


def test_every_behaviour_requires_a_grant_from_the_key_group(reelstack: Synth) -> None:
    delivery = reelstack.stack.delivery
    config = _distribution(reelstack)
    for behaviour in config["CacheBehaviors"]:  # every media behaviour (the default one is the web app)
        assert behaviour["TrustedKeyGroups"] == [_ref(reelstack, delivery.key_group)]
    (group,) = reelstack.resources("AWS::CloudFront::KeyGroup").values()
    assert group["Properties"]["KeyGroupConfig"]["Items"] == [_ref(reelstack, delivery.public_key)]
    (key,) = reelstack.resources("AWS::CloudFront::PublicKey").values()
    assert key["Properties"]["PublicKeyConfig"]["EncodedKey"] == TEST_CDN_PUBLIC_KEY_PEM.strip() + "\n"
    # The private half is nowhere in the template.
    assert "PRIVATE KEY" not in json.dumps(reelstack.template_json)


def test_origin_access_control_and_origin_shield(reelstack: Synth) -> None:
    config = _distribution(reelstack)
    media_bucket = reelstack.stack.media.media_bucket
    (origin,) = [o for o in config["Origins"]
                 if o["DomainName"]["Fn::GetAtt"][0] == logical_id(reelstack, media_bucket)]
    assert origin["DomainName"] == {"Fn::GetAtt": [logical_id(reelstack, media_bucket), "RegionalDomainName"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy OAI
    oac_lid = origin["OriginAccessControlId"]["Fn::GetAtt"][0]
    oac = reelstack.template_json["Resources"][oac_lid]["Properties"]["OriginAccessControlConfig"]
    assert oac["OriginAccessControlOriginType"] == "s3"
    assert oac["SigningBehavior"] == "always" and oac["SigningProtocol"] == "sigv4"
    assert origin["OriginShield"] == {"Enabled": True, "OriginShieldRegion": {"Ref": "AWS::Region"}}


def _cache_policy(reelstack: Synth, behaviour: dict[str, Any]) -> dict[str, Any]:
    lid = behaviour["CachePolicyId"]["Ref"]
    return reelstack.template_json["Resources"][lid]["Properties"]["CachePolicyConfig"]


def test_cache_policies_short_for_playlists_long_for_segments(reelstack: Synth) -> None:
    config = _distribution(reelstack)
    manifests = _cache_policy(reelstack, _behaviour(config, "titles/*.m3u8"))
    segments = _cache_policy(reelstack, _behaviour(config, "titles/*"))
    assert manifests["DefaultTTL"] <= 10 and manifests["MaxTTL"] <= 60 and manifests["MinTTL"] == 0
    assert segments["DefaultTTL"] >= 86400 * 30 and segments["MinTTL"] >= 86400
    for policy in (manifests, segments):
        key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
        # Signing parameters and viewer cookies/headers stay out of the key: one copy for everyone.
        assert key["CookiesConfig"]["CookieBehavior"] == "none"
        assert key["HeadersConfig"]["HeaderBehavior"] == "none"
        assert key["QueryStringsConfig"]["QueryStringBehavior"] == "none"
    assert _behaviour(config, "titles/*.m3u8")["Compress"] is True
    assert _behaviour(config, "titles/*")["Compress"] is False


def test_cors_for_the_web_player(reelstack: Synth) -> None:
    config = _distribution(reelstack)
    for pattern in ("titles/*.m3u8", "titles/*"):
        lid = _behaviour(config, pattern)["ResponseHeadersPolicyId"]["Ref"]
        cors = reelstack.template_json["Resources"][lid]["Properties"]["ResponseHeadersPolicyConfig"]["CorsConfig"]
        assert set(cors["AccessControlAllowMethods"]["Items"]) == {"GET", "HEAD", "OPTIONS"}
        assert "Range" in cors["AccessControlAllowHeaders"]["Items"]
        # "*" without credentials when no player origin is configured (never "*" with credentials).
        assert cors["AccessControlAllowOrigins"]["Items"] == ["*"]
        assert cors["AccessControlAllowCredentials"] is False


def test_logging_without_cookies(reelstack: Synth) -> None:
    logging = _distribution(reelstack)["Logging"]
    assert logging["IncludeCookies"] is False
    log_bucket = reelstack.template_json["Resources"][logical_id(reelstack, reelstack.stack.delivery.log_bucket)]
    assert log_bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True


def _media_bucket_statements(reelstack: Synth) -> list[dict[str, Any]]:
    bucket_lid = logical_id(reelstack, reelstack.stack.media.media_bucket)
    policies = reelstack.resources("AWS::S3::BucketPolicy").values()
    (policy,) = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": bucket_lid}]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_bucket_policy_lets_only_this_distribution_read_only_titles(reelstack: Synth) -> None:
    statements = _media_bucket_statements(reelstack)
    dist_lid = logical_id(reelstack, reelstack.stack.delivery.distribution)
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1, "only the CloudFront OAC statement may allow anything"
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert {"Ref": dist_lid} in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]
    (deny,) = [s for s in statements if s.get("Sid") == "CloudFrontReadsTitlesOnly"]
    assert deny["Effect"] == "Deny" and deny["Action"] == "s3:GetObject"
    assert deny["NotResource"]["Fn::Join"][1][-1] == "/titles/*"
    assert deny["Condition"] == allow["Condition"]
    assert not any(s.get("Principal") in ("*", {"AWS": "*"}) and s["Effect"] == "Allow" for s in statements)
    bucket = reelstack.template_json["Resources"][logical_id(reelstack, reelstack.stack.media.media_bucket)]
    assert all(bucket["Properties"]["PublicAccessBlockConfiguration"].values())


def _function_policy_statements(reelstack: Synth, fn: Any) -> list[dict[str, Any]]:
    role_lid = logical_id(reelstack, fn.role)
    out: list[dict[str, Any]] = []
    for policy in reelstack.resources("AWS::IAM::Policy").values():
        if {"Ref": role_lid} in policy["Properties"]["Roles"]:
            out.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return out


def test_grant_signing_sets_env_and_reads_one_secret(reelstack: Synth) -> None:
    delivery = reelstack.stack.delivery
    fn_props = reelstack.template_json["Resources"][logical_id(reelstack, delivery.prefill_function)]["Properties"]
    env = fn_props["Environment"]["Variables"]
    assert env["CDN_KEY_PAIR_ID"] == _ref(reelstack, delivery.public_key)
    assert env["CDN_SIGNING_KEY_SECRET"] == "reelstack/cdn-signing-key"
    assert env["CDN_SIGNING_KEY_STAGE"] == cdn_keys.key_fingerprint(TEST_CDN_PUBLIC_KEY_PEM.encode())
    dist_lid = logical_id(reelstack, delivery.distribution)
    assert env["CDN_URL"] == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [dist_lid, "DomainName"]}]]}
    statements = _function_policy_statements(reelstack, delivery.prefill_function)
    secret_statements = [s for s in statements if "secretsmanager" in str(s["Action"])]
    (statement,) = secret_statements
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    resource = json.dumps(statement["Resource"])
    assert resource.endswith('":secret:reelstack/cdn-signing-key-??????"]]}')


def test_env_names_match_the_signer() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "layers" / "shared" / "python"))
    from reelstack_common import cdn_signing

    assert delivery_construct.ENV_CDN_URL == cdn_signing.ENV_CDN_URL
    assert delivery_construct.ENV_KEY_PAIR_ID == cdn_signing.ENV_KEY_PAIR_ID
    assert delivery_construct.ENV_SECRET == cdn_signing.ENV_SECRET
    assert delivery_construct.ENV_SECRET_STAGE == cdn_signing.ENV_SECRET_STAGE


def test_prefill_rule_queue_dlq_and_function(reelstack: Synth) -> None:
    delivery = reelstack.stack.delivery
    rule = reelstack.template_json["Resources"][logical_id(reelstack, delivery.prefill_rule)]["Properties"]
    assert rule["EventPattern"] == {"source": ["reelstack.catalog"], "detail-type": ["TitlePublished"]}
    assert rule["EventBusName"] == {"Ref": logical_id(reelstack, reelstack.stack.events.bus)}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [logical_id(reelstack, delivery.prefill_queue), "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {
        "Fn::GetAtt": [logical_id(reelstack, delivery.prefill_dead_letter_queue), "Arn"]
    }
    queue = reelstack.template_json["Resources"][logical_id(reelstack, delivery.prefill_queue)]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == delivery_construct.PREFILL_MAX_RECEIVES
    fn = reelstack.template_json["Resources"][logical_id(reelstack, delivery.prefill_function)]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * fn["Timeout"]
    assert fn["Handler"] == "delivery.handlers.prefill.lambda_handler"
    assert fn["Environment"]["Variables"]["PREFILL_SECONDS"] == "300"
    (mapping,) = [
        m
        for m in reelstack.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": logical_id(reelstack, delivery.prefill_function)}
    ]
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_prefill_function_rights_are_exactly_what_it_uses(reelstack: Synth) -> None:
    delivery = reelstack.stack.delivery
    actions: set[str] = set()
    for statement in _function_policy_statements(reelstack, delivery.prefill_function):
        listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        actions.update(listed)
        if any(a.startswith("dynamodb:") for a in listed):
            assert statement["Resource"] == {"Fn::GetAtt": [logical_id(reelstack, delivery.prefill_table), "Arn"]}
    assert {a for a in actions if a.startswith("dynamodb:")} == {"dynamodb:UpdateItem"}
    assert not any(a.startswith("s3:") for a in actions), "prefill reads through the CDN, never the bucket"
    assert "secretsmanager:GetSecretValue" in actions


def test_outputs(reelstack: Synth) -> None:
    outputs = reelstack.template_json["Outputs"]
    dist_lid = logical_id(reelstack, reelstack.stack.delivery.distribution)
    assert outputs["CdnDomainName"]["Value"] == {"Fn::GetAtt": [dist_lid, "DomainName"]}
    assert outputs["CdnKeyPairId"]["Value"] == _ref(reelstack, reelstack.stack.delivery.public_key)


def test_delivery_has_no_cdk_nag_findings(reelstack: Synth) -> None:
    findings = [
        f"{v['ruleName']} at {c.get('constructPath')}"
        for plugin in reelstack.validation_report().get("pluginReports", [])
        for v in plugin.get("violations", [])
        for c in v.get("violatingConstructs", [])
        if "/Delivery/" in str(c.get("constructPath"))
    ]
    assert findings == []


# --- a synth without the key: an error for deploys, a placeholder for tolerant synths ----------------


@pytest.fixture(scope="module")
def keyless(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """A small app holding only Delivery (and what it needs), synthesized without the key context."""
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3

    from infra.constructs.delivery import Delivery
    from infra.constructs.events import PlatformEvents
    from tests.infra.conftest import TEST_CONTEXT, synth_stack

    outdir = tmp_path_factory.mktemp("keyless")
    # Empty, not absent: an absent key would be read from a developer's cdk.context.json.
    context = {**TEST_CONTEXT, cdn_keys.PUBLIC_KEY_CONTEXT: ""}
    app = cdk.App(outdir=str(outdir), context=context, builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "KeylessDelivery")
    bucket = s3.Bucket(stack, "Media")
    Delivery(stack, "Delivery", media_bucket=bucket, events_bus=PlatformEvents(stack, "Events"), layers=[])
    return synth_stack(app, stack, outdir)


def test_synth_without_the_key_reports_an_error_naming_the_command(keyless: Synth) -> None:
    # The CLI stops on aws:cdk:error metadata (``cdk synth``/``deploy`` exit non-zero).
    metadata = json.loads((keyless.outdir / f"{keyless.stack.artifact_id}.metadata.json").read_text())
    messages = [str(e["data"]) for entries in metadata.values() for e in entries if e["type"] == "aws:cdk:error"]
    assert any("python -m infra.cdn_keys" in m and cdn_keys.PUBLIC_KEY_CONTEXT in m for m in messages), messages
    (key,) = keyless.resources("AWS::CloudFront::PublicKey").values()
    assert "MISSING" in key["Properties"]["PublicKeyConfig"]["EncodedKey"]
    fn = next(iter(keyless.resources("AWS::Lambda::Function").values()))
    assert "CDN_SIGNING_KEY_STAGE" not in fn["Properties"]["Environment"]["Variables"]


def test_player_origins_from_context_enable_credentials(tmp_path: Path) -> None:
    import aws_cdk as cdk

    app = cdk.App(context={delivery_construct.PLAYER_ORIGINS_CONTEXT: "https://app.example, https://b.example"})
    assert delivery_construct.player_origins_from_context(app) == ["https://app.example", "https://b.example"]
    assert delivery_construct.player_origins_from_context(cdk.App()) == []


def test_offpeak_fill_schedule_function_and_read_only_grants(reelstack: Synth) -> None:
    delivery = reelstack.stack.delivery
    resources = reelstack.template_json["Resources"]
    rule = resources[logical_id(reelstack, delivery.offpeak_rule)]["Properties"]
    assert rule["ScheduleExpression"] == delivery_construct.OFFPEAK_SCHEDULE == "cron(0 3-5 * * ? *)"
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    fn_lid = logical_id(reelstack, delivery.offpeak_function)
    assert target["Arn"] == {"Fn::GetAtt": [fn_lid, "Arn"]}
    fn = resources[fn_lid]["Properties"]
    assert fn["Handler"] == "delivery.handlers.offpeak.lambda_handler"
    env = fn["Environment"]["Variables"]
    assert env["HOME_TABLE"] == _ref(reelstack, reelstack.stack.recommendations.home_table)
    assert env["CATALOG_TABLE"] == _ref(reelstack, reelstack.stack.catalog_data.catalog_table)
    assert env["OFFPEAK_BUDGET_BYTES"] == str(delivery_construct.OFFPEAK_BUDGET_BYTES)
    assert int(env["PREFILL_LEASE_S"]) > fn["Timeout"]
    assert {"CDN_URL", "CDN_KEY_PAIR_ID", "CDN_SIGNING_KEY_SECRET"} <= set(env)
    actions: set[str] = set()
    for statement in _function_policy_statements(reelstack, delivery.offpeak_function):
        listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        actions.update(listed)
    assert {a for a in actions if a.startswith("dynamodb:")} == {
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
    }
    assert not any(a.startswith("s3:") for a in actions), "the fill reads through the CDN, never the bucket"
    home_arn = {"Fn::GetAtt": [logical_id(reelstack, reelstack.stack.recommendations.home_table), "Arn"]}
    on_home = [s for s in _function_policy_statements(reelstack, delivery.offpeak_function)
               if home_arn in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    assert [(s["Action"], s.get("Condition")) for s in on_home] == [
        ("dynamodb:Query", {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TRENDING"]}})
    ], "the fill reads the trending partition of the home table, no profile's page"
    permissions = [
        p["Properties"]
        for p in reelstack.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [fn_lid, "Arn"]}
    ]
    assert [p["Principal"] for p in permissions] == ["events.amazonaws.com"]


def test_withdrawal_purge_rule_queue_and_function(reelstack: Synth) -> None:
    delivery = reelstack.stack.delivery
    resources = reelstack.template_json["Resources"]
    rule = resources[logical_id(reelstack, delivery.purge_rule)]["Properties"]
    assert rule["EventPattern"] == {"source": ["reelstack.catalog"], "detail-type": ["TitleWithdrawn"]}
    assert rule["EventBusName"] == {"Ref": logical_id(reelstack, reelstack.stack.events.bus)}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [logical_id(reelstack, delivery.purge_queue), "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {
        "Fn::GetAtt": [logical_id(reelstack, delivery.purge_dead_letter_queue), "Arn"]
    }
    queue = resources[logical_id(reelstack, delivery.purge_queue)]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == delivery_construct.PURGE_MAX_RECEIVES
    fn_lid = logical_id(reelstack, delivery.purge_function)
    fn = resources[fn_lid]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * fn["Timeout"]
    assert fn["Handler"] == "delivery.handlers.withdraw.lambda_handler"
    env = fn["Environment"]["Variables"]
    assert env["DISTRIBUTION_ID"] == _ref(reelstack, delivery.distribution)
    assert env["PREFILL_TABLE"] == _ref(reelstack, delivery.prefill_table)
    (mapping,) = [
        m
        for m in reelstack.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": fn_lid}
    ]
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_withdrawal_purge_may_invalidate_this_distribution_only(reelstack: Synth) -> None:
    delivery = reelstack.stack.delivery
    by_action: dict[str, list[Any]] = {}
    for statement in _function_policy_statements(reelstack, delivery.purge_function):
        listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in listed:
            by_action.setdefault(action, []).append(statement["Resource"])
    cloudfront_actions = {a for a in by_action if a.startswith("cloudfront:")}
    assert cloudfront_actions == {"cloudfront:CreateInvalidation"}
    (resource,) = by_action["cloudfront:CreateInvalidation"]
    # arn:<partition>:cloudfront::<account>:distribution/<this distribution's id>
    joined = json.dumps(resource)
    assert ":distribution/" in joined and json.dumps(_ref(reelstack, delivery.distribution)) in joined
    assert "*" not in joined
    assert by_action["dynamodb:UpdateItem"] == [{"Fn::GetAtt": [logical_id(reelstack, delivery.prefill_table), "Arn"]}]
    assert set(by_action) - {"cloudfront:CreateInvalidation", "dynamodb:UpdateItem"} <= {
        "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage",
        "sqs:GetQueueAttributes", "sqs:SendMessage", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    }  # fmt: skip
    assert "secretsmanager:GetSecretValue" not in by_action  # only the local cloud signs (its fleet's purge)


# --- key rotation with overlap: the template at each phase of python -m infra.cdn_keys --------------

PHASES = ("before", "rotating", "promoted", "retired", "rotating-again")


@dataclass
class Rotation:
    synth: Synth
    contexts: dict[str, dict[str, str]]  # phase -> the context file's key entries at that phase
    fingerprints: dict[str, str]  # "A" (deployed before this code), "B", "C" -> fingerprint

    def template(self, phase: str) -> dict[str, Any]:
        stack = self.synth.app.node.find_child(f"Rotation-{phase}")
        return json.loads((self.synth.outdir / f"{stack.artifact_id}.template.json").read_text())

    def keys(self, phase: str) -> dict[str, str]:
        """Fingerprint -> logical id of every PublicKey in the phase's template."""
        return {
            cdn_keys.key_fingerprint(r["Properties"]["PublicKeyConfig"]["EncodedKey"].encode()): lid
            for lid, r in self.template(phase)["Resources"].items()
            if r["Type"] == "AWS::CloudFront::PublicKey"
        }

    def key_group(self, phase: str) -> dict[str, Any]:
        """The KeyGroup's configuration without its name (which holds the stack's name, one per phase
        here; in the real stack it is fixed)."""
        (group,) = [r for r in self.template(phase)["Resources"].values() if r["Type"] == "AWS::CloudFront::KeyGroup"]
        return {k: v for k, v in group["Properties"]["KeyGroupConfig"].items() if k != "Name"}

    def key_config(self, phase: str, fingerprint: str) -> dict[str, Any]:
        """Without Name and CallerReference: both come from the construct's path, stack included (one
        stack per phase here; in the real stack the path of a key is fixed)."""
        config = self.template(phase)["Resources"][self.keys(phase)[fingerprint]]["Properties"]["PublicKeyConfig"]
        return {k: v for k, v in config.items() if k not in {"Name", "CallerReference"}}

    def signing_envs(self, phase: str) -> list[dict[str, Any]]:
        return [
            r["Properties"]["Environment"]["Variables"]
            for r in self.template(phase)["Resources"].values()
            if r["Type"] == "AWS::Lambda::Function" and "CDN_KEY_PAIR_ID" in str(r["Properties"].get("Environment"))
        ]


@pytest.fixture(scope="module")
def rotation(tmp_path_factory: pytest.TempPathFactory) -> Rotation:
    """The context file through a rotation driven by infra.cdn_keys (moto Secrets Manager), starting
    from a context written before rotation with overlap existed; one stack per phase, each holding
    Delivery with that phase's context, in ONE app (one synth, cdk-nag on)."""
    import aws_cdk as cdk
    import boto3
    from aws_cdk import aws_s3 as s3
    from moto import mock_aws

    from infra.constructs.delivery import Delivery
    from infra.constructs.events import PlatformEvents
    from infra.constructs.nag import add_nag_checks
    from tests.infra.conftest import TEST_CONTEXT, synth_stack

    work = tmp_path_factory.mktemp("rotation")
    context_file = work / "cdk.context.json"
    contexts: dict[str, dict[str, str]] = {}
    fingerprints: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as env, mock_aws():
        env.delenv("AWS_ENDPOINT_URL", raising=False)  # a local cloud's endpoint would bypass moto's mock
        sm = boto3.client("secretsmanager", region_name="eu-west-1")
        pair = cdn_keys.generate_key_pair()
        cdn_keys.store_private_key(sm, pair)
        context_file.write_text(json.dumps({cdn_keys.PUBLIC_KEY_CONTEXT: pair.public_pem.decode()}))
        fingerprints["A"] = cdn_keys.key_fingerprint(pair.public_pem)
        snapshot = lambda: {k: v for k, v in json.loads(context_file.read_text()).items() if k.startswith("reelstack:")}  # noqa: E731
        contexts["before"] = snapshot()
        fingerprints["B"] = cdn_keys.rotate_key(sm, context_file=context_file)[1]
        contexts["rotating"] = snapshot()
        cdn_keys.promote_key(sm, context_file=context_file)
        contexts["promoted"] = snapshot()
        cdn_keys.retire_key(context_file=context_file, force=True)
        contexts["retired"] = snapshot()
        fingerprints["C"] = cdn_keys.rotate_key(sm, context_file=context_file)[1]
        contexts["rotating-again"] = snapshot()

    outdir = work / "cdk.out"
    app_context = {k: v for k, v in TEST_CONTEXT.items() if k != cdn_keys.PUBLIC_KEY_CONTEXT}
    app = cdk.App(outdir=str(outdir), context=app_context, builtin_cloud_formation_validation=False)
    add_nag_checks(app)
    for phase in PHASES:
        stack = cdk.Stack(app, f"Rotation-{phase}")
        for key, value in contexts[phase].items():
            stack.node.set_context(key, value)
        bucket = s3.Bucket(stack, "Media")
        Delivery(stack, "Delivery", media_bucket=bucket, events_bus=PlatformEvents(stack, "Events"), layers=[])
    return Rotation(synth_stack(app, app.node.find_child("Rotation-before"), outdir), contexts, fingerprints)


# What the key was deployed under before rotation with overlap existed (construct id `PublicKey`).
PRE_ROTATION_LOGICAL_ID = "DeliveryPublicKeyB40A1427"


def test_rotation_contexts_are_the_phases(rotation: Rotation) -> None:
    a, b, c = (rotation.fingerprints[k] for k in "ABC")
    roles = {
        phase: {
            role: cdn_keys.key_fingerprint(ctx[key].encode())
            for role, key in (
                ("current", cdn_keys.PUBLIC_KEY_CONTEXT),
                ("next", cdn_keys.NEXT_PUBLIC_KEY_CONTEXT),
                ("retiring", cdn_keys.RETIRING_PUBLIC_KEY_CONTEXT),
            )
            if key in ctx
        }
        for phase, ctx in rotation.contexts.items()
    }
    assert roles == {
        "before": {"current": a},
        "rotating": {"current": a, "next": b},
        "promoted": {"current": b, "retiring": a},
        "retired": {"current": b},
        "rotating-again": {"current": b, "next": c},
    }


def test_the_key_group_trusts_every_key_present(rotation: Rotation) -> None:
    for phase in PHASES:
        keys = rotation.keys(phase)
        items = rotation.key_group(phase)["Items"]
        assert sorted(items, key=str) == sorted(({"Ref": lid} for lid in keys.values()), key=str), phase
    a, b, c = (rotation.fingerprints[k] for k in "ABC")
    assert set(rotation.keys("rotating")) == set(rotation.keys("promoted")) == {a, b}  # the overlap
    assert set(rotation.keys("retired")) == {b} and set(rotation.keys("rotating-again")) == {b, c}


def test_a_key_keeps_its_logical_id_from_next_to_signing_to_retiring(rotation: Rotation) -> None:
    a, b, c = (rotation.fingerprints[k] for k in "ABC")
    # The key deployed before this code keeps the logical id it had: its first deploy replaces nothing.
    assert {rotation.keys(p)[a] for p in ("before", "rotating", "promoted")} == {PRE_ROTATION_LOGICAL_ID}
    # Keys made by the rotation have their fingerprint's logical id for as long as they are present.
    assert len({rotation.keys(p)[b] for p in ("rotating", "promoted", "retired", "rotating-again")}) == 1
    assert rotation.keys("rotating")[b].startswith("DeliveryPublicKey" + b.replace("-", ""))
    assert rotation.keys("rotating-again")[c].startswith("DeliveryPublicKey" + c.replace("-", ""))
    # Same properties too (a changed EncodedKey would replace the key as surely as a new logical id).
    assert all(rotation.key_config(p, a) == rotation.key_config("before", a) for p in ("rotating", "promoted"))
    assert all(rotation.key_config(p, b) == rotation.key_config("rotating", b) for p in ("promoted", "retired"))


def test_the_real_stack_keeps_the_pre_rotation_logical_id(reelstack: Synth) -> None:
    # The test context has no next key and no legacy marker, like every context written before
    # rotation with overlap: the signing key stays where it was deployed.
    assert logical_id(reelstack, reelstack.stack.delivery.public_key) == PRE_ROTATION_LOGICAL_ID
    assert set(reelstack.stack.delivery.trusted_keys) == {cdn_keys.key_fingerprint(TEST_CDN_PUBLIC_KEY_PEM.encode())}


def test_promoting_changes_the_signing_environment_not_the_key_group(rotation: Rotation) -> None:
    assert rotation.key_group("rotating") == rotation.key_group("promoted")
    for phase in PHASES:
        current = cdn_keys.key_fingerprint(rotation.contexts[phase][cdn_keys.PUBLIC_KEY_CONTEXT].encode())
        envs = rotation.signing_envs(phase)
        assert len(envs) == 2, phase  # prefill signs; purge carries the environment
        for env in envs:
            assert env["CDN_KEY_PAIR_ID"] == {"Ref": rotation.keys(phase)[current]}, phase
            assert env["CDN_SIGNING_KEY_STAGE"] == current, phase


def test_rotation_templates_have_no_cdk_nag_findings(rotation: Rotation) -> None:
    findings = [
        f"{v['ruleName']} at {c.get('constructPath')}"
        for plugin in rotation.synth.validation_report().get("pluginReports", [])
        for v in plugin.get("violations", [])
        for c in v.get("violatingConstructs", [])
        if "/Delivery/" in str(c.get("constructPath"))
    ]
    assert findings == []
    assert rotation.synth.validation_report().get("pluginReports"), "cdk-nag did not run"
