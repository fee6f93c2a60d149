"""HTTP API of the search service (API Gateway HTTP API v2.0 and ALB, one router).

Each route: parse and validate (unknown parameters refused) -> the caller's profile level -> one
call into ``search.logic.searching`` -> respond. Handler string: ``search.handlers.http.lambda_handler``.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from reelstack_common.auth import current_user
from reelstack_common.http import Router, build_handler, errors

from search.dal.viewers import max_level
from search.handlers.observability import SERVICE, logger, metrics, tracer
from search.logic import requests, searching
from search.models.output import SearchPage, SuggestionList
from search.models.query import SEARCH_PARAMS, SUGGEST_PARAMS
from search.wiring import engine

router = Router()

ProfileParam = Annotated[str, Query(min_length=1, max_length=128, description="the caller's profile")]
# Length is checked after whitespace is collapsed (logic.requests.query_text); this bound only
# keeps absurd inputs out of the parser.
QueryText = Annotated[str | None, Query(max_length=4096, description="1-200 characters")]


def _check_params(allowed: frozenset[str]) -> None:
    requests.check_known((router.current_event.query_string_parameters or {}).keys(), allowed)


@router.get(
    "/search",
    summary="Search the catalog as one of the caller's profiles: typo-tolerant, ranked, with facets",
    responses=errors(404, 503),
)
def search(
    profile_id: ProfileParam,
    q: QueryText = None,
    genre: Annotated[str | None, Query(max_length=200)] = None,
    language: Annotated[str | None, Query(max_length=35)] = None,
    year_from: Annotated[int | None, Query()] = None,
    year_to: Annotated[int | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=20, description="movie | series | episode")] = None,
    limit: Annotated[int | None, Query(description="1-50, default 20")] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> SearchPage:
    _check_params(SEARCH_PARAMS)
    request, bound_to = requests.search_request(
        profile_id=profile_id, q=q, limit=limit, cursor=cursor,
        genre=genre, language=language, year_from=year_from, year_to=year_to, kind=kind,
    )  # fmt: skip
    level = max_level(current_user(router).user_id, profile_id)
    return searching.search(request, max_level=level, bound_to=bound_to, engine=engine())


@router.get(
    "/search/suggest",
    summary="Typeahead: up to 10 titles completing the text (prefix and infix)",
    responses=errors(404, 503),
)
def suggest(profile_id: ProfileParam, q: QueryText = None) -> SuggestionList:
    _check_params(SUGGEST_PARAMS)
    text = requests.query_text(q)
    level = max_level(current_user(router).user_id, profile_id)
    return searching.suggest(text, max_level=level, engine=engine())


lambda_handler = build_handler(router, service=SERVICE, logger=logger, tracer=tracer, metrics=metrics)
