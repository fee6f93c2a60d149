"""Composition root: the adapters the handlers hand to the logic, built once per warm Lambda
(the same place in every service: ``<service>/wiring.py``)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from accounts.dal.cognito_identity import CognitoIdentityProvider
from accounts.dal.dynamo_repository import DynamoAccountsRepository
from accounts.dal.payments import payment_provider_from_env
from accounts.logic.ports import AccountsRepository, IdentityProvider, PaymentProvider


@dataclass(frozen=True)
class Dependencies:
    repo: AccountsRepository
    identity: IdentityProvider
    payments: PaymentProvider


_lock = threading.Lock()
_deps: Dependencies | None = None


def dependencies() -> Dependencies:
    global _deps
    with _lock:
        if _deps is None:
            _deps = Dependencies(
                repo=DynamoAccountsRepository(os.environ["ACCOUNTS_TABLE"]),
                identity=CognitoIdentityProvider(
                    os.environ["USER_POOL_ID"], os.environ["USER_POOL_CLIENT_ID"]
                ),
                payments=payment_provider_from_env(),
            )
        return _deps


def reset() -> None:
    """Drop the cached adapters (tests change the environment between cases)."""
    global _deps
    with _lock:
        _deps = None
