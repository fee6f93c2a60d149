"""Runs Lambda functions locally from their staged asset directories, in warm worker processes.

Each function gets up to `max_workers` warm processes (Lambda's execution environments): the
handler module is imported once per process and reused, the process gets the function's
environment from the template, the layers' `python/` directories on PYTHONPATH and their `bin/`
on PATH (as `/opt/python` and `/opt/bin` in Lambda), and `AWS_ENDPOINT_URL` pointing at the local
cloud (plus `AWS_ENDPOINT_URL_<SERVICE>` for services served elsewhere: DynamoDB Local). A changed
environment (UpdateFunctionConfiguration) retires the warm processes, as a new version would in
Lambda. Timeouts kill the process and report `Sandbox.Timedout`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORKER = Path(__file__).resolve().parent / "lambda_worker.py"


@dataclass
class FunctionSpec:
    name: str
    arn: str
    handler: str
    code_dir: Path
    layer_dirs: list[Path] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    timeout_s: int = 3
    memory_mb: int = 128
    runtime: str = "python3.12"


def _own_process_group() -> None:
    # Keep the terminal's Ctrl-C away from workers: the parent stops them itself, in order.
    # (Not PR_SET_PDEATHSIG: it fires when the spawning *thread* ends — a request thread here.
    # The worker watches its parent instead; see lambda_worker.py.)
    os.setpgrp()


class Worker:
    def __init__(self, spec: FunctionSpec, env: dict[str, str], log_path: Path) -> None:
        self.spec = spec
        self.env_key = _env_key(env)
        r, w = os.pipe()
        log = open(log_path, "ab")  # noqa: SIM115 — owned by the process
        full_env = dict(env)
        full_env["LOCAL_LAMBDA_RESULT_FD"] = str(w)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", f"import runpy; runpy.run_path({str(WORKER)!r}, run_name='__main__')"],
            cwd=str(spec.code_dir),
            env=full_env,
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
            pass_fds=(w,),
            preexec_fn=_own_process_group,  # noqa: PLW1509
        )
        os.close(w)
        log.close()
        self._results = os.fdopen(r, "r")
        self.invocations = 0

    def invoke(self, event: Any, timeout_s: float) -> tuple[bool, Any]:
        request_id = str(uuid.uuid4())
        deadline_ms = int((time.time() + timeout_s) * 1000)
        line = json.dumps({"event": event, "request_id": request_id, "deadline_ms": deadline_ms})
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            return False, _err("Runtime.ExitError", "execution environment exited", request_id)
        ready, _, _ = select.select([self._results], [], [], timeout_s)
        if not ready:
            self.kill()
            msg = f"Task timed out after {timeout_s:.2f} seconds"
            return False, _err("Sandbox.Timedout", msg, request_id)
        reply = self._results.readline()
        if not reply:
            code = self.proc.wait()
            return False, _err("Runtime.ExitError", f"Runtime exited with status {code}", request_id)
        self.invocations += 1
        if reply.startswith("+"):  # the result's JSON text, as it left the handler (lambda_worker.py)
            return True, reply[1:].rstrip("\n")
        return False, json.loads(reply[1:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _err(kind: str, message: str, request_id: str) -> dict[str, Any]:
    return {"errorType": kind, "errorMessage": message, "requestId": request_id}


def _env_key(env: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()


class LambdaRuntime:
    def __init__(
        self,
        endpoint_url: str,
        log_dir: Path,
        max_workers: int = 4,
        current_env: Callable[[str], dict[str, str] | None] | None = None,
        service_endpoints: dict[str, str] | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        # {"AWS_ENDPOINT_URL_DYNAMODB": url, ...}: boto3 reads these per service.
        self.service_endpoints = dict(service_endpoints or {})
        self.log_dir = log_dir
        self.max_workers = max_workers
        self.current_env = current_env
        self.specs: dict[str, FunctionSpec] = {}
        self._idle: dict[str, list[Worker]] = {}
        self._busy: dict[str, int] = {}
        self._all: set[Worker] = set()  # busy ones too, so shutdown reaches every process
        self._cond = threading.Condition()
        self._closed = False
        log_dir.mkdir(parents=True, exist_ok=True)

    def register(self, spec: FunctionSpec) -> None:
        self.specs[spec.name] = spec
        self._idle.setdefault(spec.name, [])
        self._busy.setdefault(spec.name, 0)

    def resolve_name(self, name_or_arn: str) -> str:
        if name_or_arn.startswith("arn:"):
            # arn:aws:lambda:region:acct:function:name[:qualifier]
            return name_or_arn.split(":")[6]
        return name_or_arn

    def environment(self, spec: FunctionSpec) -> dict[str, str]:
        fn_env = spec.environment
        if self.current_env is not None:
            latest = self.current_env(spec.name)
            if latest is not None:
                fn_env = latest
        pythonpath = [str(spec.code_dir)] + [str(d / "python") for d in spec.layer_dirs]
        path = [str(d / "bin") for d in spec.layer_dirs] + os.environ.get("PATH", "").split(":")
        env = {
            # What the Lambda runtime itself provides.
            "PATH": ":".join(path),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "HOME": os.environ.get("HOME", "/tmp"),
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "LOCAL_LAMBDA_FUNCTION_ARN": spec.arn,
            "AWS_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            # No X-Ray daemon locally; Powertools would otherwise try to emit segments.
            "POWERTOOLS_TRACE_DISABLED": "true",
            "PYTHONPATH": ":".join(pythonpath),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        env.update(fn_env)
        # The one thing that makes the code talk to the local cloud: the endpoint, by environment.
        env["AWS_ENDPOINT_URL"] = self.endpoint_url
        env.update(self.service_endpoints)
        return env

    def _acquire(self, spec: FunctionSpec, env: dict[str, str]) -> Worker:
        key = _env_key(env)
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("local Lambda runtime is shut down")
                idle = self._idle[spec.name]
                # Retire environments made stale by a configuration change or a crash.
                for w in [w for w in idle if w.env_key != key or not w.alive()]:
                    idle.remove(w)
                    w.kill()
                    self._all.discard(w)
                if idle:
                    self._busy[spec.name] += 1
                    return idle.pop()
                if self._busy[spec.name] < self.max_workers:
                    self._busy[spec.name] += 1
                    break
                self._cond.wait()
        try:
            worker = Worker(spec, env, self.log_dir / f"{spec.name}.log")
            with self._cond:
                self._all.add(worker)
            return worker
        except Exception:
            with self._cond:
                self._busy[spec.name] -= 1
                self._cond.notify_all()
            raise

    def _release(self, spec: FunctionSpec, worker: Worker) -> None:
        with self._cond:
            self._busy[spec.name] -= 1
            if worker.alive() and not self._closed:
                self._idle[spec.name].append(worker)
            else:
                worker.kill()
                self._all.discard(worker)
            self._cond.notify_all()

    def invoke(self, name_or_arn: str, event: Any) -> tuple[bool, Any]:
        """Invoke synchronously. Returns (ok, payload_text) or (False, error_dict)."""
        name = self.resolve_name(name_or_arn)
        spec = self.specs.get(name)
        if spec is None:
            return False, _err("ResourceNotFoundException", f"Function not found: {name}", "")
        if isinstance(event, (str, bytes)):
            with contextlib.suppress(json.JSONDecodeError):
                event = json.loads(event or "{}")
        env = self.environment(spec)
        worker = self._acquire(spec, env)
        try:
            return worker.invoke(event, float(spec.timeout_s))
        finally:
            self._release(spec, worker)

    def invoke_async(self, name_or_arn: str, event: Any) -> None:
        threading.Thread(target=self.invoke, args=(name_or_arn, event), daemon=True).start()

    def shutdown(self) -> None:
        with self._cond:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle = {k: [] for k in self._idle}
            self._cond.notify_all()
        for w in workers:
            w.kill()
