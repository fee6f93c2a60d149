"""Constructs added to the app only in CDK code, to prove the local cloud reads the assembly:
a table, an HTTP route, and a probe function wired to every event source the template can declare
(SQS, DynamoDB stream, EventBridge rule, S3 notification)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs


def add_probe(app: Any) -> None:
    stack = app.node.find_child("Reelstack")
    table = dynamodb.Table(
        stack,
        "ProbeOnlyTable",
        partition_key=dynamodb.Attribute(name="probe_id", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        stream=dynamodb.StreamViewType.NEW_IMAGE,
    )
    dynamodb.TableV2(  # synthesizes to AWS::DynamoDB::GlobalTable
        stack,
        "ProbeV2Table",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        time_to_live_attribute="expires_at",
    )
    stack.edge.http_api.add_routes(
        path="/probe-only",
        methods=[apigwv2.HttpMethod.GET],
        integration=integrations.HttpLambdaIntegration("ProbeOnly", stack.accounts.function),
    )
    probe = lambda_.Function(
        stack,
        "ProbeFunction",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="probe.handler",
        code=lambda_.Code.from_asset(str(Path(__file__).parent / "probe_fn")),
        environment={"PROBE_TABLE": table.table_name},
    )
    table.grant_write_data(probe)
    queue = sqs.Queue(stack, "ProbeQueue")
    probe.add_event_source(sources.SqsEventSource(queue))
    source_table = dynamodb.Table(
        stack,
        "ProbeSourceTable",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        stream=dynamodb.StreamViewType.NEW_IMAGE,
    )
    probe.add_event_source(sources.DynamoEventSource(source_table, starting_position=lambda_.StartingPosition.LATEST))
    events.Rule(
        stack,
        "ProbeRule",
        event_pattern=events.EventPattern(source=["probe.test"]),
        targets=[targets.LambdaFunction(probe)],
    )
    bucket = s3.Bucket(stack, "ProbeBucket")
    bucket.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(probe))
