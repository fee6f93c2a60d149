"""One Lambda handler for API Gateway HTTP API (payload v2.0) and ALB events, around one ``Router``.

Usage (``functions/<service>/<service>/handlers/http.py``)::

    router = Router()

    @router.post("/things")
    def create(body: CreateThing) -> ThingOut: ...

    lambda_handler = build_handler(router, service="things")

The event shape picks the resolver (``requestContext.elb`` → ``ALBResolver``, else
``APIGatewayHttpResolver``); both include the same router and the same error handlers, so every
error -- ours, Powertools' or pydantic's -- leaves as ``{"error": {"code", "message"}}``:

=====================================  ====  ======================
cause                                  HTTP  code
=====================================  ====  ======================
no valid token on a private route      401   UNAUTHORIZED
``ApiError`` subclasses                 *    the error's own code
no route                               404   NOT_FOUND
malformed JSON / base64 / UTF-8        400   BAD_REQUEST
pydantic validation of path/query/body 400   VALIDATION_ERROR
non-JSON content type                  415   UNSUPPORTED_MEDIA_TYPE
body over ``max_body_bytes``           413   PAYLOAD_TOO_LARGE
anything else                          500   INTERNAL (logged, generic message)
=====================================  ====  ======================

Validation messages name the field and the rule, never the submitted value (it may be a password).

Routes are private (bearer JWT) unless declared public, with the reason, in the route decorator::

    @router.get("/plans", openapi_extensions=public("the plan catalogue is shown before sign-up"))

That decorator is the one declaration of a route: infra builds the HTTP API routes (JWT authorizer
or none) from ``declared_routes`` and the published OpenAPI document is generated from the same
router. A private route authenticates before anything reads the body, on both edges (API Gateway's
authorizer does so before the function runs; for ALB events the handler does it), so a caller
without a valid token learns nothing about the request shape.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import (
    ALBResolver,
    APIGatewayHttpResolver,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from reelstack_common.auth import event_principal
from reelstack_common.errors import ApiError, error_body

DEFAULT_MAX_BODY_BYTES = 64 * 1024
# The CloudWatch namespace of every service's metrics (POWERTOOLS_METRICS_NAMESPACE overrides it,
# e.g. in tests); the one place it is written.
METRICS_NAMESPACE = "Reelstack"
# The OpenAPI extension that marks a route public; its value says why it needs no token.
PUBLIC_REASON = "x-public-reason"

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "METRICS_NAMESPACE",
    "PUBLIC_REASON",
    "DeclaredRoute",
    "Router",
    "build_handler",
    "declared_routes",
    "error_response",
    "errors",
    "event_kind",
    "format_validation_errors",
    "json_response",
    "public",
    "service_metrics",
]


def public(reason: str) -> dict[str, str]:
    """``openapi_extensions`` of a route served without a token; ``reason`` says why (required)."""
    if not reason.strip():
        raise ValueError("a public route must say why it needs no token")
    return {PUBLIC_REASON: reason}


def errors(*statuses: int) -> dict[int, OpenAPIResponse]:
    """``responses`` entries for the error statuses a route's own rules answer (403, 404, 409, ...).

    The published contract (``infra.openapi``) gives each the error schema and adds what every
    route shares: 400 when it takes parameters or a body, 401 when private, 413/415 with a body.
    """
    return {status: {"description": HTTPStatus(status).phrase} for status in statuses}


def service_metrics(service: str) -> Metrics:
    """Powertools Metrics of ``service`` in the house namespace."""
    return Metrics(service=service, namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or METRICS_NAMESPACE)


@dataclass(frozen=True)
class DeclaredRoute:
    """A route as its decorator declares it; ``path`` in OpenAPI / API Gateway syntax (``{id}``)."""

    method: str
    path: str
    public_reason: str | None = None

    @property
    def private(self) -> bool:
        return self.public_reason is None

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def pattern(self) -> re.Pattern[str]:
        """Matches request paths as API Gateway matches route keys (a ``{param}`` is one segment)."""
        parts = re.split(r"(\{[^/{}]+\})", self.path)
        return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p) + "$")


def declared_routes(router: Router) -> list[DeclaredRoute]:
    """Every route of ``router``, static paths before parameterised ones (Powertools' match order)."""
    # Powertools keeps the parsed routes on the resolver that includes the router; a throwaway one
    # reads them without touching the resolvers that serve requests.
    resolver = APIGatewayHttpResolver()
    previous = router.api_resolver if hasattr(router, "api_resolver") else None
    resolver.include_router(router)
    if previous is not None:
        router.api_resolver = previous
    routes = []
    for route in resolver._static_routes + resolver._dynamic_routes:
        reason = (route.openapi_extensions or {}).get(PUBLIC_REASON)
        if reason is not None and not str(reason).strip():
            raise ValueError(f"public route {route.method} {route.path} needs a reason")
        routes.append(DeclaredRoute(route.method.upper(), route.openapi_path, str(reason) if reason else None))
    return routes


def event_kind(event: dict[str, Any]) -> str:
    """``"alb"`` or ``"http_api"``; anything else is a wiring mistake (ValueError)."""
    request_context = event.get("requestContext") or {}
    if "elb" in request_context:
        return "alb"
    if event.get("version") == "2.0" or "http" in request_context:
        return "http_api"
    raise ValueError("Unsupported event: expected an API Gateway HTTP API v2.0 or ALB event")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, separators=(",", ":")),
        headers=headers,
    )


