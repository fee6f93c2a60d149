"""The home page (issue 15): the recommendations service behind both edges, its tables and model
bucket, the scheduled training workflow (``statemachines/home.asl.json``), the trending consumer
of the playback view stream, the history projector of the playback table's stream, and the
numpy/scipy layer the engine needs.

Grants are exactly the calls each function makes (see the ``_grant_*`` helpers); nothing has a
wildcard on items it does not use.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.api import Edge
from infra.constructs.data import CatalogData, DataTables
from infra.constructs.dax import DaxCache
from infra.constructs.house import abort_incomplete_multipart_rule, dead_letter_queue, house_bucket, house_table
from infra.constructs.identity import ADMINS_GROUP, Identity
from infra.constructs.layers import DEPS_PYTHON_VERSION, PYTHON_RUNTIME
from infra.constructs.nag import acknowledge
from infra.constructs.service import ServiceApi, service_function
from infra.routers import RECOMMENDATIONS

REPO_ROOT = Path(__file__).resolve().parents[2]
HOME_ASL = REPO_ROOT / "statemachines" / "home.asl.json"
SCIENTIFIC_REQUIREMENTS = RECOMMENDATIONS.code_dir / "layer" / "requirements.txt"
# numpy >= 2.3 publishes manylinux_2_28 wheels only; Lambda's python3.12 runtime (Amazon Linux 2023,
# glibc 2.34) runs them. manylinux2014 stays acceptable for anything older.
SCIENTIFIC_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux2014_x86_64")
RATINGS_ALB_PATTERN = "/profiles/*/ratings*"
RATINGS_ALB_PRIORITY = 70  # before accounts' /profiles* (100): contract E
JOB_HANDLERS = {
    "Train": "recommendations.handlers.jobs.train_handler",
    "Build": "recommendations.handlers.jobs.build_handler",
    "Publish": "recommendations.handlers.jobs.publish_handler",
}
TRENDING_HANDLER = "recommendations.handlers.trending_stream.lambda_handler"
HISTORY_HANDLER = "recommendations.handlers.history_stream.lambda_handler"
# The playback table's watch-state items (pk PROFILE#<id>, sk TITLE#<title>): the only stream records
# the history projector is invoked for (sessions and leases are filtered out by the mapping).
WATCH_STATE_PREFIX = "TITLE#"
PROFILES_PER_BATCH = 500
MAP_CONCURRENCY = 10  # statemachines/home.asl.json (MaxConcurrency): 10 builders at a time
MODEL_RETENTION_DAYS = 30  # models/<version>/ objects; the daily run keeps the current one fresh
# GET /home's warm viewer cache (functions/recommendations logic/viewers.py): at most DAX's record
# TTL (DaxCache cache_ttl_ms, 5 s), so a profile's new maturity setting reaches the page within
# this + DAX's TTL (10 s) with DAX, this alone (5 s) without.
VIEWER_CACHE_TTL_S = 5
# The home table's partitions (functions/recommendations dal/home_table.py): grants name the ones
# each function touches (dynamodb:LeadingKeys) instead of the whole table.
DOC_PARTITIONS = "HOME#*"
CAMPAIGN_PARTITION = "CAMPAIGN"
TRENDING_PARTITION = "TRENDING"
MODEL_PARTITION = "MODEL"
WATCH_STATE_PARTITIONS = "PROFILE#*"  # the playback table's watch states (contract E)


def leading_keys(*partitions: str) -> dict[str, dict[str, list[str]]]:
    """An IAM condition limiting item actions to items whose partition key matches ``partitions``."""
    return {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(partitions)}}


@jsii.implements(ILocalBundling)
class ScientificLayerBundling:
    """numpy + scipy for Lambda without Docker: ``pip install --only-binary`` for the Lambda
    platforms, then the packages' own test suites removed (~68 MB of the 213 MB: the layer must
    fit Lambda's 250 MB unzipped beside the deps and shared layers)."""

    def __init__(self, requirements: Path) -> None:
        self._requirements = requirements

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:  # noqa: ARG002
        target = Path(output_dir) / "python"
        target.mkdir(parents=True, exist_ok=True)
        platforms = [arg for p in SCIENTIFIC_PLATFORMS for arg in ("--platform", p)]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--disable-pip-version-check",
                "--no-input",
                "install",
                "--quiet",
                "-r",
                str(self._requirements),
                "--target",
                str(target),
                *platforms,
                "--python-version",
                DEPS_PYTHON_VERSION,
                "--implementation",
                "cp",
                "--only-binary=:all:",
                "--upgrade",
            ],
            check=True,
        )
        for junk in [*target.rglob("tests"), *target.rglob("__pycache__")]:
            if junk.is_dir():
                shutil.rmtree(junk, ignore_errors=True)
        return True


