"""Demo state machine (Map -> Lambda task with Retry/Catch) proving the local ASL engine end to end."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.layers import REPO_ROOT
from infra.constructs.nag import acknowledge
from infra.constructs.service import service_function

DEMO_ASL = REPO_ROOT / "statemachines" / "demo_map.asl.json"
HELLO_MAP_CODE_DIR = REPO_ROOT / "functions" / "hello_map"
DEMO_STATE_MACHINE_NAME = "reelstack-demo-map"


class DemoWorkflow(Construct):
    """Attributes: ``function`` (hello_map), ``state_machine`` (named ``reelstack-demo-map``)."""

    def __init__(self, scope: Construct, construct_id: str, *, asl_path: Path = DEMO_ASL) -> None:
        super().__init__(scope, construct_id)
        # Not in the VPC: it touches no private resource, so it needs no ENI.
        self.function = service_function(
            self,
            "HelloMap",
            name="hello-map",
            code_dir=str(HELLO_MAP_CODE_DIR),
            handler="hello_map.handler.lambda_handler",
            environment={},
            memory_size=128,
            timeout=Duration.seconds(5),
            description="Reelstack demo: squares one integer inside the demo Map state",
        )
        log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=DEMO_STATE_MACHINE_NAME,
            # from_string (not from_file): the definition stays inline in the template, so
            # Template assertions and the local cloud read it without an S3 asset.
            definition_body=sfn.DefinitionBody.from_string(asl_path.read_text(encoding="utf-8")),
            definition_substitutions={"HelloMapFunctionArn": self.function.function_arn},
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.minutes(5),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        # A file-based definition gets no automatic permissions: grant the task's invoke explicitly,
        # on the unqualified ARN the ASL uses (grant_invoke would add "<arn>:*" too).
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])
        )
        acknowledge(
            self.state_machine.role,
            "AwsSolutions-IAM5",
            "CloudWatch Logs vended-log delivery (logs:CreateLogDelivery, ...) and X-Ray tracing actions "
            "only support Resource '*'; the Lambda invoke is scoped to the one function ARN.",
            applies_to=["Resource::*"],
        )
