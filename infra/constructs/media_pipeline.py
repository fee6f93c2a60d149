"""Ingest and chunked parallel transcoding: the ingest and media buckets, the parts table, the seven
transcode functions and the Step Functions workflow that an S3 upload starts.

Flow: an object lands in ``<ingest>/uploads/{title_id}/source`` -> S3 sends "Object Created" to
the default EventBridge bus (bucket-level EventBridge notifications) -> ``IngestUploadedRule``
starts the ``statemachines/transcode.asl.json`` workflow (probe -> plan -> Map(encode_chunk) +
encode_audio -> assemble -> publish, any failure -> fail), which writes HLS into the media bucket,
moves the title through its statuses in the catalog table (``CatalogData``) and announces the
result on the platform's event bus (``PlatformEvents``).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.events import PlatformEvents
from infra.constructs.house import abort_incomplete_multipart_rule, dead_letter_queue, house_bucket, house_table
from infra.constructs.layers import REPO_ROOT
from infra.constructs.nag import acknowledge
from infra.constructs.service import service_function

TRANSCODE_CODE_DIR = REPO_ROOT / "functions" / "transcode"
TRANSCODE_ASL = REPO_ROOT / "statemachines" / "transcode.asl.json"
SHARED_LAYER_DIR = REPO_ROOT / "layers" / "shared"
UPLOADS_PREFIX = "uploads/"
# Intermediate chunk / audio outputs; everything else in the media bucket is published output.
WORK_PREFIX = "work/"

GiB = 1024**3
# Sources above this are refused: by the catalog before issuing an upload URL, by probe after.
# No step copies the source or holds more than one chunk of output, so the bounds are the two
# steps that read the WHOLE source in one Lambda (probe lists every packet; encode_audio demuxes
# the interleaved soundtrack): 50 GiB at >= 60 MB/s is ~14 min, inside the 15-minute ceiling.
DEFAULT_MAX_SOURCE_BYTES = 50 * GiB
# The longest single piece of work is encode_audio (the whole soundtrack, once; AAC at 16-39x real
# time per core on music- and noise-like content): 4 hours is 6-15 min of it. The chunk Map would
# allow far more (240 chunks of 60 s are ~2,000 of an execution's 25,000 history events).
DEFAULT_MAX_DURATION_S = 4 * 3600
CHUNK_SECONDS = 60
SEGMENT_SECONDS = 2
# The chunk Map's width: the inline Map's ceiling in AWS (40 concurrent iterations), written in
# statemachines/transcode.asl.json and checked against this by tests/infra.
CHUNK_MAP_CONCURRENCY = 40
# encode_chunk's reserved concurrency: three titles transcoding at full width. Reserved capacity
# both guarantees those slots and caps the burst, so a batch of uploads cannot take the account's
# (default 1,000) concurrency from the HTTP services; a fourth title's throttled chunks wait in
# the ASL's Lambda.TooManyRequestsException retry.
ENCODE_CHUNK_RESERVED_CONCURRENCY = 3 * CHUNK_MAP_CONCURRENCY


def plan_height_caps() -> str:
    """PLAN_HEIGHT_CAPS for the transcoder (contract B): the plans' caps, from the one place plans
    are defined (``reelstack_common.plans``, loaded from the shared layer's source: infra does not
    put the layer on its own import path). The transcode Lambda has no shared layer, so it gets
    them as configuration."""
    path = SHARED_LAYER_DIR / "python" / "reelstack_common" / "plans.py"
    spec = importlib.util.spec_from_file_location("_reelstack_plans_for_infra", path)
    assert spec is not None and spec.loader is not None
    plans = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = plans  # dataclasses look their module up while the class is built
    spec.loader.exec_module(plans)
    return ",".join(str(c) for c in plans.height_caps())


# --- what the media bucket holds, and who may touch which part --------------------------------
# Published HLS lives under these prefixes (``<prefix>{title_id}/...``): the encode steps write
# the segments, ``assemble`` the playlists; ``fail`` deletes a title's partial output from all.
OUTPUT_PREFIXES: tuple[str, ...] = ("titles/",)


@dataclass(frozen=True)
class StepSpec:
    """Sizing of one workflow step's function."""

    memory_mb: int
    timeout: Duration
    ffmpeg: bool = False  # gets the ffmpeg layer and 10 GB of /tmp
    reserved_concurrency: int | None = None

    @property
    def ephemeral(self) -> Size | None:
        # The source is streamed (presigned GET); an encode step's /tmp holds one chunk's
        # renditions twice (encoded, then re-muxed into segments) and the sampled quality
        # reference (unscaled frames: ~1.5 GB for a 60 s 4K chunk). 10 GB is Lambda's maximum
        # and costs next to nothing unused.
        return Size.gibibytes(10) if self.ffmpeg else None


