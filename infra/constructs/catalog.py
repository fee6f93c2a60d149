"""The catalog service (titles, series and episodes, presigned ingest uploads, listing, edits and
withdrawal): its routes come from its router. Its outbox function relays announced changes from the
catalog table's stream to the event bus."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.api import Edge
from infra.constructs.data import CatalogData
from infra.constructs.events import PlatformEvents
from infra.constructs.house import dead_letter_queue
from infra.constructs.identity import ADMINS_GROUP, Identity
from infra.constructs.media_pipeline import UPLOADS_PREFIX, MediaPipeline
from infra.constructs.nag import acknowledge
from infra.constructs.service import ServiceApi, service_function
from infra.routers import CATALOG

OUTBOX_HANDLER = "catalog.handlers.outbox.lambda_handler"

UPLOAD_URL_TTL_S = 900  # 15 min: long enough to start a large PUT, short enough to leak little


def catalog_environment(catalog: CatalogData, media: MediaPipeline, identity: Identity) -> dict[str, str]:
    return {
        "CATALOG_TABLE": catalog.catalog_table.table_name,
        "INGEST_BUCKET": media.ingest_bucket.bucket_name,
        "ADMINS_GROUP": ADMINS_GROUP,
        "USER_POOL_ID": identity.user_pool.user_pool_id,
        "USER_POOL_CLIENT_ID": identity.user_pool_client.user_pool_client_id,
        "UPLOAD_URL_TTL_S": str(UPLOAD_URL_TTL_S),
        # Refused before an upload URL is issued; the transcode probe enforces the same limit after.
        "MAX_SOURCE_BYTES": str(media.max_source_bytes),
    }


class CatalogService(Construct):
    """Attributes: ``service`` (ServiceApi), ``function`` (the HTTP function), ``outbox_function``
    (stream -> event bus), ``outbox_dead_letter_queue`` (stream batches that aged out unpublished)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Edge,
        identity: Identity,
        catalog: CatalogData,
        media: MediaPipeline,
        events: PlatformEvents,
        layers: Sequence[lambda_.ILayerVersion],
    ) -> None:
        super().__init__(scope, construct_id)
        catalog_table, ingest_bucket = catalog.catalog_table, media.ingest_bucket
        # Not in the VPC: it talks only to DynamoDB and S3 (public AWS endpoints) and needs no ENI.
        self.service = ServiceApi(
            self,
            "Api",
            service=CATALOG,
            environment=catalog_environment(catalog, media, identity),
            api=api,
            layers=layers,
        )
        self.function = self.service.function
        identity.grant_standing_lookup(self.function)  # admin routes re-check the caller with Cognito

        # Exactly the calls the data-access layer makes; no index wildcard, no Scan, no Delete.
        # Transactions (episode + slot + count; withdrawals) are authorised per item action they
        # contain (Put/Update/Delete/ConditionCheck); Query reads a series' episode slots by pk,
        # BatchGetItem the episodes of one page.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:Query",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:ConditionCheckItem",
                ],
                resources=[catalog_table.table_arn],
            )
        )
        self.function.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:Query"], resources=[catalog.gsi1_arn]))
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

        self._outbox(catalog, events, layers)

    def _outbox(self, catalog: CatalogData, events: PlatformEvents, layers: Sequence[lambda_.ILayerVersion]) -> None:
        """The table's stream is the catalog's outbox: a write that must be announced marks itself
        in the same write, and this function publishes it. A failed PutEvents fails the record and
        Lambda retries it (in order per title) until the bus takes it, so a committed change is never
        lost between the write and the event (a PutEvents after the write could be)."""
        self.outbox_function = service_function(
            self,
            "Outbox",
            name=CATALOG.name,
            code_dir=str(CATALOG.code_dir),
            handler=OUTBOX_HANDLER,
            environment=events.environment,
            layers=layers,
            memory_size=256,
            timeout=Duration.seconds(30),
            description="Reelstack catalog outbox: catalog table stream -> reelstack-events",
        )
        events.grant_publish(self.outbox_function)
        self.outbox_dead_letter_queue = dead_letter_queue(
            self,
            "OutboxDeadLetterQueue",
            holds="the outbox stream mapping's on-failure destination (the shard positions of "
            "records that aged out of the stream unpublished).",
        )
        self.outbox_function.add_event_source(
            sources.DynamoEventSource(
                catalog.catalog_table,
                # From the oldest record: a change written before the mapping existed (or while it
                # was disabled) is still announced. Duplicates carry the same version.
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=100,
                # Retried until published or 24 h old (the stream's retention), then the positions go
                # to the dead-letter queue; ReportBatchItemFailures resumes at the first unpublished.
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.outbox_dead_letter_queue),
            )
        )
