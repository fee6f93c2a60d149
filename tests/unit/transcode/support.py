"""The AWS side of transcode tests: resources shaped like infra/constructs/media_pipeline.py's."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import boto3

INGEST = "reelstack-ingest"
MEDIA = "reelstack-media"
CATALOG = "reelstack-catalog"
PARTS = "reelstack-parts"
BUS = "reelstack-events"
QUEUE = "published-events"
REGION = "us-east-1"


def s3_event(bucket: str, key: str, size: int, etag: str, event_id: str | None = None) -> dict[str, Any]:
    """EventBridge "Object Created" from S3, as a Step Functions target receives it."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-25T16:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag, "sequencer": "0062E99A88DC407460"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "reason": "PutObject",
        },
    }


class Cloud:
    def __init__(self, endpoint: str, env: dict[str, str]) -> None:
        self.endpoint = endpoint
        self.env = env
        self.s3 = boto3.client("s3", region_name=REGION)
        self.dynamodb = boto3.resource("dynamodb", region_name=REGION)
        self.events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue_url = ""

    @staticmethod
    def environment(endpoint: str) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": endpoint,
            "INGEST_BUCKET": INGEST,
            "MEDIA_BUCKET": MEDIA,
            "CATALOG_TABLE": CATALOG,
            "PARTS_TABLE": PARTS,
            "EVENT_BUS_NAME": BUS,
            "CHUNK_SECONDS": "2",
            "SEGMENT_SECONDS": "2",
            "MAX_SOURCE_BYTES": str(50 * 1024 * 1024),
            "MAX_DURATION_S": "600",
            # superfast keeps B-frames (the trim-after-pad path needs them) at a fraction of the CPU.
            "X264_PRESET": "superfast",
            "PLAN_HEIGHT_CAPS": "720,1080,2160",
        }

    @staticmethod
    def clear_client_caches() -> None:
        from transcode import wiring
        from transcode.media import ffmpeg

        wiring.reset()
        ffmpeg.ffmpeg_exe.cache_clear()

    def provision(self) -> None:
        for bucket in (INGEST, MEDIA):
            self.s3.create_bucket(Bucket=bucket)
        self.dynamodb.create_table(
            TableName=CATALOG,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                  for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
            GlobalSecondaryIndexes=[{
                "IndexName": "gsi1",
                "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                              {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }],
            BillingMode="PAY_PER_REQUEST",
        )
        self.dynamodb.create_table(
            TableName=PARTS,
            KeySchema=[{"AttributeName": "title_format", "KeyType": "HASH"},
                       {"AttributeName": "part_num", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "title_format", "AttributeType": "S"},
                                  {"AttributeName": "part_num", "AttributeType": "N"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.events.create_event_bus(Name=BUS)
        self.queue_url = self.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.events.put_rule(Name="catalog-events", EventBusName=BUS,
                             EventPattern=json.dumps({"source": ["reelstack.catalog"]}))
        self.events.put_targets(Rule="catalog-events", EventBusName=BUS,
                                Targets=[{"Id": "queue", "Arn": queue_arn}])

    # --- catalog -----------------------------------------------------------------------------

    def create_title(self, title_id: str, status: str = "UPLOADING") -> None:
        """What the catalog service writes before handing out the upload URL."""
        created = "2026-11-25T15:59:00.000Z"
        self.dynamodb.Table(CATALOG).put_item(Item={
            "pk": f"TITLE#{title_id}", "sk": "META", "title_id": title_id, "name": f"Title {title_id}",
            "status": status, "created_at": created, "version": 1,
            "gsi1pk": f"STATUS#{status}", "gsi1sk": f"{created}#{title_id}",
        })

    def set_status(self, title_id: str, status: str) -> None:
        """What the catalog does to a title outside the workflow (e.g. FAILED -> UPLOADING)."""
        self.dynamodb.Table(CATALOG).update_item(
            Key={"pk": f"TITLE#{title_id}", "sk": "META"}, UpdateExpression="SET #s = :s, gsi1pk = :g",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": status, ":g": f"STATUS#{status}"})

    def title(self, title_id: str) -> dict[str, Any] | None:
        return self.dynamodb.Table(CATALOG).get_item(Key={"pk": f"TITLE#{title_id}", "sk": "META"},
                                                     ConsistentRead=True).get("Item")

    def titles_by_status(self, status: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return self.dynamodb.Table(CATALOG).query(
            IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(f"STATUS#{status}"))["Items"]

    def parts(self, title_id: str, rendition: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return self.dynamodb.Table(PARTS).query(
            KeyConditionExpression=Key("title_format").eq(f"{title_id}#{rendition}"))["Items"]

    def all_parts(self) -> list[dict[str, Any]]:
        return self.dynamodb.Table(PARTS).scan()["Items"]

    # --- storage -----------------------------------------------------------------------------

    def upload(self, title_id: str, path: Path, event_id: str | None = None) -> dict[str, Any]:
        """PUT the source where the catalog's presigned URL points; return the resulting event."""
        key = f"uploads/{title_id}/source"
        body = Path(path).read_bytes()
        resp = self.s3.put_object(Bucket=INGEST, Key=key, Body=body)
        return s3_event(INGEST, key, len(body), resp["ETag"].strip('"'), event_id)

    def keys(self, prefix: str, bucket: str = MEDIA) -> list[str]:
        out: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return sorted(out)

    def get(self, key: str, bucket: str = MEDIA) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def put(self, key: str, body: bytes = b"x", bucket: str = MEDIA) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    def download_prefix(self, prefix: str, dest: Path) -> Path:
        for key in self.keys(prefix):
            target = dest / key[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.get(key))
        return dest

    def digest(self, key: str) -> str:
        return hashlib.sha256(self.get(key)).hexdigest()

    # --- events ------------------------------------------------------------------------------

    def received_events(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            msgs = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=0).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
