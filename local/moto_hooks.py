"""Where moto needs help to behave like AWS locally (moto 5.2.5, pinned; tests/unit/local checks
these hooks still attach).

- Lambda: moto runs functions in Docker; here `LambdaFunction._invoke_lambda` runs the real
  handler in our warm worker processes instead, so every moto path that invokes a function
  (Invoke API, Step Functions tasks, SQS / DynamoDB stream mappings, SNS) runs real code.
- EventBridge: moto's rules cannot deliver to Lambda or Step Functions targets (put_events
  fails). Rules keep their real targets; delivery to those two kinds is done here, asynchronously
  as in AWS, honouring Input / InputPath / InputTransformer. Other targets stay with moto.
- S3 → EventBridge events carry `time` as a number in moto; AWS sends an ISO-8601 string.
- S3 multipart: an unknown upload id raises KeyError in moto (a 500) for UploadPart,
  UploadPartCopy and CompleteMultipartUpload; S3 answers 404 NoSuchUpload.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.core.config import default_user_config
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.s3.exceptions import NoSuchUpload
from moto.s3.models import S3Backend
from werkzeug.serving import make_server

from local.dynamodb_local import FrontDoor
from local.lambda_runtime import LambdaRuntime

_lock = threading.Lock()


class FrontDoorMotoServer(ThreadedMotoServer):
    """moto on the single AWS endpoint, with DynamoDB (+ Streams) passed on to DynamoDB Local."""

    def __init__(self, host: str, port: int, dynamodb_url: str) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self._dynamodb_url = dynamodb_url

    def _server_entry(self) -> None:  # ThreadedMotoServer's, with the app wrapped
        app = FrontDoor(DomainDispatcherApplication(create_backend_app), self._dynamodb_url)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()
_original_send_to_targets = Rule.send_to_targets


def configure_moto() -> None:
    # Step Functions executions only run their definition when this is on.
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    _answer_unknown_uploads_as_s3_does()


_MULTIPART_CALLS = {  # S3Backend method -> name of its bucket argument (the upload id follows it)
    "upload_part": "bucket_name",
    "upload_part_copy": "dest_bucket_name",
    "complete_multipart_upload": "bucket_name",
}


def _answer_unknown_uploads_as_s3_does() -> None:
    for method in _MULTIPART_CALLS:
        original = getattr(S3Backend, method)
        if getattr(original, "_checks_upload_id", False):
            continue  # idempotent: configure_moto runs once per start and in tests

        def checked(self: S3Backend, bucket: str, upload_id: str, *args: Any,
                    __original: Any = original, **kwargs: Any) -> Any:
            if upload_id not in self.get_bucket(bucket).multiparts:
                raise NoSuchUpload(upload_id=upload_id)
            return __original(self, bucket, upload_id, *args, **kwargs)

        checked._checks_upload_id = True  # type: ignore[attr-defined]
        setattr(S3Backend, method, checked)


def install(runtime: LambdaRuntime, start_execution: Callable[[str, str], None]) -> None:
    configure_moto()

    def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        ok, payload = runtime.invoke(self.function_name, event)
        if ok:
            return payload, False, ""
        return json.dumps(payload), True, payload.get("errorMessage", "")

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if not self.event_pattern.matches_event(original_event):
            return
        ours = [t for t in self.targets if _service(t["Arn"]) in ("lambda", "states")]
        rest = [t for t in self.targets if t not in ours]
        if rest:
            with _lock:
                saved = self.targets
                self.targets = rest
                try:
                    # moto's own input templating expects its numeric `time`: hand it the original.
                    _original_send_to_targets(self, original_event, transform_input)
                finally:
                    self.targets = saved
        event = _normalise(original_event)
        for target in ours:
            payload = _target_input(target, event) if transform_input else event
            if _service(target["Arn"]) == "lambda":
                runtime.invoke_async(target["Arn"], payload)
            else:
                threading.Thread(
                    target=start_execution, args=(target["Arn"], json.dumps(payload)), daemon=True
                ).start()

    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]


def _service(arn: str) -> str:
    return arn.split(":")[2]


def _normalise(event: Any) -> Any:
    if isinstance(event.get("time"), (int, float)):
        event = copy.deepcopy(event)
        event["time"] = dt.datetime.fromtimestamp(event["time"], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if event.get("id") in (None, "", "17793124-05d4-b198-2fde-7ededc63b103"):
            event["id"] = str(uuid.uuid4())
    return event


def _target_input(target: dict[str, Any], event: Any) -> Any:
    if "Input" in target and target["Input"]:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        return _json_path(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer:
        text = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,
        )
        try:
            return json.loads(text) if isinstance(text, str) else text
        except json.JSONDecodeError:
            return text
    return event


def _json_path(doc: Any, path: str) -> Any:
    cur = doc
    for part in [p for p in path.lstrip("$").split(".") if p]:
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur
