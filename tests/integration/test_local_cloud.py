"""The local cloud is built from the synthesized app, and its gateways behave like API Gateway / ALB."""

from __future__ import annotations

import gzip
import json
import os
import re
import time
from importlib import resources
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from tests.integration.conftest import LocalCloudProcess


def _template(cloud: LocalCloudProcess) -> dict[str, Any]:
    return json.loads((cloud.state_dir / "cdk.out" / "Reelstack.template.json").read_text())


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_every_table_in_the_template_exists_with_its_keys(cloud: LocalCloudProcess, aws: Any) -> None:
    tables = _of_type(_template(cloud), "AWS::DynamoDB::Table")
    assert tables, "the app declares tables"
    provisioned = cloud.endpoints["resources"]["tables"]  # type: ignore[attr-defined]
    ddb = aws("dynamodb")
    for lid, res in tables.items():
        props = res["Properties"]
        desc = ddb.describe_table(TableName=provisioned[lid])["Table"]
        assert desc["KeySchema"] == props["KeySchema"]
        want_gsis = sorted(g["IndexName"] for g in props.get("GlobalSecondaryIndexes", []))
        assert sorted(g["IndexName"] for g in desc.get("GlobalSecondaryIndexes", [])) == want_gsis
        if props.get("TimeToLiveSpecification", {}).get("Enabled"):
            ttl = ddb.describe_time_to_live(TableName=provisioned[lid])["TimeToLiveDescription"]
            assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
        if "StreamSpecification" in props:
            assert desc["StreamSpecification"]["StreamViewType"] == props["StreamSpecification"]["StreamViewType"]


def test_functions_get_the_template_environment_resolved(cloud: LocalCloudProcess, aws: Any) -> None:
    template = _template(cloud)
    res = cloud.endpoints["resources"]  # type: ignore[attr-defined]
    lam = aws("lambda")
    for lid, fn in _of_type(template, "AWS::Lambda::Function").items():
        env_t = fn["Properties"].get("Environment", {}).get("Variables", {})
        env = lam.get_function_configuration(FunctionName=res["functions"][lid])["Environment"]["Variables"]
        assert set(env) == set(env_t)
        for key, value in env_t.items():
            if isinstance(value, dict) and "Ref" in value and value["Ref"] in res["tables"]:
                assert env[key] == res["tables"][value["Ref"]]
    accounts_env = next(
        lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        for lid, name in res["functions"].items() if lid.startswith("AccountsApi")
    )
    # No DAX data plane locally: the endpoint resolves to "" and the code reads DynamoDB directly.
    assert accounts_env["DAX_ENDPOINT"] == ""
    assert accounts_env["USER_POOL_ID"] in res["user_pools"].values()


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


def test_every_http_route_is_served(cloud: LocalCloudProcess, http: requests.Session) -> None:
    api = cloud.endpoints["api_url"]  # type: ignore[attr-defined]
    routes = _of_type(_template(cloud), "AWS::ApiGatewayV2::Route")
    assert len(routes) >= 12
    for route in routes.values():
        method, path = route["Properties"]["RouteKey"].split(" ", 1)
        r = http.request(method, api + _concrete(path), data=b"{}", headers={"content-type": "application/json"})
        if route["Properties"].get("AuthorizationType") == "JWT":
            assert r.status_code == 401, (method, path, r.text)
        else:
            # Reached the function (its own answer), not the gateway's "no route".
            assert r.status_code != 404 or "No route" not in r.text, (method, path)
            assert r.status_code < 500, (method, path, r.text)


