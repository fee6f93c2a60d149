"""ServiceApi: a service's router yields the function, its HTTP API routes and its ALB listener rule.

Uses a small throwaway stack (no Reelstack resources) and throwaway services (a Powertools router in
a temp dir) so the construct is tested on its own; the same app also proves the cdk-nag plugin
really runs (a deliberately non-compliant bucket is reported).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3

from infra.constructs.api import Edge
from infra.constructs.nag import add_nag_checks
from infra.constructs.service import ServiceApi
from infra.routers import HttpService, Route
from tests.infra.conftest import TEST_CONTEXT, Synth, logical_id, synth_stack

THINGS_ROUTES = """
@router.get("/things", openapi_extensions=public("public catalogue of things"))
def list_things() -> dict:
    return {}


@router.post("/things")
def create_thing() -> dict:
    return {}


@router.delete("/things/<thing_id>")
def delete_thing(thing_id: str) -> dict:
    return {}
"""


def write_service(functions_dir: Path, name: str, routes: str, preamble: str = "") -> HttpService:
    """A service package shaped like functions/<name>/<name>/handlers/http.py."""
    package = functions_dir / name / name
    (package / "handlers").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "handlers" / "__init__.py").write_text("")
    (package / "handlers" / "http.py").write_text(
        textwrap.dedent(preamble)
        + "from reelstack_common.http import Router, build_handler, public\n\n"
        + "router = Router()\n"
        + textwrap.dedent(routes)
        + f"\nlambda_handler = build_handler(router, service={name!r})\n"
    )
    return HttpService(
        name=name,
        handler=f"{name}.handlers.http.lambda_handler",
        alb_path_patterns=(f"/{name}*",),
        alb_priority=42,
        functions_dir=functions_dir,
    )


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
    things = write_service(tmp_path_factory.mktemp("functions"), "things", THINGS_ROUTES)
    service = ServiceApi(stack, "Things", service=things, environment={"THINGS_TABLE": "things"}, api=edge)
    bad_bucket = s3.Bucket(stack, "NonCompliantBucket")  # no access logs, no SSL enforcement
    add_nag_checks(app)
    return Declared(synth_stack(app, stack, outdir), service, bad_bucket)


def test_the_router_makes_function_routes_and_alb_rule(declared: Declared) -> None:
    synth, service = declared.synth, declared.service
    fn_id = logical_id(synth, service.function)
    fns = synth.resources("AWS::Lambda::Function")
    assert list(fns) == [fn_id]
    env = fns[fn_id]["Properties"]["Environment"]["Variables"]
    assert env == {
        "POWERTOOLS_SERVICE_NAME": "things",
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
    from infra.constructs.nag import iter_acknowledgements

    reasons = [r for path, rule, r in iter_acknowledgements(service) if rule == "AwsSolutions-APIG4"]
    assert reasons == ["Public route by design: public catalogue of things"]

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


def test_a_handler_module_that_needs_the_environment_at_import_fails_at_synth(tmp_path: Path) -> None:
    # The router is read with no AWS settings and no variables, as a cold start without
    # configuration would import it: module-level os.environ[...] is caught here, not in Lambda.
    needy = write_service(tmp_path, "needy", THINGS_ROUTES, preamble="import os\nTABLE = os.environ['TABLE']\n")
    with pytest.raises(RuntimeError, match="KeyError: 'TABLE'"):
        _ = needy.routes


def test_conflicting_routes_and_priorities_fail_at_synth(tmp_path: Path) -> None:
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
    post_a = """
    @router.post("/a")
    def a() -> dict:
        return {}
    """
    a = write_service(tmp_path, "a", post_a)
    b = write_service(tmp_path, "b", post_a)
    c = write_service(tmp_path, "c", post_a.replace('post("/a")', 'get("/c")'))
    ServiceApi(stack, "A", service=a, environment={}, api=edge)
    with pytest.raises(ValueError, match="already served by a"):
        ServiceApi(stack, "B", service=b, environment={}, api=edge)
    with pytest.raises(ValueError, match="already used by a"):
        ServiceApi(stack, "C", service=c, environment={}, api=edge)  # same ALB priority (42)
