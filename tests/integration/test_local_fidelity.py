"""The local cloud keeps AWS's guarantees under concurrency: conditional DynamoDB transactions are
atomic (the profile caps, leases and invoices rely on it), and S3 answers an unknown multipart
upload as S3 does. Everything goes to the endpoints the running local cloud publishes."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

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
        filler = "x" * 200
        for start in range(0, PREFILL, 25):
            ddb.batch_write_item(RequestItems={table: [
                {"PutRequest": {"Item": {"pk": {"S": f"fill#{n}"}, "v": {"S": filler}}}}
                for n in range(start, min(start + 25, PREFILL))
            ]})
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
