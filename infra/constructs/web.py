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
# What CDK's BucketDeployment grant holds (its copy function's policy): acknowledged one by one.
DEPLOYMENT_WILDCARDS = [
    "Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*", "Action::s3:Abort*",
    "Action::s3:DeleteObject*",
    "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
]
BASIC_EXECUTION_ROLE = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def deploys_web_app(scope: Construct) -> bool:
    """False when the context says the app is served elsewhere (the local cloud serves web/dist)."""
    return str(scope.node.try_get_context(DEPLOY_CONTEXT)).lower() != "false"


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
        self.deployments: list[s3deploy.BucketDeployment] = []
        if origin is None or not deploys_web_app(self):
            return
        config = {"api_url": api.http_api.api_endpoint, "cdn_url": self.origin}
        entry: list[s3deploy.ISource] = [s3deploy.Source.json_data("config.json", config)]
        if (DIST / "index.html").exists():
            entry.append(s3deploy.Source.asset(str(DIST), exclude=["assets", "assets/*", ".stamp"]))
            # Content-hashed names never change: cached for a year; the previous build's stay for
            # viewers still running it (no prune). No invalidation is needed (so no CloudFront grant).
            self.deployments.append(s3deploy.BucketDeployment(
                self, "Assets", sources=[s3deploy.Source.asset(str(DIST / "assets"))],
                destination_bucket=origin.bucket, destination_key_prefix="assets/", prune=False,
                cache_control=[s3deploy.CacheControl.from_string("public, max-age=31536000, immutable")],
                memory_limit=512))
        else:
            Annotations.of(self).add_warning_v2(
                "reelstack:webNotBuilt",
                "web/dist is not built: a placeholder page is deployed (make install builds it)")
            entry.append(s3deploy.Source.data("index.html", "<!doctype html><title>Reelstack</title>"
                                              "<p>The web app was not built before this deployment.</p>"))
        # index.html and config.json are revalidated on every load, so a deployment shows at once.
        self.deployments.append(s3deploy.BucketDeployment(
            self, "Entry", sources=entry, destination_bucket=origin.bucket, prune=False,
            cache_control=[s3deploy.CacheControl.from_string("no-cache")], memory_limit=512))
        # The copy function is a stack-level singleton that CDK creates for every BucketDeployment.
        stack = Stack.of(self)
        handler = next((c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")), None)
        if handler is None:
            return
        bucket_lid = stack.get_logical_id(origin.bucket.node.default_child)  # type: ignore[arg-type]
        acknowledge(handler, "AwsSolutions-IAM4",
                    "CDK's BucketDeployment handler writes its logs with the AWS basic execution role.",
                    applies_to=[BASIC_EXECUTION_ROLE])
        acknowledge(handler, "AwsSolutions-IAM5",
                    "CDK's BucketDeployment grant: read the build's asset objects (CDK's asset bucket) and write "
                    "any key of the app bucket, which holds nothing but the app.",
                    applies_to=[*DEPLOYMENT_WILDCARDS, f"Resource::<{bucket_lid}.Arn>/*"])
        acknowledge(handler, "AwsSolutions-L1",
                    "The handler's runtime is chosen by CDK's BucketDeployment (pinned with the aws-cdk-lib version).")