@pytest.mark.parametrize("which", ["api_url", "alb_url"])
def test_unknown_route_404_and_wrong_method_405(cloud: LocalCloudProcess, http: requests.Session, which: str) -> None:
    base = cloud.endpoints[which]  # type: ignore[attr-defined]
    r = http.get(base + "/no/such/route")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"
    # Any method, TRACE included, gets the edge's JSON answer (not http.server's HTML 501).
    r = http.request("TRACE", base + "/no/such/route")
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    if which == "api_url":
        for method in ("DELETE", "TRACE"):
            r = http.request(method, base + "/billing/plans")
            assert r.status_code == 405
            assert r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_the_api_contract_is_served_publicly(endpoints: dict[str, Any], http: requests.Session) -> None:
    committed = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
    r = http.get(endpoints["api_url"] + "/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == json.loads(committed.read_text())


def test_chunked_request_bodies_reach_the_function(endpoints: dict[str, Any], http: requests.Session) -> None:
    def body() -> Any:  # a generator makes requests send Transfer-Encoding: chunked
        yield b'{"email": "chunked@example.com", '
        yield b'"password": "short"}'

    r = http.post(endpoints["api_url"] + "/accounts", data=body(), headers={"content-type": "application/json"})
    # The function saw the whole JSON body: it rejects the weak password, not a missing field.
    assert r.status_code == 400 and "password" in r.json()["error"]["message"].lower()


def _moto_signing_key() -> dict[str, Any]:
    raw = (resources.files("moto.cognitoidp") / "resources" / "jwks-private.json.gz").read_bytes()
    return json.loads(gzip.decompress(raw))  # type: ignore[no-any-return]


def _forged(claims: dict[str, Any]) -> str:
    key = jwt.PyJWK(_moto_signing_key())
    return jwt.encode(claims, key.key, algorithm="RS256", headers={"kid": "dummy"})


@pytest.fixture(scope="session")
def user_token(endpoints: dict[str, Any], http: requests.Session) -> dict[str, Any]:
    creds = {"email": f"tok-{time.time_ns()}@example.com", "password": "Sup3r-secret-pw"}
    assert http.post(endpoints["api_url"] + "/accounts", json=creds).status_code == 202
    # sign-up answers 202 and emails a code; moto's ConfirmSignUp takes any code
    assert http.post(endpoints["api_url"] + "/accounts/confirm",
                     json={"email": creds["email"], "code": "000000"}).status_code == 201
    tokens = http.post(endpoints["api_url"] + "/accounts/login", json=creds).json()
    return {"tokens": tokens, "claims": jwt.decode(tokens["access_token"], options={"verify_signature": False})}


@pytest.mark.parametrize("which", ["api_url", "alb_url"])
def test_private_routes_reject_bad_tokens(
    endpoints: dict[str, Any], http: requests.Session, aws: Any, user_token: dict[str, Any], which: str
) -> None:
    base = endpoints[which]
    good = user_token["tokens"]["access_token"]
    assert http.get(base + "/accounts/me", headers={"authorization": f"Bearer {good}"}).status_code == 200

    claims = dict(user_token["claims"])
    expired = _forged({**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600})
    other_pool = aws("cognito-idp").create_user_pool(PoolName=f"foreign-{time.time_ns()}")["UserPool"]["Id"]
    foreign = _forged({**claims, "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{other_pool}"})
    wrong_client = _forged({**claims, "client_id": "someone-elses-client"})
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for bad in ("", "not-a-jwt", expired, foreign, wrong_client, tampered):
        r = http.get(base + "/accounts/me", headers={"authorization": f"Bearer {bad}"} if bad else {})
        assert r.status_code == 401, (which, bad[:20], r.text)
        assert r.json()["error"]["code"] == "UNAUTHORIZED"
        if which == "api_url":  # API Gateway's bare answer: the reason is logged, never sent
            assert r.json() == {"message": "Unauthorized",
                                "error": {"code": "UNAUTHORIZED", "message": "Unauthorized"}}, bad[:20]


def test_the_transcode_workflow_runs_real_handlers_on_the_asl_engine(endpoints: dict[str, Any], aws: Any) -> None:
    """The production definition (statemachines/transcode.asl.json) on the local ASL engine: the
    real probe refuses an event that is not an S3 upload (InvalidEvent, not retried), the Catch
    routes to the real fail step, and the execution ends in the TranscodeFailed state."""
    sfn = aws("stepfunctions")
    (arn,) = [a for lid, a in endpoints["resources"]["state_machines"].items() if "Transcode" in lid]
    ex = sfn.start_execution(stateMachineArn=arn, name=f"t{time.time_ns()}", input=json.dumps({"not": "an upload"}))
    deadline = time.monotonic() + 120
    while (d := sfn.describe_execution(executionArn=ex["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.3)
    assert (d["status"], d.get("error")) == ("FAILED", "TranscodeFailed")
    history = json.dumps(sfn.get_execution_history(executionArn=ex["executionArn"], maxResults=1000)["events"],
                         default=str)
    assert "InvalidEvent" in history  # raised by the probe's Python code, not by the engine
    assert "MarkFailed" in history


def _workers_under(state_dir: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(str(state_dir)):
            pids.append(int(entry.name))
    return pids


def _jsii_kernels_under(pid: int) -> list[int]:
    """Node jsii kernels among pid's descendants (a live one's atexit hook broke every Ctrl-C)."""
    children: dict[int, list[int]] = {}
    cmdlines: dict[int, bytes] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdlines[int(entry.name)] = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        if b"jsii-runtime" in cmdlines.get(p, b""):
            found.append(p)
        todo += children.get(p, [])
    return found


def _event_sources_reach_the_function(ep: dict[str, Any]) -> None:
    """SQS, DynamoDB stream, EventBridge rule and S3 notification declared in CDK deliver to the
    probe function, which records each event in ProbeOnlyTable."""
    import boto3

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=ep["aws_endpoint_url"], region_name="us-east-1",
                            aws_access_key_id="local", aws_secret_access_key="local")

    res = ep["resources"]
    queue = next(u for lid, u in res["queues"].items() if lid.startswith("ProbeQueue"))
    client("sqs").send_message(QueueUrl=queue, MessageBody='{"hello": "sqs"}')
    source = next(t for lid, t in res["tables"].items() if lid.startswith("ProbeSourceTable"))
    client("dynamodb").put_item(TableName=source, Item={"id": {"S": "stream-me"}})
    client("events").put_events(Entries=[{"Source": "probe.test", "DetailType": "Probe", "Detail": "{}"}])
    bucket = next(b for lid, b in res["buckets"].items() if lid.startswith("ProbeBucket"))
    client("s3").put_object(Bucket=bucket, Key="hello.txt", Body=b"hi")

    probe_table = next(t for lid, t in res["tables"].items() if lid.startswith("ProbeOnlyTable"))
    want = {"aws:sqs", "aws:dynamodb", "probe.test", "aws:s3"}
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not want <= seen:
        items = client("dynamodb").scan(TableName=probe_table)["Items"]
        seen = {i["probe_id"]["S"].split("#")[0] for i in items}
        time.sleep(0.5)
    assert want <= seen, seen


def test_cdk_only_additions_appear_locally_and_ctrl_c_stops_everything(
    tmp_path: Path, http: requests.Session
) -> None:
    """Add a table, a route and event-source wiring in CDK code only (tests/integration/cdk_extras.py):
    the local cloud has them and delivers events. Then SIGINT stops every process it started."""
    proc = LocalCloudProcess(
        tmp_path / "extended",
        ["--extend", "tests.integration.cdk_extras:add_probe", "--no-search", "--no-seed"],
    )
    try:
        ep = proc.wait_ready()
        assert "ProbeOnlyTable" in "".join(ep["resources"]["tables"])
        assert "ProbeV2Table" in "".join(ep["resources"]["tables"])
        assert "GET /probe-only" in ep["resources"]["http_routes"]
        r = http.get(ep["api_url"] + "/probe-only")
        # The route reached the accounts function (whose own router has no such path).
        assert r.status_code == 404 and "No route" not in r.text
        _event_sources_reach_the_function(ep)
        assert _workers_under(proc.state_dir)
        assert _jsii_kernels_under(proc.proc.pid) == []  # synthesis ran in a child that has ended
    finally:
        code = proc.stop()
    assert code == 0
    assert not (proc.state_dir / "endpoints.json").exists()  # a script polling for it is not fooled
    assert "Traceback" not in proc.log.read_text()
    time.sleep(0.5)
    assert _workers_under(proc.state_dir) == []
