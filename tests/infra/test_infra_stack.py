"""Template assertions for the Reelstack stack (one synthesized app for the whole module)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.infra.conftest import Synth, find_one, logical_id


def _ref(lid: str) -> dict[str, str]:
    return {"Ref": lid}


def _arn(lid: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [lid, "Arn"]}


@pytest.fixture(scope="module")
def ids(reelstack: Synth) -> dict[str, str]:
    s = reelstack.stack
    return {
        "api": logical_id(reelstack, s.edge.http_api),
        "pool": logical_id(reelstack, s.identity.user_pool),
        "client": logical_id(reelstack, s.identity.user_pool_client),
        "accounts_fn": logical_id(reelstack, s.accounts.function),
        "billing_fn": logical_id(reelstack, s.billing.function),
        "catalog_fn": logical_id(reelstack, s.catalog.function),
        "accounts_table": logical_id(reelstack, s.data.accounts_table),
        "idem_table": logical_id(reelstack, s.data.idempotency_table),
        "listener": logical_id(reelstack, s.edge.listener),
        "dax": logical_id(reelstack, s.dax.cluster),
        "dax_sg": logical_id(reelstack, s.dax.security_group),
    }


# --- network -----------------------------------------------------------------------------------------


def test_vpc_two_azs_no_nat_flow_logs_and_endpoints(reelstack: Synth) -> None:
    t = reelstack.template
    t.resource_count_is("AWS::EC2::VPC", 1)
    t.resource_count_is("AWS::EC2::Subnet", 4)  # public + private in each of 2 AZs
    t.resource_count_is("AWS::EC2::NatGateway", 0)
    t.has_resource_properties("AWS::EC2::FlowLog", {"ResourceType": "VPC", "TrafficType": "ALL"})
    services = json.dumps(
        [r["Properties"]["ServiceName"] for r in reelstack.resources("AWS::EC2::VPCEndpoint").values()]
    )
    for svc in ("dynamodb", "s3", "cognito-idp", "sts", "states"):
        assert f".{svc}" in services, f"missing VPC endpoint for {svc}: {services}"


# --- HTTP API ------------------------------------------------------------------------------------------


def test_http_api_with_access_logs(reelstack: Synth, ids: dict[str, str]) -> None:
    t = reelstack.template
    t.has_resource_properties("AWS::ApiGatewayV2::Api", {"ProtocolType": "HTTP"})
    t.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "ApiId": _ref(ids["api"]),
            "StageName": "$default",
            "AutoDeploy": True,
            "AccessLogSettings": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp("routeKey"),
            },
        },
    )


def test_jwt_authorizer_issuer_and_audience(reelstack: Synth, ids: dict[str, str]) -> None:
    reelstack.template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "ApiId": _ref(ids["api"]),
            "AuthorizerType": "JWT",
            "IdentitySource": ["$request.header.Authorization"],
            "JwtConfiguration": {
                "Audience": [_ref(ids["client"])],
                "Issuer": {
                    "Fn::Join": [
                        "",
                        [
                            "https://cognito-idp.",
                            {"Ref": "AWS::Region"},
                            ".amazonaws.com/",
                            _ref(ids["pool"]),
                        ],
                    ]
                },
            },
        },
    )


def test_every_route_is_a_declared_route_with_its_declared_auth(reelstack: Synth, ids: dict[str, str]) -> None:
    """The HTTP API holds exactly the routes the services' routers declare (their decorators are
    the only place a route is written): private ones behind the JWT authorizer, public ones open
    with their reason in the APIG4 acknowledgement, each on its own service's integration."""
    from infra.constructs.nag import iter_acknowledgements
    from infra.routers import HTTP_SERVICES

    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in reelstack.resources("AWS::ApiGatewayV2::Route").values()
    }
    declared = {route.route_key: (service, route) for service in HTTP_SERVICES for route in service.routes}
    assert set(routes) == set(declared)
    # Anchors, so a router that lost its decorators cannot pass by declaring nothing.
    assert not declared["POST /accounts/login"][1].auth and declared["GET /accounts/me"][1].auth
    (authorizer_id, _) = find_one(reelstack.resources("AWS::ApiGatewayV2::Authorizer"), lambda k, v: True)
    reasons = {reason for _, rule, reason in iter_acknowledgements(reelstack.stack) if rule == "AwsSolutions-APIG4"}
    integrations = reelstack.resources("AWS::ApiGatewayV2::Integration")
    # Each service's construct is the stack attribute named after it (stack.accounts, stack.playback, ...).
    fn_of = {s.name: _arn(logical_id(reelstack, getattr(reelstack.stack, s.name).function)) for s in HTTP_SERVICES}
    for key, (service, route) in declared.items():
        props = routes[key]
        if route.auth:
            assert (props["AuthorizationType"], props["AuthorizerId"]) == ("JWT", _ref(authorizer_id)), key
        else:
            assert props.get("AuthorizationType", "NONE") == "NONE" and "AuthorizerId" not in props, key
            assert f"Public route by design: {route.public_reason}" in reasons, key
        integration_id = props["Target"]["Fn::Join"][1][1]["Ref"]
        integration = integrations[integration_id]["Properties"]
        assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")
        assert integration["IntegrationUri"] == fn_of[service.name], key


