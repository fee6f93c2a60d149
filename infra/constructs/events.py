"""The platform's event bus: services announce facts on it; other services subscribe to them.

A publisher gets ``grant_publish(fn)`` and ``environment`` (``EVENT_BUS_NAME``) and calls PutEvents
with its own ``source`` (``reelstack.<service>``) and a ``detail-type`` naming the fact
(``TitlePublished``). A subscriber declares what it wants with ``subscribe(...)``: a rule on this
bus, never on the default one (AWS service events such as S3's go to the default bus).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

EVENT_BUS_NAME = "reelstack-events"
# The bus lived in MediaPipeline first. It is named, so a new logical ID would make CloudFormation
# create a second bus of the same name before deleting the first (a failed deploy): keep the old one.
_BUS_LOGICAL_ID = "MediaEventBus81234B25"


class PlatformEvents(Construct):
    """Attributes other code uses:

    bus: events.EventBus ``reelstack-events``
    environment: ``{"EVENT_BUS_NAME": ...}`` for a publisher's function
    grant_publish(grantee): events:PutEvents on this bus only
    subscribe(construct_id, ...): an events.Rule on this bus delivering to ``targets``
    """

    def __init__(self, scope: Construct, construct_id: str, *, bus_name: str = EVENT_BUS_NAME) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=bus_name)
        cfn_bus = self.bus.node.default_child
        assert isinstance(cfn_bus, events.CfnEventBus)
        cfn_bus.override_logical_id(_BUS_LOGICAL_ID)

    @property
    def environment(self) -> dict[str, str]:
        return {"EVENT_BUS_NAME": self.bus.event_bus_name}

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["events:PutEvents"], resource_arns=[self.bus.event_bus_arn]
        )

    def subscribe(
        self,
        construct_id: str,
        *,
        description: str,
        targets: Sequence[events.IRuleTarget],
        sources: Sequence[str] | None = None,
        detail_types: Sequence[str] | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> events.Rule:
        """A rule on this bus for the events that match every given field."""
        if not (sources or detail_types or detail):
            raise ValueError("a subscription must match on source, detail-type or detail")
        return events.Rule(
            self,
            construct_id,
            event_bus=self.bus,
            description=description,
            event_pattern=events.EventPattern(
                source=list(sources) if sources else None,
                detail_type=list(detail_types) if detail_types else None,
                detail=dict(detail) if detail else None,
            ),
            targets=list(targets),
        )