def error_response(status: int, code: str, message: str) -> Response:
    return json_response(status, error_body(code, message))


_SAFE_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}|\d{1,6}")


def _field_name(loc: Sequence[Any]) -> str:
    # Locations can be keys the client sent (an unexpected field): only echo ones that look like
    # field names, so a message can never carry submitted data (e.g. a password pasted as a key).
    parts = [str(p) if _SAFE_FIELD.fullmatch(str(p)) else "<unexpected field>" for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _check_json(event: dict[str, Any]) -> str | None:
    """Hostile JSON that would otherwise surface as a 500 deep inside the stack: nesting beyond
    Python's recursion limit, and lone surrogates ("\\ud800"), which parse but are not text any
    store accepts. Malformed JSON is left to the resolver (400 BAD_REQUEST there)."""
    body = event.get("body")
    if not body:
        return None
    text = base64.b64decode(body).decode("utf-8") if event.get("isBase64Encoded") else body
    try:
        parsed = json.loads(text)
    except RecursionError:
        return "Request body is nested too deeply"
    except ValueError:
        return None
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "Request body contains text that is not valid Unicode"
    except RecursionError:
        return "Request body is nested too deeply"
    return None


def _as_json_request(event: dict[str, Any]) -> dict[str, Any] | None:
    """Every Reelstack API takes JSON. A JSON body sent without a content type, or as curl's
    default form type (`curl -d '{...}'`), is treated as JSON; any other form body is refused
    (None) rather than parsed into fields that would echo the body back in errors."""
    single = event.get("headers") or {}
    multi = event.get("multiValueHeaders") or {}
    ctype = next((str(v) for k, v in single.items() if k.lower() == "content-type"), "") or next(
        (str(v[0]) for k, v in multi.items() if k.lower() == "content-type" and v), ""
    )
    ctype = ctype.lower()
    if not event.get("body") or ctype.startswith("application/json") or (ctype and "form" not in ctype):
        return event
    body = event["body"]
    try:
        json.loads(base64.b64decode(body).decode("utf-8") if event.get("isBase64Encoded") else body)
    except ValueError:
        return None if ctype else event  # no content type: the JSON parser says what is wrong
    fixed = dict(event)
    if "headers" in event:
        fixed["headers"] = {k: v for k, v in single.items() if k.lower() != "content-type"}
        fixed["headers"]["content-type"] = content_types.APPLICATION_JSON
    if "multiValueHeaders" in event:
        fixed["multiValueHeaders"] = {k: v for k, v in multi.items() if k.lower() != "content-type"}
        fixed["multiValueHeaders"]["content-type"] = [content_types.APPLICATION_JSON]
    return fixed


def format_validation_errors(errors: Sequence[Any]) -> str:
    """A readable summary such as ``"email: value is not a valid email; plan: Field required"``.

    Only ``loc`` and ``msg`` are used: pydantic's ``input`` would echo submitted values.
    """
    messages = []
    for error in list(errors)[:10]:
        loc = tuple(error.get("loc") or ())
        msg = str(error.get("msg") or "invalid value").removeprefix("Value error, ")
        if loc == ("body",) and error.get("type") == "missing":
            messages.append("request body is required")
        else:
            messages.append(f"{_field_name(loc)}: {msg}")
    return "; ".join(messages) or "Invalid request"


def _edge_response(kind: str, event: dict[str, Any], status: int, code: str, message: str) -> dict[str, Any]:
    """A response built before any resolver runs (body checks), in the event source's own shape."""
    body = json.dumps(error_body(code, message), separators=(",", ":"))
    response: dict[str, Any] = {"statusCode": status, "body": body, "isBase64Encoded": False}
    if kind == "alb":
        response["statusDescription"] = f"{status} {HTTPStatus(status).phrase}"
        if "multiValueHeaders" in event:
            response["multiValueHeaders"] = {"Content-Type": [content_types.APPLICATION_JSON]}
            return response
    response["headers"] = {"Content-Type": content_types.APPLICATION_JSON}
    return response


def _check_body(event: dict[str, Any], max_body_bytes: int) -> tuple[int, str, str] | None:
    """Reject oversized or undecodable bodies before any parsing (cheap, and no 500s)."""
    body = event.get("body")
    if not body:
        return None
    if not isinstance(body, str):
        return 400, "BAD_REQUEST", "Request body must be text"
    if event.get("isBase64Encoded"):
        # Base64 is 4/3 of the payload: refuse before decoding a huge string.
        if len(body) > (max_body_bytes * 4) // 3 + 4:
            return 413, "PAYLOAD_TOO_LARGE", f"Request body exceeds {max_body_bytes} bytes"
        try:
            raw = base64.b64decode(body, validate=True)
            raw.decode("utf-8")
        except (binascii.Error, ValueError):
            return 400, "BAD_REQUEST", "Request body is not valid base64-encoded UTF-8"
        size = len(raw)
    else:
        size = len(body) if len(body) > max_body_bytes else len(body.encode("utf-8"))
    if size > max_body_bytes:
        return 413, "PAYLOAD_TOO_LARGE", f"Request body exceeds {max_body_bytes} bytes"
    return None


def _private_route_matcher(routes: Sequence[DeclaredRoute]) -> Callable[[dict[str, Any]], bool]:
    """Whether an event asks for a private route (first match wins, as in the resolver)."""
    table = [(route.method, route.pattern, route.private) for route in routes]

    def is_private(event: dict[str, Any]) -> bool:
        http = (event.get("requestContext") or {}).get("http") or {}
        method = str(event.get("httpMethod") or http.get("method") or "").upper()
        path = str(event.get("path") or event.get("rawPath") or http.get("path") or "")
        for route_method, pattern, private in table:
            if route_method == method and pattern.match(path):
                return private
        return False  # no such route: the resolver answers 404

    return is_private


def _install_error_handlers(app: ApiGatewayResolver, logger: Logger) -> None:
    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        log = logger.warning if exc.status >= 500 else logger.info
        log("request failed", extra={"status": exc.status, "error_code": exc.code})
        return error_response(exc.status, exc.code, exc.message)

    @app.not_found
    def _not_found(_exc: NotFoundError) -> Response:
        return error_response(404, "NOT_FOUND", "No such resource")

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(_exc: RequestUnsupportedContentType) -> Response:
        return error_response(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json")

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "BAD_REQUEST", "Request body is not valid JSON")
        message = format_validation_errors(errors)
        logger.info("validation failed", extra={"error_code": "VALIDATION_ERROR", "detail": message})
        return error_response(400, "VALIDATION_ERROR", message)

    @app.exception_handler(ResponseValidationError)
    def _bad_response(exc: ResponseValidationError) -> Response:
        logger.error("response failed validation", extra={"detail": format_validation_errors(exc.errors())})
        return error_response(500, "INTERNAL", "Internal server error")

    @app.exception_handler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        status = int(exc.status_code)
        code = HTTPStatus(status).name if status in HTTPStatus._value2member_map_ else "ERROR"
        return error_response(status, code, str(exc.msg))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(500, "INTERNAL", "Internal server error")


def build_handler(
    router: Router,
    *,
    service: str | None = None,
    logger: Logger | None = None,
    tracer: Tracer | None = None,
    metrics: Metrics | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> LambdaHandler:
    """The Lambda entry point serving ``router`` to HTTP API v2.0 and ALB events.

    Logger (correlation id = the API request id, or the ALB trace id), Tracer (responses are not
    captured: they carry tokens) and Metrics (flushed once per invocation) wrap the call.
    """
    logger = logger or Logger(service=service)
    tracer = tracer or Tracer(service=service)
    metrics = metrics or service_metrics(service or "")

    resolvers: dict[str, ApiGatewayResolver] = {
        "http_api": APIGatewayHttpResolver(enable_validation=True),
        "alb": ALBResolver(enable_validation=True),
    }
    for resolver in resolvers.values():
        resolver.include_router(router)
        _install_error_handlers(resolver, logger)
    private_routes = _private_route_matcher(declared_routes(router))

    @logger.inject_lambda_context(clear_state=True, log_event=False)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        kind = event_kind(event)
        request_context = event.get("requestContext") or {}
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        logger.set_correlation_id(request_context.get("requestId") or headers.get("x-amzn-trace-id"))
        if private_routes(event):
            try:
                event_principal(event)
            except ApiError as exc:
                logger.info("request rejected at the edge", extra={"status": exc.status, "error_code": exc.code})
                return _edge_response(kind, event, exc.status, exc.code, exc.message)
        problem = _check_body(event, max_body_bytes)
        if problem is not None:
            status, code, message = problem
            logger.info("request rejected at the edge", extra={"status": status, "error_code": code})
            return _edge_response(kind, event, status, code, message)
        json_event = _as_json_request(event)
        if json_event is None:
            return _edge_response(kind, event, 415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json")
        event = json_event
        json_problem = _check_json(event)
        if json_problem is not None:
            logger.info("request rejected at the edge", extra={"status": 400, "error_code": "BAD_REQUEST"})
            return _edge_response(kind, event, 400, "BAD_REQUEST", json_problem)
        resolver = resolvers[kind]
        # The router forwards state to the resolver that included it last; point it at this one.
        router.api_resolver = resolver
        return resolver.resolve(event, context)

    lambda_handler.resolvers = resolvers  # type: ignore[attr-defined]
    return lambda_handler