# --- ALB -----------------------------------------------------------------------------------------------


def test_alb_listener_default_404_json(reelstack: Synth) -> None:
    t = reelstack.template
    t.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internet-facing", "Type": "application"}
    )
    (_, listener) = find_one(reelstack.resources("AWS::ElasticLoadBalancingV2::Listener"), lambda k, v: True)
    props = listener["Properties"]
    assert (props["Port"], props["Protocol"]) == (80, "HTTP")
    (action,) = props["DefaultActions"]
    assert action["Type"] == "fixed-response"
    fixed = action["FixedResponseConfig"]
    assert fixed["StatusCode"] == "404" and fixed["ContentType"] == "application/json"
    body = json.loads(fixed["MessageBody"])
    assert body["error"]["code"] == "NOT_FOUND" and body["error"]["message"]


def test_alb_rule_forwards_to_accounts_lambda(reelstack: Synth, ids: dict[str, str]) -> None:
    (_, rule) = find_one(
        reelstack.resources("AWS::ElasticLoadBalancingV2::ListenerRule"), lambda k, v: k.startswith("Accounts")
    )
    props = rule["Properties"]
    assert props["ListenerArn"] == _ref(ids["listener"])
    assert props["Priority"] == 100
    assert props["Conditions"] == [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/accounts*", "/profiles*", "/billing*"]}}
    ]
    (action,) = props["Actions"]
    tg_id = action["TargetGroupArn"]["Ref"]
    tg = reelstack.template_json["Resources"][tg_id]["Properties"]
    assert tg["TargetType"] == "lambda"
    assert tg["Targets"] == [{"Id": _arn(ids["accounts_fn"])}]
    reelstack.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Principal": "elasticloadbalancing.amazonaws.com", "FunctionName": _arn(ids["accounts_fn"])},
    )


# --- DAX -----------------------------------------------------------------------------------------------


