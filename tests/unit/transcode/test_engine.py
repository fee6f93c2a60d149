"""The definition run by moto's Step Functions engine (the one the local cloud uses), once.

The interpreter in asl_driver.py is ours; this checks the same file against the real ASL engine:
Parameters/ItemSelector/ResultSelector/ResultPath evaluation, `$$.State.RetryCount` on a retried
Map iteration, Retry/Catch on Lambda errors (errorType -> Error). Lambda invocations run the
handlers in-process (moto would need Docker), the way local/moto_hooks.py runs them in workers.
"""

from __future__ import annotations

import importlib
import json
import time
import traceback
from typing import Any

import boto3
import pytest
from moto.awslambda.models import LambdaFunction
from moto.core.config import default_user_config

from tests.unit.transcode.asl_driver import ASL_PATH, HANDLERS
from tests.unit.transcode.support import REGION

pytestmark = pytest.mark.slow


def _run_handler(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    module_name, _, func = self.handler.rpartition(".")
    try:
        payload = event if isinstance(event, dict) else json.loads(event or "{}")
        result = getattr(importlib.import_module(module_name), func)(payload, None)
        return json.dumps(result), False, ""
    except Exception as exc:  # noqa: BLE001 - shaped like the Lambda runtime's error payload
        error = {"errorMessage": str(exc), "errorType": type(exc).__name__,
                 "stackTrace": traceback.format_tb(exc.__traceback__)}
        return json.dumps(error), True, str(exc)


@pytest.fixture
def engine(cloud, moto_endpoint, monkeypatch):
    monkeypatch.setenv("MOTO_PORT", moto_endpoint.rsplit(":", 1)[1])
    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", _run_handler)
    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": True})
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="transcode", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    definition = ASL_PATH.read_text()
    for placeholder, step in HANDLERS.items():
        arn = lam.create_function(
            FunctionName=f"transcode-{step}", Runtime="python3.12", Role=role,
            Handler=f"transcode.handlers.{step}.lambda_handler", Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
            Timeout=900,
        )["FunctionArn"]
        definition = definition.replace(placeholder, arn)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(name="transcode", definition=definition, roleArn=role)["stateMachineArn"]
    return sfn, machine


def test_moto_engine_runs_the_workflow_and_retries_a_chunk(engine, cloud, media, monkeypatch):
    monkeypatch.setenv("TRANSCODE_FAULTS", json.dumps({"encode_chunk": {"fail_attempts": 1, "chunks": [1]}}))
    sfn, machine = engine
    cloud.create_title("t-engine")
    event = cloud.upload("t-engine", media("plain", seconds=4))
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(event))["executionArn"]
    deadline = time.monotonic() + 180
    while (desc := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.5)
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    assert desc["status"] == "SUCCEEDED", [e for e in history if "Failed" in e["type"]]

    failed = [e["lambdaFunctionFailedEventDetails"] for e in history if e["type"] == "LambdaFunctionFailed"]
    assert [f["error"] for f in failed] == ["TransientError"]
    assert "chunk 1 attempt 0" in json.loads(failed[0]["cause"])["errorMessage"]
    chunk_inputs = [json.loads(e["lambdaFunctionScheduledEventDetails"]["input"]) for e in history
                    if e["type"] == "LambdaFunctionScheduled" and "transcode-encode_chunk" in
                    e["lambdaFunctionScheduledEventDetails"]["resource"]]
    assert sorted((i["chunk"]["index"], i["attempt"]) for i in chunk_inputs) == [(0, 0), (1, 0), (1, 1)]

    output = json.loads(desc["output"])
    assert output["published"]["status"] == "READY"
    assert output["encoded"]["audio"]["key"] == "work/t-engine/audio/meta.json"
    assert len(json.dumps(output)) < 20_000
    assert cloud.title("t-engine")["status"] == "READY"
    assert "titles/t-engine/hls/master.m3u8" in cloud.keys("titles/t-engine/")
