"""`--keep-state`: an account (its Cognito sign-in and its DynamoDB items) and S3 objects survive a
clean restart together; a run that was killed leaves no half-kept state (the next start discards
it and says so). Without the option the start says loudly that nothing is kept."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import boto3
import requests

from tests.integration.conftest import LocalCloudProcess
from tests.integration.test_accounts_api import PASSWORD, Client

ARGS = ["--no-search", "--no-seed", "--keep-state"]


def _s3(ep: dict[str, Any]) -> Any:
    return boto3.client("s3", endpoint_url=ep["aws_endpoint_url"], region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local")


def _bucket(ep: dict[str, Any]) -> str:
    return str(sorted(ep["resources"]["buckets"].values())[0])


def _login(http: requests.Session, ep: dict[str, Any], email: str) -> Client:
    client = Client(http, ep["api_url"])
    r = client.call("POST", "/accounts/login", {"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.token = r.json()["access_token"]
    return client


def _run(state_dir: Path) -> LocalCloudProcess:
    (state_dir / "endpoints.json").unlink(missing_ok=True)  # a killed run leaves its file behind
    proc = LocalCloudProcess(state_dir, ARGS)
    proc.endpoints = proc.wait_ready()  # type: ignore[attr-defined]
    return proc


def test_state_is_kept_across_a_clean_restart_and_dropped_whole_after_a_kill(
    tmp_path: Path, http: requests.Session
) -> None:
    state = tmp_path / "kept"
    first = _run(state)
    try:
        ep = first.endpoints  # type: ignore[attr-defined]
        client = Client(http, ep["api_url"])
        email, user_id = client.sign_up(plan="basic")
        assert client.call("POST", "/profiles", {"name": "Kept"}).status_code == 201
        _s3(ep).put_object(Bucket=_bucket(ep), Key="kept/object.bin", Body=b"\x00kept\xff",
                           ContentType="application/octet-stream", Metadata={"origin": "test"})
    finally:
        assert first.stop() == 0
    assert "KEPT across restarts" in first.log.read_text()

    second = _run(state)
    try:
        ep = second.endpoints  # type: ignore[attr-defined]
        assert "restored from" in second.log.read_text()
        client = _login(http, ep, email)
        me = client.call("GET", "/accounts/me")
        assert me.status_code == 200 and me.json()["user_id"] == user_id, me.text
        assert [p["name"] for p in client.call("GET", "/profiles").json()["profiles"]] == ["Kept"]
        obj = _s3(ep).get_object(Bucket=_bucket(ep), Key="kept/object.bin")
        assert (obj["Body"].read(), obj["Metadata"]) == (b"\x00kept\xff", {"origin": "test"})
    finally:
        second.proc.send_signal(signal.SIGKILL)  # no clean stop: no snapshot of this run
        second.proc.wait()

    third = _run(state)
    try:
        ep = third.endpoints  # type: ignore[attr-defined]
        assert "did not stop cleanly" in third.log.read_text()
        r = Client(http, ep["api_url"]).call("POST", "/accounts/login", {"email": email, "password": PASSWORD})
        assert r.status_code in (400, 401), r.text  # neither the user nor (checked next) the account remains
        accounts = next(n for lid, n in ep["resources"]["tables"].items() if "Accounts" in lid)
        ddb = boto3.client("dynamodb", endpoint_url=ep["dynamodb_endpoint_url"], region_name="us-east-1",
                           aws_access_key_id="local", aws_secret_access_key="local")
        assert ddb.scan(TableName=accounts, Select="COUNT")["Count"] == 0
    finally:
        assert third.stop() == 0


def test_without_the_option_the_start_says_nothing_is_kept(cloud: LocalCloudProcess) -> None:
    assert "NOT KEPT" in cloud.log.read_text()


def test_search_is_rebuilt_from_the_kept_catalog_after_a_restart(tmp_path: Path, http: requests.Session) -> None:
    """The local search engine keeps its index in memory: a restart with --keep-state has the catalog table but an
    empty index until the start runs the search service's reindex from the table."""
    from tests.integration.test_search import Catalog

    state = tmp_path / "kept-search"

    def start() -> LocalCloudProcess:
        (state / "endpoints.json").unlink(missing_ok=True)
        proc = LocalCloudProcess(state, ["--no-seed", "--keep-state"])
        proc.endpoints = proc.wait_ready()  # type: ignore[attr-defined]
        return proc

    def found(ep: dict[str, Any]) -> bool:
        r = http.post(f"{ep['search_url']}/titles/_search", json={"query": {"term": {"title_id": "kept-t1"}}},
                      timeout=10)
        return r.status_code == 200 and r.json()["hits"]["total"]["value"] == 1

    first = start()
    try:
        ep = first.endpoints  # type: ignore[attr-defined]
        aws = lambda service: boto3.client(  # noqa: E731
            service, endpoint_url=ep["aws_endpoint_url"], region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local")
        Catalog(ep, aws).write("kept-t1", "Kept Across Restarts", 1)  # in the table, never announced
        assert not found(ep)
    finally:
        assert first.stop() == 0

    second = start()
    try:
        ep = second.endpoints  # type: ignore[attr-defined]
        deadline = time.monotonic() + 90
        while not found(ep):
            assert time.monotonic() < deadline, "the kept catalog was not reindexed after the restart"
            time.sleep(0.5)
    finally:
        assert second.stop() == 0
