"""PlatformEvents: the bus every service publishes to and subscribes on (a throwaway stack)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from infra.constructs.events import EVENT_BUS_NAME, PlatformEvents
from tests.infra.conftest import TEST_CONTEXT


def test_publishers_get_put_events_on_the_bus_and_subscribers_a_rule_on_it() -> None:
    app = cdk.App(context=TEST_CONTEXT, builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "EventsTest")
    platform = PlatformEvents(stack, "Events")
    publisher = iam.Role(stack, "Publisher", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    platform.grant_publish(publisher)
    inbox = sqs.Queue(stack, "Inbox")
    platform.subscribe(
        "TitlesPublished",
        description="search indexes published titles",
        sources=["reelstack.transcode"],
        detail_types=["TitlePublished"],
        targets=[targets.SqsQueue(inbox)],
    )
    with pytest.raises(ValueError, match="must match"):
        platform.subscribe("Everything", description="no filter", targets=[targets.SqsQueue(inbox)])

    template = Template.from_stack(stack)
    bus_id = "MediaEventBus81234B25"  # kept from MediaPipeline: a named bus must not be replaced
    template.has_resource("AWS::Events::EventBus", {"Properties": {"Name": EVENT_BUS_NAME}})
    assert bus_id in template.to_json()["Resources"]
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": {"Ref": bus_id},
            "EventPattern": {"source": ["reelstack.transcode"], "detail-type": ["TitlePublished"]},
        },
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {"Action": "events:PutEvents", "Effect": "Allow", "Resource": {"Fn::GetAtt": [bus_id, "Arn"]}}
                ]
            }
        },
    )
