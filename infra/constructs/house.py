"""The house defaults for stateful resources: every DynamoDB table and S3 bucket is built here, so
encryption, recovery and public-access settings cannot drift between constructs."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.nag import acknowledge


def house_table(
    scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy, **props: Any
) -> dynamodb.Table:
    """A table with the house defaults: on-demand, point-in-time recovery, AWS-managed
    encryption. Names are left to CloudFormation so stacks can coexist per stage."""
    return dynamodb.Table(
        scope,
        construct_id,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        removal_policy=removal_policy,
        **props,
    )


def house_bucket(
    scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy, **props: Any
) -> s3.Bucket:
    """A bucket with the house defaults: SSE-S3, all public access blocked, TLS-only (bucket
    policy). SSE-S3 rather than KMS because the log-delivery services (S3 server access logs, ALB
    access logs) only write to SSE-S3 buckets, and one setting for every bucket is simpler to audit.
    Lifecycle, logging, CORS and ownership stay per bucket (``props``)."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        removal_policy=removal_policy,
        **props,
    )


def abort_incomplete_multipart_rule() -> s3.LifecycleRule:
    """Abandoned multipart uploads are billed until aborted: a day is ample for any live upload."""
    return s3.LifecycleRule(
        id="abort-incomplete-multipart",
        abort_incomplete_multipart_upload_after=Duration.days(1),
    )


def dead_letter_queue(scope: Construct, construct_id: str, *, holds: str) -> sqs.Queue:
    """A dead-letter queue with the house defaults: SQS-managed encryption, TLS only, 14 days (the
    longest SQS keeps a message: time to look before it is gone). cdk-nag's SQS3 (a queue without a
    DLQ of its own) is acknowledged with ``holds``, what ends up in it."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(queue, "AwsSolutions-SQS3", f"This queue IS a dead-letter queue: {holds}")
    return queue
