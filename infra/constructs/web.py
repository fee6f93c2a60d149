"""The web app (issue 16): its bucket, served by the media's CloudFront distribution as the DEFAULT
behaviour (titles/* keep their own behaviours; any other media-bucket path, e.g. work/, is never
routed to the media origin), deployed from web/dist by `cdk deploy`, and allowed to call the API.

The app is a static single-page build (web/dist, `make install` builds it; the local cloud serves
the same build itself) that reads /config.json for the API's address: the deployment writes it
with the API's URL, so one build runs everywhere. The API authenticates with a bearer token, never
cookies, so its CORS allows the app's origin without credentials: the distribution's domain plus any
origins given as CDK context `reelstack:playerOrigins` (the local cloud passes its web_url)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Annotations, Fn, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.constructs.api import Edge
from infra.constructs.delivery import Delivery, player_origins_from_context
from infra.constructs.house import house_bucket
from infra.constructs.nag import acknowledge

DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
API_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
API_HEADERS = ["authorization", "content-type"]
# The local cloud serves web/dist itself: it sets this context to "false" (no deployment resources).
DEPLOY_CONTEXT = "reelstack:deployWebApp"


class WebAppOrigin(Construct):
    """The app's bucket and the distribution behaviour that serves it (built before the
    distribution, which takes `behavior` as its default)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = house_bucket(self, "Bucket", removal_policy=RemovalPolicy.DESTROY)
        acknowledge(self.bucket, "AwsSolutions-S1",
                    "Only CloudFront reads this bucket (OAC); the distribution's standard logs record every "
                    "viewer request for the app, so S3 access logs would repeat them.")
        self.behavior = cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
            compress=True,
        )


class WebApp(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, api: Edge, delivery: Delivery,
                 origin: WebAppOrigin | None = None) -> None:
        super().__init__(scope, construct_id)
        self.origin = Fn.join("", ["https://", delivery.distribution.distribution_domain_name])
        self.allowed_origins = [self.origin, *player_origins_from_context(self)]
        cfn_api = api.http_api.node.default_child
        assert isinstance(cfn_api, apigwv2.CfnApi)
        # HTTP API answers preflights itself and decorates every route's replies (the local edge too).
        cfn_api.cors_configuration = apigwv2.CfnApi.CorsProperty(
            allow_origins=self.allowed_origins,
            allow_methods=API_METHODS,
            allow_headers=API_HEADERS,
            max_age=600,
        )
        self.deployment: s3deploy.BucketDeployment | None = None
        if origin is None or str(self.node.try_get_context(DEPLOY_CONTEXT)).lower() == "false":
            return
        if not (DIST / "index.html").exists():
            Annotations.of(self).add_warning_v2(
                "reelstack:webNotBuilt", "web/dist is not built: the app is not deployed (make install builds it)")
            return
        config = {"api_url": api.http_api.api_endpoint, "cdn_url": self.origin}
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Deploy",
            sources=[s3deploy.Source.asset(str(DIST), exclude=[".stamp"]),
                     s3deploy.Source.json_data("config.json", config)],
            destination_bucket=origin.bucket,
            # Hashed assets of the previous build stay for viewers still running it.
            prune=False,
            distribution=delivery.distribution,
            distribution_paths=["/", "/index.html", "/config.json"],
            memory_limit=512,
        )
        # The copy function is a stack-level singleton that CDK creates for every BucketDeployment.
        stack = Stack.of(self)
        handler = next((c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")), None)
        for rule, reason, applies in (
            ("AwsSolutions-IAM4", "CDK's BucketDeployment handler uses the AWS basic execution role for its logs.",
             ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]),
            ("AwsSolutions-IAM5", "CDK's BucketDeployment copies the build's objects: s3:GetObject*/List* on the "
             "asset bucket and s3:*Object* on the app bucket's keys, by CDK's own grant.", None),
            ("AwsSolutions-L1", "The runtime is chosen by CDK's BucketDeployment (pinned by the aws-cdk-lib version).",
             None),
        ):
            if handler is not None:
                acknowledge(handler, rule, reason, applies_to=applies)
