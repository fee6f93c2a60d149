"""The withdrawal purge under bursts (review finding 10), in the synthesized template: a bounded
number of pollers, enough receives for the throttled back-off, a CloudFront client that gives up
inside the function's timeout, and the SQS calls the back-off makes granted on this queue only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from infra.constructs import delivery as delivery_construct
from tests.infra.conftest import Synth, logical_id

# The function's own constants, read from its code (tests/infra has no function on its path).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions" / "delivery"))
from delivery.dal import purge  # noqa: E402
from delivery.logic.withdraw import LATE_PURGE_DELAY_S, throttled_delay_s  # noqa: E402


def _purge(reelstack: Synth) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    delivery = reelstack.stack.delivery
    resources = reelstack.template_json["Resources"]
    fn_lid = logical_id(reelstack, delivery.purge_function)
    (mapping,) = [
        m["Properties"]
        for m in reelstack.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": fn_lid}
    ]
    queue = resources[logical_id(reelstack, delivery.purge_queue)]["Properties"]
    return resources[fn_lid]["Properties"], queue, mapping


def test_the_purge_polls_with_bounded_concurrency(reelstack: Synth) -> None:
    _, _, mapping = _purge(reelstack)
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": delivery_construct.PURGE_CONCURRENCY} == {
        "MaximumConcurrency": 2
    }
    assert mapping["BatchSize"] == delivery_construct.PURGE_BATCH_SIZE
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_a_cloudfront_call_gives_up_inside_the_function_timeout(reelstack: Synth) -> None:
    fn, queue, _ = _purge(reelstack)
    # The handler starts a record only with WORST_CALL_S left, so it must leave room below the timeout.
    assert purge.WORST_CALL_S < fn["Timeout"] == delivery_construct.PURGE_TIMEOUT.to_seconds()
    assert queue["VisibilityTimeout"] >= 6 * fn["Timeout"]


def test_throttled_retries_span_hours_before_the_dead_letter_queue(reelstack: Synth) -> None:
    _, queue, _ = _purge(reelstack)
    receives = queue["RedrivePolicy"]["maxReceiveCount"]
    assert receives == delivery_construct.PURGE_MAX_RECEIVES
    # The delays after every receive but the last (its failure goes to the DLQ), at the shortest jitter.
    shortest = sum(throttled_delay_s(n, 0.0) for n in range(1, receives))
    assert shortest >= 7 * 3600
    assert queue["MessageRetentionPeriod"] >= 2 * sum(throttled_delay_s(n, 0.999) for n in range(1, receives))


def test_the_back_off_calls_are_granted_on_the_purge_queue_only(reelstack: Synth) -> None:
    delivery = reelstack.stack.delivery
    role_lid = logical_id(reelstack, delivery.purge_function.role)
    queue_arn = {"Fn::GetAtt": [logical_id(reelstack, delivery.purge_queue), "Arn"]}
    granted: dict[str, list[Any]] = {}
    for policy in reelstack.resources("AWS::IAM::Policy").values():
        if {"Ref": role_lid} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                granted.setdefault(action, []).append(statement["Resource"])
    for action in ("sqs:ChangeMessageVisibility", "sqs:GetQueueUrl"):  # delivery.dal.redelivery
        assert granted[action] == [queue_arn], action
    assert granted["sqs:SendMessage"] == [queue_arn]  # delivery.dal.late_purge, its own queue only


def test_the_late_purge_goes_to_its_own_queue_after_every_fill_in_flight(reelstack: Synth) -> None:
    delivery = reelstack.stack.delivery
    fn, _, _ = _purge(reelstack)
    assert fn["Environment"]["Variables"]["PURGE_QUEUE_URL"] == {"Ref": logical_id(reelstack, delivery.purge_queue)}
    assert "PURGE_LATE_DELAY_S" not in fn["Environment"]["Variables"]  # the code's default
    # Every fill function that may have started before the withdrawal is over by then (its timeout).
    resources = reelstack.template_json["Resources"]
    fills = [resources[logical_id(reelstack, delivery.prefill_function)]["Properties"]["Timeout"]]
    offpeak = getattr(delivery, "offpeak_function", None)
    if offpeak is not None:
        fills.append(resources[logical_id(reelstack, offpeak)]["Properties"]["Timeout"])
    assert max(fills) <= LATE_PURGE_DELAY_S <= 900  # SQS's longest DelaySeconds
