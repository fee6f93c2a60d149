"""Ingest and chunked parallel transcoding: buckets, tables, event bus, ffmpeg layer, the seven
transcode functions and the Step Functions workflow that an S3 upload starts.

Flow: an object lands in ``<ingest>/uploads/{title_id}/source`` -> S3 sends "Object Created" to
the default EventBridge bus (bucket-level EventBridge notifications) -> ``IngestUploadedRule``
starts the ``statemachines/transcode.asl.json`` workflow (probe -> plan -> Map(encode_chunk) +
encode_audio -> assemble -> publish, any failure -> fail), which writes HLS into the media bucket
(the CDN origin), updates the catalog title and announces the result on the ``reelstack-events``
bus.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    AssetHashType,
    BundlingOptions,
    DockerImage,
    Duration,
    ILocalBundling,
    RemovalPolicy,
    Size,
    Stack,
)
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

from infra.constructs.data import house_table, single_table
from infra.constructs.layers import REPO_ROOT
from infra.constructs.nag import acknowledge
from infra.constructs.service import PYTHON_RUNTIME, service_function

TRANSCODE_CODE_DIR = REPO_ROOT / "functions" / "transcode"
TRANSCODE_ASL = REPO_ROOT / "statemachines" / "transcode.asl.json"
FFMPEG_LAYER_DIR = REPO_ROOT / "layers" / "ffmpeg"
EVENT_BUS_NAME = "reelstack-events"
UPLOADS_PREFIX = "uploads/"
# Intermediate chunk / audio outputs; everything else in the media bucket is published output.
WORK_PREFIX = "work/"

GiB = 1024**3
# Sources above this are refused: by the catalog before issuing an upload URL, by probe after.
DEFAULT_MAX_SOURCE_BYTES = 50 * GiB
DEFAULT_MAX_DURATION_S = 4 * 3600


# --- what the media bucket holds, and who may touch which part --------------------------------
# Published HLS lives under these prefixes (``<prefix>{title_id}/...``); ``fail`` deletes a
# title's partial output from all of them, ``assemble`` writes them.
OUTPUT_PREFIXES: tuple[str, ...] = ("titles/",)


@dataclass(frozen=True)
class StepSpec:
    """Sizing of one workflow step's function."""

    memory_mb: int
    timeout: Duration
    ffmpeg: bool = False  # gets the ffmpeg layer and 10 GB of /tmp

    @property
    def ephemeral(self) -> Size | None:
        # The source is streamed (presigned GET), but encoders write a chunk's renditions under
        # /tmp, and assemble holds the joined renditions plus the HLS output (about two copies of
        # the title's ladder). 10 GB is Lambda's maximum.
        return Size.gibibytes(10) if self.ffmpeg else None


# Lambda allocates CPU in proportion to memory (1769 MB = 1 vCPU): 3008 MB gives x264 ~1.7 vCPUs
# for the encode steps and assemble's remux; bookkeeping steps need little. Timeouts stay under
# Lambda's 15-minute ceiling: a 60 s chunk of the 4-rung 1080p ladder takes ~1.5 min of wall time
# (measured: 11.6 s per 10 s on 2 cores).
STEPS: dict[str, StepSpec] = {
    "probe": StepSpec(memory_mb=1024, timeout=Duration.minutes(5), ffmpeg=True),
    "plan": StepSpec(memory_mb=512, timeout=Duration.minutes(1)),
    "encode_chunk": StepSpec(memory_mb=3008, timeout=Duration.minutes(15), ffmpeg=True),
    "encode_audio": StepSpec(memory_mb=1769, timeout=Duration.minutes(15), ffmpeg=True),
    "assemble": StepSpec(memory_mb=3008, timeout=Duration.minutes(15), ffmpeg=True),
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


# --- ffmpeg layer: Docker-free bundling ---------------------------------------------------------


@jsii.implements(ILocalBundling)
class FfmpegLocalBundling:
    """Runs ``layers/ffmpeg/build.py``'s ``build(out_dir)`` in-process: it places the static ffmpeg
    (imageio-ffmpeg) at ``<out_dir>/bin/ffmpeg``, which Lambda mounts as ``/opt/bin/ffmpeg``."""

    def __init__(self, build_script: Path) -> None:
        self._build_script = build_script

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:  # noqa: ARG002
        spec = importlib.util.spec_from_file_location("reelstack_ffmpeg_layer_build", self._build_script)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {self._build_script}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.build(output_dir)
        if not (Path(output_dir) / "bin" / "ffmpeg").is_file():
            raise RuntimeError(f"{self._build_script} did not produce bin/ffmpeg in {output_dir}")
        return True


def ffmpeg_layer(scope: Construct, construct_id: str) -> lambda_.LayerVersion:
    return lambda_.LayerVersion(
        scope,
        construct_id,
        description="Static ffmpeg (imageio-ffmpeg) at /opt/bin/ffmpeg",
        code=lambda_.Code.from_asset(
            str(FFMPEG_LAYER_DIR),
            # Hash the build recipe, not the 170 MB output: an unchanged build.py reuses the staged
            # asset instead of re-running the build on every synth.
            asset_hash_type=AssetHashType.SOURCE,
            exclude=["**/__pycache__", "**/*.pyc", "**/.cache", "**/tests"],
            bundling=BundlingOptions(
                # Never pulled: local bundling either succeeds or raises. CDK requires an image.
                image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),
                local=FfmpegLocalBundling(FFMPEG_LAYER_DIR / "build.py"),
            ),
        ),
        compatible_runtimes=[PYTHON_RUNTIME],
        compatible_architectures=[lambda_.Architecture.X86_64],
    )


