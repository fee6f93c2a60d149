"""Playback (issue 13): the playback service behind both edges, its table (sessions, stream
leases, watch states; TTL ``expires_at``), the Kinesis view stream (contract E: ``view_stream``)
and the Firehose that archives the stream in an S3 lake bucket (``views/``). Nothing in the
platform reads that archive yet: home training reads the watch states in the playback table and
the JSON lines under ``lake/`` in the recommendations model bucket (recommendations.logic.training).

Grants are exactly the calls the service makes (``playback.dal``): on its own table GetItem (lease
set, watch state), BatchGetItem (the lease set's sessions), PutItem + UpdateItem (the start
transaction, heartbeats, stops, watch states) -- no Query: the one Query is on ``gsi1`` (continue
watching); GetItem on the accounts table (reelstack_common.viewer); GetItem/BatchGetItem/Query on
the catalog table (title items; a series' episode slots, a Query of the base table); PutRecords on
the view stream; the CDN signing secret through ``signing.grant_signing`` (delivery's construct,
contract C).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.api import Edge
from infra.constructs.data import GSI1, CatalogData, DataTables, single_table
from infra.constructs.house import abort_incomplete_multipart_rule, house_bucket
from infra.constructs.identity import Identity
from infra.constructs.media_pipeline import SEGMENT_SECONDS  # one value: a part number names a real segment
from infra.constructs.nag import acknowledge
from infra.constructs.service import ServiceApi
from infra.routers import PLAYBACK

# Contract E: GET /profiles/{id}/continue-watching is playback's although /profiles* is accounts'
# (priority 100): a more specific rule with a smaller number, in front of it.
CONTINUE_WATCHING_PATTERN = "/profiles/*/continue-watching"
CONTINUE_WATCHING_PRIORITY = 60

HEARTBEAT_INTERVAL_S = 5
LEASE_SECONDS = 30  # six missed heartbeats
HEARTBEAT_EVENT_EVERY = 6  # one plain heartbeat in six goes to the view stream (~30 s of viewing)
LAKE_PREFIXES = ("views/", "errors/")
VIEW_RETENTION = Duration.hours(48)  # a weekend of consumer outage before events are lost


class SigningGrantor(Protocol):
    """What playback needs of delivery's construct (``Delivery.grant_signing``, contract C)."""

    def grant_signing(self, fn: lambda_.Function) -> None: ...


