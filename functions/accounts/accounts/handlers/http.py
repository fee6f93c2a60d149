"""HTTP API of the accounts service (API Gateway HTTP API v2.0 and ALB, one router).

Each route: parse the pydantic model (Powertools validation) -> one call into ``accounts.logic`` ->
return a response model. Handler string: ``accounts.handlers.http.lambda_handler``.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit
from reelstack_common.auth import current_user, require_active
from reelstack_common.http import Router, build_handler, errors, public

from accounts.handlers.observability import SERVICE, logger, metrics, tracer
from accounts.logic import accounts, billing, profiles
from accounts.models.input import (
    ChangeSubscriptionRequest,
    ConfirmSignUpRequest,
    CreateAccountRequest,
    CreateProfileRequest,
    LoginRequest,
    RefreshRequest,
    UpdateProfileRequest,
)
from accounts.models.output import (
    AccountCreated,
    InvoiceList,
    InvoiceOut,
    MeOut,
    PlanList,
    ProfileList,
    ProfileOut,
    SignUpAccepted,
    SubscriptionOut,
    TokensOut,
)
from accounts.wiring import dependencies

router = Router()

ProfileId = Annotated[str, Path(min_length=1, max_length=64)]


def _user_id() -> str:
    return current_user(router).user_id


def _active_user_id() -> str:
    """For billing changes: the caller's Cognito user must still be enabled (a cached look-up)."""
    return require_active(router).user_id


# --- accounts ---------------------------------------------------------------------------------


@router.post(
    "/accounts",
    summary="Start a sign-up: a verification code is emailed (same answer whether or not the email is known)",
    responses={202: {"description": "Accepted: confirm with POST /accounts/confirm"}, **errors(429, 503)},
    openapi_extensions=public("sign-up: the caller has no account yet"),
)
def create_account(body: Annotated[CreateAccountRequest, Body()]) -> Response[SignUpAccepted]:
    accounts.request_sign_up(body, dependencies().repo, dependencies().identity)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=SignUpAccepted())


@router.post(
    "/accounts/confirm",
    summary="Finish a sign-up with the emailed verification code",
    responses={201: {"description": "Created"}, **errors(409, 429, 503)},
    openapi_extensions=public("sign-up confirmation: the caller has no account yet"),
)
def confirm_account(body: Annotated[ConfirmSignUpRequest, Body()]) -> Response[AccountCreated]:
    user_id = accounts.confirm_sign_up(body, dependencies().repo, dependencies().identity)
    metrics.add_metric(name="AccountsCreated", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=AccountCreated(user_id=user_id),
    )


@router.post(
    "/accounts/login",
    summary="Exchange email and password for Cognito tokens",
    responses=errors(401, 429, 503),
    openapi_extensions=public("login: exchanges credentials for tokens"),
)
def login(body: Annotated[LoginRequest, Body()]) -> TokensOut:
    return TokensOut.of(accounts.log_in(body, dependencies().identity))


@router.post(
    "/accounts/refresh",
    summary="Exchange a refresh token for new access and id tokens (the refresh token is returned unchanged)",
    responses=errors(401, 429, 503),
    openapi_extensions=public("token refresh: the access token it replaces may have expired"),
)
def refresh(body: Annotated[RefreshRequest, Body()]) -> TokensOut:
    return TokensOut.of(accounts.refresh_session(body, dependencies().identity))


@router.get("/accounts/me", summary="The caller's account and profiles", responses=errors(404))
def get_me() -> MeOut:
    account, account_profiles = accounts.me(_user_id(), dependencies().repo)
    return MeOut(
        user_id=account.user_id,
        email=account.email,
        plan=account.plan,
        subscription_status=str(account.subscription_status),
        cancel_at_period_end=account.cancel_at_period_end,
        profiles=[ProfileOut.of(p) for p in account_profiles],
    )


# --- profiles ---------------------------------------------------------------------------------


@router.get("/profiles", summary="List the caller's profiles")
def list_profiles() -> ProfileList:
    return ProfileList(
        profiles=[ProfileOut.of(p) for p in profiles.list_profiles(_user_id(), dependencies().repo)]
    )


@router.post(
    "/profiles",
    summary="Create a profile (capped by plan)",
    responses={201: {"description": "Created"}, **errors(404, 409)},
)
def create_profile(body: Annotated[CreateProfileRequest, Body()]) -> Response[ProfileOut]:
    profile = profiles.create_profile(_user_id(), body, dependencies().repo)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=ProfileOut.of(profile))


@router.get("/profiles/<profile_id>", summary="Get one of the caller's profiles", responses=errors(404))
def get_profile(profile_id: ProfileId) -> ProfileOut:
    return ProfileOut.of(profiles.get_profile(_user_id(), profile_id, dependencies().repo))


@router.patch("/profiles/<profile_id>", summary="Update one of the caller's profiles", responses=errors(404, 409))
def update_profile(profile_id: ProfileId, body: Annotated[UpdateProfileRequest, Body()]) -> ProfileOut:
    return ProfileOut.of(profiles.update_profile(_user_id(), profile_id, body, dependencies().repo))


@router.delete(
    "/profiles/<profile_id>",
    summary="Delete one of the caller's profiles",
    responses={204: {"description": "Deleted"}, **errors(404, 409)},
)
def delete_profile(profile_id: ProfileId) -> Response[None]:
    profiles.delete_profile(_user_id(), profile_id, dependencies().repo)
    return Response(status_code=204, content_type=None, body=None)


# --- billing ----------------------------------------------------------------------------------


@router.get(
    "/billing/plans",
    summary="Plans and prices (public)",
    openapi_extensions=public("public plan catalogue shown before sign-up"),
)
def list_plans() -> PlanList:
    return PlanList(plans=billing.list_plans())


@router.get("/billing/subscription", summary="The caller's subscription", responses=errors(404))
def get_subscription() -> SubscriptionOut:
    return SubscriptionOut.of(billing.get_subscription(_user_id(), dependencies().repo))


@router.put("/billing/subscription", summary="Change plan and/or payment method", responses=errors(404, 409, 503))
def change_subscription(body: Annotated[ChangeSubscriptionRequest, Body()]) -> SubscriptionOut:
    return SubscriptionOut.of(billing.change_subscription(_active_user_id(), body, dependencies().repo))


@router.delete(
    "/billing/subscription", summary="Cancel at the end of the billing period", responses=errors(404, 409, 503)
)
def cancel_subscription() -> SubscriptionOut:
    return SubscriptionOut.of(billing.cancel_subscription(_active_user_id(), dependencies().repo))


@router.get("/billing/invoices", summary="The caller's invoices, newest first", responses=errors(404))
def list_invoices() -> InvoiceList:
    return InvoiceList(
        invoices=[InvoiceOut.of(i) for i in billing.list_invoices(_user_id(), dependencies().repo)]
    )


lambda_handler = build_handler(router, service=SERVICE, logger=logger, tracer=tracer, metrics=metrics)
