"""ServiceApi: one declaration yields the function, its HTTP API routes and its ALB listener rule.

Uses a small throwaway stack (no Reelstack resources) so the construct is tested on its own; the same
app also proves the cdk-nag plugin really runs (a deliberately non-compliant bucket is reported).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3

from infra.constructs.api import Edge
from infra.constructs.nag import add_nag_checks
from infra.constructs.service import Route, ServiceApi
from tests.infra.conftest import REPO_ROOT, TEST_CONTEXT, Synth, logical_id, synth_stack

ROUTES = [
    Route("GET", "/things", auth=False, public_reason="public catalogue of things"),
    Route("POST", "/things"),
    Route("DELETE", "/things/{thing_id}"),
]


@dataclass
class Declared:
    synth: Synth
    service: ServiceApi
    bad_bucket: s3.Bucket


@pytest.fixture(scope="module")
def declared(tmp_path_factory: pytest.TempPathFactory) -> Declared:
    outdir = tmp_path_factory.mktemp("svc.out")
    app = cdk.App(outdir=str(outdir), context=TEST_CONTEXT, builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "ServiceApiTest")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    edge = Edge(stack, "Edge", vpc=vpc, issuer_url="https://issuer.example/pool", audience=["client-123"])
    service = ServiceApi(
        stack,
        "Things",
        name="things",
        code_dir=str(REPO_ROOT / "functions" / "hello_map"),
        handler="hello_map.handler.lambda_handler",
        routes=ROUTES,
        alb_path_patterns=["/things*"],
        alb_priority=42,
        environment={"THINGS_TABLE": "things"},
        api=edge,
    )
    bad_bucket = s3.Bucket(stack, "NonCompliantBucket")  # no access logs, no SSL enforcement
    add_nag_checks(app)
    return Declared(synth_stack(app, stack, outdir), service, bad_bucket)


def test_one_declaration_makes_function_routes_and_alb_rule(declared: Declared) -> None:
    synth, service = declared.synth, declared.service
    fn_id = logical_id(synth, service.function)
    fns = synth.resources("AWS::Lambda::Function")
    assert list(fns) == [fn_id]
    env = fns[fn_id]["Properties"]["Environment"]["Variables"]
    assert env == {
        "POWERTOOLS_SERVICE_NAME": "things",
        "POWERTOOLS_METRICS_NAMESPACE": "Reelstack",
        "LOG_LEVEL": "INFO",
        "THINGS_TABLE": "things",
    }
    assert fns[fn_id]["Properties"]["TracingConfig"] == {"Mode": "Active"}

    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {"GET /things", "POST /things", "DELETE /things/{thing_id}"}
    assert routes["GET /things"].get("AuthorizationType", "NONE") == "NONE"
    assert routes["POST /things"]["AuthorizationType"] == "JWT"
    assert routes["DELETE /things/{thing_id}"]["AuthorizationType"] == "JWT"
    assert len(service.routes) == 3

    (rule,) = synth.resources("AWS::ElasticLoadBalancingV2::ListenerRule").values()
    assert rule["Properties"]["Priority"] == 42
    assert rule["Properties"]["Conditions"][0]["PathPatternConfig"]["Values"] == ["/things*"]
    (tg,) = synth.resources("AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert tg["Properties"]["Targets"] == [{"Id": {"Fn::GetAtt": [fn_id, "Arn"]}}]
    # Invoke permissions: one per HTTP API route + one for the ALB.
    principals = sorted(
        p["Properties"]["Principal"] for p in synth.resources("AWS::Lambda::Permission").values()
    )
    assert principals == ["apigateway.amazonaws.com"] * 3 + ["elasticloadbalancing.amazonaws.com"]


def test_cdk_nag_plugin_reports_unacknowledged_findings(declared: Declared) -> None:
    report = declared.synth.validation_report()
    bucket_path = declared.bad_bucket.node.default_child.node.path
    reported = {
        (v["ruleName"], c["constructPath"])
        for plugin in report["pluginReports"]
        for v in plugin["violations"]
        for c in v["violatingConstructs"]
    }
    assert ("AwsSolutions-S1", bucket_path) in reported
    # ...while the ServiceApi's own resources are clean (its acknowledgements are in place).
    service_path = declared.service.node.path + "/"
    assert not [r for r in reported if r[1].startswith(service_path)], reported


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "GET", "path": "/x", "auth": False},  # public without a reason
        {"method": "FETCH", "path": "/x"},
        {"method": "GET", "path": "x"},
    ],
)
def test_route_declaration_is_validated(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Route(**kwargs)


def test_conflicting_routes_and_priorities_fail_at_synth() -> None:
    # Construction only (no synth): a throwaway app in the same jsii process, about a second.
    app = cdk.App(context=TEST_CONTEXT, builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "Conflicts")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
    )
    edge = Edge(stack, "Edge", vpc=vpc, issuer_url="https://issuer.example/pool", audience=["c"])
    common = {
        "code_dir": str(REPO_ROOT / "functions" / "hello_map"),
        "handler": "hello_map.handler.lambda_handler",
        "environment": {},
        "api": edge,
    }
    ServiceApi(
        stack,
        "A",
        name="a",
        routes=[Route("POST", "/a")],
        alb_path_patterns=["/a*"],
        alb_priority=1,
        **common,
    )
    with pytest.raises(ValueError, match="already served by a"):
        ServiceApi(
            stack,
            "B",
            name="b",
            routes=[Route("POST", "/a")],
            alb_path_patterns=["/b*"],
            alb_priority=2,
            **common,
        )
    with pytest.raises(ValueError, match="already used by a"):
        ServiceApi(
            stack,
            "C",
            name="c",
            routes=[Route("GET", "/c")],
            alb_path_patterns=["/c*"],
            alb_priority=1,
            **common,
        )