# Lambda allocates CPU in proportion to memory (1769 MB = 1 vCPU). encode_chunk gets the maximum,
# 10,240 MB = 6 vCPUs: a 60 s chunk of the 4-rung 1080p ladder is ~300 CPU-s of x264 veryfast
# (docs/benchmarks.md), ~1 min on 6 vCPUs, and the title's chunk phase is 120 / 40 = 3 waves of
# that. encode_audio is single-threaded AAC (1 vCPU is all it uses) but reads the whole source:
# network throughput grows with memory. probe reads the whole source and keeps one line per
# packet (~100 MB of text for 6 hours). assemble handles JSON records and playlists only.
# Timeouts stay at or under Lambda's 15-minute ceiling.
STEPS: dict[str, StepSpec] = {
    "probe": StepSpec(memory_mb=3008, timeout=Duration.minutes(15), ffmpeg=True),
    "plan": StepSpec(memory_mb=512, timeout=Duration.minutes(1)),
    "encode_chunk": StepSpec(memory_mb=10240, timeout=Duration.minutes(15), ffmpeg=True,
                             reserved_concurrency=ENCODE_CHUNK_RESERVED_CONCURRENCY),
    "encode_audio": StepSpec(memory_mb=3008, timeout=Duration.minutes(15), ffmpeg=True),
    "assemble": StepSpec(memory_mb=1024, timeout=Duration.minutes(5)),
    "publish": StepSpec(memory_mb=512, timeout=Duration.minutes(1)),
    "fail": StepSpec(memory_mb=512, timeout=Duration.minutes(5)),
}


def pascal(step: str) -> str:
    return "".join(part.capitalize() for part in step.split("_"))


def arn_placeholder(step: str) -> str:
    """The ``${...}`` name the ASL file uses for a step's function ARN (``EncodeChunkFunctionArn``)."""
    return f"{pascal(step)}FunctionArn"


def transcode_handler(step: str) -> str:
    return f"transcode.handlers.{step}.lambda_handler"


# --- the construct ------------------------------------------------------------------------------


