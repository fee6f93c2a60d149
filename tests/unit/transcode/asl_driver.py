"""A small in-process interpreter of the subset of ASL that `statemachines/transcode.asl.json` uses.

It runs the real handlers with exactly the inputs the definition builds (Parameters, ItemSelector,
ResultSelector, ResultPath, `$$.State.RetryCount`, `$$.Map.Item.Value`), applies Retry (without
sleeping) and Catch, and records every task invocation. The local cloud runs the same definition
in moto's Step Functions engine; this keeps unit tests fast and debuggable.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ASL_PATH = Path(__file__).resolve().parents[3] / "statemachines" / "transcode.asl.json"

HANDLERS = {
    "${ProbeFunctionArn}": "probe",
    "${PlanFunctionArn}": "plan",
    "${EncodeChunkFunctionArn}": "encode_chunk",
    "${EncodeAudioFunctionArn}": "encode_audio",
    "${AssembleFunctionArn}": "assemble",
    "${PublishFunctionArn}": "publish",
    "${FailFunctionArn}": "fail",
}


class StatesFailure(Exception):
    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


@dataclass
class Invocation:
    step: str
    input: dict[str, Any]
    error: str | None = None
    output: Any = None


@dataclass
class Execution:
    status: str = "RUNNING"
    output: Any = None
    error: str | None = None
    cause: str | None = None
    invocations: list[Invocation] = field(default_factory=list)

    def calls(self, step: str) -> list[Invocation]:
        return [i for i in self.invocations if i.step == step]


def load_definition() -> dict[str, Any]:
    return json.loads(ASL_PATH.read_text())


def resolve_path(path: str, data: Any, context: dict[str, Any]) -> Any:
    if path.startswith("$$"):
        data, path = context, path[1:]
    if path == "$":
        return copy.deepcopy(data)
    m = re.fullmatch(r"\$((?:\.[A-Za-z0-9_]+|\[\d+\])+)", path)
    if not m:
        raise ValueError(f"unsupported path {path}")
    value = data
    for part in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", m.group(1)):
        value = value[part[0]] if part[0] else value[int(part[1])]
    return copy.deepcopy(value)


def build(template: Any, data: Any, context: dict[str, Any]) -> Any:
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = resolve_path(value, data, context)
            else:
                out[key] = build(value, data, context)
        return out
    if isinstance(template, list):
        return [build(v, data, context) for v in template]
    return template


def set_result(state_input: Any, result: Any, result_path: str | None, has_key: bool) -> Any:
    if has_key and result_path is None:
        return state_input
    if not result_path or result_path == "$":
        return result
    target = copy.deepcopy(state_input)
    keys = result_path[2:].split(".")
    node = target
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = result
    return target


def _chosen(rule: dict[str, Any], data: Any, context: dict[str, Any]) -> bool:
    """One Choice rule of the forms the definition uses: a Variable compared with a constant."""
    try:
        value = resolve_path(rule["Variable"], data, context)
    except (KeyError, IndexError, TypeError):
        return False  # a missing field matches no comparison, as in Step Functions
    if "BooleanEquals" in rule:
        return value is rule["BooleanEquals"]
    if "StringEquals" in rule:
        return bool(value == rule["StringEquals"])
    raise ValueError(f"unsupported Choice rule {rule}")


def _matches(error: str, equals: list[str]) -> bool:
    return "States.ALL" in equals or error in equals


class Interpreter:
    def __init__(self, definition: dict[str, Any] | None = None, execution_id: str = "exec-1") -> None:
        self.definition = definition or load_definition()
        self.execution = Execution()
        self.execution_id = execution_id

    def run(self, event: dict[str, Any]) -> Execution:
        try:
            self.execution.output = self._run_states(self.definition, event)
            self.execution.status = "SUCCEEDED"
        except StatesFailure as failure:
            self.execution.status = "FAILED"
            self.execution.error, self.execution.cause = failure.error, failure.cause
        return self.execution

    def _run_states(self, machine: dict[str, Any], data: Any, context: dict[str, Any] | None = None) -> Any:
        name = machine["StartAt"]
        context = context or {}
        while True:
            state = machine["States"][name]
            kind = state["Type"]
            if kind == "Succeed":
                return data
            if kind == "Fail":
                raise StatesFailure(state.get("Error", "States.Fail"), state.get("Cause", ""))
            if kind == "Choice":
                name = next((rule["Next"] for rule in state["Choices"] if _chosen(rule, data, context)),
                            state["Default"])
                continue
            if kind == "Pass":
                data = set_result(data, state.get("Result", data), state.get("ResultPath", "$"),
                                  "ResultPath" in state)
            else:
                try:
                    data = self._run_with_retry(state, data, context)
                except StatesFailure as failure:
                    catcher = next((c for c in state.get("Catch", [])
                                    if _matches(failure.error, c["ErrorEquals"])), None)
                    if catcher is None:
                        raise
                    error = {"Error": failure.error, "Cause": failure.cause}
                    data = set_result(data, error, catcher.get("ResultPath", "$"), "ResultPath" in catcher)
                    name = catcher["Next"]
                    continue
            if state.get("End"):
                return data
            name = state["Next"]

    def _run_with_retry(self, state: dict[str, Any], data: Any, context: dict[str, Any]) -> Any:
        attempts: dict[int, int] = {}
        retry_count = 0
        while True:
            ctx = {**context, "State": {"RetryCount": retry_count}}
            try:
                return self._run_once(state, data, ctx)
            except StatesFailure as failure:
                index = next((i for i, r in enumerate(state.get("Retry", []))
                              if _matches(failure.error, r["ErrorEquals"])), None)
                if index is None:
                    raise
                attempts[index] = attempts.get(index, 0) + 1
                if attempts[index] > state["Retry"][index].get("MaxAttempts", 3):
                    raise
                retry_count += 1

    def _run_once(self, state: dict[str, Any], data: Any, ctx: dict[str, Any]) -> Any:
        kind = state["Type"]
        effective = build(state["Parameters"], data, ctx) if "Parameters" in state else copy.deepcopy(data)
        if kind == "Task":
            result = self._invoke(state["Resource"], effective)
        elif kind == "Parallel":
            result = [self._run_states(branch, copy.deepcopy(effective), ctx) for branch in state["Branches"]]
        elif kind == "Map":
            items = resolve_path(state.get("ItemsPath", "$"), effective, ctx)
            processor = state.get("ItemProcessor") or state["Iterator"]
            result = []
            for index, item in enumerate(items):
                item_ctx = {**ctx, "Map": {"Item": {"Index": index, "Value": item}}}
                selector = state.get("ItemSelector") or state.get("Parameters")
                item_input = build(selector, effective, item_ctx) if selector else item
                result.append(self._run_states(processor, item_input, item_ctx))
        else:
            raise ValueError(f"unsupported state type {kind}")
        if "ResultSelector" in state:
            result = build(state["ResultSelector"], result, ctx)
        return set_result(data, result, state.get("ResultPath", "$"), "ResultPath" in state)

    def _invoke(self, resource: str, payload: Any) -> Any:
        step = HANDLERS[resource]
        record = Invocation(step=step, input=copy.deepcopy(payload))
        self.execution.invocations.append(record)
        module = importlib.import_module(f"transcode.handlers.{step}")
        try:
            # Through JSON both ways, as Lambda does: nothing non-serialisable may cross.
            result = module.lambda_handler(json.loads(json.dumps(payload)), None)
            record.output = json.loads(json.dumps(result))
            return record.output
        except Exception as exc:  # noqa: BLE001 - this is the Lambda runtime's job
            record.error = type(exc).__name__
            cause = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__})
            raise StatesFailure(type(exc).__name__, cause) from exc
