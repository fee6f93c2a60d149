"""Only an upload for a title that waits for its source may start a transcode (issue 10, item 1).

A presigned PUT URL stays valid for its lifetime, so anyone holding a used one can PUT again after
the title is READY (or while it transcodes, or after it failed). Such an upload must end the
execution cleanly without touching the title, its HLS output, its work files or its part index.
"""

from __future__ import annotations

import json

import pytest

from tests.unit.transcode import media_factory
from tests.unit.transcode.asl_driver import Interpreter
from tests.unit.transcode.support import PARTS

OUTPUTS = ("titles/t-pub/hls/master.m3u8", "titles/t-pub/hls/360p/index.m3u8",
           "titles/t-pub/hls/360p/init.mp4", "titles/t-pub/hls/360p/seg_00000.m4s")


def _published_title(cloud, status: str, job_id: str | None = "job-that-published") -> None:
    """A title with HLS output and part rows, as a finished transcode leaves it."""
    cloud.create_title("t-pub", status=status)
    attrs = {"manifest_path": OUTPUTS[0], "renditions": [{"name": "360p", "width": 640, "height": 360}]}
    if job_id:
        attrs["transcode_job_id"] = job_id
    cloud.dynamodb.Table("reelstack-catalog").update_item(
        Key={"pk": "TITLE#t-pub", "sk": "META"},
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in attrs),
        ExpressionAttributeNames={f"#{k}": k for k in attrs},
        ExpressionAttributeValues={f":{k}": v for k, v in attrs.items()})
    for key in OUTPUTS:
        cloud.put(key, b"published bytes")
    cloud.put("work/t-pub/chunks/meta/00000.json", b"{}")
    cloud.dynamodb.Table(PARTS).put_item(Item={"title_format": "t-pub#360p", "part_num": 0,
                                              "s3_key": OUTPUTS[3]})


def _snapshot(cloud) -> tuple:
    return (cloud.title("t-pub"), cloud.keys("titles/t-pub/"), cloud.keys("work/t-pub/"),
            cloud.all_parts(), [cloud.digest(k) for k in OUTPUTS])


@pytest.mark.parametrize("status", ["READY", "TRANSCODING", "FAILED", "ARCHIVED"])
def test_an_upload_for_a_title_not_awaiting_its_source_changes_nothing(cloud, tmp_path, status):
    _published_title(cloud, status)
    before = _snapshot(cloud)
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x00garbage " * 100)

    execution = Interpreter().run(cloud.upload("t-pub", garbage))

    assert execution.status == "SUCCEEDED", execution.cause
    assert [i.step for i in execution.invocations] == ["probe"]
    assert execution.output["claimed"] is False and execution.output["title_status"] == status
    assert _snapshot(cloud) == before
    assert cloud.received_events() == []  # neither TitlePublished nor TitleFailed


def test_a_valid_second_upload_while_transcoding_does_not_take_the_title_over(cloud, media):
    cloud.create_title("t-two")
    first = cloud.upload("t-two", media("plain", seconds=3))
    from transcode.handlers import probe

    job = probe.lambda_handler(first)
    execution = Interpreter().run(cloud.upload("t-two", media("plain", seconds=3)))
    assert execution.status == "SUCCEEDED", execution.cause
    assert [i.step for i in execution.invocations] == ["probe"]
    item = cloud.title("t-two")
    assert item["status"] == "TRANSCODING" and item["transcode_job_id"] == job["job_id"]


def test_a_retried_probe_keeps_the_claim_of_its_own_job(cloud, media):
    """Step Functions retries probe after a transient error: the retry is the same job, not a stranger."""
    from transcode.handlers import probe

    cloud.create_title("t-retry")
    event = cloud.upload("t-retry", media("plain", seconds=3))
    first = probe.lambda_handler(event)
    again = probe.lambda_handler(event)
    assert again == first and again["claimed"] is True
    assert cloud.title("t-retry")["status"] == "TRANSCODING"


def test_the_fail_step_never_deletes_the_outputs_of_a_title_it_did_not_claim(cloud, tmp_path):
    """A failure before the claim (here: raw S3 event + error) must leave a READY title alone,
    even one whose item carries no job id."""
    from transcode.handlers import fail

    _published_title(cloud, "READY", job_id=None)
    before = _snapshot(cloud)
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"garbage")
    event = cloud.upload("t-pub", garbage)
    out = fail.lambda_handler({**event, "error": {
        "Error": "TransientError", "Cause": json.dumps({"errorMessage": "throttled"})}})
    assert out["status"] == "NOT_OWNED" and out["deleted"] == 0
    assert _snapshot(cloud) == before


