"""The catalog service (titles, presigned ingest uploads, READY listing) declared once through ServiceApi."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.api import Edge
from infra.constructs.identity import ADMINS_GROUP, Identity
from infra.constructs.layers import REPO_ROOT
from infra.constructs.media_pipeline import DEFAULT_MAX_SOURCE_BYTES, UPLOADS_PREFIX
from infra.constructs.nag import acknowledge
from infra.constructs.service import Route, ServiceApi

CATALOG_CODE_DIR = str(REPO_ROOT / "functions" / "catalog")
CATALOG_HTTP_HANDLER = "catalog.handlers.http.lambda_handler"

# Every route is private (JWT); admin-only writes are enforced in the handler (cognito:groups).
CATALOG_ROUTES: list[Route] = [
    Route("POST", "/titles"),
    Route("GET", "/titles"),
    Route("GET", "/titles/{title_id}"),
    Route("POST", "/titles/{title_id}/upload"),
    Route("POST", "/titles/{title_id}/upload/complete"),
]
CATALOG_ALB_PATHS = ["/titles*"]
CATALOG_ALB_PRIORITY = 200
UPLOAD_URL_TTL_S = 900  # 15 min: long enough to start a large PUT, short enough to leak little


def catalog_environment(
    catalog_table: dynamodb.ITable,
    ingest_bucket: s3.IBucket,
    identity: Identity,
    max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
) -> dict[str, str]:
    return {
        "CATALOG_TABLE": catalog_table.table_name,
        "INGEST_BUCKET": ingest_bucket.bucket_name,
        "ADMINS_GROUP": ADMINS_GROUP,
        "USER_POOL_ID": identity.user_pool.user_pool_id,
        "USER_POOL_CLIENT_ID": identity.user_pool_client.user_pool_client_id,
        "UPLOAD_URL_TTL_S": str(UPLOAD_URL_TTL_S),
        # The same limit as the transcode functions' MAX_SOURCE_BYTES (MediaPipeline.max_source_bytes).
        "MAX_SOURCE_BYTES": str(max_source_bytes),
    }


class CatalogService(Construct):
    """Attributes: ``service`` (ServiceApi), ``function`` (the HTTP function)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Edge,
        identity: Identity,
        catalog_table: dynamodb.Table,
        ingest_bucket: s3.Bucket,
        layers: Sequence[lambda_.ILayerVersion],
        max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
    ) -> None:
        super().__init__(scope, construct_id)
        # Not in the VPC: it talks only to DynamoDB and S3 (public AWS endpoints) and needs no ENI.
        self.service = ServiceApi(
            self,
            "Api",
            name="catalog",
            code_dir=CATALOG_CODE_DIR,
            handler=CATALOG_HTTP_HANDLER,
            routes=CATALOG_ROUTES,
            alb_path_patterns=CATALOG_ALB_PATHS,
            alb_priority=CATALOG_ALB_PRIORITY,
            environment=catalog_environment(catalog_table, ingest_bucket, identity, max_source_bytes),
            api=api,
            layers=layers,
            memory_size=1024,  # pydantic + Powertools import time: more memory = more CPU = faster cold start
            timeout=Duration.seconds(10),
        )
        self.function = self.service.function

        # Exactly the calls the data-access layer makes; no index wildcard, no Scan, no Delete.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                resources=[catalog_table.table_arn],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:Query"], resources=[f"{catalog_table.table_arn}/index/gsi1"])
        )
        # Presigned URLs carry the signer's rights: PutObject (single PUT and every multipart
        # call: create, upload part, complete) plus abort, on the uploads/ prefix only.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[ingest_bucket.arn_for_objects(f"{UPLOADS_PREFIX}*")],
            )
        )
        cfn_bucket = ingest_bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        bucket_id = Stack.of(ingest_bucket).get_logical_id(cfn_bucket)
        role = self.function.role
        assert role is not None
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "Presigning uploads of any title's source: PutObject is scoped to the ingest bucket's "
            "uploads/ prefix; the title id in the key is only known per request.",
            applies_to=[f"Resource::<{bucket_id}.Arn>/{UPLOADS_PREFIX}*"],
        )
