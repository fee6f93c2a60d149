"""Does the sign-up answer (status, body, time) depend on whether the email has an account?

    python -m bench.signup_timing                        # in-process moto, through the handler
    python -m bench.signup_timing --api-url http://127.0.0.1:PORT   # a running platform (make up)

In-process, each path runs twice: with the floor off (``SIGN_UP_MIN_SECONDS = 0``: the work alone,
which shows the gap the floor must cover) and with the shipped floor. Over HTTP only the shipped
floor exists. "known" signs up an email that has a confirmed account, "new" a fresh one each time.
Bounded: ``--count`` requests per path (default 30), loopback only. The last line printed is one
JSON object: per path and mode, the statuses and bodies seen and p50 / p95 / max in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "Corr3ct-Horse-Battery"
Call = Callable[[str, str, dict[str, Any]], tuple[int, Any]]


def summary(samples: list[tuple[float, int, Any]]) -> dict[str, Any]:
    ms = sorted(s[0] * 1000 for s in samples)
    return {
        "statuses": sorted({s[1] for s in samples}),
        "bodies": len({json.dumps(s[2], sort_keys=True) for s in samples}),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[max(0, int(len(ms) * 0.95) - 1)], 1),
        "max_ms": round(ms[-1], 1),
    }


def measure(call: Call, count: int) -> dict[str, Any]:
    known = f"known-{uuid.uuid4().hex[:8]}@example.com"
    assert call("POST", "/accounts", {"email": known, "password": PASSWORD})[0] == 202
    assert call("POST", "/accounts/confirm", {"email": known, "code": "000000"})[0] == 201
    paths: dict[str, list[tuple[float, int, Any]]] = {"known": [], "new": []}
    for _ in range(count):  # interleaved, so drift in machine load hits both paths alike
        for path in ("known", "new"):
            email = known if path == "known" else f"new-{uuid.uuid4().hex[:10]}@example.com"
            started = time.perf_counter()
            status, body = call("POST", "/accounts", {"email": email, "password": PASSWORD})
            paths[path].append((time.perf_counter() - started, status, body))
    bodies = {json.dumps(s[2], sort_keys=True) for samples in paths.values() for s in samples}
    return {**{p: summary(s) for p, s in paths.items()}, "same_answer": len(bodies) == 1}


@contextmanager
def in_process() -> Iterator[Call]:
    """The accounts handler over moto in this process (as the unit tests run it)."""
    for sub in ("functions/accounts", "layers/shared/python", "."):
        sys.path.insert(0, str(REPO / sub))
    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
        ACCOUNTS_TABLE="accounts-bench", POWERTOOLS_SERVICE_NAME="accounts", DAX_ENDPOINT="",
        PAYMENT_PROVIDER="local", POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3
    from moto import mock_aws

    from tests.unit.events import LambdaContext, http_api_event, response_json
    from tests.unit.identity import create_identity
    from tests.unit.tables import create_single_table

    with mock_aws():
        create_single_table(boto3.resource("dynamodb"), "accounts-bench")
        pool, client = create_identity(boto3.client("cognito-idp"))
        os.environ.update(USER_POOL_ID=pool, USER_POOL_CLIENT_ID=client)
        from accounts.handlers.http import lambda_handler

        def call(method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
            response = lambda_handler(http_api_event(method, path, body), LambdaContext())
            return int(response["statusCode"]), response_json(response)

        yield call


def over_http(api_url: str) -> Call:
    import requests

    session = requests.Session()

    def call(method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        r = session.request(method, api_url.rstrip("/") + path, json=body, timeout=30)
        return r.status_code, r.json()

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30, help="sign-ups per path and mode (default 30)")
    parser.add_argument("--api-url", help="measure a running platform over HTTP instead")
    args = parser.parse_args()
    if args.api_url:
        result: dict[str, Any] = {"where": args.api_url, "shipped_floor": measure(over_http(args.api_url), args.count)}
    else:
        with in_process() as call:
            from accounts.logic import accounts

            shipped = accounts.SIGN_UP_MIN_SECONDS
            accounts.SIGN_UP_MIN_SECONDS = 0.0
            no_floor = measure(call, args.count)
            accounts.SIGN_UP_MIN_SECONDS = shipped
            result = {"where": "in-process moto", "floor_s": shipped, "no_floor": no_floor,
                      "shipped_floor": measure(call, args.count)}
    result["date"] = time.strftime("%Y-%m-%d")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
