"""Cognito adapter of ``IdentityProvider``. Passwords pass through to Cognito and are never logged."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from reelstack_common.errors import TooManyRequests

from accounts.logic.ports import IdentityProvider, IdentityUser
from accounts.models.domain import Tokens
from accounts.models.exceptions import (
    EmailTaken,
    IdentityUnavailable,
    InvalidCode,
    InvalidCredentials,
    InvalidRefreshToken,
    TooManyAttempts,
    WeakPassword,
)

_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})

# Every way a login can fail for the caller's input maps to one indistinguishable answer.
_LOGIN_FAILURES = {
    "NotAuthorizedException",
    "UserNotFoundException",
    "UserNotConfirmedException",
    "PasswordResetRequiredException",
    "InvalidParameterException",
}

# Cognito's lockout after repeated failed sign-ins: a NotAuthorizedException with this message.
_LOCKED_OUT = "Password attempts exceeded"

# Every way a confirmation can fail for the caller's input: one answer (no user enumeration).
_CONFIRM_FAILURES = {
    "CodeMismatchException",
    "ExpiredCodeException",
    "UserNotFoundException",
    "NotAuthorizedException",  # already confirmed
    "InvalidParameterException",
}
# Every way a refresh can fail for the caller's token (expired, revoked, malformed, another client's,
# a disabled or deleted user): one answer, sign in again. Not InvalidParameterException or
# ResourceNotFoundException: those are this deployment's fault (flow not enabled, unknown client),
# and answering 401 would sign every viewer out silently instead of raising an alarm.
_REFRESH_FAILURES = {
    "NotAuthorizedException",
    "UserNotFoundException",
    "UserNotConfirmedException",
    "PasswordResetRequiredException",
}
_UNAVAILABLE = {"InternalErrorException", "ServiceUnavailable", "InternalFailure"}
_THROTTLED = {"TooManyRequestsException", "TooManyFailedAttemptsException", "LimitExceededException"}

_clients: dict[str, Any] = {}


def _cognito_client() -> Any:
    # One client per process: creating a boto3 client costs ~100 ms of a cold start.
    if "cognito" not in _clients:
        _clients["cognito"] = boto3.client("cognito-idp", config=_CONFIG)
    return _clients["cognito"]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class CognitoIdentityProvider(IdentityProvider):
    def __init__(self, user_pool_id: str, client_id: str, client: Any | None = None) -> None:
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.client = client or _cognito_client()

    def sign_up(self, email: str, password: str) -> str:
        # The public SignUp API, as any client would call it: Cognito emails the verification code.
        try:
            response = self.client.sign_up(
                ClientId=self.client_id,
                Username=email,
                Password=password,
                UserAttributes=[{"Name": "email", "Value": email}],
            )
        except ClientError as error:
            code = _code(error)
            if code in {"UsernameExistsException", "AliasExistsException"}:
                raise EmailTaken() from None
            if code == "InvalidPasswordException":
                raise WeakPassword() from None
            raise
        return str(response["UserSub"])

    def confirm_sign_up(self, email: str, code: str) -> None:
        try:
            self.client.confirm_sign_up(ClientId=self.client_id, Username=email, ConfirmationCode=code)
        except ClientError as error:
            if _code(error) in _CONFIRM_FAILURES:
                raise InvalidCode() from None
            if _code(error) in _THROTTLED:
                raise TooManyRequests() from None
            raise

    def find_user(self, email: str) -> IdentityUser | None:
        try:
            user = self.client.admin_get_user(UserPoolId=self.user_pool_id, Username=email)
        except ClientError as error:
            if _code(error) == "UserNotFoundException":
                return None
            raise
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        groups = self.client.admin_list_groups_for_user(UserPoolId=self.user_pool_id, Username=email)
        return IdentityUser(
            user_id=attributes.get("sub", user["Username"]),
            groups=tuple(g["GroupName"] for g in groups.get("Groups", [])),
        )

    def delete_user(self, email: str) -> None:
        try:
            self.client.admin_delete_user(UserPoolId=self.user_pool_id, Username=email)
        except ClientError as error:
            if _code(error) != "UserNotFoundException":
                raise

    def authenticate(self, email: str, password: str) -> Tokens:
        try:
            response = self.client.initiate_auth(
                AuthFlow="USER_PASSWORD_AUTH",
                ClientId=self.client_id,
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        except ClientError as error:
            code = _code(error)
            if code == "NotAuthorizedException" and _LOCKED_OUT in str(error):
                raise TooManyAttempts() from None  # Cognito's lockout after repeated failures
            if code in _LOGIN_FAILURES:
                raise InvalidCredentials() from None
            if code in _THROTTLED:
                raise TooManyRequests() from None
            raise
        result = response.get("AuthenticationResult")
        if not result:
            # A challenge (e.g. NEW_PASSWORD_REQUIRED) is not something this API can complete.
            raise InvalidCredentials()
        return _tokens(result, refresh_token=result.get("RefreshToken", ""))

    def refresh(self, refresh_token: str) -> Tokens:
        try:
            response = self.client.initiate_auth(
                AuthFlow="REFRESH_TOKEN_AUTH",
                ClientId=self.client_id,
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )
        except ClientError as error:
            code = _code(error)
            if code in _THROTTLED:
                raise TooManyRequests() from None
            if code in _REFRESH_FAILURES:
                raise InvalidRefreshToken() from None
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code in _UNAVAILABLE or status >= 500:
                raise IdentityUnavailable() from None
            raise
        except BotoCoreError:  # connection refused or timed out after botocore's retries
            raise IdentityUnavailable() from None
        result = response.get("AuthenticationResult")
        if not result:
            raise InvalidRefreshToken()
        # Without refresh-token rotation Cognito returns no new refresh token: the caller keeps its own.
        return _tokens(result, refresh_token=result.get("RefreshToken") or refresh_token)


def _tokens(result: dict[str, Any], *, refresh_token: str) -> Tokens:
    return Tokens(
        access_token=result["AccessToken"],
        id_token=result["IdToken"],
        refresh_token=refresh_token,
        expires_in=int(result.get("ExpiresIn", 3600)),
    )
