"""Withdrawal: ``TitleWithdrawn`` -> the title's media out of the CDN's caches (CloudFront
invalidation in AWS, the edge fleet's purge locally), idempotent, and no later prefill of an older
version puts it back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from delivery.dal.cdn_http import CdnHttp
from delivery.dal.dynamo_ledger import DynamoPrefillLedger
from delivery.dal.purge import CloudFrontInvalidator, FleetPurger
from delivery.logic.prefill import PrefillPolicy, prefill_title
from delivery.logic.withdraw import withdraw_title
from delivery.models.errors import PurgeFailed
from delivery.models.events import TitlePublished, TitleWithdrawn
from delivery.models.prefill import ClaimOutcome
from reelstack_common.cdn_signing import CdnSigner

from local.cdn.behaviors import Distribution
from local.cdn.fleet import Fleet, FleetSettings
from local.ports import free_port
from tests.unit.delivery.conftest import published_event, title_objects
from tests.unit.events import LambdaContext
from tests.unit.local.cdn_fakes import KEY_ID, KEYS, FakeOrigin


def _withdrawn(title_id: str = "T1", version: int = 3, kind: str = "movie") -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "TitleWithdrawn", "source": "reelstack.catalog",
            "detail": {"title_id": title_id, "version": version, "kind": kind, "status": "WITHDRAWN"}}


def _sqs(*bodies: Any) -> dict[str, Any]:
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": "rh",
        "body": b if isinstance(b, str) else json.dumps(b), "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:purge", "awsRegion": "us-east-1",
    } for b in bodies]}


@pytest.fixture
def fleet() -> Iterator[tuple[Fleet, FakeOrigin]]:
    origin = FakeOrigin()
    for key, body in title_objects("T1", duration_s=20).items():
        origin.add(key, body)
    f = Fleet(FleetSettings("127.0.0.1", free_port(), "unused", "media", edges=3, cache_mb=8,
                            distribution=Distribution(public_keys={KEY_ID: KEYS.public_pem})), origin=origin)
    f.start()
    yield f, origin
    f.stop()


def _held(f: Fleet, prefix: str = "titles/T1/") -> int:
    return sum(1 for edge in f.edges.values() for k in edge.cache.list_keys() if str(k).startswith(prefix))


def test_the_local_fleet_forgets_a_withdrawn_title_and_a_late_prefill_does_not_bring_it_back(
    fleet: tuple[Fleet, FakeOrigin], ledger_table: Any
) -> None:
    f, origin = fleet
    signer = CdnSigner(cdn_url=f.url, key_pair_id=KEY_ID, private_key_pem=KEYS.private_pem)
    ledger = DynamoPrefillLedger(ledger_table)
    policy = PrefillPolicy(prefill_seconds=300, lease_s=600)
    published = TitlePublished.model_validate(published_event("T1", 2)["detail"])
    assert prefill_title(published, CdnHttp(signer, "titles/T1/", backoff_s=0.0), ledger, policy).outcome \
        is ClaimOutcome.CLAIMED
    assert _held(f) > 0

    purges: list[str] = []
    purge = f.purge
    f.front_door.admin.purge = lambda prefix: purges.append(prefix) or purge(prefix)  # type: ignore[func-returns-value]
    detail = TitleWithdrawn.model_validate(_withdrawn("T1", 3)["detail"])
    assert withdraw_title(detail, ledger, FleetPurger(signer)).outcome == "purged"
    assert _held(f) == 0 and purges == ["titles/T1/"]
    # a redelivered TitleWithdrawn: nothing more to do
    assert withdraw_title(detail, ledger, FleetPurger(signer)).outcome == "already_purged"
    assert purges == ["titles/T1/"]
    # a late or redelivered TitlePublished (older version) prefills nothing
    calls = len(origin.calls)
    late = prefill_title(published, CdnHttp(signer, "titles/T1/", backoff_s=0.0), ledger, policy)
    assert late.outcome is ClaimOutcome.DONE and len(origin.calls) == calls and _held(f) == 0


def test_cloudfront_gets_one_invalidation_of_the_titles_prefix(ledger_table: Any) -> None:
    cf = boto3.client("cloudfront", region_name="us-east-1")
    dist = cf.create_distribution(DistributionConfig={
        "CallerReference": "d", "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "media.s3.amazonaws.com",
                                               "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "https-only", "MinTTL": 0,
                                 "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                 "TrustedSigners": {"Enabled": False, "Quantity": 0}},
    })["Distribution"]["Id"]
    ledger = DynamoPrefillLedger(ledger_table)
    detail = TitleWithdrawn.model_validate(_withdrawn("T1", 3)["detail"])

    # The CDN refuses (wrong distribution): the record fails, and the retry purges.
    with pytest.raises(PurgeFailed):
        withdraw_title(detail, ledger, CloudFrontInvalidator("E0NOSUCHDIST"))
    assert cf.list_invalidations(DistributionId=dist)["InvalidationList"]["Quantity"] == 0
    assert withdraw_title(detail, ledger, CloudFrontInvalidator(dist)).outcome == "purged"
    assert withdraw_title(detail, ledger, CloudFrontInvalidator(dist)).outcome == "already_purged"
    (summary,) = cf.list_invalidations(DistributionId=dist)["InvalidationList"]["Items"]
    batch = cf.get_invalidation(DistributionId=dist, Id=summary["Id"])["Invalidation"]["InvalidationBatch"]
    assert batch["Paths"]["Items"] == ["/titles/T1/*"]
    assert batch["CallerReference"] == "withdraw-T1-v3"  # a retry is the same invalidation for CloudFront


@pytest.mark.parametrize("purged", [False, True], ids=["purging", "withdrawn"])
def test_a_claim_of_the_withdrawals_own_version_is_refused(ledger_table: Any, purged: bool) -> None:
    """A TitlePublished carrying the withdrawal's version (the catalog gives the withdrawal
    version + 1 today, so this guards the ledger's rule, not today's catalog) claims nothing."""
    ledger = DynamoPrefillLedger(ledger_table)
    assert ledger.begin_withdrawal("T1", 5, now=1000.0)
    if purged:
        ledger.finish_withdrawal("T1", 5, now=1001.0)
    assert ledger.claim("T1", 5, now=2000.0, lease_s=360).outcome == ClaimOutcome.DONE
    item = ledger_table.get_item(Key={"pk": "PREFILL#T1"})["Item"]
    assert item["state"] == ("WITHDRAWN" if purged else "PURGING")
    assert ledger.claim("T1", 6, now=2000.0, lease_s=360).outcome == ClaimOutcome.CLAIMED  # a republication


def test_a_second_purge_after_every_fill_in_flight_has_its_own_reference(ledger_table: Any) -> None:
    """A prefill or off-peak fill that began before the withdrawal can re-cache the title after the
    first purge: a delayed message on the purge queue purges again, under its own CallerReference
    (the first one's would be CloudFront's earlier invalidation: nothing re-cached since would go)."""
    from delivery.dal.late_purge import SqsLatePurges
    from delivery.handlers import withdraw
    from delivery.logic.withdraw import LATE_PURGE_DELAY_S

    cf = boto3.client("cloudfront", region_name="us-east-1")
    dist = cf.create_distribution(DistributionConfig={
        "CallerReference": "d2", "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "media.s3.amazonaws.com",
                                               "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "https-only", "MinTTL": 0,
                                 "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                 "TrustedSigners": {"Enabled": False, "Quantity": 0}},
    })["Distribution"]["Id"]
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="purge-late")["QueueUrl"]
    sent: list[dict[str, Any]] = []
    real_send = sqs.send_message

    def recording_send(**kwargs: Any) -> Any:
        sent.append(kwargs)
        return real_send(**kwargs)

    sqs.send_message = recording_send  # type: ignore[method-assign]
    ledger = DynamoPrefillLedger(ledger_table)
    detail = TitleWithdrawn.model_validate(_withdrawn("T1", 3)["detail"])
    result = withdraw_title(detail, ledger, CloudFrontInvalidator(dist), late=SqsLatePurges(url, sqs))
    assert result.outcome == "purged"
    (message,) = sent
    assert message["DelaySeconds"] == LATE_PURGE_DELAY_S == 900
    # The delayed message, as the queue delivers it 15 min later, is the late purge.
    late_detail, late = withdraw.parse(message["MessageBody"])
    assert late and late_detail == detail
    assert withdraw.parse(json.dumps(_withdrawn("T1", 3))) == (detail, False)
    from delivery.logic.withdraw import late_purge

    assert late_purge(late_detail, CloudFrontInvalidator(dist)).outcome == "late_purged"
    assert late_purge(late_detail, CloudFrontInvalidator(dist)).outcome == "late_purged"  # a redelivery
    references = []
    for summary in cf.list_invalidations(DistributionId=dist)["InvalidationList"]["Items"]:
        batch = cf.get_invalidation(DistributionId=dist, Id=summary["Id"])["Invalidation"]["InvalidationBatch"]
        assert batch["Paths"]["Items"] == ["/titles/T1/*"]
        references.append(batch["CallerReference"])
    assert set(references) == {"withdraw-T1-v3", "withdraw-T1-v3-late"}
    # The late purge leaves the ledger alone; a redelivered withdrawal schedules nothing more.
    assert ledger_table.get_item(Key={"pk": "PREFILL#T1"})["Item"]["state"] == "WITHDRAWN"
    assert withdraw_title(detail, ledger, CloudFrontInvalidator(dist), late=SqsLatePurges(url, sqs)).outcome == (
        "already_purged"
    )
    assert len(sent) == 1


def test_a_late_purge_that_is_not_scheduled_fails_the_record_before_the_ledger_says_done(
    ledger_table: Any,
) -> None:
    purged: list[str] = []

    class Purger:
        def purge(self, prefix: str, *, reference: str) -> None:
            purged.append(reference)

    class QueueDown:
        def schedule(self, detail: TitleWithdrawn, delay_s: int) -> None:
            raise RuntimeError("SQS did not answer")

    class Queue:
        delays: list[int] = []

        def schedule(self, detail: TitleWithdrawn, delay_s: int) -> None:
            self.delays.append(delay_s)

    ledger = DynamoPrefillLedger(ledger_table)
    detail = TitleWithdrawn.model_validate(_withdrawn("T1", 3)["detail"])
    with pytest.raises(RuntimeError):
        withdraw_title(detail, ledger, Purger(), late=QueueDown())
    queue = Queue()
    assert withdraw_title(detail, ledger, Purger(), late=queue, late_delay_s=420).outcome == "purged"  # the retry
    assert purged == ["withdraw-T1-v3", "withdraw-T1-v3"] and queue.delays == [420]


def test_the_handler_sends_a_late_record_to_the_late_purge(ledger_table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from delivery import wiring
    from delivery.dal.late_purge import late_body
    from delivery.handlers import withdraw

    references: list[str] = []

    class Purger:
        def purge(self, prefix: str, *, reference: str) -> None:
            references.append(reference)

    monkeypatch.setenv("PREFILL_TABLE", ledger_table.name)
    monkeypatch.setattr(wiring, "purger", Purger)
    wiring.reset()
    detail = TitleWithdrawn.model_validate(_withdrawn("T9", 4)["detail"])
    out = withdraw.lambda_handler(_sqs(late_body(detail)), LambdaContext())
    assert out["batchItemFailures"] == [] and references == ["withdraw-T9-v4-late"]
    assert "Item" not in ledger_table.get_item(Key={"pk": "PREFILL#T9"})  # no ledger step
    wiring.reset()


def test_a_series_has_no_media_to_purge(ledger_table: Any) -> None:
    class Refuses:
        def purge(self, prefix: str, *, reference: str) -> None:
            raise AssertionError("a series has nothing cached")

    detail = TitleWithdrawn.model_validate(_withdrawn("S1", 2, kind="series")["detail"])
    assert withdraw_title(detail, DynamoPrefillLedger(ledger_table), Refuses()).outcome == "no_media"


def test_the_handler_purges_fails_records_for_retry_and_drops_bad_events(
    ledger_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from delivery import wiring
    from delivery.handlers import withdraw

    purged: list[str] = []

    class FlakyPurger:
        def purge(self, prefix: str, *, reference: str) -> None:
            if prefix == "titles/BAD/":
                raise PurgeFailed("throttled")
            purged.append(prefix)

    monkeypatch.setenv("PREFILL_TABLE", ledger_table.name)
    monkeypatch.setattr(wiring, "purger", FlakyPurger)
    wiring.reset()
    event = _sqs(_withdrawn("T1"), _withdrawn("BAD"), "not json", {"detail-type": "TitlePublished", "detail": {}},
                 _withdrawn("../x"))
    out = withdraw.lambda_handler(event, LambdaContext())
    assert purged == ["titles/T1/"]
    assert [f["itemIdentifier"] for f in out["batchItemFailures"]] == [event["Records"][1]["messageId"]]
    wiring.reset()


def test_the_cloudfront_client_gives_up_within_the_functions_timeout() -> None:
    from delivery.dal import purge

    client = CloudFrontInvalidator("E123")._cloudfront()
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (purge.CONNECT_TIMEOUT_S, purge.READ_TIMEOUT_S)
    assert config.retries == {"mode": "standard", "total_max_attempts": purge.ATTEMPTS}
    # One call's worst case (every attempt hanging to its timeouts) is what the handler keeps in
    # hand before it starts a record (tests/infra/test_delivery_purge.py: below the function timeout).
    assert purge.ATTEMPTS * (purge.CONNECT_TIMEOUT_S + purge.READ_TIMEOUT_S) < purge.WORST_CALL_S


def test_too_many_invalidations_in_progress_is_a_throttle() -> None:
    from botocore.stub import Stubber
    from delivery.models.errors import PurgeThrottled

    client = boto3.client("cloudfront", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("create_invalidation", "TooManyInvalidationsInProgress", http_status_code=400)
        stub.add_client_error("create_invalidation", "AccessDenied", http_status_code=403)
        with pytest.raises(PurgeThrottled):
            CloudFrontInvalidator("E123", client).purge("titles/T1/", reference="r")
        with pytest.raises(PurgeFailed) as refused:
            CloudFrontInvalidator("E123", client).purge("titles/T1/", reference="r")
        assert not isinstance(refused.value, PurgeThrottled)


def test_the_throttled_delay_grows_and_spreads() -> None:
    from delivery.logic.withdraw import THROTTLE_CAP_S, throttled_delay_s

    assert [throttled_delay_s(n, 0.999) for n in (1, 2, 3)] == [59, 119, 239]
    assert throttled_delay_s(1, 0.0) == 30 and throttled_delay_s(40, 0.999) <= THROTTLE_CAP_S


def test_a_throttled_record_comes_back_later_and_a_record_without_time_is_returned_untried(
    ledger_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from delivery import wiring
    from delivery.handlers import withdraw
    from delivery.models.errors import PurgeThrottled

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="purge", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(_withdrawn("BUSY")))
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    purged: list[str] = []

    class BusyCloudFront:
        def purge(self, prefix: str, *, reference: str) -> None:
            if prefix == "titles/BUSY/":
                raise PurgeThrottled("TooManyInvalidationsInProgress")
            purged.append(prefix)

    monkeypatch.setenv("PREFILL_TABLE", ledger_table.name)
    monkeypatch.setattr(wiring, "purger", BusyCloudFront)
    wiring.reset()
    event = _sqs(_withdrawn("BUSY"), _withdrawn("T2"))
    event["Records"][0]["receiptHandle"] = message["ReceiptHandle"]
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "3"
    out = withdraw.lambda_handler(event, LambdaContext())
    assert [f["itemIdentifier"] for f in out["batchItemFailures"]] == [event["Records"][0]["messageId"]]
    assert purged == ["titles/T2/"]  # the throttled record does not hold up the others
    # Visibility 0 on the queue: without the delay the message would be visible again at once.
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", []) == []

    class Late(LambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return 5_000

    event = _sqs(_withdrawn("T3"))
    out = withdraw.lambda_handler(event, Late())
    assert [f["itemIdentifier"] for f in out["batchItemFailures"]] == [event["Records"][0]["messageId"]]
    assert purged == ["titles/T2/"]  # T3 was not started with too little time left
    wiring.reset()


def test_the_purger_is_the_fleet_under_the_local_cloud_and_cloudfront_in_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    from delivery import wiring

    signer = CdnSigner(cdn_url="http://127.0.0.1:1", key_pair_id=KEY_ID, private_key_pem=KEYS.private_pem)
    monkeypatch.setattr(CdnSigner, "from_environment", classmethod(lambda cls: signer))
    monkeypatch.setenv("DISTRIBUTION_ID", "E123")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    assert isinstance(wiring.purger(), FleetPurger)
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    chosen = wiring.purger()
    assert isinstance(chosen, CloudFrontInvalidator) and chosen.distribution_id == "E123"


def test_the_handler_imports_without_environment() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    env = {"PATH": os.environ.get("PATH", ""),
           "PYTHONPATH": f"{root / 'functions' / 'delivery'}:{root / 'layers' / 'shared' / 'python'}"}
    done = subprocess.run([sys.executable, "-c", "import delivery.handlers.withdraw"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
