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
``ApiError`` subclasses                 *    the error's own code
no route                               404   NOT_FOUND
malformed JSON / base64 / UTF-8        400   BAD_REQUEST
pydantic validation of path/query/body 400   VALIDATION_ERROR
non-JSON content type                  415   UNSUPPORTED_MEDIA_TYPE
body over ``max_body_bytes``           413   PAYLOAD_TOO_LARGE
anything else                          500   INTERNAL (logged, generic message)
=====================================  ====  ======================

Validation messages name the field and the rule, never the submitted value (it may be a password).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable, Sequence
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

from reelstack_common.errors import ApiError, error_body

DEFAULT_MAX_BODY_BYTES = 64 * 1024

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "Router",
    "build_handler",
    "error_response",
    "event_kind",
    "format_validation_errors",
    "json_response",
]


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
    strip_prefixes: list[str] | None = None,
) -> LambdaHandler:
    """The Lambda entry point serving ``router`` to HTTP API v2.0 and ALB events.

    Logger (correlation id = the API request id, or the ALB trace id), Tracer (responses are not
    captured: they carry tokens) and Metrics (flushed once per invocation) wrap the call.
    """
    logger = logger or Logger(service=service)
    tracer = tracer or Tracer(service=service)
    metrics = metrics or Metrics(
        service=service, namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Reelstack"
    )

    resolvers: dict[str, ApiGatewayResolver] = {
        "http_api": APIGatewayHttpResolver(enable_validation=True, strip_prefixes=strip_prefixes),  # type: ignore[arg-type]
        "alb": ALBResolver(enable_validation=True, strip_prefixes=strip_prefixes),  # type: ignore[arg-type]
    }
    for resolver in resolvers.values():
        resolver.include_router(router)
        _install_error_handlers(resolver, logger)

    @logger.inject_lambda_context(clear_state=True, log_event=False)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        kind = event_kind(event)
        request_context = event.get("requestContext") or {}
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        logger.set_correlation_id(request_context.get("requestId") or headers.get("x-amzn-trace-id"))
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