def test_dax_cluster_subnet_group_sg_and_role(reelstack: Synth, ids: dict[str, str]) -> None:
    t = reelstack.template
    (sg_id,) = reelstack.resources("AWS::DAX::SubnetGroup")
    cluster = reelstack.template_json["Resources"][ids["dax"]]["Properties"]
    assert cluster["SSESpecification"] == {"SSEEnabled": True}
    assert cluster["ClusterEndpointEncryptionType"] == "TLS"
    assert cluster["SubnetGroupName"] == _ref(sg_id)
    # Writes bypass DAX, so its caches must expire quickly (not the 5-minute default).
    (pg_id,) = reelstack.resources("AWS::DAX::ParameterGroup")
    assert cluster["ParameterGroupName"] == _ref(pg_id)
    ttls = reelstack.template_json["Resources"][pg_id]["Properties"]["ParameterNameValues"]
    assert int(ttls["record-ttl-millis"]) <= 5000 and int(ttls["query-ttl-millis"]) <= 5000
    assert cluster["SecurityGroupIds"] == [{"Fn::GetAtt": [ids["dax_sg"], "GroupId"]}]
    role_id = cluster["IAMRoleARN"]["Fn::GetAtt"][0]
    role = reelstack.template_json["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "dax.amazonaws.com"}
    t.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [_ref(role_id)],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Action": Match.array_with(["dynamodb:GetItem", "dynamodb:PutItem"])}
                        )
                    ]
                )
            },
        },
    )
    # Port 9111 from the accounts (and billing) function security group.
    accounts_sg = reelstack.stack.accounts.function.connections.security_groups[0]
    t.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "IpProtocol": "tcp",
            "FromPort": 9111,
            "ToPort": 9111,
            "GroupId": {"Fn::GetAtt": [ids["dax_sg"], "GroupId"]},
            "SourceSecurityGroupId": {"Fn::GetAtt": [logical_id(reelstack, accounts_sg), "GroupId"]},
        },
    )


# --- Cognito -------------------------------------------------------------------------------------------