class HomeService(Construct):
    """Attributes other code uses:

    service: ServiceApi (``function``: GET /home, ratings, campaigns)
    home_table: pk/sk (S): documents, campaigns, trending snapshots, the model pointer (env HOME_TABLE)
    ratings_table: profile_id/title_id (S) (env RATINGS_TABLE)
    model_bucket: artifacts, batch files and fallback rows under models/<version>/, fallback/,
        and the lake/ prefix training also reads (env MODEL_BUCKET)
    scientific_layer: numpy + scipy
    job_functions: {"Train"|"Build"|"Publish": function}; state_machine; schedule (events.Rule)
    trending_function: the view-stream consumer; ``wire_view_stream(stream)`` connects it
    history_function: the history projector (None without a playback table): the playback table's
        stream (watch-state records only) -> each profile's ``HOME#<profile_id>`` ``HISTORY`` and
        ``PROGRESS`` items, so GET /home reads the document and the history in one BatchGetItem (contract E);
        history_dead_letter_queue: its stream mapping's on-failure destination (None likewise)

    ``playback_table`` must have a stream (playback's table: NEW_AND_OLD_IMAGES).
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
        layers: Sequence[lambda_.ILayerVersion],
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection,
        dax_cache: DaxCache | None = None,
        playback_table: dynamodb.ITable | None = None,
        view_stream: kinesis.IStream | None = None,
        access_log_bucket: s3.IBucket | None = None,
        schedule: events.Schedule | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        api_memory_mb: int = 2048,
        train_memory_mb: int = 4096,
        build_memory_mb: int = 2048,
    ) -> None:
        super().__init__(scope, construct_id)
        # Campaigns and ratings are people's input (documents could be rebuilt): RETAIN both.
        self.home_table = house_table(
            self,
            "HomeTable",
            removal_policy=removal_policy,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
        )
        self.ratings_table = house_table(
            self,
            "RatingsTable",
            removal_policy=removal_policy,
            partition_key=dynamodb.Attribute(name="profile_id", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="title_id", type=dynamodb.AttributeType.STRING),
        )
        self.model_bucket = house_bucket(
            self,
            "ModelBucket",
            removal_policy=removal_policy,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix="home-models/" if access_log_bucket is not None else None,
            lifecycle_rules=[
                abort_incomplete_multipart_rule(),
                s3.LifecycleRule(
                    id="expire-old-models", prefix="models/", expiration=Duration.days(MODEL_RETENTION_DAYS)
                ),
            ],
        )
        if access_log_bucket is None:
            acknowledge(
                self.model_bucket,
                "AwsSolutions-S1",
                "Written only by the home training job and read by the home functions (their roles are "
                "the only principals); object-level activity is in CloudTrail data events.",
            )
        self.scientific_layer = lambda_.LayerVersion(
            self,
            "ScientificLayer",
            description="numpy + scipy for the recommendation engine (tests stripped)",
            code=lambda_.Code.from_asset(
                str(SCIENTIFIC_REQUIREMENTS.parent),
                bundling=BundlingOptions(
                    image=DockerImage.from_registry(f"public.ecr.aws/sam/build-{PYTHON_RUNTIME.name}"),
                    local=ScientificLayerBundling(SCIENTIFIC_REQUIREMENTS),
                ),
            ),
            compatible_runtimes=[PYTHON_RUNTIME],
            compatible_architectures=[lambda_.Architecture.X86_64],
        )
        all_layers = [*layers, self.scientific_layer]
        self._catalog = catalog
        self._data = data
        self._playback_table = playback_table

        environment = {
            "HOME_TABLE": self.home_table.table_name,
            "RATINGS_TABLE": self.ratings_table.table_name,
            "CATALOG_TABLE": catalog.catalog_table.table_name,
            "ACCOUNTS_TABLE": data.accounts_table.table_name,
            "PLAYBACK_TABLE": playback_table.table_name if playback_table is not None else "",
            "MODEL_BUCKET": self.model_bucket.bucket_name,
            "ADMINS_GROUP": ADMINS_GROUP,
            "USER_POOL_ID": identity.user_pool.user_pool_id,
            "USER_POOL_CLIENT_ID": identity.user_pool_client.user_pool_client_id,
            "OPENBLAS_NUM_THREADS": "1",  # scoring one profile: threads cost more than they save
        }

        # --- the HTTP service: in the VPC for DAX -------------------------------------------------
        self.service = ServiceApi(
            self,
            "Api",
            service=RECOMMENDATIONS,
            environment={
                **environment,
                "DAX_ENDPOINT": dax_cache.endpoint_url if dax_cache is not None else "",
                "VIEWER_CACHE_TTL_S": str(VIEWER_CACHE_TTL_S),
            },
            api=api,
            layers=all_layers,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            memory_size=api_memory_mb,
        )
        self.function = self.service.function
        # PUT/DELETE /profiles/{id}/ratings/{title}: a second ALB rule in front of accounts' /profiles*.
        api.reserve_alb_priority(RATINGS_ALB_PRIORITY, RECOMMENDATIONS.name)
        self.ratings_rule = elbv2.ApplicationListenerRule(
            self,
            "RatingsListenerRule",
            listener=api.listener,
            priority=RATINGS_ALB_PRIORITY,
            conditions=[elbv2.ListenerCondition.path_patterns([RATINGS_ALB_PATTERN])],
            action=elbv2.ListenerAction.forward([self.service.target_group]),
        )
        identity.grant_standing_lookup(self.function)  # admin routes re-check the caller with Cognito
        self._grant_api(self.function)
        if dax_cache is not None:
            dax_cache.grant_data_access(self.function)
            dax_cache.allow_from(self.function)
            self._grant_dax_reads(dax_cache.role)

        # --- the training workflow ----------------------------------------------------------------
        memory = {"Train": train_memory_mb, "Build": build_memory_mb, "Publish": 256}
        timeout = {"Train": Duration.minutes(15), "Build": Duration.minutes(5), "Publish": Duration.minutes(1)}
        self.job_functions: dict[str, lambda_.Function] = {}
        for step, handler in JOB_HANDLERS.items():
            fn = service_function(
                self,
                f"{step}Function",
                name=f"home-{step.lower()}",
                code_dir=str(RECOMMENDATIONS.code_dir),
                handler=handler,
                environment={**environment, "PROFILES_PER_BATCH": str(PROFILES_PER_BATCH)},
                layers=all_layers,
                memory_size=memory[step],
                timeout=timeout[step],
                description=f"Reelstack home training workflow: {step.lower()}",
            )
            self.job_functions[step] = fn
        self._grant_train(self.job_functions["Train"])
        self._grant_build(self.job_functions["Build"])
        self._grant_publish(self.job_functions["Publish"])
        self.state_machine = self._state_machine()
        # Daily at 03:00 UTC (after the evening peak of views); the event's time is the data cut-off,
        # so a redelivered event is the same model version (idempotent).
        self.schedule = events.Rule(
            self,
            "TrainingSchedule",
            description="Daily Reelstack home training and precompute",
            schedule=schedule or events.Schedule.cron(minute="0", hour="3"),
            targets=[targets.SfnStateMachine(self.state_machine, retry_attempts=2, max_event_age=Duration.hours(6))],
        )

        # --- trending: the view-stream consumer ---------------------------------------------------
        self.trending_function = service_function(
            self,
            "TrendingFunction",
            name="home-trending",
            code_dir=str(RECOMMENDATIONS.code_dir),
            handler=TRENDING_HANDLER,
            environment=environment,
            layers=list(layers),  # no numpy: counting views needs none
            memory_size=256,
            timeout=Duration.seconds(60),
            description="Reelstack trending now: time-decayed views per language from the view stream",
        )
        # Its snapshots only (logic/trending.py: GetItem + conditional PutItem of TRENDING items).
        self.trending_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem"],
                resources=[self.home_table.table_arn],
                conditions=leading_keys(TRENDING_PARTITION),
            )
        )
        self.trending_function.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:BatchGetItem"], resources=[catalog.catalog_table.table_arn])
        )
        if view_stream is not None:
            self.wire_view_stream(view_stream)

        # --- history: the playback table's stream -> HOME#<profile_id>/HISTORY, PROGRESS ---------
        self.history_function: lambda_.Function | None = None
        self.history_dead_letter_queue: sqs.Queue | None = None
        if playback_table is not None:
            self._history_projector(playback_table, environment, layers)

    def _history_projector(
        self, playback_table: dynamodb.ITable, environment: dict[str, str], layers: Sequence[lambda_.ILayerVersion]
    ) -> None:
        """The history projector: each watch-state write in the playback table updates the profile's
        compact history copy in the home table (the handler reads each item consistently and
        writes it conditionally; a missing one is initialised from the profile's whole history)."""
        fn = service_function(
            self,
            "HistoryFunction",
            name="home-history",
            code_dir=str(RECOMMENDATIONS.code_dir),
            handler=HISTORY_HANDLER,
            environment=environment,
            layers=list(layers),  # no numpy: copying a history needs none
            memory_size=256,
            timeout=Duration.seconds(60),
            description="Reelstack home history projector: playback watch states -> the history head",
        )
        self.history_function = fn
        # Its HISTORY and PROGRESS items only (consistent GetItem + conditional PutItem, HOME# partitions).
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem"],
                resources=[self.home_table.table_arn],
                conditions=leading_keys(DOC_PARTITIONS),
            )
        )
        # A missing item is built from the profile's whole history (pk PROFILE#<id>,
        # begins_with(sk, TITLE#), ConsistentRead): a Query of the base table.
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[playback_table.table_arn],
                conditions=leading_keys(WATCH_STATE_PARTITIONS),  # profiles' partitions, not sessions'
            )
        )
        self.history_dead_letter_queue = dead_letter_queue(
            self,
            "HistoryDeadLetterQueue",
            holds="the history projector's stream mapping's on-failure destination (the shard "
            "positions of watch-state records it could not project).",
        )
        fn.add_event_source(
            sources.DynamoEventSource(
                playback_table,
                # From the oldest record: watch states written before the mapping existed (or while
                # it was disabled) still reach the history. Replays rewrite the same entries.
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=100,
                # A failing batch is split to isolate the record, retried, then its position goes to
                # the dead-letter queue; ReportBatchItemFailures resumes at the first unprojected one.
                bisect_batch_on_error=True,
                retry_attempts=10,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.history_dead_letter_queue),
                # Watch states only: session and lease writes never invoke it (the handler ignores
                # them too: the local cloud does not apply FilterCriteria).
                filters=[
                    lambda_.FilterCriteria.filter(
                        {"dynamodb": {"Keys": {"sk": {"S": lambda_.FilterRule.begins_with(WATCH_STATE_PREFIX)}}}}
                    )
                ],
            )
        )

    # --- wiring ---------------------------------------------------------------------------------

    def wire_view_stream(self, stream: kinesis.IStream) -> None:
        """Feed ``stream`` (contract E's view events) to the trending consumer: batches of up to 500
        records or 10 s, a failing batch split in two and retried, then skipped (trending is a signal;
        a stuck shard would freeze it)."""
        self.trending_function.add_event_source(
            sources.KinesisEventSource(
                stream,
                starting_position=lambda_.StartingPosition.LATEST,
                batch_size=500,
                max_batching_window=Duration.seconds(10),
                bisect_batch_on_error=True,
                retry_attempts=3,
                report_batch_item_failures=False,
            )
        )

    def _state_machine(self) -> sfn.StateMachine:
        log_group = logs.LogGroup(
            self, "WorkflowLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        machine = sfn.StateMachine(
            self,
            "TrainingStateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            comment="Home: train -> Map(build batches) -> publish",
            # from_string: inline in the template, the same definition the local cloud runs.
            definition_body=sfn.DefinitionBody.from_string(HOME_ASL.read_text(encoding="utf-8")),
            definition_substitutions={f"{step}FunctionArn": fn.function_arn for step, fn in self.job_functions.items()},
            timeout=Duration.hours(2),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[fn.function_arn for fn in self.job_functions.values()]
            )
        )
        acknowledge(
            machine.role,
            "AwsSolutions-IAM5",
            "CloudWatch Logs delivery (logs:CreateLogDelivery, ...) and X-Ray actions that Step Functions "
            "logging/tracing need do not support resource-level permissions.",
            applies_to=["Resource::*"],
        )
        return machine

    # --- least privilege ------------------------------------------------------------------------

    def _objects(self, prefix: str) -> str:
        return self.model_bucket.arn_for_objects(f"{prefix}*")

    def _grant_dax_reads(self, role: iam.IRole) -> None:
        """What the cluster reads on a miss for GET /home: every eventually consistent read of the
        API function goes through DAX (reelstack_common.dynamo). Read-only: writes never pass
        through DAX (no write-through; they go straight to DynamoDB). DAX's own role only had the
        accounts tables, so the playback history and the newest-titles Query would have been
        refused through DAX (every page a fallback)."""
        grants: list[tuple[list[str], list[str]]] = [
            (["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"],
             [self.home_table.table_arn]),  # documents, campaigns, trending, the model pointer
            (["dynamodb:DescribeTable"], [self._catalog.catalog_table.table_arn]),
            (["dynamodb:Query"], [self._catalog.gsi1_arn]),  # the newest READY titles
        ]  # fmt: skip
        if self._playback_table is not None:  # the view history (contract E)
            grants.append((["dynamodb:DescribeTable", "dynamodb:Query"], [self._playback_table.table_arn]))
        for actions, resources in grants:
            iam.Grant.add_to_principal(grantee=role, actions=actions, resource_arns=resources)

    def _grant_api(self, fn: lambda_.Function) -> None:
        """Exactly the API function's calls (functions/recommendations dal/): the home table's
        documents (BatchGetItem with the viewer, write-back PutItem, rating mark UpdateItem),
        campaigns (CRUD; the list is a Query of their one partition), trending and the model
        pointer (GetItem); the viewer (GetItem, or BatchGetItem with the document)."""
        home, ratings, cat = self.home_table, self.ratings_table, self._catalog.catalog_table
        for actions, conditions in (
            (["dynamodb:GetItem"], None),
            (["dynamodb:BatchGetItem"], leading_keys(DOC_PARTITIONS)),
            (["dynamodb:PutItem"], leading_keys(DOC_PARTITIONS, CAMPAIGN_PARTITION)),
            (["dynamodb:UpdateItem"], leading_keys(DOC_PARTITIONS)),
            (["dynamodb:DeleteItem", "dynamodb:Query"], leading_keys(CAMPAIGN_PARTITION)),
        ):
            statement = iam.PolicyStatement(actions=actions, resources=[home.table_arn], conditions=conditions)
            fn.add_to_role_policy(statement)
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"], resources=[ratings.table_arn]
            )
        )
        fn.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:BatchGetItem"], resources=[cat.table_arn]))
        fn.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:Query"], resources=[self._catalog.gsi1_arn]))
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:BatchGetItem"], resources=[self._data.accounts_table.table_arn]
            )
        )
        if self._playback_table is not None:
            fn.add_to_role_policy(
                iam.PolicyStatement(actions=["dynamodb:Query"], resources=[self._playback_table.table_arn])
            )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[self._objects("models/"), self._objects("fallback/")]
            )
        )
        self._acknowledge_prefixes(fn, ["models/", "fallback/"], "reads the current model artifact and fallback rows")

    def _grant_train(self, fn: lambda_.Function) -> None:
        fn.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:Query"], resources=[self._catalog.gsi1_arn]))
        scans = [self.ratings_table.table_arn, self._data.accounts_table.table_arn]
        if self._playback_table is not None:
            scans.append(self._playback_table.table_arn)
        fn.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:Scan"], resources=scans))
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"], resources=[self._objects("models/")])
        )
        fn.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[self._objects("lake/")]))
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.model_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["lake/*"]}},
            )
        )
        self._acknowledge_prefixes(fn, ["models/", "lake/"], "writes models/<version>/ and reads the lake/ histories")

    def _grant_build(self, fn: lambda_.Function) -> None:
        fn.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[self._objects("models/")]))
        fn.add_to_role_policy(
            # versions (BatchGetItem) and put_many (BatchWriteItem) of its batch's documents: no PutItem.
            iam.PolicyStatement(
                actions=["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
                resources=[self.home_table.table_arn],
                conditions=leading_keys(DOC_PARTITIONS),
            )
        )
        self._acknowledge_prefixes(fn, ["models/"], "reads models/<version>/ (the artifact and its batch files)")

    def _grant_publish(self, fn: lambda_.Function) -> None:
        fn.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[self._objects("models/")]))
        fn.add_to_role_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[self._objects("fallback/")]))
        fn.add_to_role_policy(  # the model pointer (MODEL/CURRENT) only
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem"],
                resources=[self.home_table.table_arn],
                conditions=leading_keys(MODEL_PARTITION),
            )
        )
        self._acknowledge_prefixes(
            fn, ["models/", "fallback/"], "reads models/<version>/, writes fallback/current.json"
        )

    def _acknowledge_prefixes(self, fn: lambda_.Function, prefixes: list[str], why: str) -> None:
        from aws_cdk import Stack

        role = fn.role
        assert role is not None
        bucket_id = Stack.of(self).get_logical_id(self.model_bucket.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5",
            f"The home function {why}: object keys are per model version, known only at run time; each "
            "grant is one prefix of the home model bucket.",
            applies_to=[f"Resource::<{bucket_id}.Arn>/{p}*" for p in prefixes],
        )
