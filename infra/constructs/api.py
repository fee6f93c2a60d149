"""The two HTTP edges: API Gateway HTTP API (JWT-authorized) and an internet-facing ALB.

Both front the same service functions (see ``service.ServiceApi``): the HTTP API is the primary
edge; the ALB serves the same routes for clients inside/near the VPC and verifies tokens in code.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.house import house_bucket
from infra.constructs.nag import acknowledge

NOT_FOUND_BODY = json.dumps({"error": {"code": "NOT_FOUND", "message": "No route matches this request"}})

# JSON access-log line for the HTTP API stage ($context variables of API Gateway v2).
_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
        "sub": "$context.authorizer.claims.sub",
    }
)


class Edge(Construct):
    """Attributes other code uses:

    http_api: apigwv2.HttpApi (``http_api.api_endpoint``)
    jwt_authorizer: authorizers.HttpJwtAuthorizer (issuer = Cognito pool, audience = app client)
    alb: elbv2.ApplicationLoadBalancer (internet-facing, public subnets)
    listener: elbv2.ApplicationListener on :80, default action = fixed 404 JSON
    access_log_group: the HTTP API access log group
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        issuer_url: str,
        audience: list[str],
        alb_access_logs: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)

        # --- API Gateway HTTP API -----------------------------------------------------------------
        self.jwt_authorizer = authorizers.HttpJwtAuthorizer(
            "JwtAuthorizer",
            issuer_url,
            jwt_audience=audience,
            authorizer_name="cognito-jwt",
            identity_source=["$request.header.Authorization"],
        )
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description="Reelstack public API (payload format 2.0)",
            # Routes are added per service by ServiceApi; each route chooses JWT or none explicitly.
            create_default_stage=True,
        )
        self.access_log_group = logs.LogGroup(
            self,
            "HttpApiAccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Escape hatch: the L2 default stage has no access-log property in every CDK version we
        # support; the CfnStage property is stable.
        default_stage = self.http_api.default_stage
        assert default_stage is not None
        cfn_stage = default_stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=self.access_log_group.log_group_arn, format=_ACCESS_LOG_FORMAT
        )
        # Throttle the whole stage so a client loop cannot burn the account's Lambda concurrency.
        cfn_stage.default_route_settings = apigwv2.CfnStage.RouteSettingsProperty(
            throttling_burst_limit=200, throttling_rate_limit=100
        )

        # Route keys and ALB rule priorities are shared by every service on this edge: duplicates
        # only fail at deploy time, so ServiceApi reserves them here and fails at synth instead.
        self._route_owners: dict[str, str] = {}
        self._priority_owners: dict[int, str] = {}

        # --- Application Load Balancer ------------------------------------------------------------
        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            drop_invalid_header_fields=True,
            idle_timeout=Duration.seconds(30),
        )
        # ALB access logs need the region's ELB log-delivery account in the bucket policy, which an
        # env-less (region-agnostic) stack cannot know at synth time (CDK refuses). So: real access
        # logs whenever the stack is deployed with an explicit region; otherwise acknowledged below.
        self.alb_log_bucket: s3.Bucket | None = None
        if alb_access_logs and not Token.is_unresolved(Stack.of(self).region):
            # ALB access logs only support SSE-S3 (the house default).
            self.alb_log_bucket = house_bucket(
                self,
                "AlbLogs",
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
                removal_policy=RemovalPolicy.RETAIN,
            )
            acknowledge(
                self.alb_log_bucket,
                "AwsSolutions-S1",
                "This bucket is itself the ALB access-log destination; logging its own access recurses.",
            )
            self.alb.log_access_logs(self.alb_log_bucket, prefix="alb")
        else:
            acknowledge(
                self.alb,
                "AwsSolutions-ELB2",
                "Env-agnostic stack: ALB access logs need the region's ELB account at synth time, so "
                "they are enabled automatically when the stack gets an explicit region. Requests are "
                "still traced by the Lambda targets (X-Ray, Powertools logs); the HTTP API logs JSON.",
            )

        # open=True: the ALB's SG accepts :80 from anywhere — it is the public edge.
        self.listener = self.alb.add_listener(
            "Http",
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=True,
            default_action=elbv2.ListenerAction.fixed_response(
                404, content_type="application/json", message_body=NOT_FOUND_BODY
            ),
        )
        for sg in self.alb.connections.security_groups:
            acknowledge(
                sg,
                "AwsSolutions-EC23",
                "Internet-facing ALB: port 80 must accept 0.0.0.0/0 (and ::/0); only this port is open.",
            )

    def reserve_route(self, route_key: str, owner: str) -> None:
        """Claim an HTTP API route key (``"GET /profiles"``) for ``owner``; raise if already taken."""
        taken = self._route_owners.setdefault(route_key, owner)
        if taken != owner:
            raise ValueError(f"route {route_key!r} of {owner} is already served by {taken}")

    def reserve_alb_priority(self, priority: int, owner: str) -> None:
        """Claim an ALB listener-rule priority (1..50000) for ``owner``; raise if already taken."""
        if not 1 <= priority <= 50000:
            raise ValueError(f"ALB rule priority must be 1..50000, got {priority}")
        taken = self._priority_owners.setdefault(priority, owner)
        if taken != owner:
            raise ValueError(f"ALB rule priority {priority} of {owner} is already used by {taken}")
