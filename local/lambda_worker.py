"""One warm Lambda execution environment: imports the handler once, then serves invocations.

Protocol with the parent (local/lambda_runtime.py): requests arrive on fd 0 as one JSON line
(`{"event": ..., "request_id": ..., "deadline_ms": ...}`), responses leave on the fd named by
LOCAL_LAMBDA_RESULT_FD as one line: `+` and the handler's result as JSON, or `-` and the error as
JSON (one encoding of the result, not a JSON string inside JSON: the API's largest answers, such as
GET /home's, were escaped twice). JSON has no raw newline, so a line is a reply. The handler's own
stdout/stderr (logs) go wherever the parent pointed them, as in Lambda.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import traceback
from typing import Any


class LambdaContext:
    """The attributes of the Lambda Python runtime's context object that handlers use."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("LOCAL_LAMBDA_FUNCTION_ARN", "")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _load_handler(spec: str) -> Any:
    module_name, _, func = spec.rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, func)


def _exit_with_parent() -> None:
    """A worker must not outlive the local cloud, even after `kill -9` of the parent."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    _exit_with_parent()
    result_fd = int(os.environ["LOCAL_LAMBDA_RESULT_FD"])
    out = os.fdopen(result_fd, "w", buffering=1)
    handler: Any = None
    init_error: dict[str, Any] | None = None
    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except Exception as exc:  # reported on every invocation, like Runtime.ImportModuleError
        init_error = {
            "errorMessage": f"Unable to import module '{os.environ['_HANDLER']}': {exc}",
            "errorType": "Runtime.ImportModuleError",
            "stackTrace": traceback.format_exc().splitlines(),
        }
    stdin = sys.stdin
    # Handlers must not read the protocol stream.
    sys.stdin = open(os.devnull)  # noqa: SIM115
    for line in stdin:
        req = json.loads(line)
        if init_error is not None:
            out.write("-" + json.dumps(init_error) + "\n")
            continue
        ctx = LambdaContext(req["request_id"], req["deadline_ms"])
        try:
            result = handler(req["event"], ctx)
            out.write("+" + json.dumps(result, default=str) + "\n")
        except Exception as exc:
            err = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "requestId": req["request_id"],
                "stackTrace": traceback.format_exc().splitlines(),
            }
            print(json.dumps(err), file=sys.stderr, flush=True)
            out.write("-" + json.dumps(err) + "\n")
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    main()
