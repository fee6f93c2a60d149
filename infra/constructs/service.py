"""ServiceApi: a service's Lambda function + its HTTP API routes + its ALB rule, from ONE declaration:
the routes come from the service's Powertools router (``infra.routers``), nowhere else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_elasticloadbalancingv2_targets as elb_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.api import Edge
from infra.constructs.layers import ASSET_EXCLUDES, PYTHON_RUNTIME
from infra.constructs.nag import acknowledge
from infra.routers import HttpService, Route


def powertools_environment(name: str, log_level: str = "INFO") -> dict[str, str]:
    # No POWERTOOLS_METRICS_NAMESPACE: the namespace is reelstack_common.http.METRICS_NAMESPACE.
    return {"POWERTOOLS_SERVICE_NAME": name, "LOG_LEVEL": log_level}


def service_function(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    code_dir: str,
    handler: str,
    environment: Mapping[str, str],
    layers: Sequence[lambda_.ILayerVersion] = (),
    vpc: ec2.IVpc | None = None,
    vpc_subnets: ec2.SubnetSelection | None = None,
    memory_size: int = 512,
    timeout: Duration | None = None,
    ephemeral_storage: Size | None = None,
    log_level: str = "INFO",
    description: str | None = None,
) -> lambda_.Function:
    """A Reelstack Lambda function with the house defaults (also used by non-HTTP functions)."""
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    )
    fn = lambda_.Function(
        scope,
        construct_id,
        description=description or f"Reelstack {name}",
        runtime=PYTHON_RUNTIME,
        architecture=lambda_.Architecture.X86_64,
        handler=handler,
        # No bundling: the asset dir holds pure Python; third-party packages come from the deps layer.
        code=lambda_.Code.from_asset(code_dir, exclude=ASSET_EXCLUDES),
        memory_size=memory_size,
        timeout=timeout or Duration.seconds(10),
        ephemeral_storage_size=ephemeral_storage,
        tracing=lambda_.Tracing.ACTIVE,
        # An explicit log group instead of log_retention: no LogRetention custom-resource Lambda.
        log_group=log_group,
        layers=list(layers),
        vpc=vpc,
        vpc_subnets=vpc_subnets if vpc is not None else None,
        environment={**powertools_environment(name, log_level), **environment},
    )
    acknowledge(
        fn,
        "AwsSolutions-L1",
        f"Pinned to {PYTHON_RUNTIME.name}: the deps layer's binary wheels (pydantic-core, cryptography) are "
        "built for this interpreter; bump layers.PYTHON_RUNTIME (both follow it) after testing.",
    )
    role = fn.role
    assert isinstance(role, iam.Role)
    for managed in ("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole"):
        if vpc is None and managed == "AWSLambdaVPCAccessExecutionRole":
            continue
        acknowledge(
            role,
            "AwsSolutions-IAM4",
            f"{managed} is the AWS-maintained minimum for CloudWatch Logs / VPC ENI management; every "
            "data-access right of this function is an inline, resource-scoped statement.",
            applies_to=[f"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{managed}"],
        )
    # X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions. tests/infra
    # asserts that every Resource "*" statement in the stack holds only such unscopable actions.
    acknowledge(
        role.node.find_child("DefaultPolicy"),
        "AwsSolutions-IAM5",
        "Active tracing: xray:PutTraceSegments / xray:PutTelemetryRecords only support Resource '*'.",
        applies_to=["Resource::*"],
    )
    return fn


class ServiceApi(Construct):
    """A service behind both edges: its function, one HTTP API route per route its router declares
    (JWT authorizer, or none with the declared reason), and its ALB listener rule.

    Attributes other code uses:
      function: lambda_.Function (grant tables etc. to it)
      routes: list[apigwv2.HttpRoute] (in the router's order)
      target_group: elbv2.ApplicationTargetGroup (Lambda target)
      listener_rule: elbv2.ApplicationListenerRule (path patterns, priority)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: HttpService,
        environment: Mapping[str, str],
        api: Edge,
        layers: Sequence[lambda_.ILayerVersion] = (),
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        # Every service imports pydantic + Powertools at cold start: more memory = more CPU = a
        # faster cold start, which an HTTP caller waits for.
        memory_size: int = 1024,
        timeout: Duration | None = None,
        log_level: str = "INFO",
    ) -> None:
        super().__init__(scope, construct_id)
        name = service.name
        routes: Sequence[Route] = service.routes
        if not routes:
            raise ValueError(f"service {name} declares no routes")
        if not 1 <= len(service.alb_path_patterns) <= 5:
            # ALB allows at most 5 condition values per rule (path patterns count against it).
            raise ValueError("an ALB listener rule takes 1..5 path patterns")
        seen = [r.route_key for r in routes]
        if len(seen) != len(set(seen)):
            raise ValueError(f"service {name} declares a route twice: {seen}")

        # Fail at synth, not at deploy, when two services claim the same route or ALB priority.
        for route in routes:
            api.reserve_route(route.route_key, name)
        api.reserve_alb_priority(service.alb_priority, name)

        self.name = name
        self.function = service_function(
            self,
            "Function",
            name=name,
            code_dir=str(service.code_dir),
            handler=service.handler,
            environment=environment,
            layers=layers,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            memory_size=memory_size,
            timeout=timeout,
            log_level=log_level,
            description=f"Reelstack {name} service (HTTP API + ALB)",
        )

        # --- HTTP API routes: one integration, every route bound to it ------------------------------
        integration = integrations.HttpLambdaIntegration(
            f"{name}Integration",
            self.function,
            payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
        )
        self.routes: list[apigwv2.HttpRoute] = []
        for route in routes:
            route_id = "Route" + "".join(
                ch for ch in route.route_key.title() if ch.isalnum()
            )  # stable, readable construct id, e.g. RouteGetProfilesProfileId
            http_route = apigwv2.HttpRoute(
                self,
                route_id,
                http_api=api.http_api,
                route_key=apigwv2.HttpRouteKey.with_(route.path, apigwv2.HttpMethod[route.method.upper()]),
                integration=integration,
                authorizer=api.jwt_authorizer if route.auth else apigwv2.HttpNoneAuthorizer(),
            )
            if not route.auth:
                acknowledge(
                    http_route, "AwsSolutions-APIG4", f"Public route by design: {route.public_reason}"
                )
            self.routes.append(http_route)

        # --- ALB: Lambda target group + one listener rule -----------------------------------------
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "TargetGroup",
            targets=[elb_targets.LambdaTarget(self.function)],
            target_type=elbv2.TargetType.LAMBDA,
        )
        self.listener_rule = elbv2.ApplicationListenerRule(
            self,
            "ListenerRule",
            listener=api.listener,
            priority=service.alb_priority,
            conditions=[elbv2.ListenerCondition.path_patterns(list(service.alb_path_patterns))],
            action=elbv2.ListenerAction.forward([self.target_group]),
        )
