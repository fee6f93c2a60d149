"""The local cloud keeps AWS's guarantees under concurrency: conditional DynamoDB transactions are
atomic (the profile caps, leases and invoices rely on it), and S3 answers an unknown multipart
upload as S3 does. Everything goes to the endpoints the running local cloud publishes."""

from __future__ import annotations

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.integration.conftest import LocalCloudProcess
from tests.integration.test_accounts_api import Client

CAP = 2
RACERS = 20
PREFILL = 1_500  # moto deep-copies the table per transaction: the race window grows with the table


def _dynamodb(endpoints: dict[str, Any]) -> Any:
    # The endpoint the Lambda workers use for DynamoDB (the single AWS endpoint when there is none).
    url = endpoints.get("dynamodb_endpoint_url") or endpoints["aws_endpoint_url"]
    return boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", aws_access_key_id="local",
                        aws_secret_access_key="local", config=Config(max_pool_connections=RACERS + 5,
                                                                     retries={"max_attempts": 1}))


def _take_a_slot(ddb: Any, table: str, barrier: threading.Barrier, i: int) -> bool:
    barrier.wait()
    try:
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": table, "Key": {"pk": {"S": "counter"}},
                        "UpdateExpression": "ADD n :one",
                        "ConditionExpression": "attribute_not_exists(n) OR n < :cap",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":cap": {"N": str(CAP)}}}},
            {"Put": {"TableName": table, "Item": {"pk": {"S": f"slot#{i}"}},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
        return True
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "TransactionCanceledException", exc.response
        return False


@pytest.mark.parametrize("trial", range(3))
def test_conditional_transactions_hold_a_cap_under_20_way_concurrency(endpoints: dict[str, Any],
                                                                      trial: int) -> None:
    ddb = _dynamodb(endpoints)
    table = f"fidelity-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    try:
        _fill(ddb, table, [{"pk": {"S": f"fill#{n}"}} for n in range(PREFILL)], put=True)
        barrier = threading.Barrier(RACERS)
        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            won = list(pool.map(lambda i: _take_a_slot(ddb, table, barrier, i), range(RACERS)))
        counter = ddb.get_item(TableName=table, Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]
        slots = ddb.scan(TableName=table, FilterExpression="begins_with(pk, :s)",
                         ExpressionAttributeValues={":s": {"S": "slot#"}}, Select="COUNT")["Count"]
        assert (sum(won), int(counter["n"]["N"]), slots) == (CAP, CAP, CAP)
    finally:
        ddb.delete_table(TableName=table)


def test_unknown_multipart_upload_is_no_such_upload(aws: Any) -> None:
    s3 = aws("s3")
    bucket = f"fidelity-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    calls = [
        lambda: s3.upload_part(Bucket=bucket, Key="k", UploadId="no-such-upload", PartNumber=1, Body=b"x"),
        lambda: s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId="no-such-upload",
                                             MultipartUpload={"Parts": [{"ETag": '"e"', "PartNumber": 1}]}),
        lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId="no-such-upload"),
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId="no-such-upload"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        err = exc.value.response
        assert (err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"]) == (404, "NoSuchUpload")


def _worker_environments(state_dir: Path) -> list[dict[str, str]]:
    """The environment of every warm Lambda worker of this local cloud (their cwd is an asset dir)."""
    envs = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "cwd").startswith(str(state_dir)):
                raw = (entry / "environ").read_bytes().split(b"\0")
                envs.append(dict(v.decode().split("=", 1) for v in raw if b"=" in v))
        except OSError:
            continue
    return envs


def _fill(ddb: Any, table: str, keys: list[dict[str, Any]], put: bool) -> None:
    for start in range(0, len(keys), 25):
        requests_ = [{"PutRequest": {"Item": {**k, "v": {"S": "x" * 200}}}} if put else {"DeleteRequest": {"Key": k}}
                     for k in keys[start:start + 25]]
        ddb.batch_write_item(RequestItems={table: requests_})


def test_twenty_concurrent_profile_creates_stop_at_the_plan_cap(cloud: LocalCloudProcess, http: requests.Session
                                                                ) -> None:
    """Issue 10 item 7 over HTTP: premium allows 5 profiles; 20 creates race for them, in an accounts
    table holding other data (moto's race window grows with the table)."""
    ep = cloud.endpoints  # type: ignore[attr-defined]
    ddb = _dynamodb(ep)
    accounts = next(n for lid, n in ep["resources"]["tables"].items() if "Accounts" in lid)
    other = [{"pk": {"S": f"FIDELITY#{n}"}, "sk": {"S": "OTHER"}} for n in range(PREFILL)]
    _fill(ddb, accounts, other, put=True)
    try:
        client = Client(http, ep["api_url"])
        client.sign_up(plan="premium")
        free = 5 - len(client.call("GET", "/profiles").json()["profiles"])
        barrier = threading.Barrier(RACERS)

        def create(i: int) -> int:
            barrier.wait()
            return int(client.call("POST", "/profiles", {"name": f"Racer {i}"}).status_code)

        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            codes = sorted(pool.map(create, range(RACERS)))
        profiles = client.call("GET", "/profiles").json()["profiles"]
        assert (codes.count(201), codes.count(409), len(profiles)) == (free, RACERS - free, 5), codes
    finally:
        _fill(ddb, accounts, other, put=False)
    # The functions reach DynamoDB Local directly, by environment only.
    envs = [e for e in _worker_environments(cloud.state_dir) if e.get("AWS_LAMBDA_FUNCTION_NAME")]
    assert envs and all(
        e["AWS_ENDPOINT_URL_DYNAMODB"] == e["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"]
        == cloud.endpoints["dynamodb_endpoint_url"] != e["AWS_ENDPOINT_URL"]  # type: ignore[attr-defined]
        for e in envs
    )
