"""Scheduled billing run: same asset as the accounts service, different handler, daily trigger."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from infra.constructs.accounts import AccountsContext
from infra.constructs.service import service_function
from infra.routers import ACCOUNTS

BILLING_RUN_HANDLER = "accounts.handlers.billing_run.lambda_handler"


class BillingSchedule(Construct):
    """Attributes: ``function`` (billing run), ``rule`` (EventBridge schedule)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: AccountsContext,
        schedule: events.Schedule | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = service_function(
            self,
            "Function",
            name="billing-run",
            code_dir=str(ACCOUNTS.code_dir),
            handler=BILLING_RUN_HANDLER,
            environment=context.environment(),
            layers=context.layers,
            vpc=context.vpc,
            vpc_subnets=context.vpc_subnets,
            memory_size=512,
            # A run walks every due subscription of the period: give it far more than an API call.
            timeout=Duration.minutes(5),
            description="Reelstack daily billing run (idempotent per billing period)",
        )
        context.grant(self.function)
        # Daily at 02:00 UTC. The run is idempotent per period, so EventBridge's at-least-once
        # delivery and the target's retries cannot double-charge.
        self.rule = events.Rule(
            self,
            "Schedule",
            description="Daily Reelstack billing run",
            schedule=schedule or events.Schedule.cron(minute="0", hour="2"),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.function,
                retry_attempts=2,
                max_event_age=Duration.hours(6),
            )
        )
