"""Constructs added to the app only in CDK code, to prove the local cloud reads the assembly."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb


def add_probe(app: Any) -> None:
    stack = app.node.find_child("Reelstack")
    dynamodb.Table(
        stack,
        "ProbeOnlyTable",
        partition_key=dynamodb.Attribute(name="probe_id", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
    )
    stack.edge.http_api.add_routes(
        path="/probe-only",
        methods=[apigwv2.HttpMethod.GET],
        integration=integrations.HttpLambdaIntegration("ProbeOnly", stack.accounts.function),
    )