class PlaybackService(Construct):
    """Attributes other code uses:

    table: pk/sk (S), GSI ``gsi1`` (gsi1pk/gsi1sk, ALL), TTL ``expires_at``, stream NEW_AND_OLD_IMAGES (read
        by home's history projector) (env ``PLAYBACK_TABLE``); the watch-state items are the view
        history (layout in docs/architecture.md)
    view_stream: the Kinesis view stream (on demand, KMS-encrypted; partition key profile_id)
    lake_bucket: the view-event archive (``views/YYYY/MM/DD/HH/`` gzip JSON lines from Firehose;
        not read by training, which reads ``lake/`` in the model bucket)
    delivery_stream: Firehose (CfnDeliveryStream) view_stream -> lake_bucket
    service (ServiceApi), function (the HTTP function), continue_watching_rule (ALB rule, 60)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Edge,
        identity: Identity,
        data: DataTables,
        catalog: CatalogData,
        signing: SigningGrantor | None,
        layers: Sequence[lambda_.ILayerVersion],
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        # View history is user data (RETAIN); sessions expire by TTL a week after their lease.
        # The stream feeds home's history projector (contract E): it keeps each profile's history
        # head (HISTORY and PROGRESS items in the home table) from the watch-state writes, so GET /home
        # reads the document and the history in one BatchGetItem. Old images too: a record's old and
        # new state tell a plain heartbeat (nothing to do) from one that matters without a read.
        self.table = single_table(
            self,
            "Table",
            removal_policy=removal_policy,
            time_to_live_attribute="expires_at",
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        )

        self.view_stream = kinesis.Stream(
            self,
            "ViewStream",
            stream_mode=kinesis.StreamMode.ON_DEMAND,  # viewing peaks in the evening: no shard math
            encryption=kinesis.StreamEncryption.MANAGED,
            retention_period=VIEW_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,  # a buffer: the lake and the table keep the data
        )
        self.lake_bucket = house_bucket(
            self,
            "LakeBucket",
            removal_policy=removal_policy,
            lifecycle_rules=[
                abort_incomplete_multipart_rule(),
                s3.LifecycleRule(
                    id="views-to-infrequent-access",
                    prefix="views/",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS, transition_after=Duration.days(90)
                        )
                    ],
                ),
            ],
        )
        acknowledge(
            self.lake_bucket,
            "AwsSolutions-S1",
            "An archive written only by the Firehose delivery role and read by no function (home "
            "training reads the playback table and the model bucket's lake/); object-level activity "
            "is in CloudTrail data events. Server access logs would log the log writer.",
        )
        self.delivery_stream = self._lake_delivery()

        environment = {
            "PLAYBACK_TABLE": self.table.table_name,
            "ACCOUNTS_TABLE": data.accounts_table.table_name,
            "CATALOG_TABLE": catalog.catalog_table.table_name,
            "VIEW_STREAM": self.view_stream.stream_name,
            "USER_POOL_ID": identity.user_pool.user_pool_id,
            "USER_POOL_CLIENT_ID": identity.user_pool_client.user_pool_client_id,
            "HEARTBEAT_INTERVAL_S": str(HEARTBEAT_INTERVAL_S),
            "LEASE_SECONDS": str(LEASE_SECONDS),
            "HEARTBEAT_EVENT_EVERY": str(HEARTBEAT_EVENT_EVERY),
            "SEGMENT_SECONDS": str(SEGMENT_SECONDS),
        }
        # Not in the VPC: DynamoDB, Kinesis and Secrets Manager are public AWS endpoints.
        self.service = ServiceApi(self, "Api", service=PLAYBACK, environment=environment, api=api, layers=layers)
        self.function = self.service.function

        api.reserve_alb_priority(CONTINUE_WATCHING_PRIORITY, PLAYBACK.name)
        self.continue_watching_rule = elbv2.ApplicationListenerRule(
            self,
            "ContinueWatchingRule",
            listener=api.listener,
            priority=CONTINUE_WATCHING_PRIORITY,
            conditions=[elbv2.ListenerCondition.path_patterns([CONTINUE_WATCHING_PATTERN])],
            action=elbv2.ListenerAction.forward([self.service.target_group]),
        )

        self._grant(data, catalog, signing)

    def _lake_delivery(self) -> firehose.CfnDeliveryStream:
        """Firehose from the view stream to ``views/YYYY/MM/DD/HH/`` in the lake (gzip JSON lines).

        L1 with its own role: the L2 destination grants the bucket's whole read/write action set
        (s3:DeleteObject*, s3:List*, ...); Firehose needs the six actions below."""
        role = iam.Role(self, "LakeDeliveryRole", assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "kinesis:DescribeStream",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords",
                    "kinesis:ListShards",
                ],
                resources=[self.view_stream.stream_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[self.lake_bucket.bucket_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                resources=[self.lake_bucket.arn_for_objects(f"{p}*") for p in LAKE_PREFIXES],
            )
        )
        bucket_id = Stack.of(self).get_logical_id(self.lake_bucket.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "Firehose writes one object per delivery under the lake's views/ and errors/ prefixes; the "
            "keys (delivery hour + Firehose's own suffix) are only known at delivery time.",
            applies_to=[f"Resource::<{bucket_id}.Arn>/{p}*" for p in LAKE_PREFIXES],
        )
        stream = firehose.CfnDeliveryStream(
            self,
            "LakeDelivery",
            delivery_stream_type="KinesisStreamAsSource",
            kinesis_stream_source_configuration=firehose.CfnDeliveryStream.KinesisStreamSourceConfigurationProperty(
                kinesis_stream_arn=self.view_stream.stream_arn, role_arn=role.role_arn
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=self.lake_bucket.bucket_arn,
                role_arn=role.role_arn,
                prefix="views/!{timestamp:yyyy/MM/dd/HH}/",
                error_output_prefix="errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/",
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=300, size_in_m_bs=64
                ),
                compression_format="GZIP",
            ),
        )
        stream.node.add_dependency(role)  # the role's policy must exist before Firehose validates it
        acknowledge(
            stream,
            "AwsSolutions-KDF1",
            "A Kinesis-sourced delivery stream cannot enable its own SSE: the records are encrypted "
            "in the source stream (KMS) and at rest in the lake bucket (SSE-S3), and move over TLS.",
        )
        return stream

    def _grant(self, data: DataTables, catalog: CatalogData, signing: SigningGrantor | None) -> None:
        fn = self.function
        fn.add_to_role_policy(
            iam.PolicyStatement(
                # Transactions need the per-item actions of what they do (Put + Update here). No
                # Query: the only Query (recent_states) is on gsi1, granted below.
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                ],
                resources=[self.table.table_arn],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:Query"], resources=[f"{self.table.table_arn}/index/{GSI1}"])
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[data.accounts_table.table_arn])
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"],
                resources=[catalog.catalog_table.table_arn],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=["kinesis:PutRecords"], resources=[self.view_stream.stream_arn])
        )
        # The stream's key is the AWS-managed alias/aws/kinesis: producers need no KMS grant for it.
        if signing is not None:
            signing.grant_signing(fn)
