"""MediaPipeline + CatalogService (+ the catalog table and the event bus they share) built into a
test stack of their own (one App for the module).

The stack holds just what they need from the rest of the app (network, identity, edge, layers), so
the assertions and the cdk-nag check are about these constructs only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.infra.conftest import TEST_CONTEXT, Synth, logical_id, synth_stack

STEPS = ("probe", "plan", "encode_chunk", "encode_audio", "assemble", "publish", "fail")
FFMPEG_STEPS = {"probe", "encode_chunk", "encode_audio"}
PLACEHOLDERS = {
    "probe": "ProbeFunctionArn",
    "plan": "PlanFunctionArn",
    "encode_chunk": "EncodeChunkFunctionArn",
    "encode_audio": "EncodeAudioFunctionArn",
    "assemble": "AssembleFunctionArn",
    "publish": "PublishFunctionArn",
    "fail": "FailFunctionArn",
}
PIPELINE_ENV = {
    "INGEST_BUCKET",
    "MEDIA_BUCKET",
    "CATALOG_TABLE",
    "PARTS_TABLE",
    "EVENT_BUS_NAME",
    "CHUNK_SECONDS",
    "SEGMENT_SECONDS",
    "MAX_SOURCE_BYTES",
    "MAX_DURATION_S",
    "PLAN_HEIGHT_CAPS",
}
STACK_ID = "MediaTest"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    import aws_cdk as cdk

    from infra.app import cdk_json_context
    from infra.constructs.api import Edge
    from infra.constructs.catalog import CatalogService
    from infra.constructs.data import CatalogData
    from infra.constructs.events import PlatformEvents
    from infra.constructs.identity import Identity
    from infra.constructs.layers import Layers
    from infra.constructs.media_pipeline import MediaPipeline
    from infra.constructs.nag import add_nag_checks
    from infra.constructs.network import Network

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(
        outdir=str(outdir),
        context={**cdk_json_context(), **TEST_CONTEXT},
        builtin_cloud_formation_validation=False,
    )
    stack = cdk.Stack(app, STACK_ID)
    network = Network(stack, "Network")
    identity = Identity(stack, "Identity")
    edge = Edge(
        stack,
        "Edge",
        vpc=network.vpc,
        issuer_url=identity.issuer_url,
        audience=[identity.user_pool_client.user_pool_client_id],
    )
    layers = Layers(stack, "Layers")
    catalog_data = CatalogData(stack, "CatalogData")
    platform_events = PlatformEvents(stack, "Events")
    pipeline = MediaPipeline(
        stack,
        "MediaPipeline",
        catalog_table=catalog_data.catalog_table,
        events_bus=platform_events,
        ffmpeg_layer=layers.ffmpeg,
        pydantic_layer=layers.pydantic,
    )
    catalog = CatalogService(
        stack,
        "Catalog",
        api=edge,
        identity=identity,
        catalog=catalog_data,
        media=pipeline,
        events=platform_events,
        layers=layers.all,
    )
    stack.pipeline, stack.catalog, stack.layers = pipeline, catalog, layers  # type: ignore[attr-defined]
    stack.catalog_data, stack.events = catalog_data, platform_events  # type: ignore[attr-defined]
    add_nag_checks(app)
    return synth_stack(app, stack, outdir)


@pytest.fixture(scope="module")
def ids(media: Synth) -> dict[str, str]:
    p = media.stack.pipeline
    found = {
        "ingest": logical_id(media, p.ingest_bucket),
        "media": logical_id(media, p.media_bucket),
        "catalog_table": logical_id(media, media.stack.catalog_data.catalog_table),
        "parts_table": logical_id(media, p.parts_table),
        "bus": logical_id(media, media.stack.events.bus),
        "layer": logical_id(media, media.stack.layers.ffmpeg),
        "pydantic_layer": logical_id(media, media.stack.layers.pydantic),
        "sm": logical_id(media, p.state_machine),
        "rule": logical_id(media, p.ingest_rule),
        "dlq": logical_id(media, p.ingest_dead_letter_queue),
        "catalog_fn": logical_id(media, media.stack.catalog.function),
    }
    found.update({step: logical_id(media, fn) for step, fn in p.functions.items()})
    return found


def _arn(lid: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [lid, "Arn"]}


def _role_statements(media: Synth, fn_id: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to a function's role."""
    role_id = media.template_json["Resources"][fn_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in media.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _grants(statements: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(action, resource-as-JSON) pairs, to assert on who may do what where."""
    pairs = []
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        pairs += [(a, json.dumps(r, sort_keys=True)) for a in actions for r in resources]
    return pairs


def _has(grants: list[tuple[str, str]], action: str, *fragments: str) -> bool:
    return any(a == action and all(f in r for f in fragments) for a, r in grants)


# --- state machine -------------------------------------------------------------------------------------


def test_state_machine_from_asl_file_with_all_arns_substituted(media: Synth, ids: dict[str, str]) -> None:
    (sm,) = media.resources("AWS::StepFunctions::StateMachine").values()
    props = sm["Properties"]
    definition = json.dumps(props["DefinitionString"])
    # The file's ${...} placeholders stay in the definition; CloudFormation fills them from
    # DefinitionSubstitutions (one function ARN each).
    assert props["DefinitionSubstitutions"] == {PLACEHOLDERS[step]: _arn(ids[step]) for step in STEPS}
    for placeholder in PLACEHOLDERS.values():
        assert "${" + placeholder + "}" in definition
    for keyword in ('\\"Type\\":\\"Map\\"', "MaxConcurrency", "Retry", "Catch"):
        assert keyword in definition.replace(" ", ""), keyword
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert "DefinitionS3Location" not in props  # inline, not an asset


def plans_caps() -> str:
    """The caps as the plans define them, read in a child with the shared layer on its path."""
    import subprocess
    import sys

    from infra.constructs.media_pipeline import SHARED_LAYER_DIR

    code = "from reelstack_common.plans import height_caps; print(','.join(map(str, height_caps())))"
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(SHARED_LAYER_DIR / "python")},
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def chunk_map_concurrency() -> int:
    from infra.constructs.media_pipeline import CHUNK_MAP_CONCURRENCY, TRANSCODE_ASL

    asl = json.loads(TRANSCODE_ASL.read_text())
    chunk_map = asl["States"]["Encode"]["Branches"][0]["States"]["EncodeChunks"]
    assert chunk_map["MaxConcurrency"] == CHUNK_MAP_CONCURRENCY == 40  # the inline Map's ceiling
    return CHUNK_MAP_CONCURRENCY


def test_state_machine_may_invoke_exactly_the_seven_functions(media: Synth, ids: dict[str, str]) -> None:
    role_id = media.resources("AWS::StepFunctions::StateMachine")[ids["sm"]]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    invoke = [
        st
        for policy in media.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if st["Action"] == "lambda:InvokeFunction"
    ]
    assert len(invoke) == 1
    assert sorted(map(json.dumps, invoke[0]["Resource"])) == sorted(json.dumps(_arn(ids[s])) for s in STEPS)


# --- functions and the ffmpeg layer ------------------------------------------------------------------


def test_ffmpeg_layer(media: Synth, ids: dict[str, str]) -> None:
    layer = media.resources("AWS::Lambda::LayerVersion")[ids["layer"]]["Properties"]
    assert "ffmpeg" in layer["Description"]
    assert layer["CompatibleRuntimes"] == ["python3.12"]
    assert layer["CompatibleArchitectures"] == ["x86_64"]


@pytest.mark.parametrize("step", STEPS)
def test_transcode_function(media: Synth, ids: dict[str, str], step: str) -> None:
    props = media.resources("AWS::Lambda::Function")[ids[step]]["Properties"]
    assert props["Handler"] == f"transcode.handlers.{step}.lambda_handler"
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["x86_64"]
    assert props["Timeout"] <= 900
    assert props["TracingConfig"] == {"Mode": "Active"}
    env = props["Environment"]["Variables"]
    assert set(env) >= PIPELINE_ENV
    assert env["CHUNK_SECONDS"] == "60" and env["SEGMENT_SECONDS"] == "2"
    assert int(env["CHUNK_SECONDS"]) % int(env["SEGMENT_SECONDS"]) == 0
    # Contract B: the plans' caps, from reelstack_common.plans (the transcoder has no shared layer).
    assert env["PLAN_HEIGHT_CAPS"] == plans_caps() == "720,1080,2160"
    assert env["INGEST_BUCKET"] == {"Ref": ids["ingest"]}
    assert env["MEDIA_BUCKET"] == {"Ref": ids["media"]}
    assert env["CATALOG_TABLE"] == {"Ref": ids["catalog_table"]}
    assert env["PARTS_TABLE"] == {"Ref": ids["parts_table"]}
    assert env["EVENT_BUS_NAME"] == {"Ref": ids["bus"]}
    expected_layers = {ids["pydantic_layer"]} | ({ids["layer"]} if step in FFMPEG_STEPS else set())
    assert {layer["Ref"] for layer in props.get("Layers", [])} == expected_layers
    if step in FFMPEG_STEPS:
        assert props["EphemeralStorage"] == {"Size": 10240}
    else:
        assert "EphemeralStorage" not in props  # assemble handles JSON and playlists only
    if step == "encode_chunk":
        # 6 vCPUs for x264, and reserved room for three titles at the Map's full width.
        assert props["MemorySize"] == 10240
        assert props["ReservedConcurrentExecutions"] == 3 * chunk_map_concurrency()
    else:
        assert "ReservedConcurrentExecutions" not in props


def test_least_privilege_grants(media: Synth, ids: dict[str, str]) -> None:
    # X-Ray (active tracing) is every function's; the rest is per step.
    g = {
        step: [(a, r) for a, r in _grants(_role_statements(media, ids[step])) if not a.startswith("xray:")]
        for step in STEPS
    }
    ingest, media_b = ids["ingest"], ids["media"]
    catalog, parts, bus = ids["catalog_table"], ids["parts_table"], ids["bus"]

    assert _has(g["probe"], "s3:GetObject", ingest, "/uploads/*")
    assert _has(g["probe"], "dynamodb:UpdateItem", catalog)
    assert not any(a.startswith("s3:Put") or a == "s3:DeleteObject" for a, _ in g["probe"])
    assert g["plan"] == []  # pure computation
    for step in ("encode_chunk", "encode_audio"):
        # final segments straight to titles/, records to work/, part rows; the owner re-read
        assert _has(g[step], "s3:GetObject", ingest, "/uploads/*")
        assert _has(g[step], "s3:PutObject", media_b, "/work/*")
        assert _has(g[step], "s3:PutObject", media_b, "/titles/*")
        assert _has(g[step], "s3:DeleteObject", media_b, "/titles/*")
        assert not _has(g[step], "s3:GetObject", media_b)
        assert not _has(g[step], "s3:PutObject", ingest)
        assert {a for a, _ in g[step] if a.startswith("dynamodb:")} == {"dynamodb:BatchWriteItem", "dynamodb:GetItem"}
        assert _has(g[step], "dynamodb:BatchWriteItem", parts) and _has(g[step], "dynamodb:GetItem", catalog)
        assert not _has(g[step], "dynamodb:UpdateItem", catalog)
    assert _has(g["assemble"], "s3:GetObject", media_b, "/work/*")
    assert _has(g["assemble"], "s3:PutObject", media_b, "/titles/*")
    assert _has(g["assemble"], "dynamodb:BatchWriteItem", parts)
    assert _has(g["assemble"], "dynamodb:UpdateItem", catalog)
    assert not _has(g["assemble"], "s3:GetObject", ingest)
    assert not _has(g["assemble"], "s3:GetObject", media_b, "/titles/*")  # it never reads media
    assert _has(g["publish"], "dynamodb:UpdateItem", catalog)
    assert _has(g["publish"], "events:PutEvents", bus)
    assert not _has(g["publish"], "s3:DeleteObject", media_b, "/titles/*")
    assert _has(g["fail"], "dynamodb:UpdateItem", catalog)
    assert _has(g["fail"], "s3:DeleteObject", media_b, "/work/*")
    assert _has(g["fail"], "s3:DeleteObject", media_b, "/titles/*")
    assert not any(ingest in r for _, r in g["fail"])
    for step, grants in g.items():
        assert all("*" not in a for a, _ in grants), (step, grants)  # no wildcard actions
        # The catalog table only ever by its own ARN: no index, no other table.
        assert not any(catalog in r and "index" in r for _, r in grants), step
        assert not any(a in ("dynamodb:Scan", "dynamodb:DeleteItem", "s3:PutBucketPolicy") for a, _ in grants)


# --- buckets, rule, bus, tables ---------------------------------------------------------------------


def test_ingest_bucket(media: Synth, ids: dict[str, str]) -> None:
    props = media.resources("AWS::S3::Bucket")[ids["ingest"]]["Properties"]
    assert props["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    # Native CloudFormation, not the notifications custom resource (the local cloud cannot run it).
    assert not media.resources("Custom::S3BucketNotifications")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert "DestinationBucketName" in props["LoggingConfiguration"]
    rules = props["LifecycleConfiguration"]["Rules"]
    assert any(r.get("Prefix") == "uploads/" and r.get("ExpirationInDays") for r in rules)
    assert any(r.get("AbortIncompleteMultipartUpload") for r in rules)
    assert any(
        "PUT" in c["AllowedMethods"] and "ETag" in c["ExposedHeaders"] for c in props["CorsConfiguration"]["CorsRules"]
    )
    media.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": ids["ingest"]},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            },
        },
    )


def test_media_bucket(media: Synth, ids: dict[str, str]) -> None:
    props = media.resources("AWS::S3::Bucket")[ids["media"]]["Properties"]
    assert props["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert "DestinationBucketName" in props["LoggingConfiguration"]
    assert any(r.get("Prefix") == "work/" for r in props["LifecycleConfiguration"]["Rules"])


def test_upload_event_starts_the_workflow(media: Synth, ids: dict[str, str]) -> None:
    rule = media.resources("AWS::Events::Rule")[ids["rule"]]["Properties"]
    assert "EventBusName" not in rule  # the default bus: where S3 sends its events
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [{"Ref": ids["ingest"]}]}, "object": {"key": [{"prefix": "uploads/"}]}},
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": ids["sm"]}
    assert target["DeadLetterConfig"] == {"Arn": _arn(ids["dlq"])}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    # The rule's role may start exactly this state machine.
    media.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": "states:StartExecution", "Resource": {"Ref": ids["sm"]}})]
                )
            }
        },
    )


def test_event_bus_and_tables(media: Synth, ids: dict[str, str]) -> None:
    assert media.resources("AWS::Events::EventBus")[ids["bus"]]["Properties"]["Name"] == "reelstack-events"
    tables = media.resources("AWS::DynamoDB::Table")
    catalog = tables[ids["catalog_table"]]["Properties"]
    assert catalog["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    (gsi,) = catalog["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "gsi1" and gsi["Projection"] == {"ProjectionType": "ALL"}
    assert [k["AttributeName"] for k in gsi["KeySchema"]] == ["gsi1pk", "gsi1sk"]
    parts = tables[ids["parts_table"]]["Properties"]
    assert parts["KeySchema"] == [
        {"AttributeName": "title_format", "KeyType": "HASH"},
        {"AttributeName": "part_num", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": "part_num", "AttributeType": "N"} in parts["AttributeDefinitions"]
    for props in (catalog, parts):
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


# --- catalog service -----------------------------------------------------------------------------------


def test_catalog_routes_are_the_routers_and_all_jwt(media: Synth, ids: dict[str, str]) -> None:
    from infra.routers import CATALOG

    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in media.resources("AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"].split(" ", 1)[1].startswith("/titles")
    }
    assert set(routes) == {route.route_key for route in CATALOG.routes}
    assert "POST /titles/{title_id}/upload/complete" in routes
    assert all(p["AuthorizationType"] == "JWT" for p in routes.values())
    media.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        {"Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/titles*"]}}]},
    )


def test_catalog_function_env_and_grants(media: Synth, ids: dict[str, str]) -> None:
    props = media.resources("AWS::Lambda::Function")[ids["catalog_fn"]]["Properties"]
    assert props["Handler"] == "catalog.handlers.http.lambda_handler"
    env = props["Environment"]["Variables"]
    assert {
        "CATALOG_TABLE",
        "INGEST_BUCKET",
        "ADMINS_GROUP",
        "USER_POOL_ID",
        "USER_POOL_CLIENT_ID",
        "UPLOAD_URL_TTL_S",
        "MAX_SOURCE_BYTES",
    } <= set(env)
    assert env["CATALOG_TABLE"] == {"Ref": ids["catalog_table"]} and env["ADMINS_GROUP"] == "admins"
    # One size limit for the whole ingest path: the catalog refuses what probe would reject.
    probe_env = media.resources("AWS::Lambda::Function")[ids["probe"]]["Properties"]["Environment"]["Variables"]
    assert env["MAX_SOURCE_BYTES"] == probe_env["MAX_SOURCE_BYTES"]
    grants = _grants(_role_statements(media, ids["catalog_fn"]))
    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"):
        assert _has(grants, action, ids["catalog_table"])
    assert _has(grants, "dynamodb:Query", ids["catalog_table"], "/index/gsi1")
    assert _has(grants, "s3:PutObject", ids["ingest"], "/uploads/*")
    assert not _has(grants, "s3:GetObject", ids["ingest"])


def test_catalog_outbox_relays_the_table_stream_to_the_bus(media: Synth, ids: dict[str, str]) -> None:
    """The catalog table's stream is the catalog's outbox: one mapping to the outbox function, from
    the oldest record, resumed at the first unpublished record, aged-out batches to a DLQ."""
    catalog = media.stack.catalog
    table = media.resources("AWS::DynamoDB::Table")[ids["catalog_table"]]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    outbox = logical_id(media, catalog.outbox_function)
    props = media.resources("AWS::Lambda::Function")[outbox]["Properties"]
    assert props["Handler"] == "catalog.handlers.outbox.lambda_handler"
    assert props["Environment"]["Variables"]["EVENT_BUS_NAME"] == {"Ref": ids["bus"]}
    (mapping,) = [
        m["Properties"]
        for m in media.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": outbox}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [ids["catalog_table"], "StreamArn"]}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    dlq = logical_id(media, catalog.outbox_dead_letter_queue)
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [dlq, "Arn"]}
    grants = _grants(_role_statements(media, outbox))
    assert _has(grants, "events:PutEvents", ids["bus"])
    assert _has(grants, "dynamodb:GetRecords", ids["catalog_table"], "StreamArn")
    # It reads the stream only: no item access, no other bus.
    assert not any(a.startswith("dynamodb:") and a.endswith("Item") for a, _ in grants)
    assert {r for a, r in grants if a == "events:PutEvents"} == {json.dumps(_arn(ids["bus"]), sort_keys=True)}


def test_catalog_function_may_run_its_transactions_and_episode_reads(media: Synth, ids: dict[str, str]) -> None:
    grants = _grants(_role_statements(media, ids["catalog_fn"]))
    for action in ("dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"):
        assert _has(grants, action, ids["catalog_table"]), action
    assert not _has(grants, "dynamodb:Scan", ids["catalog_table"])


# --- cdk-nag -------------------------------------------------------------------------------------------


def _violations(media: Synth) -> list[tuple[str, str]]:
    """(rule id, construct path) of every cdk-nag finding in validation-report.json."""
    return [
        (violation["ruleName"], construct["constructPath"])
        for plugin in media.validation_report().get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]


def test_nag_clean_for_media_pipeline_and_catalog(media: Synth) -> None:
    ours = (f"{STACK_ID}/MediaPipeline", f"{STACK_ID}/Catalog", f"{STACK_ID}/Events")
    mine = [(rule, path) for rule, path in _violations(media) if any(o in path for o in ours)]
    assert mine == [], "\n".join(f"{rule} at {path}" for rule, path in mine)


def test_every_acknowledgement_has_a_reason(media: Synth) -> None:
    from infra.constructs.nag import iter_acknowledgements

    acks = [a for a in iter_acknowledgements(media.stack) if "/MediaPipeline" in a[0] or "/Catalog" in a[0]]
    assert acks
    assert all(len(reason) > 20 for _, _, reason in acks)


def test_asl_file_has_every_placeholder() -> None:
    from infra.constructs.media_pipeline import TRANSCODE_ASL

    text = TRANSCODE_ASL.read_text()
    for placeholder in PLACEHOLDERS.values():
        assert "${" + placeholder + "}" in text


def test_ffmpeg_local_bundling_puts_the_binary_in_bin(tmp_path: Path) -> None:
    """The Docker-free bundler runs layers/ffmpeg/build.py in-process (the synth above skips it)."""
    pytest.importorskip("imageio_ffmpeg")
    from aws_cdk import DockerImage

    from infra.constructs.layers import FFMPEG_LAYER_DIR, FfmpegLocalBundling

    bundler = FfmpegLocalBundling(FFMPEG_LAYER_DIR / "build.py")
    assert bundler.try_bundle(str(tmp_path), image=DockerImage.from_registry("unused")) is True
    binary = tmp_path / "bin" / "ffmpeg"
    assert binary.stat().st_size > 50 * 1024 * 1024
    assert binary.stat().st_mode & 0o111 == 0o111


def test_stateful_resources_keep_their_logical_ids(ids: dict[str, str]) -> None:
    # Moved out of MediaPipeline without being replaced on deploy: a new ID would orphan the
    # RETAINed catalog table (titles) and clash with the named bus.
    assert ids["catalog_table"] == "MediaCatalogTable47D99E25"
    assert ids["bus"] == "MediaEventBus81234B25"


def test_transcode_code_imports_only_what_its_layers_and_the_runtime_provide() -> None:
    """Lambda's python3.12 runtime has the standard library and boto3/botocore; the transcode steps
    get the pydantic layer (and ffmpeg, a binary). A third-party import beyond those works in the
    local cloud (its workers run the venv) and fails only on AWS: catch it here."""
    import ast
    import sys

    from infra.constructs.layers import PYDANTIC_DIR
    from infra.constructs.media_pipeline import TRANSCODE_CODE_DIR

    layer_packages = {
        line.split("==")[0].strip().replace("-", "_")
        for line in (PYDANTIC_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "transcode", "__future__"} | layer_packages
    imported: set[str] = set()
    for source in TRANSCODE_CODE_DIR.rglob("*.py"):
        tree = ast.parse(source.read_text(), filename=str(source))
        # An import inside ``try`` is an optional fallback (imageio_ffmpeg when the layer is absent).
        guarded = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try) for b in t.body for n in ast.walk(b)}
        for node in ast.walk(tree):
            if id(node) in guarded:
                continue
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert "pydantic" in imported  # the scan sees the step models' imports
    assert imported <= allowed, f"not available to the transcode functions on AWS: {sorted(imported - allowed)}"
