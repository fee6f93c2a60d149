"""The local cloud patches two private moto internals (moto is pinned). If an upgrade moves them,
this fails loudly instead of the local cloud silently echoing events or dropping deliveries."""

from __future__ import annotations

import inspect
import json
from importlib.metadata import version

from moto.awslambda.models import LambdaFunction
from moto.events.models import Rule

from local import moto_hooks


def test_moto_is_the_pinned_version() -> None:
    assert version("moto") == "5.2.5"


def test_patched_methods_exist_with_the_expected_signatures() -> None:
    assert list(inspect.signature(LambdaFunction._invoke_lambda).parameters) == ["self", "event"]
    assert list(inspect.signature(Rule.send_to_targets).parameters)[:3] == ["self", "original_event", "transform_input"]


def test_target_input_honours_input_inputpath_and_transformer() -> None:
    event = {"source": "s", "detail": {"title_id": "t1"}, "time": "2026-01-01T00:00:00Z"}
    assert moto_hooks._target_input({"Input": '{"fixed": 1}'}, event) == {"fixed": 1}
    assert moto_hooks._target_input({"InputPath": "$.detail"}, event) == {"title_id": "t1"}
    assert moto_hooks._target_input({}, event) == event
    transformed = moto_hooks._target_input(
        {"InputTransformer": {"InputPathsMap": {"t": "$.detail.title_id"}, "InputTemplate": '{"id": "<t>"}'}},
        {**event, "ingestion-time": 0},
    )
    assert json.loads(json.dumps(transformed)) == {"id": "t1"}


def test_numeric_event_time_becomes_iso8601() -> None:
    out = moto_hooks._normalise({"time": 1764000000.5, "id": ""})
    assert out["time"] == "2025-11-24T16:00:00Z" and out["id"]


def test_multipart_methods_take_the_bucket_then_the_upload_id() -> None:
    from moto.s3.models import S3Backend

    for method, bucket_arg in moto_hooks._MULTIPART_CALLS.items():
        assert list(inspect.signature(getattr(S3Backend, method)).parameters)[1:3] == [bucket_arg, "multipart_id"]


def test_an_unknown_multipart_upload_is_404_no_such_upload_as_in_s3() -> None:
    import boto3
    import pytest
    from botocore.exceptions import ClientError
    from moto import mock_aws

    moto_hooks.configure_moto()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bucket-b")
        s3.put_object(Bucket="bucket-b", Key="src", Body=b"source")
        started = s3.create_multipart_upload(Bucket="bucket-b", Key="k")["UploadId"]
        s3.upload_part(Bucket="bucket-b", Key="k", UploadId=started, PartNumber=1, Body=b"x")  # known ids still work
        for call in (
            lambda: s3.upload_part(Bucket="bucket-b", Key="k", UploadId="nope", PartNumber=1, Body=b"x"),
            lambda: s3.upload_part_copy(Bucket="bucket-b", Key="k", UploadId="nope", PartNumber=1,
                                        CopySource={"Bucket": "bucket-b", "Key": "src"}),
            lambda: s3.complete_multipart_upload(Bucket="bucket-b", Key="k", UploadId="nope",
                                                 MultipartUpload={"Parts": [{"ETag": '"e"', "PartNumber": 1}]}),
        ):
            with pytest.raises(ClientError) as exc:
                call()
            assert exc.value.response["Error"]["Code"] == "NoSuchUpload"
            assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
