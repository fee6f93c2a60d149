"""HTTP API of the recommendations service (API Gateway HTTP API v2.0 and ALB, one router).

Each route: parse the pydantic model (Powertools validation) -> one call into ``recommendations.logic``
-> return a response model. Handler string: ``recommendations.handlers.http.lambda_handler``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from reelstack_common.auth import current_user, require_group
from reelstack_common.http import Router, build_handler, errors
from reelstack_common.viewer import load_viewer

from recommendations.handlers.observability import SERVICE, logger, metrics, tracer
from recommendations.logic import campaigns, home, ratings
from recommendations.logic.ports import CampaignRecord
from recommendations.logic.viewers import first_read, viewer_for
from recommendations.models.input import CampaignRequest, RatingRequest
from recommendations.models.output import CampaignList, CampaignOut, HomeOut, RatingOut
from recommendations.wiring import dependencies

router = Router()

ProfileId = Annotated[str, Path(min_length=1, max_length=64)]
TitleId = Annotated[str, Path(min_length=1, max_length=64)]
CampaignId = Annotated[str, Path(min_length=1, max_length=64)]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _campaign_out(c: CampaignRecord) -> CampaignOut:
    return CampaignOut.model_validate(
        {**c.__dict__, "title_ids": list(c.title_ids), "languages": list(c.languages), "audiences": list(c.audiences)}
    )


# --- home -------------------------------------------------------------------------------------


def _write_back_failed(exc: Exception) -> None:
    # the document's write-back (a live page) or the history head's seed: the next page does the work again
    logger.warning("home write-back failed", extra={"error": f"{type(exc).__name__}: {exc}"})


@router.get("/home", summary="The profile's home page rows, in display order", responses=errors(404, 503))
def get_home(profile_id: Annotated[str, Query(min_length=1, max_length=64)]) -> HomeOut:
    user_id = current_user(router).user_id
    deps = dependencies()
    page = home.page_for(
        lambda: first_read(user_id, profile_id, load_viewer, reads=deps.page_reads, cache=deps.viewers),
        profile_id,
        deps.home,
        on_write_error=_write_back_failed,
    )
    if page.fallback:
        metrics.add_metric(name="HomeFallback", unit=MetricUnit.Count, value=1)
        logger.warning("home fallback served", extra={"reason": page.fallback_reason, "profile_id": profile_id})
    elif page.source == "live":
        metrics.add_metric(name="HomeLiveCompute", unit=MetricUnit.Count, value=1)
    return HomeOut.model_validate(page.body())


# --- ratings ----------------------------------------------------------------------------------


@router.put(
    "/profiles/<profile_id>/ratings/<title_id>",
    summary="Rate a title for a profile: thumb up, down or love",
    responses=errors(404, 503),
)
def put_rating(profile_id: ProfileId, title_id: TitleId, body: Annotated[RatingRequest, Body()]) -> RatingOut:
    deps = dependencies()
    viewer = viewer_for(current_user(router).user_id, profile_id, load_viewer)
    r = ratings.rate(
        viewer.profile_id,
        viewer.level,
        title_id,
        body.thumb,
        titles=deps.catalog,
        ratings=deps.ratings,
        home=deps.home.home,
        clock=deps.home.clock,
    )
    return RatingOut(profile_id=r.profile_id, title_id=r.title_id, thumb=body.thumb, rated_at=r.rated_at)


@router.delete(
    "/profiles/<profile_id>/ratings/<title_id>",
    summary="Remove a profile's rating of a title (idempotent)",
    responses={204: {"description": "Deleted"}, **errors(404, 503)},
)
def delete_rating(profile_id: ProfileId, title_id: TitleId) -> Response[None]:
    deps = dependencies()
    viewer = viewer_for(current_user(router).user_id, profile_id, load_viewer)
    ratings.unrate(viewer.profile_id, title_id, ratings=deps.ratings, home=deps.home.home, clock=deps.home.clock)
    return Response(status_code=204, content_type=None, body=None)


# --- campaigns (admins) -----------------------------------------------------------------------


@router.post(
    "/campaigns",
    summary="Create a sponsored campaign (admins)",
    responses={201: {"description": "Created"}, **errors(403)},
)
def create_campaign(body: Annotated[CampaignRequest, Body()]) -> Response[CampaignOut]:
    require_group(router)
    deps = dependencies()
    c = campaigns.create(body, store=deps.campaigns, titles=deps.catalog, clock=_utcnow)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=_campaign_out(c))


@router.get("/campaigns", summary="Every sponsored campaign (admins)", responses=errors(403))
def list_campaigns() -> CampaignList:
    require_group(router)
    return CampaignList(campaigns=[_campaign_out(c) for c in campaigns.list_all(store=dependencies().campaigns)])


@router.get("/campaigns/<campaign_id>", summary="One sponsored campaign (admins)", responses=errors(403, 404))
def get_campaign(campaign_id: CampaignId) -> CampaignOut:
    require_group(router)
    return _campaign_out(campaigns.get(campaign_id, store=dependencies().campaigns))


@router.put("/campaigns/<campaign_id>", summary="Replace a sponsored campaign (admins)", responses=errors(403, 404))
def replace_campaign(campaign_id: CampaignId, body: Annotated[CampaignRequest, Body()]) -> CampaignOut:
    require_group(router)
    deps = dependencies()
    return _campaign_out(campaigns.replace(campaign_id, body, store=deps.campaigns, titles=deps.catalog, clock=_utcnow))


@router.delete(
    "/campaigns/<campaign_id>",
    summary="Delete a sponsored campaign (admins)",
    responses={204: {"description": "Deleted"}, **errors(403, 404)},
)
def delete_campaign(campaign_id: CampaignId) -> Response[None]:
    require_group(router)
    campaigns.delete(campaign_id, store=dependencies().campaigns)
    return Response(status_code=204, content_type=None, body=None)


lambda_handler = build_handler(router, service=SERVICE, logger=logger, tracer=tracer, metrics=metrics)
