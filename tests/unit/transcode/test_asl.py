"""Structural checks of statemachines/transcode.asl.json (the contract with CDK and the local cloud)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from transcode.models.errors import PERMANENT_ERRORS

from tests.unit.transcode.asl_driver import ASL_PATH, HANDLERS

TEXT = ASL_PATH.read_text()
ASL = json.loads(TEXT)


def machines(machine: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """The top-level machine and every nested one (Parallel branches, Map processors)."""
    yield path or "<root>", machine
    for name, state in machine["States"].items():
        for i, branch in enumerate(state.get("Branches", [])):
            yield from machines(branch, f"{path}{name}.branch{i}/")
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from machines(processor, f"{path}{name}.items/")


def all_states() -> Iterator[tuple[str, dict[str, Any]]]:
    for _path, machine in machines(ASL):
        yield from machine["States"].items()


def targets(state: dict[str, Any]) -> list[str]:
    out = [state["Next"]] if "Next" in state else []
    out += [c["Next"] for c in state.get("Catch", [])]
    out += [c["Next"] for c in state.get("Choices", [])]
    out += [state["Default"]] if "Default" in state else []
    return out


@pytest.mark.parametrize("path,machine", list(machines(ASL)), ids=lambda v: v if isinstance(v, str) else "")
def test_every_state_is_reachable_and_every_target_exists(path, machine):
    states = machine["States"]
    assert machine["StartAt"] in states
    seen, todo = set(), [machine["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for target in targets(states[name]):
            assert target in states, f"{path}{name} -> {target}"
            todo.append(target)
    assert seen == set(states), f"unreachable in {path}: {set(states) - seen}"
    for name, state in states.items():
        if state["Type"] == "Choice":  # routes by Choices/Default, never Next/End
            assert "Default" in state and "Next" not in state and "End" not in state, f"{path}{name}"
            continue
        terminal = state["Type"] in ("Succeed", "Fail") or state.get("End") is True
        assert terminal != ("Next" in state), f"{path}{name} needs exactly one of Next/End"


def test_placeholders_are_exactly_the_seven_lambda_arns():
    assert set(re.findall(r"\$\{[A-Za-z]+\}", TEXT)) == set(HANDLERS)
    resources = {s["Resource"] for _n, s in all_states() if s["Type"] == "Task"}
    assert resources == set(HANDLERS)


def test_every_task_retries_transient_errors_only():
    for name, state in all_states():
        if state["Type"] != "Task":
            continue
        retry = state.get("Retry")
        assert retry, f"{name} has no Retry"
        assert retry[-1]["ErrorEquals"] == ["States.ALL"], name
        last = retry[-1]
        assert last["IntervalSeconds"] >= 1 and last["BackoffRate"] > 1 and last["MaxAttempts"] >= 2
        if name != "MarkFailed":
            # a bad upload fails at once with its reason: retrying cannot fix the file
            assert retry[0] == {"ErrorEquals": list(PERMANENT_ERRORS), "MaxAttempts": 0}, name
        assert 0 < state["TimeoutSeconds"] <= 900, name


def test_failures_anywhere_reach_the_fail_step():
    top = ASL["States"]
    for name, state in top.items():
        if state["Type"] in ("Task", "Parallel", "Map") and name != "MarkFailed":
            assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                                       "Next": "MarkFailed"}], name
    assert top["MarkFailed"]["Resource"] == "${FailFunctionArn}"
    assert top["MarkFailed"]["Next"] == "TranscodeFailed" and top["TranscodeFailed"]["Type"] == "Fail"


def test_chunk_map_is_inline_bounded_and_passes_the_attempt():
    encode = ASL["States"]["Encode"]
    assert encode["Type"] == "Parallel" and len(encode["Branches"]) == 2
    chunk_map = encode["Branches"][0]["States"]["EncodeChunks"]
    assert chunk_map["Type"] == "Map" and chunk_map["ItemsPath"] == "$.plan.chunks"
    assert isinstance(chunk_map["MaxConcurrency"], int) and 1 <= chunk_map["MaxConcurrency"] <= 40
    assert chunk_map["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    assert chunk_map["ItemSelector"]["chunk.$"] == "$$.Map.Item.Value"
    task = chunk_map["ItemProcessor"]["States"]["EncodeChunk"]
    assert task["Parameters"]["attempt.$"] == "$$.State.RetryCount"
    assert chunk_map["ResultPath"] is None  # per-chunk results live in S3, not in the state
    audio = encode["Branches"][1]["States"]["EncodeAudio"]
    assert audio["Parameters"]["attempt.$"] == "$$.State.RetryCount"


def test_only_plain_jsonpath_asl():
    assert "JSONata" not in TEXT and "QueryLanguage" not in TEXT
    assert "DISTRIBUTED" not in TEXT and "ItemReader" not in TEXT and "ResultWriter" not in TEXT
    assert "States.Format" not in TEXT and "States.JsonMerge" not in TEXT
    allowed = {"Task", "Pass", "Choice", "Parallel", "Map", "Succeed", "Fail"}
    assert {s["Type"] for _n, s in all_states()} <= allowed


def test_moto_step_functions_engine_parses_it():
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    definition = TEXT
    for i, placeholder in enumerate(sorted(HANDLERS)):
        definition = definition.replace(placeholder, f"arn:aws:lambda:us-east-1:123456789012:function:f{i}")
    program, _tree = AmazonStateLanguageParser.parse(definition)
    assert program is not None


def test_an_unclaimed_upload_ends_cleanly_without_the_fail_step():
    """Probe answers claimed=false for a title not awaiting its source: a Succeed, never MarkFailed."""
    top = ASL["States"]
    choice = top[top["Probe"]["Next"]]
    assert choice["Type"] == "Choice" and choice["Default"] == "Plan"
    [rule] = choice["Choices"]
    assert rule == {"Variable": "$.claimed", "BooleanEquals": False, "Next": "NotAwaitingSource"}
    assert top["NotAwaitingSource"]["Type"] == "Succeed"


# --- the definition against the step payload models (transcode.models.steps) ----------------------

def _state_model() -> dict[str, Any]:
    """Which model each top-level field of the execution state holds after each step wrote it."""
    from transcode.models import steps

    return {**steps_fields("Job"), "plan": steps.Plan, "encoded": {"audio": steps.AudioTrack},
            "assembled": steps.Assembled, "published": steps.Published, "error": steps.StepError}


def steps_fields(model: str) -> dict[str, Any]:
    from transcode.models import steps

    return dict(getattr(steps, model).model_fields)


def _resolve(path: str, fields: dict[str, Any]) -> None:
    """Fail unless every segment of `$.a.b` names a field of the models along the way."""
    from pydantic import BaseModel

    node: Any = fields
    for segment in path[2:].split("."):
        if isinstance(node, type) and issubclass(node, BaseModel):
            node = node.model_fields
        assert isinstance(node, dict) and segment in node, f"{path}: no field {segment!r}"
        node = node[segment]
        annotation = getattr(node, "annotation", None)
        if annotation is not None:
            node = annotation


def _task_inputs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(task name, step, input template) for every Task, with Map items seen through ItemSelector."""
    top = ASL["States"]
    chunk_map = top["Encode"]["Branches"][0]["States"]["EncodeChunks"]
    for name, state in all_states():
        if state["Type"] != "Task":
            continue
        template = dict(state.get("Parameters") or {})
        if name == "EncodeChunk":  # its Parameters read the item the ItemSelector built
            template = {k: chunk_map["ItemSelector"][k] if v.startswith("$.") else v for k, v in template.items()}
        yield name, HANDLERS[state["Resource"]], template


