"""The one local cloud of a test session, shared by tests/integration and tests/e2e: the same
`python -m local up` that `make up` runs, on free ports and a private state directory, driven over
real HTTP. Tests keep their state apart by unique ids (accounts, titles, queues), so one start
serves them all; a test that needs a cloud of its own (restarts, --extend) starts a
LocalCloudProcess itself.

Every test of the shared cloud is marked `local_cloud`: `make test` runs `-m local_cloud` (mostly
waiting on the cloud's processes) beside `-m "not local_cloud"` (unit, infra, own-cloud tests).
pytest-xdist's `--dist loadgroup` would do the same in one process, but xdist 3.8 renames the
node id through `item._nodeid`, which pytest 9.2 no longer reads: its groups are ignored."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from local.cloud import free_port

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = float(os.environ.get("REELSTACK_STARTUP_TIMEOUT", "240"))
# A clean stop writes the kept state (--keep-state) and joins every worker: seconds when idle, but
# ~20 s was not enough on a loaded 2-core machine (stop() then ended in a kill: -9).
STOP_TIMEOUT_S = 60
CLOUD_FIXTURES = {"cloud", "web_cloud"}


class LocalCloudProcess:
    def __init__(self, state_dir: Path, extra_args: list[str] | None = None) -> None:
        self.state_dir = state_dir
        self.ports = {"aws": free_port(), "api": free_port(), "alb": free_port()}
        self.log = state_dir / "up.log"
        state_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "local", "up",
            "--state-dir", str(state_dir),
            "--aws-port", str(self.ports["aws"]),
            "--api-port", str(self.ports["api"]),
            "--alb-port", str(self.ports["alb"]),
            *(extra_args or []),
        ]
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log.open("w"), stderr=subprocess.STDOUT, env=env)

    def wait_ready(self) -> dict[str, Any]:
        path = self.state_dir / "endpoints.json"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if path.exists():
                self.startup_s = time.perf_counter() - self.started
                return json.loads(path.read_text())  # type: ignore[no-any-return]
            if self.proc.poll() is not None:
                break
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"local cloud did not start:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            # SIGTERM, not SIGINT: the cloud stops the same way on both, but a shell's background
            # job (`make test &`, some CI runners) ignores SIGINT, and the stop then ended in a kill.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM (make test's other process being stopped, a CI runner's cancel) ends the session
    like Ctrl-C: fixtures tear down and every local cloud a test started is stopped, instead of
    Python's default exit that leaves them running."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The shared cloud's order constraints, whatever the command line's order (or --ff/--lf): the
    browser tests first (they need every service up), test_search's test_zz_* last (it stops the
    cloud's search engine). A stable sort: everything else keeps its order."""

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("local_cloud") is None:
            return 1
        if "/tests/e2e/" in item.path.as_posix():
            return 0
        return 2 if item.name.startswith("test_zz") else 1

    items.sort(key=rank)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Unit tests have `cloud` fixtures of their own (moto in-process): only integration and e2e
    tests mean this one."""
    path = item.path.as_posix()
    if ("/tests/integration/" in path or "/tests/e2e/" in path) and CLOUD_FIXTURES & set(
            getattr(item, "fixturenames", ())):
        item.add_marker(pytest.mark.local_cloud)


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloudProcess]:
    proc = LocalCloudProcess(tmp_path_factory.mktemp("reelstack"))
    proc.endpoints = proc.wait_ready()  # type: ignore[attr-defined]
    print(f"\nlocal cloud ready in {proc.startup_s:.1f} s")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def endpoints(cloud: LocalCloudProcess) -> dict[str, Any]:
    return cloud.endpoints  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="session")
def aws(endpoints: dict[str, Any]) -> Any:
    """boto3 clients against the local cloud, by endpoint only (as the functions see it)."""

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoints["aws_endpoint_url"],
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    return client


@pytest.fixture(scope="session")
def http() -> requests.Session:
    s = requests.Session()
    s.headers["user-agent"] = "reelstack-tests"
    return s
