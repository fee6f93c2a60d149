"""Fixtures of the accounts unit tests: moto DynamoDB table + Cognito pool, driven through the handlers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.unit.events import invoke_edge
from tests.unit.identity import use_identity
from tests.unit.tables import create_single_table

TABLE = "accounts-test"
PASSWORD = "Corr3ct-Horse"
# moto's ConfirmSignUp accepts any code (it sends no email); Cognito checks the emailed one.
CODE = "123456"


@dataclass
class User:
    email: str
    user_id: str
    access_token: str
    id_token: str


@dataclass
class Cloud:
    pool_id: str
    client_id: str
    table: Any
    cognito: Any

    def invoke(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        edge: str = "http",
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """Call the accounts HTTP handler the way API Gateway (edge="http") or the ALB would."""
        from accounts.handlers.http import lambda_handler

        return invoke_edge(lambda_handler, method, path, body, token=token, edge=edge, **kwargs)

    def sign_up(self, email: str, password: str = PASSWORD, plan: str | None = None) -> str:
        body: dict[str, Any] = {"email": email, "password": password}
        if plan:
            body["plan"] = plan
        status, out = self.invoke("POST", "/accounts", body)
        assert status == 202, out
        status, out = self.invoke("POST", "/accounts/confirm", {"email": email, "code": CODE})
        assert status == 201, out
        return str(out["user_id"])

    def user(self, email: str, plan: str | None = None) -> User:
        user_id = self.sign_up(email, plan=plan)
        status, tokens = self.invoke("POST", "/accounts/login", {"email": email, "password": PASSWORD})
        assert status == 200, tokens
        return User(email, user_id, tokens["access_token"], tokens["id_token"])

    def items(self) -> list[dict[str, Any]]:
        return list(self.table.scan()["Items"])

    def cognito_usernames(self) -> list[str]:
        users = self.cognito.list_users(UserPoolId=self.pool_id)["Users"]
        return [next(a["Value"] for a in u["Attributes"] if a["Name"] == "email") for u in users]


_boto: dict[str, Any] = {}


def _aws(kind: str, service: str) -> Any:
    """Test-side boto3 clients, created once: a client costs ~0.1 s and moto intercepts them all."""
    key = f"{kind}:{service}"
    if key not in _boto:
        _boto[key] = boto3.resource(service) if kind == "resource" else boto3.client(service)
    return _boto[key]


def _serialize_moto_dynamodb() -> Callable[[], None]:
    """DynamoDB serializes conflicting writes; moto's in-process backend does not (its transaction
    rollback restores a deep copy of the whole table, racing other threads). Serializing moto's
    request dispatch restores DynamoDB's per-request atomicity, which the concurrency tests need."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]

    def restore() -> None:
        DynamoHandler.call_action = original  # type: ignore[method-assign]

    return restore


@pytest.fixture(scope="session", autouse=True)
def _moto_cognito_key_cache() -> Iterator[None]:
    """moto re-imports the same RSA signing key for every user pool (~0.25 s of RSA parameter
    recovery each). Import it once: same key, same tokens, a third of the suite's time saved."""
    from moto.cognitoidp import models

    real = models.jwk
    cache: dict[str, Any] = {}

    class _CachedRSAKey:
        @staticmethod
        def import_key(data: Any, *args: Any, **kwargs: Any) -> Any:
            key = repr(data)
            if key not in cache:
                cache[key] = real.RSAKey.import_key(data, *args, **kwargs)
            return cache[key]

    models.jwk = SimpleNamespace(RSAKey=_CachedRSAKey)  # type: ignore[assignment]
    yield
    models.jwk = real


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    from accounts import wiring
    from accounts.logic import accounts
    from reelstack_common import auth

    # The sign-up's uniform answer time is a wall-clock floor: a unit test would only wait for it
    # (test_sign_up_answers_after_the_same_floor checks the floor with a fake clock).
    monkeypatch.setattr(accounts, "SIGN_UP_MIN_SECONDS", 0.0)
    for name, value in {
        "ACCOUNTS_TABLE": TABLE,
        "ADMINS_GROUP": "admins",
        "PAYMENT_PROVIDER": "local",
        "POWERTOOLS_SERVICE_NAME": "accounts",
        "DAX_ENDPOINT": "",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    restore = _serialize_moto_dynamodb()
    try:
        with mock_aws():
            dynamodb = _aws("resource", "dynamodb")
            table = create_single_table(dynamodb, TABLE)
            cognito = _aws("client", "cognito-idp")
            pool_id, client_id = use_identity(cognito, monkeypatch)
            auth.standing_cache.clear()  # "still enabled?" answers of an earlier pool
            wiring.reset()  # the adapters hold the pool id; boto3 clients stay cached
            yield Cloud(pool_id=pool_id, client_id=client_id, table=table, cognito=cognito)
    finally:
        restore()
        wiring.reset()
        auth.jwks_cache.clear()


@pytest.fixture(params=["http", "alb"])
def edge(request: pytest.FixtureRequest) -> str:
    """Run a test once behind API Gateway HTTP API and once behind the ALB."""
    return str(request.param)
