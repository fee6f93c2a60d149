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