def test_a_failure_after_publish_never_unpublishes_the_title(cloud):
    """The job that published a title can still reach the Fail step (its Publish Lambda timed out
    after the write, or the execution's own timeout under load): TitlePublished went out, so the
    title must stay READY with its media, not be demoted and emptied behind its consumers' backs."""
    from transcode.handlers import fail

    _published_title(cloud, "READY", job_id="job-that-published")
    before = _snapshot(cloud)
    out = fail.lambda_handler({"title_id": "t-pub", "job_id": "job-that-published", "error": {
        "Error": "States.Timeout", "Cause": "execution timed out"}})
    assert out["status"] == "NOT_OWNED" and out["deleted"] == 0
    assert _snapshot(cloud) == before
    assert cloud.received_events() == []


def test_a_source_over_the_size_limit_is_refused_before_any_media_work(cloud, media, monkeypatch):
    from transcode.media import ffmpeg

    def no_ffmpeg(*args, **kwargs):
        raise AssertionError("ffmpeg ran on an oversized source")

    monkeypatch.setenv("MAX_SOURCE_BYTES", "1000")
    monkeypatch.setattr(ffmpeg, "run", no_ffmpeg)
    cloud.create_title("t-big")
    execution = Interpreter().run(cloud.upload("t-big", media("plain", seconds=3)))
    assert execution.status == "FAILED"
    assert [(i.step, i.error) for i in execution.invocations] == [("probe", "MediaRejected"), ("fail", None)]
    item = cloud.title("t-big")
    assert item["status"] == "FAILED" and "over the 1000 bytes upload limit" in item["failure_reason"]


def test_text_upload_for_a_title_awaiting_its_source_still_fails_it(cloud, tmp_path):
    """The guard does not swallow real failures: an UPLOADING title still gets FAILED with a reason."""
    cloud.create_title("t-wait")
    execution = Interpreter().run(cloud.upload("t-wait", media_factory.make_text(tmp_path / "x.mp4")))
    assert execution.status == "FAILED"
    assert cloud.title("t-wait")["status"] == "FAILED"


def test_a_failure_reason_never_carries_the_presigned_source_url(cloud, tmp_path):
    """ffmpeg names its input in errors; the input is a presigned URL carrying the Lambda role's
    session token and a signature valid for an hour. The title's failure_reason (shown to admins,
    announced on the bus) must not."""
    cloud.create_title("t-leak")
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x00garbage " * 100)
    execution = Interpreter().run(cloud.upload("t-leak", garbage))
    assert execution.status == "FAILED"
    reason = cloud.title("t-leak")["failure_reason"]
    assert "not a video format we can read" in reason
    for secret in ("Signature", "AWSAccessKeyId", "X-Amz-", "x-amz-security-token", "reelstack-ingest/uploads"):
        assert secret not in reason, reason


def test_a_source_replaced_while_transcoding_fails_the_job_instead_of_mixing_two_files(cloud, media):
    """A second PUT while the title transcodes starts nothing, but it does replace the object the
    running job reads: chunks encoded after it would come from another file. The job notices."""
    from transcode.handlers import encode_audio, encode_chunk, plan, probe
    from transcode.models.errors import MediaRejected

    cloud.create_title("t-swap")
    job = probe.lambda_handler(cloud.upload("t-swap", media("plain", seconds=4)))
    p = plan.lambda_handler({"media": job["media"]})
    item = {k: job[k] for k in ("title_id", "job_id", "source")} | {
        "video": p["video"], "renditions": p["renditions"], "quality_every": p["quality_every"],
        "chunk": p["chunks"][0], "attempt": 0}
    assert encode_chunk.lambda_handler(item)["index"] == 0

    second = Interpreter().run(cloud.upload("t-swap", media("plain", seconds=5)))
    assert [i.step for i in second.invocations] == ["probe"]  # ignored: the title is TRANSCODING
    with pytest.raises(MediaRejected, match="replaced while it was being transcoded"):
        encode_chunk.lambda_handler({**item, "chunk": p["chunks"][1]})
    with pytest.raises(MediaRejected, match="replaced while it was being transcoded"):
        encode_audio.lambda_handler({**{k: job[k] for k in ("title_id", "job_id", "source", "media")},
                                     "duration_s": p["duration_s"], "attempt": 0})
    assert cloud.keys("work/t-swap/chunks/meta/") == ["work/t-swap/chunks/meta/00000.json"]


@pytest.mark.parametrize("status", ["READY", None])
def test_a_refused_claim_needs_no_call_but_update_item(cloud, status):
    """Probe's role may UpdateItem the catalog table and nothing else (infra grants exactly that):
    the refusing status comes back with the failed condition, not from a second read."""
    from transcode import wiring
    from transcode.models.errors import TitleNotFound

    if status:
        cloud.create_title("t-calls", status=status)
    titles = wiring.dependencies().titles
    calls: list[str] = []
    titles.table.meta.client.meta.events.register(  # type: ignore[attr-defined]
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    if status:
        assert titles.claim("t-calls", "job-2", "etag") == "READY"
    else:
        with pytest.raises(TitleNotFound):
            titles.claim("t-calls", "job-2", "etag")
    assert calls == ["UpdateItem"]