# --- the construct ------------------------------------------------------------------------------


class MediaPipeline(Construct):
    """Attributes other code uses:

    ingest_bucket: s3.Bucket (env ``INGEST_BUCKET``); EventBridge notifications on
    media_bucket: s3.Bucket (env ``MEDIA_BUCKET``) -- the CloudFront origin of a later issue
    access_log_bucket: s3.Bucket receiving both buckets' server access logs
    catalog_table: dynamodb.Table (env ``CATALOG_TABLE``): pk/sk (S), GSI ``gsi1`` (gsi1pk/gsi1sk, ALL)
    parts_table: dynamodb.Table (env ``PARTS_TABLE``): ``title_format`` (S) / ``part_num`` (N)
    event_bus: events.EventBus ``reelstack-events`` (env ``EVENT_BUS_NAME``)
    ffmpeg_layer: lambda_.LayerVersion
    functions: dict step -> lambda_.Function (probe, plan, encode_chunk, encode_audio, assemble,
        publish, fail)
    state_machine: sfn.StateMachine (STANDARD) from ``statemachines/transcode.asl.json``
    ingest_rule: events.Rule (default bus) S3 Object Created ``uploads/`` -> state machine
    ingest_dead_letter_queue: sqs.Queue for events the rule could not deliver

    ``layers``: extra layers for every transcode function. Leave it empty: the transcode code needs
    only boto3 (part of the runtime), and the ffmpeg layer alone is 173 of Lambda's 250 MB
    (function + layers, unzipped), so the deps layer would not fit beside it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layers: Sequence[lambda_.ILayerVersion] = (),
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

        self._create_buckets(removal_policy, upload_expiration_days)
        self._create_tables(removal_policy)
        self.event_bus = events.EventBus(self, "EventBus", event_bus_name=EVENT_BUS_NAME)
        self.ffmpeg_layer = ffmpeg_layer(self, "FfmpegLayer")

        environment = {
            "INGEST_BUCKET": self.ingest_bucket.bucket_name,
            "MEDIA_BUCKET": self.media_bucket.bucket_name,
            "CATALOG_TABLE": self.catalog_table.table_name,
            "PARTS_TABLE": self.parts_table.table_name,
            "EVENT_BUS_NAME": self.event_bus.event_bus_name,
            "CHUNK_SECONDS": "60",
            "SEGMENT_SECONDS": "2",
            "MAX_SOURCE_BYTES": str(max_source_bytes),
            "MAX_DURATION_S": str(max_duration_s),
        }
        self.functions: dict[str, lambda_.Function] = {
            step: self._step_function(step, spec, environment, layers, log_level) for step, spec in STEPS.items()
        }
        self._grant_least_privilege()
        self.state_machine = self._create_state_machine(asl_path, Duration.hours(execution_timeout_hours))
        self._create_ingest_rule()

    # --- storage ------------------------------------------------------------------------------

    def _create_buckets(self, removal_policy: RemovalPolicy, upload_expiration_days: int) -> None:
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            # The S3 log delivery service only writes to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(90))],
            removal_policy=removal_policy,
        )
        acknowledge(
            self.access_log_bucket,
            "AwsSolutions-S1",
            "This bucket is the server-access-log destination of the ingest and media buckets; logging "
            "its own access would recurse.",
        )

        self.ingest_bucket = s3.Bucket(
            self,
            "IngestBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="ingest/",
            lifecycle_rules=[
                # Sources are only needed until the title is transcoded; the output is in the
                # media bucket. Expiring them keeps the bucket from becoming a second archive.
                s3.LifecycleRule(
                    id="expire-uploads",
                    prefix=UPLOADS_PREFIX,
                    expiration=Duration.days(upload_expiration_days),
                ),
                # Abandoned multipart uploads are billed until aborted.
                s3.LifecycleRule(
                    id="abort-incomplete-multipart",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
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
        cfn_ingest = self.ingest_bucket.node.default_child
        assert isinstance(cfn_ingest, s3.CfnBucket)
        cfn_ingest.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
        )

        self.media_bucket = s3.Bucket(
            self,
            "MediaBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="media/",
            lifecycle_rules=[
                # Chunk outputs are deleted by assemble/fail; this is the safety net for
                # executions that died in between.
                s3.LifecycleRule(id="expire-work", prefix=WORK_PREFIX, expiration=Duration.days(3)),
                s3.LifecycleRule(
                    id="abort-incomplete-multipart",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
            removal_policy=removal_policy,
        )

    def _create_tables(self, removal_policy: RemovalPolicy) -> None:
        # gsi1pk = STATUS#{status}, gsi1sk = {created_at}#{title_id}: the READY listing.
        self.catalog_table = single_table(self, "CatalogTable", removal_policy=removal_policy)
        # One item per HLS segment, keyed ((title_id, format), part_num) as in the seed
        # (title_format = "{title_id}#{format}"); see transcode.catalog.Parts.
        self.parts_table = house_table(
            self,
            "PartsTable",
            partition_key=dynamodb.Attribute(name="title_format", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="part_num", type=dynamodb.AttributeType.NUMBER),
            # Reproducible bookkeeping: re-running the workflow rebuilds it.
            removal_policy=RemovalPolicy.DESTROY,
        )

    # --- functions ----------------------------------------------------------------------------

    def _step_function(
        self,
        step: str,
        spec: StepSpec,
        environment: Mapping[str, str],
        layers: Sequence[lambda_.ILayerVersion],
        log_level: str,
    ) -> lambda_.Function:
        fn = service_function(
            self,
            f"{pascal(step)}Function",
            name=f"transcode-{step.replace('_', '-')}",
            code_dir=str(TRANSCODE_CODE_DIR),
            handler=transcode_handler(step),
            environment=environment,
            layers=[*layers, self.ffmpeg_layer] if spec.ffmpeg else list(layers),
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            log_level=log_level,
            description=f"Reelstack transcode: {step}",
        )
        if spec.ephemeral is not None:
            # service_function has no /tmp size parameter; the L1 property is stable.
            cfn = fn.node.default_child
            assert isinstance(cfn, lambda_.CfnFunction)
            cfn.ephemeral_storage = lambda_.CfnFunction.EphemeralStorageProperty(
                size=int(spec.ephemeral.to_mebibytes())
            )
        # Failures are handled by the workflow's Retry/Catch; Lambda's own async retries would only
        # duplicate work (the state machine invokes synchronously anyway).
        return fn

    def _allow(
        self,
        step: str,
        actions: Sequence[str],
        resources: Sequence[str],
        conditions: Mapping[str, Any] | None = None,
    ) -> None:
        self.functions[step].add_to_role_policy(
            iam.PolicyStatement(actions=list(actions), resources=list(resources), conditions=conditions)
        )

    def _allow_objects(self, step: str, actions: Sequence[str], bucket: s3.Bucket, prefixes: Sequence[str]) -> None:
        """Object actions on key prefixes; remembers the IAM5 finding each prefix wildcard makes."""
        self._allow(step, actions, [bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes])
        cfn_bucket = bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        logical_id = Stack.of(self).get_logical_id(cfn_bucket)
        findings = self._prefix_findings.setdefault(step, {})
        for prefix in prefixes:
            findings[f"Resource::<{logical_id}.Arn>/{prefix}*"] = f"{bucket.node.id}:{prefix}*"

    def _grant_least_privilege(self) -> None:
        """Exactly the calls each step's code makes (functions/transcode/transcode/{storage,catalog,
        events}.py), on the narrowest resources. Notes on the less obvious ones:

        * ffmpeg reads the source through presigned GET URLs signed by the step itself, so the
          signer needs s3:GetObject; boto3's multipart ``upload_file`` aborts with
          s3:AbortMultipartUpload on failure.
        * HeadObject on a missing key answers 404 only with s3:ListBucket on the bucket (else 403);
          probe and assemble rely on that 404, so their ListBucket is unconditioned. Steps that only
          list (publish, fail) get ListBucket restricted to their prefixes.
        * The parts table is written with ``batch_writer`` (BatchWriteItem: puts and deletes).
        """
        ingest, media = self.ingest_bucket, self.media_bucket
        catalog = self.catalog_table.table_arn  # the base table only: no index ARN wildcard
        parts = self.parts_table.table_arn
        bus = self.event_bus.event_bus_arn
        listed = {"StringLike": {"s3:prefix": [f"{p}*" for p in (WORK_PREFIX, *OUTPUT_PREFIXES)]}}
        self._prefix_findings: dict[str, dict[str, str]] = {}

        # probe: claim the title (TRANSCODING), inspect the source.
        self._allow_objects("probe", ["s3:GetObject"], ingest, [UPLOADS_PREFIX])
        self._allow("probe", ["s3:ListBucket"], [ingest.bucket_arn])
        self._allow("probe", ["dynamodb:UpdateItem"], [catalog])
        # plan: pure computation over probe's output -- no AWS access at all.
        # encode_chunk / encode_audio: read the source, write their outputs under work/.
        for step in ("encode_chunk", "encode_audio"):
            self._allow_objects(step, ["s3:GetObject"], ingest, [UPLOADS_PREFIX])
            self._allow_objects(step, ["s3:PutObject", "s3:AbortMultipartUpload"], media, [WORK_PREFIX])
        # assemble: read chunks, write HLS, prune stale output and work/, index parts, record outputs.
        self._allow_objects("assemble", ["s3:GetObject", "s3:DeleteObject"], media, [WORK_PREFIX])
        self._allow_objects(
            "assemble", ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"], media, OUTPUT_PREFIXES
        )
        self._allow("assemble", ["s3:ListBucket"], [media.bucket_arn])
        self._allow("assemble", ["dynamodb:BatchWriteItem", "dynamodb:Query"], [parts])
        self._allow("assemble", ["dynamodb:UpdateItem"], [catalog])
        # publish: mark READY, announce it, drop work/.
        self._allow("publish", ["dynamodb:UpdateItem"], [catalog])
        self._allow("publish", ["events:PutEvents"], [bus])
        self._allow("publish", ["s3:ListBucket"], [media.bucket_arn], listed)
        self._allow_objects("publish", ["s3:DeleteObject"], media, [WORK_PREFIX])
        # fail: mark FAILED, remove everything partial (output, work/, part rows), announce it.
        self._allow("fail", ["dynamodb:UpdateItem"], [catalog])
        self._allow("fail", ["s3:ListBucket"], [media.bucket_arn], listed)
        self._allow_objects("fail", ["s3:DeleteObject"], media, [WORK_PREFIX, *OUTPUT_PREFIXES])
        self._allow("fail", ["dynamodb:BatchWriteItem", "dynamodb:Query"], [parts])
        self._allow("fail", ["events:PutEvents"], [bus])

        for step, findings in self._prefix_findings.items():
            role = self.functions[step].role
            assert role is not None
            acknowledge(
                role,
                "AwsSolutions-IAM5",
                "S3 object rights are scoped to key prefixes ("
                + ", ".join(findings.values())
                + "); the title ids in the keys are only known at run time.",
                applies_to=list(findings),
            )

    # --- workflow -----------------------------------------------------------------------------

    def _create_state_machine(self, asl_path: Path, execution_timeout: Duration) -> sfn.StateMachine:
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
            definition_substitutions={arn_placeholder(step): fn.function_arn for step, fn in self.functions.items()},
            timeout=execution_timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        # A definition from a file gets no automatic permissions: invoke exactly these functions
        # (unqualified ARNs, as the ASL references them).
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[fn.function_arn for fn in self.functions.values()],
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

    def _create_ingest_rule(self) -> None:
        self.ingest_dead_letter_queue = sqs.Queue(
            self,
            "IngestDeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.ingest_dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue IS a dead-letter queue (of the ingest rule's Step Functions target); EventBridge "
            "target DLQs are not recognised by the rule, which only looks at SQS redrive policies.",
        )
        self.ingest_rule = events.Rule(
            self,
            "IngestUploadedRule",
            description="A source landed under uploads/ in the ingest bucket: start the transcode workflow",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self.ingest_bucket.bucket_name]},
                    "object": {"key": [{"prefix": UPLOADS_PREFIX}]},
                },
            ),
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    dead_letter_queue=self.ingest_dead_letter_queue,
                    retry_attempts=8,
                    max_event_age=Duration.hours(2),
                )
            ],
        )