def test_cognito_pool_client_and_admins_group(reelstack: Synth, ids: dict[str, str]) -> None:
    t = reelstack.template
    t.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "UsernameAttributes": ["email"],
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False},  # SignUp + emailed code
            "Policies": {
                "PasswordPolicy": Match.object_like(
                    {
                        "MinimumLength": 8,
                        "RequireUppercase": True,
                        "RequireLowercase": True,
                        "RequireNumbers": True,
                    }
                )
            },
            "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
        },
    )
    (_, client) = find_one(reelstack.resources("AWS::Cognito::UserPoolClient"), lambda k, v: True)
    props = client["Properties"]
    assert props["UserPoolId"] == _ref(ids["pool"])
    assert props.get("GenerateSecret", False) is False
    assert {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"} <= set(props["ExplicitAuthFlows"])
    # Short-lived tokens: a disabled user's token dies within 15 minutes (issue 10 item 4).
    units = props["TokenValidityUnits"]
    assert (props["AccessTokenValidity"], units["AccessToken"], props["IdTokenValidity"], units["IdToken"]) == (
        15, "minutes", 15, "minutes"
    )
    t.has_resource_properties(
        "AWS::Cognito::UserPoolGroup", {"GroupName": "admins", "UserPoolId": _ref(ids["pool"])}
    )


# --- DynamoDB ------------------------------------------------------------------------------------------


def test_accounts_table(reelstack: Synth, ids: dict[str, str]) -> None:
    props = reelstack.template_json["Resources"][ids["accounts_table"]]["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": "gsi1pk", "AttributeType": "S"} in props["AttributeDefinitions"]
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "gsi1",
            "KeySchema": [
                {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert reelstack.template_json["Resources"][ids["accounts_table"]]["DeletionPolicy"] == "Retain"


def test_idempotency_table(reelstack: Synth, ids: dict[str, str]) -> None:
    props = reelstack.template_json["Resources"][ids["idem_table"]]["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


# --- S3 ------------------------------------------------------------------------------------------------


def test_every_bucket_has_the_house_defaults(reelstack: Synth) -> None:
    """house_bucket's contract, for every bucket the stack has now or gains later: SSE-S3, all
    public access blocked, and a bucket policy denying plain-HTTP requests."""
    buckets = reelstack.resources("AWS::S3::Bucket")
    assert len(buckets) >= 3  # access logs, ingest, media
    policies = {
        p["Properties"]["Bucket"]["Ref"]: json.dumps(p["Properties"]["PolicyDocument"])
        for p in reelstack.resources("AWS::S3::BucketPolicy").values()
    }
    for lid, bucket in buckets.items():
        props = bucket["Properties"]
        default = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
        assert default == {"SSEAlgorithm": "AES256"}, lid
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, lid
        assert '"aws:SecureTransport": "false"' in policies.get(lid, ""), lid


# --- functions -----------------------------------------------------------------------------------------


def _env(reelstack: Synth, fn_id: str) -> dict[str, Any]:
    return reelstack.template_json["Resources"][fn_id]["Properties"]["Environment"]["Variables"]


@pytest.mark.parametrize("fn_key", ["accounts_fn", "billing_fn"])
def test_accounts_functions_environment_and_runtime(
    reelstack: Synth, ids: dict[str, str], fn_key: str
) -> None:
    fn = reelstack.template_json["Resources"][ids[fn_key]]["Properties"]
    env = _env(reelstack, ids[fn_key])
    assert env["ACCOUNTS_TABLE"] == _ref(ids["accounts_table"])
    assert env["IDEMPOTENCY_TABLE"] == _ref(ids["idem_table"])
    assert env["USER_POOL_ID"] == _ref(ids["pool"])
    assert env["USER_POOL_CLIENT_ID"] == _ref(ids["client"])
    assert env["ADMINS_GROUP"] == "admins"
    assert env["PAYMENT_PROVIDER"] == "local"
    assert "POWERTOOLS_METRICS_NAMESPACE" not in env  # the code's one constant, not configuration
    assert env["LOG_LEVEL"] == "INFO"
    assert env["DAX_ENDPOINT"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [ids["dax"], "ClusterDiscoveryEndpointURL"]}, ":9111"]]
    }
    assert fn["Runtime"] in ("python3.12", "python3.13")
    assert fn["Architectures"] == ["x86_64"]
    assert fn["TracingConfig"] == {"Mode": "Active"}
    assert len(fn["Layers"]) == 2
    assert len(fn["VpcConfig"]["SubnetIds"]) == 2
    assert "LogGroup" in fn["LoggingConfig"]
    expected = {
        "accounts_fn": ("accounts", "accounts.handlers.http.lambda_handler"),
        "billing_fn": ("billing-run", "accounts.handlers.billing_run.lambda_handler"),
    }[fn_key]
    assert (env["POWERTOOLS_SERVICE_NAME"], fn["Handler"]) == expected


def test_log_groups_have_retention(reelstack: Synth) -> None:
    for lid, group in reelstack.resources("AWS::Logs::LogGroup").items():
        assert group["Properties"].get("RetentionInDays"), lid


def test_billing_schedule_targets_billing_function(reelstack: Synth, ids: dict[str, str]) -> None:
    (_, rule) = find_one(
        reelstack.resources("AWS::Events::Rule"),
        lambda k, v: "ScheduleExpression" in v["Properties"] and k.startswith("BillingSchedule"),
    )
    props = rule["Properties"]
    assert props["ScheduleExpression"].startswith("cron(")
    assert props["State"] == "ENABLED"
    assert [t["Arn"] for t in props["Targets"]] == [_arn(ids["billing_fn"])]
    reelstack.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Principal": "events.amazonaws.com", "FunctionName": _arn(ids["billing_fn"])},
    )


def test_outputs_have_stable_names(reelstack: Synth) -> None:
    outputs = reelstack.template_json["Outputs"]
    assert {
        "HttpApiUrl",
        "AlbUrl",
        "UserPoolId",
        "UserPoolClientId",
        "TranscodeStateMachineArn",
        "IngestBucketName",
        "MediaBucketName",
        "EventBusName",
        "CdnDomainName",  # issue 12
        "CdnKeyPairId",
    } <= set(outputs)  # each issue adds its own outputs (and tests them); these names must stay
    # The demo workflow is gone from the production stack: the real ones only (transcode; home, issue 15).
    assert {k.rstrip("0123456789ABCDEF") for k in reelstack.resources("AWS::StepFunctions::StateMachine")} == {
        "MediaTranscodeStateMachine",
        "HomeTrainingStateMachine",
    }