def test_every_path_the_definition_reads_is_a_field_of_the_step_models():
    fields = _state_model()
    paths = [p for _name, _step, template in _task_inputs() for p in template.values()
             if isinstance(p, str) and p.startswith("$.")]  # "$$..." is the context object
    paths.append(ASL["States"]["Encode"]["Branches"][0]["States"]["EncodeChunks"]["ItemsPath"])
    assert len(paths) > 15
    for path in paths:
        _resolve(path, fields)
    [rule] = ASL["States"]["AwaitingSource"]["Choices"]
    _resolve(rule["Variable"], {**steps_fields("NotAwaitingSource"), **steps_fields("Job")})


def test_every_task_input_the_definition_builds_gives_each_required_field_of_its_model():
    from transcode.models import steps

    inputs = {"plan": steps.PlanInput, "encode_chunk": steps.EncodeChunkInput,
              "encode_audio": steps.EncodeAudioInput, "assemble": steps.AssembleInput,
              "publish": steps.PublishInput}
    for name, step, template in _task_inputs():
        if step not in inputs:  # probe reads the execution input, fail the whole state
            continue
        given = {key.removesuffix(".$") for key in template}
        required = {n for n, f in inputs[step].model_fields.items() if f.is_required()}
        assert required <= given, f"{name}: the definition does not pass {required - given}"
        assert given <= set(inputs[step].model_fields), f"{name}: passes fields its model ignores"
