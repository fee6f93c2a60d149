"""Cognito's refusal to refresh the tokens of a disabled or deleted user, which moto lacks (moto
5.2.5: a disabled user's REFRESH_TOKEN_AUTH returns new tokens; a deleted user's crashes inside
moto with an AttributeError, which the API would answer 500).

What Cognito does: a refresh token of a user who is disabled (AdminDisableUser) or deleted is
refused with ``NotAuthorizedException``; the app then signs the viewer out (the accounts service
answers 401 SESSION_EXPIRED). ``install()`` wraps moto's ``initiate_auth`` / ``admin_initiate_auth``
for the refresh flows in the process that runs moto (the local cloud); the app code is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.cognitoidp.exceptions import NotAuthorizedError
from moto.cognitoidp.models import CognitoIdpBackend

from local.cognito_lockout import Attempt, wrap_initiate_auth

_REFRESH_FLOWS = {"REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"}
REVOKED_MESSAGE = "Refresh Token has been revoked"
DISABLED_MESSAGE = "User is disabled."


def _refuse_unless_active(backend: CognitoIdpBackend, client_id: str, auth_parameters: dict[str, str] | None) -> None:
    token = str((auth_parameters or {}).get("REFRESH_TOKEN", ""))
    pool = next((p for p in backend.user_pools.values() if client_id in p.clients), None)
    if pool is None or not token:
        return  # moto's own answer (unknown client, missing parameter)
    issued = pool.refresh_tokens.get(token)
    if issued is None:
        return  # unknown or revoked: moto already refuses
    # By user name or by a username attribute (our pool signs in by email): moto's own look-up.
    user = pool._get_user(issued[1])
    if user is None:
        raise NotAuthorizedError(REVOKED_MESSAGE)
    if not user.enabled:
        raise NotAuthorizedError(DISABLED_MESSAGE)


def install() -> Callable[[], None]:
    """Patch moto's Cognito refresh flows; returns the function that removes the patch."""

    def around(backend: CognitoIdpBackend, client_id: str, auth_flow: str, auth_parameters: dict[str, str],
               attempt: Attempt) -> Any:
        if auth_flow in _REFRESH_FLOWS:
            _refuse_unless_active(backend, client_id, auth_parameters)
        return attempt()

    return wrap_initiate_auth(around)