class MediaPipeline(Construct):
    """Attributes other code uses:

    ingest_bucket: s3.Bucket (env ``INGEST_BUCKET``); EventBridge notifications on
    media_bucket: s3.Bucket (env ``MEDIA_BUCKET``): published HLS under ``titles/``, work under ``work/``
    access_log_bucket: s3.Bucket receiving both buckets' server access logs
    parts_table: dynamodb.Table (env ``PARTS_TABLE``): ``title_format`` (S) / ``part_num`` (N)
    functions: dict step -> lambda_.Function (probe, plan, encode_chunk, encode_audio, assemble,
        publish, fail)
    state_machine: sfn.StateMachine (STANDARD) from ``statemachines/transcode.asl.json``
    ingest_rule: events.Rule (default bus) S3 Object Created ``uploads/`` -> state machine
    ingest_dead_letter_queue: sqs.Queue for events the rule could not deliver
    max_source_bytes: the source size limit (the catalog refuses larger uploads with the same one)

    Every transcode function gets the pydantic layer (its step payload models); the steps that run
    ffmpeg also get the ffmpeg layer. Nothing else: boto3 comes with the runtime, and the deps
    layer would not fit beside ffmpeg.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog_table: dynamodb.ITable,
        events_bus: PlatformEvents,
        ffmpeg_layer: lambda_.ILayerVersion,
        pydantic_layer: lambda_.ILayerVersion,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        upload_expiration_days: int = 7,
        max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
        max_duration_s: int = DEFAULT_MAX_DURATION_S,
        execution_timeout_hours: int = 6,
        log_level: str = "INFO",
        asl_path: Path = TRANSCODE_ASL,
    ) -> None:
        super().__init__(scope, construct_id)
        self.max_source_bytes = max_source_bytes
        self.access_log_bucket, self.ingest_bucket, self.media_bucket = self._create_buckets(
            removal_policy, upload_expiration_days
        )
        # One item per HLS segment, keyed ((title_id, format), part_num) as in the seed
        # (title_format = "{title_id}#{format}"); see transcode.dal.parts.DynamoPartIndex.
        self.parts_table = house_table(
            self,
            "PartsTable",
            partition_key=dynamodb.Attribute(name="title_format", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="part_num", type=dynamodb.AttributeType.NUMBER),
            # Reproducible bookkeeping: re-running the workflow rebuilds it.
            removal_policy=RemovalPolicy.DESTROY,
        )

        environment = {
            "INGEST_BUCKET": self.ingest_bucket.bucket_name,
            "MEDIA_BUCKET": self.media_bucket.bucket_name,
            "CATALOG_TABLE": catalog_table.table_name,
            "PARTS_TABLE": self.parts_table.table_name,
            **events_bus.environment,
            "CHUNK_SECONDS": str(CHUNK_SECONDS),
            "SEGMENT_SECONDS": str(SEGMENT_SECONDS),
            "MAX_SOURCE_BYTES": str(max_source_bytes),
            "MAX_DURATION_S": str(max_duration_s),
            "PLAN_HEIGHT_CAPS": plan_height_caps(),
        }
        self.functions: dict[str, lambda_.Function] = {
            step: self._step_function(step, spec, environment, ffmpeg_layer, pydantic_layer, log_level)
            for step, spec in STEPS.items()
        }
        grant_steps(
            {step: _StepRights(fn) for step, fn in self.functions.items()},
            ingest=self.ingest_bucket,
            media=self.media_bucket,
            catalog_table=catalog_table,
            parts_table=self.parts_table,
            events_bus=events_bus,
        )
        self.state_machine = self._create_state_machine(
            asl_path, Duration.hours(execution_timeout_hours), self.functions
        )
        self.ingest_rule, self.ingest_dead_letter_queue = self._create_ingest_rule(
            self.ingest_bucket, self.state_machine
        )

    # --- storage ------------------------------------------------------------------------------

    def _create_buckets(
        self, removal_policy: RemovalPolicy, upload_expiration_days: int
    ) -> tuple[s3.Bucket, s3.Bucket, s3.Bucket]:
        """(access logs, ingest, media)."""
        # The S3 log delivery service only writes to SSE-S3 buckets (the house default).
        access_logs = house_bucket(
            self,
            "AccessLogs",
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(90))],
            removal_policy=removal_policy,
        )
        acknowledge(
            access_logs,
            "AwsSolutions-S1",
            "This bucket is the server-access-log destination of the ingest and media buckets; logging "
            "its own access would recurse.",
        )

        ingest = house_bucket(
            self,
            "IngestBucket",
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="ingest/",
            lifecycle_rules=[
                # Sources are only needed until the title is transcoded; the output is in the
                # media bucket. Expiring them keeps the bucket from becoming a second archive.
                s3.LifecycleRule(
                    id="expire-uploads",
                    prefix=UPLOADS_PREFIX,
                    expiration=Duration.days(upload_expiration_days),
                ),
                abort_incomplete_multipart_rule(),
            ],
            # Browsers PUT straight to S3 with the presigned URLs; ETag must be readable to
            # complete a multipart upload.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT],
                    allowed_origins=["*"],
                    allowed_headers=["*"],
                    exposed_headers=["ETag"],
                    max_age=3000,
                )
            ],
            removal_policy=removal_policy,
        )

        # Object Created events go to the default bus, where the ingest rule starts the workflow.
        # Set on the L1 bucket: the L2 ``event_bridge_enabled`` goes through the
        # Custom::S3BucketNotifications resource (an extra Lambda + IAM, and a custom resource the
        # local cloud cannot run), whereas CloudFormation supports the setting natively.
        cfn_ingest = ingest.node.default_child
        assert isinstance(cfn_ingest, s3.CfnBucket)
        cfn_ingest.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
        )

        media = house_bucket(
            self,
            "MediaBucket",
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="media/",
            lifecycle_rules=[
                # Chunk outputs are deleted by assemble/fail; this is the safety net for
                # executions that died in between.
                s3.LifecycleRule(id="expire-work", prefix=WORK_PREFIX, expiration=Duration.days(3)),
                abort_incomplete_multipart_rule(),
            ],
            removal_policy=removal_policy,
        )
        return access_logs, ingest, media

    # --- functions ----------------------------------------------------------------------------

    def _step_function(
        self,
        step: str,
        spec: StepSpec,
        environment: Mapping[str, str],
        ffmpeg_layer: lambda_.ILayerVersion,
        pydantic_layer: lambda_.ILayerVersion,
        log_level: str,
    ) -> lambda_.Function:
        # No retry settings: the workflow invokes each step synchronously and its Retry/Catch
        # decide; Lambda's async retries never apply.
        fn = service_function(
            self,
            f"{pascal(step)}Function",
            name=f"transcode-{step.replace('_', '-')}",
            code_dir=str(TRANSCODE_CODE_DIR),
            handler=transcode_handler(step),
            environment=environment,
            layers=[pydantic_layer, ffmpeg_layer] if spec.ffmpeg else [pydantic_layer],
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            ephemeral_storage=spec.ephemeral,
            log_level=log_level,
            description=f"Reelstack transcode: {step}",
        )
        if spec.reserved_concurrency is not None:
            cfn_fn = fn.node.default_child
            assert isinstance(cfn_fn, lambda_.CfnFunction)
            cfn_fn.reserved_concurrent_executions = spec.reserved_concurrency
        return fn

    # --- workflow -----------------------------------------------------------------------------

    def _create_state_machine(
        self, asl_path: Path, execution_timeout: Duration, functions: Mapping[str, lambda_.Function]
    ) -> sfn.StateMachine:
        log_group = logs.LogGroup(
            self,
            "TranscodeWorkflowLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        state_machine = sfn.StateMachine(
            self,
            "TranscodeStateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            comment="Ingest -> chunked parallel transcode -> HLS publish",
            # from_string, not from_file: the definition stays inline in the template (visible to
            # assertions and to the local cloud) instead of becoming an S3 asset.
            definition_body=sfn.DefinitionBody.from_string(asl_path.read_text(encoding="utf-8")),
            definition_substitutions={arn_placeholder(step): fn.function_arn for step, fn in functions.items()},
            timeout=execution_timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        # A definition from a file gets no automatic permissions: invoke exactly these functions
        # (unqualified ARNs, as the ASL references them).
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[fn.function_arn for fn in functions.values()],
            )
        )
        acknowledge(
            state_machine.role,
            "AwsSolutions-IAM5",
            "CloudWatch Logs delivery (logs:CreateLogDelivery, ...) and X-Ray actions that Step Functions "
            "logging/tracing need do not support resource-level permissions.",
            applies_to=["Resource::*"],
        )
        return state_machine

    def _create_ingest_rule(
        self, ingest: s3.Bucket, state_machine: sfn.StateMachine
    ) -> tuple[events.Rule, sqs.Queue]:
        dead_letters = dead_letter_queue(
            self,
            "IngestDeadLetterQueue",
            holds="the ingest rule's Step Functions target's; EventBridge target DLQs are not "
            "recognised by the rule, which only looks at SQS redrive policies.",
        )
        rule = events.Rule(
            self,
            "IngestUploadedRule",
            description="A source landed under uploads/ in the ingest bucket: start the transcode workflow",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [ingest.bucket_name]},
                    "object": {"key": [{"prefix": UPLOADS_PREFIX}]},
                },
            ),
            targets=[
                targets.SfnStateMachine(
                    state_machine,
                    dead_letter_queue=dead_letters,
                    retry_attempts=8,
                    max_event_age=Duration.hours(2),
                )
            ],
        )
        return rule, dead_letters


# --- least privilege ----------------------------------------------------------------------------


class _StepRights:
    """One step function's inline statements, and the IAM5 findings its key-prefix wildcards make
    (acknowledged together by ``acknowledge_prefixes``)."""

    def __init__(self, fn: lambda_.Function) -> None:
        self.fn = fn
        self.prefix_findings: dict[str, str] = {}

    def allow(
        self, actions: Sequence[str], resources: Sequence[str], conditions: Mapping[str, Any] | None = None
    ) -> None:
        self.fn.add_to_role_policy(
            iam.PolicyStatement(actions=list(actions), resources=list(resources), conditions=conditions)
        )

    def allow_objects(self, actions: Sequence[str], bucket: s3.Bucket, prefixes: Sequence[str]) -> None:
        """Object actions on key prefixes of ``bucket``."""
        self.allow(actions, [bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes])
        cfn_bucket = bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        logical_id = Stack.of(bucket).get_logical_id(cfn_bucket)
        for prefix in prefixes:
            self.prefix_findings[f"Resource::<{logical_id}.Arn>/{prefix}*"] = f"{bucket.node.id}:{prefix}*"

    def acknowledge_prefixes(self) -> None:
        if not self.prefix_findings:
            return
        role = self.fn.role
        assert role is not None
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "S3 object rights are scoped to key prefixes ("
            + ", ".join(self.prefix_findings.values())
            + "); the title ids in the keys are only known at run time.",
            applies_to=list(self.prefix_findings),
        )


def grant_steps(
    rights: Mapping[str, _StepRights],
    *,
    ingest: s3.Bucket,
    media: s3.Bucket,
    catalog_table: dynamodb.ITable,
    parts_table: dynamodb.ITable,
    events_bus: PlatformEvents,
) -> None:
    """Exactly the calls each step's code makes (functions/transcode/transcode/{storage,catalog,
    events}.py), on the narrowest resources. Notes on the less obvious ones:

    * ffmpeg reads the source through presigned GET URLs signed by the step itself, so the
      signer needs s3:GetObject. Every write is one PutObject (segments, records, playlists:
      never multipart, so ETags are MD5s assemble can check).
    * HeadObject on a missing key answers 404 only with s3:ListBucket on the bucket (else 403);
      probe and assemble rely on that 404, so their ListBucket is unconditioned. Steps that only
      list (publish, fail) get ListBucket restricted to their prefixes.
    * The parts table is written with ``batch_writer`` (BatchWriteItem: puts and deletes).
    """
    catalog = catalog_table.table_arn  # the base table only: no index ARN wildcard
    parts = parts_table.table_arn
    listed = {"StringLike": {"s3:prefix": [f"{p}*" for p in (WORK_PREFIX, *OUTPUT_PREFIXES)]}}

    # probe: claim the title (TRANSCODING), inspect the source.
    rights["probe"].allow_objects(["s3:GetObject"], ingest, [UPLOADS_PREFIX])
    rights["probe"].allow(["s3:ListBucket"], [ingest.bucket_arn])
    rights["probe"].allow(["dynamodb:UpdateItem"], [catalog])
    # plan: pure computation over probe's output -- no AWS access at all.
    # encode_chunk / encode_audio: read the source, write their final segments (titles/) and their
    # records (work/), index the segments; after writing, re-read the title's owner (GetItem) and
    # remove what they wrote if their run was failed meanwhile (DeleteObject, part rows).
    for step in ("encode_chunk", "encode_audio"):
        rights[step].allow_objects(["s3:GetObject"], ingest, [UPLOADS_PREFIX])
        rights[step].allow_objects(["s3:PutObject"], media, [WORK_PREFIX])
        rights[step].allow_objects(["s3:PutObject", "s3:DeleteObject"], media, OUTPUT_PREFIXES)
        rights[step].allow(["dynamodb:BatchWriteItem"], [parts])
        rights[step].allow(["dynamodb:GetItem"], [catalog])
    # assemble: read the records, check the segments (one listing), write playlists and the quality
    # report, prune stale output and work/, trim stale part rows, record outputs.
    rights["assemble"].allow_objects(["s3:GetObject", "s3:DeleteObject"], media, [WORK_PREFIX])
    rights["assemble"].allow_objects(["s3:PutObject", "s3:DeleteObject"], media, OUTPUT_PREFIXES)
    rights["assemble"].allow(["s3:ListBucket"], [media.bucket_arn])
    rights["assemble"].allow(["dynamodb:BatchWriteItem", "dynamodb:Query"], [parts])
    rights["assemble"].allow(["dynamodb:UpdateItem"], [catalog])
    # publish: mark READY, announce it, drop work/.
    rights["publish"].allow(["dynamodb:UpdateItem"], [catalog])
    events_bus.grant_publish(rights["publish"].fn)
    rights["publish"].allow(["s3:ListBucket"], [media.bucket_arn], listed)
    rights["publish"].allow_objects(["s3:DeleteObject"], media, [WORK_PREFIX])
    # fail: mark FAILED, remove everything partial (output, work/, part rows), announce it.
    rights["fail"].allow(["dynamodb:UpdateItem"], [catalog])
    rights["fail"].allow(["s3:ListBucket"], [media.bucket_arn], listed)
    rights["fail"].allow_objects(["s3:DeleteObject"], media, [WORK_PREFIX, *OUTPUT_PREFIXES])
    rights["fail"].allow(["dynamodb:BatchWriteItem", "dynamodb:Query"], [parts])
    events_bus.grant_publish(rights["fail"].fn)

    for step_rights in rights.values():
        step_rights.acknowledge_prefixes()
