"""Cognito's sign-in lockout, which moto lacks (moto 5.2.5: any number of wrong passwords, then the
right one works).

What Cognito does (Developer Guide, "User pool authentication flow" / lockout behaviour): after
five failed sign-in attempts for a user name, further attempts are refused with
``NotAuthorizedException: Password attempts exceeded`` -- the right password included -- for a
lockout that starts at 1 second and doubles with each further failure, up to about 15 minutes.
A successful sign-in clears the count. With PreventUserExistenceErrors on (our app client), an
unknown user name fails exactly like a wrong password, so it is counted and locked the same way
here (otherwise the lockout itself would reveal who has an account).

``install()`` wraps moto's ``initiate_auth`` / ``admin_initiate_auth`` for the password flows in
the process that runs moto (the local cloud); the app code is unchanged and sees what it would
see from Cognito.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.cognitoidp.exceptions import NotAuthorizedError, UserNotFoundError
from moto.cognitoidp.models import CognitoIdpBackend

FREE_ATTEMPTS = 5
FIRST_LOCKOUT_SECONDS = 1.0
MAX_LOCKOUT_SECONDS = 15 * 60.0
LOCKED_MESSAGE = "Password attempts exceeded"
_PASSWORD_FLOWS = {"USER_PASSWORD_AUTH", "ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"}


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class Lockout:
    """Failed sign-ins per (user pool or client, user name) and the lockout they earn."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], _Failures] = {}

    def check(self, key: tuple[str, str]) -> None:
        with self._lock:
            entry = self._failures.get(key)
            if entry is not None and self.clock() < entry.locked_until:
                raise NotAuthorizedError(LOCKED_MESSAGE)

    def failed(self, key: tuple[str, str]) -> None:
        with self._lock:
            entry = self._failures.setdefault(key, _Failures())
            entry.count += 1
            beyond = entry.count - FREE_ATTEMPTS
            if beyond >= 0:
                lockout = min(FIRST_LOCKOUT_SECONDS * 2**beyond, MAX_LOCKOUT_SECONDS)
                entry.locked_until = self.clock() + lockout

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def guard(self, key: tuple[str, str], attempt: Callable[[], Any]) -> Any:
        self.check(key)
        try:
            result = attempt()
        except (NotAuthorizedError, UserNotFoundError):
            self.failed(key)
            raise
        self.succeeded(key)
        return result


Attempt = Callable[[], Any]
AroundAuth = Callable[[CognitoIdpBackend, str, str, dict[str, str], Attempt], Any]


def wrap_initiate_auth(around: AroundAuth) -> Callable[[], None]:
    """Send moto's InitiateAuth and AdminInitiateAuth through ``around(backend, client_id,
    auth_flow, auth_parameters, attempt)``, where ``attempt()`` is moto's own call; returns the
    function that removes the wrapper (this module's lockout, local/cognito_refresh.py)."""
    original_initiate = CognitoIdpBackend.initiate_auth
    original_admin_initiate = CognitoIdpBackend.admin_initiate_auth

    def initiate_auth(self: CognitoIdpBackend, client_id: str, auth_flow: str,
                      auth_parameters: dict[str, str]) -> Any:
        return around(self, client_id, auth_flow, auth_parameters,
                      lambda: original_initiate(self, client_id, auth_flow, auth_parameters))

    def admin_initiate_auth(self: CognitoIdpBackend, user_pool_id: str, client_id: str, auth_flow: str,
                            auth_parameters: dict[str, str]) -> Any:
        return around(self, client_id, auth_flow, auth_parameters,
                      lambda: original_admin_initiate(self, user_pool_id, client_id, auth_flow, auth_parameters))

    CognitoIdpBackend.initiate_auth = initiate_auth  # type: ignore[method-assign]
    CognitoIdpBackend.admin_initiate_auth = admin_initiate_auth  # type: ignore[method-assign]

    def uninstall() -> None:
        CognitoIdpBackend.initiate_auth = original_initiate  # type: ignore[method-assign]
        CognitoIdpBackend.admin_initiate_auth = original_admin_initiate  # type: ignore[method-assign]

    return uninstall


def install(clock: Callable[[], float] = time.monotonic) -> Callable[[], None]:
    """Patch moto's Cognito sign-in with the lockout; returns the function that removes it."""
    lockout = Lockout(clock)

    def around(_backend: CognitoIdpBackend, client_id: str, auth_flow: str, auth_parameters: dict[str, str],
               attempt: Attempt) -> Any:
        if auth_flow not in _PASSWORD_FLOWS:
            return attempt()
        return lockout.guard((client_id, _user_name(auth_parameters)), attempt)

    return wrap_initiate_auth(around)


def _user_name(auth_parameters: dict[str, str] | None) -> str:
    # Cognito user names are case-insensitive in our pool (sign_in_case_sensitive=False).
    return str((auth_parameters or {}).get("USERNAME", "")).strip().lower()
