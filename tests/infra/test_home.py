"""HomeService (issue 15) in the real app: tables, the training workflow from its ASL file, the
schedule, both ALB rules, routes, the numpy/scipy layer, the trending consumer, the history projector
(the playback table's stream), least privilege and cdk-nag."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import Synth, find_one, logical_id

HOME_ROUTES = {
    "GET /home",
    "PUT /profiles/{profile_id}/ratings/{title_id}",
    "DELETE /profiles/{profile_id}/ratings/{title_id}",
    "POST /campaigns",
    "GET /campaigns",
    "GET /campaigns/{campaign_id}",
    "PUT /campaigns/{campaign_id}",
    "DELETE /campaigns/{campaign_id}",
}


def _statements(synth: Synth, fn: Any) -> list[dict[str, Any]]:
    role_id = logical_id(synth, fn.role)
    out = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    acts: set[str] = set()
    for s in statements:
        a = s["Action"]
        acts |= {a} if isinstance(a, str) else set(a)
    return acts


def _resources_of(statements: list[dict[str, Any]], action: str) -> list[Any]:
    out: list[Any] = []
    for s in statements:
        a = s["Action"]
        if action in ({a} if isinstance(a, str) else set(a)):
            r = s["Resource"]
            out += r if isinstance(r, list) else [r]
    return out


def test_tables_are_retained_with_the_house_defaults(reelstack: Synth) -> None:
    home = reelstack.stack.recommendations
    for table, keys in ((home.home_table, ["pk", "sk"]), (home.ratings_table, ["profile_id", "title_id"])):
        res = reelstack.template_json["Resources"][logical_id(reelstack, table)]
        assert [k["AttributeName"] for k in res["Properties"]["KeySchema"]] == keys
        assert res["DeletionPolicy"] == "Retain"
        assert res["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
        assert res["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_the_workflow_is_the_asl_file_with_the_three_step_functions(reelstack: Synth) -> None:
    from infra.constructs.home import HOME_ASL

    home = reelstack.stack.recommendations
    sm = reelstack.template_json["Resources"][logical_id(reelstack, home.state_machine)]
    props = sm["Properties"]
    assert json.loads(props["DefinitionString"]) == json.loads(HOME_ASL.read_text())
    subs = props["DefinitionSubstitutions"]
    assert set(subs) == {"TrainFunctionArn", "BuildFunctionArn", "PublishFunctionArn"}
    for step, fn in home.job_functions.items():
        assert subs[f"{step}FunctionArn"] == {"Fn::GetAtt": [logical_id(reelstack, fn), "Arn"]}
    asl = json.loads(HOME_ASL.read_text())
    assert asl["States"]["BuildBatches"]["Type"] == "Map" and asl["States"]["BuildBatches"]["MaxConcurrency"] == 10
    assert "ItemReader" not in asl["States"]["BuildBatches"]  # inline Map: the one the local engine runs
    invoked = _resources_of(_statements(reelstack, home.state_machine), "lambda:InvokeFunction")
    assert sorted(json.dumps(r) for r in invoked) == sorted(
        json.dumps({"Fn::GetAtt": [logical_id(reelstack, fn), "Arn"]}) for fn in home.job_functions.values()
    )


def test_a_daily_schedule_starts_the_workflow(reelstack: Synth) -> None:
    home = reelstack.stack.recommendations
    rule = reelstack.template_json["Resources"][logical_id(reelstack, home.schedule)]["Properties"]
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": logical_id(reelstack, home.state_machine)}


def test_both_alb_rules_forward_to_the_service(reelstack: Synth) -> None:
    rules = reelstack.resources("AWS::ElasticLoadBalancingV2::ListenerRule")
    home = reelstack.stack.recommendations
    tg = {"Ref": logical_id(reelstack, home.service.target_group)}
    by_priority = {r["Properties"]["Priority"]: r["Properties"] for r in rules.values()}
    for priority, patterns in ((70, ["/profiles/*/ratings*"]), (500, ["/home*", "/campaigns*"])):
        rule = by_priority[priority]
        assert rule["Conditions"][0]["PathPatternConfig"]["Values"] == patterns
        assert rule["Actions"][0]["TargetGroupArn"] == tg
    assert 70 < 100 == min(p for p, r in by_priority.items() if "/profiles*" in json.dumps(r["Conditions"]))


def test_every_route_the_router_declares_is_on_the_http_api_with_jwt(reelstack: Synth) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"] for r in reelstack.resources("AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) >= HOME_ROUTES
    assert all(routes[k]["AuthorizationType"] == "JWT" for k in HOME_ROUTES)


def test_the_api_function_has_the_engine_layer_dax_and_its_environment(reelstack: Synth) -> None:
    home = reelstack.stack.recommendations
    fn = reelstack.template_json["Resources"][logical_id(reelstack, home.function)]["Properties"]
    env = fn["Environment"]["Variables"]
    assert {
        "HOME_TABLE",
        "RATINGS_TABLE",
        "CATALOG_TABLE",
        "ACCOUNTS_TABLE",
        "PLAYBACK_TABLE",
        "MODEL_BUCKET",
        "DAX_ENDPOINT",
        "USER_POOL_ID",
        "ADMINS_GROUP",
    } <= set(env)
    assert env["PLAYBACK_TABLE"] == {"Ref": logical_id(reelstack, reelstack.stack.playback.table)}
    assert "VpcConfig" in fn
    assert {"Ref": logical_id(reelstack, home.scientific_layer)} in fn["Layers"]
    assert fn["MemorySize"] == 2048


def test_the_trending_consumer_reads_the_playback_view_stream(reelstack: Synth) -> None:
    home = reelstack.stack.recommendations
    fn_id = logical_id(reelstack, home.trending_function)
    _, mapping = find_one(
        reelstack.resources("AWS::Lambda::EventSourceMapping"),
        lambda _k, v: v["Properties"]["FunctionName"] == {"Ref": fn_id},
    )
    props = mapping["Properties"]
    assert props["EventSourceArn"] == {
        "Fn::GetAtt": [logical_id(reelstack, reelstack.stack.playback.view_stream), "Arn"]
    }
    assert props["BisectBatchOnFunctionError"] is True and props["StartingPosition"] == "LATEST"


def test_the_playback_table_streams_new_images_for_the_history_projector(reelstack: Synth) -> None:
    table = reelstack.template_json["Resources"][logical_id(reelstack, reelstack.stack.playback.table)]
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_the_history_projector_reads_the_playback_table_stream_watch_states_only(reelstack: Synth) -> None:
    from infra.constructs.home import HISTORY_HANDLER

    home = reelstack.stack.recommendations
    assert home.history_function is not None and home.history_dead_letter_queue is not None
    resources = reelstack.template_json["Resources"]
    fn_id = logical_id(reelstack, home.history_function)
    fn = resources[fn_id]["Properties"]
    assert fn["Handler"] == HISTORY_HANDLER == "recommendations.handlers.history_stream.lambda_handler"
    others = (home.function, home.trending_function, *home.job_functions.values())
    assert fn["Runtime"] == "python3.12"
    assert {resources[logical_id(reelstack, f)]["Properties"]["Runtime"] for f in others} == {fn["Runtime"]}
    assert {"Ref": logical_id(reelstack, home.scientific_layer)} not in fn["Layers"]  # no numpy
    _, mapping = find_one(
        reelstack.resources("AWS::Lambda::EventSourceMapping"),
        lambda _k, v: v["Properties"]["FunctionName"] == {"Ref": fn_id},
    )
    props = mapping["Properties"]
    assert props["EventSourceArn"] == {
        "Fn::GetAtt": [logical_id(reelstack, reelstack.stack.playback.table), "StreamArn"]
    }
    assert props["StartingPosition"] == "TRIM_HORIZON" and props["BatchSize"] == 100
    assert props["BisectBatchOnFunctionError"] is True and props["MaximumRetryAttempts"] == 10
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue_id = logical_id(reelstack, home.history_dead_letter_queue)
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}}
    assert resources[queue_id]["Type"] == "AWS::SQS::Queue"
    assert resources[queue_id]["Properties"]["SqsManagedSseEnabled"] is True
    _, queue_policy = find_one(
        reelstack.resources("AWS::SQS::QueuePolicy"),
        lambda _k, v: {"Ref": queue_id} in v["Properties"]["Queues"],
    )
    assert any(
        st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for st in queue_policy["Properties"]["PolicyDocument"]["Statement"]
    )
    # Watch states (sk TITLE#<title>) only: session and lease writes never invoke it.
    (pattern,) = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert pattern == {"dynamodb": {"Keys": {"sk": {"S": [{"prefix": "TITLE#"}]}}}}


def _normalised(statements: list[dict[str, Any]]) -> set[str]:
    """Each statement as one comparable string: sorted actions, resources and condition."""
    out = set()
    for s in statements:
        assert s["Effect"] == "Allow"
        actions = sorted({s["Action"]} if isinstance(s["Action"], str) else set(s["Action"]))
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        out.add(json.dumps([actions, sorted(json.dumps(r) for r in resources), s.get("Condition")], sort_keys=True))
    return out


def test_the_history_projector_role_is_exactly_its_calls(reelstack: Synth) -> None:
    home = reelstack.stack.recommendations
    assert home.history_function is not None and home.history_dead_letter_queue is not None
    playback = logical_id(reelstack, reelstack.stack.playback.table)
    statements = _statements(reelstack, home.history_function)
    expected = [
        # the event source's ListStreams (no resource-level scope) and active tracing
        {"Effect": "Allow", "Action": ["dynamodb:ListStreams", "xray:PutTelemetryRecords", "xray:PutTraceSegments"],
         "Resource": "*"},
        # the HISTORY and PROGRESS items: a consistent GetItem and a conditional PutItem, HOME# only
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "Resource": {"Fn::GetAtt": [logical_id(reelstack, home.home_table), "Arn"]},
         "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["HOME#*"]}}},
        # a missing part: the profile's whole history (a Query of the base table, profiles' partitions)
        {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": {"Fn::GetAtt": [playback, "Arn"]},
         "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["PROFILE#*"]}}},
        # the stream (event source) and the dead-letter queue (its on-failure destination)
        {"Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
         "Resource": {"Fn::GetAtt": [playback, "StreamArn"]}},
        {"Effect": "Allow", "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
         "Resource": {"Fn::GetAtt": [logical_id(reelstack, home.history_dead_letter_queue), "Arn"]}},
    ]  # fmt: skip
    assert len(statements) == len(expected)
    assert _normalised(statements) == _normalised(expected)


def test_each_function_gets_only_the_calls_it_makes(reelstack: Synth) -> None:
    home = reelstack.stack.recommendations
    api = _statements(reelstack, home.function)
    train = _statements(reelstack, home.job_functions["Train"])
    build = _statements(reelstack, home.job_functions["Build"])
    publish = _statements(reelstack, home.job_functions["Publish"])
    trending_fn = _statements(reelstack, home.trending_function)
    history = _statements(reelstack, home.history_function)
    for statements in (api, train, build, publish, trending_fn, history):
        assert not any(a.endswith(":*") for a in _actions(statements))
    assert "dynamodb:Scan" not in _actions(api) | _actions(build) | _actions(publish) | _actions(trending_fn)
    assert _actions(history) == {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",  # HISTORY items; the history Query
        "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
        "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage",  # the event source's DLQ
        "xray:PutTelemetryRecords", "xray:PutTraceSegments",
    }  # fmt: skip
    playback = reelstack.stack.playback.table
    assert _grants(_on(reelstack, history, playback)) == {"dynamodb:Query": ["PROFILE#*"]}
    assert "s3:PutObject" not in _actions(api)
    scans = _resources_of(train, "dynamodb:Scan")
    assert {json.dumps(r) for r in scans} == {
        json.dumps({"Fn::GetAtt": [logical_id(reelstack, t), "Arn"]})
        for t in (home.ratings_table, reelstack.stack.data.accounts_table, reelstack.stack.playback.table)
    }
    assert _actions(trending_fn) >= {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchGetItem"}


def _on(synth: Synth, statements: list[dict[str, Any]], resource: Any) -> list[dict[str, Any]]:
    """The statements naming ``resource`` (a construct with an Arn, or a raw template value)."""
    ref = resource if isinstance(resource, dict) else {"Fn::GetAtt": [logical_id(synth, resource), "Arn"]}
    return [s for s in statements if ref in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]


def _grants(statements: list[dict[str, Any]]) -> dict[str, Any]:
    """action -> the partitions its statement is limited to (None: the whole table)."""
    out: dict[str, Any] = {}
    for s in statements:
        keys = s.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        for a in {s["Action"]} if isinstance(s["Action"], str) else set(s["Action"]):
            out[a] = sorted(keys) if isinstance(keys, list) else ([keys] if keys else None)
    return out


def test_home_table_grants_name_the_partitions_each_function_uses(reelstack: Synth) -> None:
    home = reelstack.stack.recommendations
    table = home.home_table

    def on_table(fn: Any) -> dict[str, Any]:
        return _grants(_on(reelstack, _statements(reelstack, fn), table))

    assert on_table(home.function) == {
        "dynamodb:GetItem": None,  # documents, campaigns, trending, the model pointer
        "dynamodb:BatchGetItem": ["HOME#*"],  # the document, with the viewer
        "dynamodb:PutItem": ["CAMPAIGN", "HOME#*"],
        "dynamodb:UpdateItem": ["HOME#*"],
        "dynamodb:DeleteItem": ["CAMPAIGN"],
        "dynamodb:Query": ["CAMPAIGN"],  # the campaign list, not the whole table
    }
    # Build writes its batch with BatchWriteItem only (no PutItem); publish moves the model pointer.
    assert on_table(home.job_functions["Build"]) == {"dynamodb:BatchGetItem": ["HOME#*"],
                                                     "dynamodb:BatchWriteItem": ["HOME#*"]}  # fmt: skip
    assert on_table(home.job_functions["Publish"]) == {"dynamodb:GetItem": ["MODEL"], "dynamodb:PutItem": ["MODEL"]}
    assert on_table(home.trending_function) == {"dynamodb:GetItem": ["TRENDING"], "dynamodb:PutItem": ["TRENDING"]}
    # The history projector: its HOME#<profile>/HISTORY item (consistent GetItem, conditional PutItem).
    assert on_table(home.history_function) == {"dynamodb:GetItem": ["HOME#*"], "dynamodb:PutItem": ["HOME#*"]}
    assert on_table(home.job_functions["Train"]) == {}
    # The viewer: GetItem, or BatchGetItem together with the document (one round trip).
    accounts = _grants(_on(reelstack, _statements(reelstack, home.function), reelstack.stack.data.accounts_table))
    assert accounts == {"dynamodb:GetItem": None, "dynamodb:BatchGetItem": None}


def test_the_dax_cluster_reads_what_get_home_reads_through_it_and_writes_nothing(reelstack: Synth) -> None:
    home = reelstack.stack.recommendations
    dax = _statements(reelstack, reelstack.stack.dax)
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    on_home = set(_grants(_on(reelstack, dax, home.home_table)))
    assert on_home == {"dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
    # Reads that go through DAX (eventually consistent): the view history and the newest titles.
    assert "dynamodb:Query" in _grants(_on(reelstack, dax, reelstack.stack.playback.table))
    gsi1 = reelstack.stack.resolve(reelstack.stack.catalog_data.gsi1_arn)
    assert "dynamodb:Query" in _grants(_on(reelstack, dax, gsi1))
    for table in (home.home_table, reelstack.stack.playback.table, reelstack.stack.catalog_data.catalog_table):
        assert not writes & set(_grants(_on(reelstack, dax, table)))


def test_the_viewer_cache_ttl_is_within_the_dax_record_ttl(reelstack: Synth) -> None:
    home = reelstack.stack.recommendations
    fn = reelstack.template_json["Resources"][logical_id(reelstack, home.function)]["Properties"]
    ttl_s = float(fn["Environment"]["Variables"]["VIEWER_CACHE_TTL_S"])
    (group,) = reelstack.resources("AWS::DAX::ParameterGroup").values()
    record_ttl_s = int(group["Properties"]["ParameterNameValues"]["record-ttl-millis"]) / 1000
    assert 0 < ttl_s <= record_ttl_s


def test_cdk_nag_has_no_finding_on_the_home_constructs(reelstack: Synth) -> None:
    findings = []
    for report in reelstack.validation_report().get("pluginReports", []):
        for v in report.get("violations", []):
            paths = [c.get("constructPath", "") for c in v.get("violatingConstructs", [])]
            findings += [(v.get("ruleName"), p) for p in paths if "/Home/" in p]
    assert findings == []
