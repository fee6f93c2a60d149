"""The published contract of the HTTP API: ONE OpenAPI 3 document for every service, generated from
the services' Powertools routers (the same declarations infra builds the routes from).

    python -m infra.openapi           # (re)write docs/openapi.json   (make openapi)
    python -m infra.openapi --check   # exit 1 when docs/openapi.json is stale

Powertools documents each router's paths, parameters, request and response models. On top of that
this module states what the edges add, so the document lists the statuses the API really answers:

* security: the bearer JWT (``bearerAuth``) on private routes, none (``security: []``) on public
  ones, which keep their ``x-public-reason``;
* every error response carries the ``Error`` schema (``{"error": {"code", "message"}}``); a private
  route's 401 may also be API Gateway's own ``{"message": "Unauthorized"}`` (``GatewayMessage``);
* 400 on routes that take parameters or a body (VALIDATION_ERROR, or BAD_REQUEST for malformed
  JSON), in place of Powertools' 422; 401 on private routes; 413 and 415 on routes with a body;
* the statuses a route declares in its decorator (``responses={201: ...}``,
  ``reelstack_common.http.errors(403, 404, 409)``); a declared 2xx replaces Powertools' default
  200 and takes its schema; 204 has no body.

The output is deterministic (sorted keys, two-space indent, trailing newline) so a stale file shows
up as a diff; tests/infra/test_openapi_contract.py fails when it is stale.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.routers import HTTP_SERVICES, REPO_ROOT, HttpService

OPENAPI_PATH = REPO_ROOT / "docs" / "openapi.json"
TITLE = "Reelstack HTTP API"
VERSION = "1"
BEARER = "bearerAuth"
ERROR_SCHEMA = "Error"
GATEWAY_SCHEMA = "GatewayMessage"
_ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
# A 401 comes from the function (ALB edge: {"error": ...}) or from API Gateway's authorizer.
_UNAUTHORIZED_SCHEMA = {"anyOf": [_ERROR_REF, {"$ref": f"#/components/schemas/{GATEWAY_SCHEMA}"}]}
# Powertools' own error models: the Error schema replaces them.
_POWERTOOLS_VALIDATION = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_EDGE_ERRORS = {
    400: "VALIDATION_ERROR (a parameter or the body breaks the model) or BAD_REQUEST (malformed JSON)",
    401: "UNAUTHORIZED: no valid bearer token (from API Gateway's authorizer the body is "
    '{"message": "Unauthorized"})',
    413: "PAYLOAD_TOO_LARGE: the body exceeds the limit",
    415: "UNSUPPORTED_MEDIA_TYPE: the body is not JSON",
}


def error_schema() -> dict[str, Any]:
    """``{"error": {"code", "message"}}``, the shape of every 4xx/5xx (reelstack_common.errors)."""
    return {
        "type": "object",
        "title": ERROR_SCHEMA,
        "required": ["error"],
        # Open at the top: the local HTTP API's own 401 also carries API Gateway's "message".
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "description": "Stable UPPER_SNAKE code, e.g. NOT_FOUND"},
                    "message": {"type": "string", "description": "Human-readable; never echoes input"},
                },
            }
        },
    }


def gateway_message_schema() -> dict[str, Any]:
    """What API Gateway answers itself, before any function runs (its JWT authorizer's 401)."""
    return {
        "type": "object",
        "title": GATEWAY_SCHEMA,
        "required": ["message"],
        "properties": {"message": {"type": "string", "description": "e.g. Unauthorized"}},
    }


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def _operation(operation: dict[str, Any], *, service: str, private: bool) -> dict[str, Any]:
    op = copy.deepcopy(operation)
    op["tags"] = [service]
    op["security"] = [{BEARER: []}] if private else []
    responses: dict[str, Any] = op.get("responses", {})
    responses.pop("422", None)  # Powertools' validation status; ours is 400 (below)

    # Success. A route that declares ``responses`` gets no default 200 from Powertools, but every
    # declared response without content gets the handler's return schema: a route that declared
    # only errors answers 200 with that schema. 204 has no body.
    if not any(code.startswith("2") for code in responses):
        returned = next((r["content"] for r in responses.values() if "content" in r), None)
        responses["200"] = {"description": "Successful Response", **({"content": returned} if returned else {})}
    responses.get("204", {}).pop("content", None)

    has_body = "requestBody" in op
    shared = {400} if (has_body or op.get("parameters")) else set()
    shared |= {401} if private else set()
    shared |= {413, 415} if has_body else set()
    for status in sorted(shared):
        code = str(status)
        described = responses.get(code, {}).get("description")
        responses[code] = _error_response(
            _EDGE_ERRORS[status] if not described or described == _default_phrase(status) else described
        )
    for code, response in list(responses.items()):
        if int(code) >= 400:
            schema = _UNAUTHORIZED_SCHEMA if code == "401" and private else _ERROR_REF
            response["content"] = {"application/json": {"schema": schema}}
    op["responses"] = responses
    return op


def _default_phrase(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase


def build_document(services: Sequence[HttpService] = HTTP_SERVICES) -> dict[str, Any]:
    """The whole API's document from each service's router."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {ERROR_SCHEMA: error_schema(), GATEWAY_SCHEMA: gateway_message_schema()}
    for service in services:
        private = {(r.method.lower(), r.path): r.auth for r in service.routes}
        openapi = service.openapi
        for name, schema in openapi.get("components", {}).get("schemas", {}).items():
            if name in _POWERTOOLS_VALIDATION:
                continue
            if name in schemas and schemas[name] != schema:
                raise ValueError(f"two services define different schemas named {name!r}: rename one")
            schemas[name] = schema
        for path, item in openapi.get("paths", {}).items():
            for method, operation in item.items():
                if method not in _METHODS:
                    continue
                if method in paths.get(path, {}):
                    raise ValueError(f"{method.upper()} {path} is declared by two services")
                paths.setdefault(path, {})[method] = _operation(
                    operation, service=service.name, private=private[(method, path)]
                )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": (
                "Every Reelstack service behind the HTTP API (API Gateway, JWT authorizer) and the ALB "
                "(tokens verified in the function); both edges serve the same routes. Generated from "
                "the services' routers by `make openapi`; do not edit by hand."
            ),
        },
        "tags": [{"name": s.name} for s in services],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Cognito access or id token from POST /accounts/login",
                }
            },
        },
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale; write nothing")
    parser.add_argument("--output", type=Path, default=OPENAPI_PATH, help=f"default: {OPENAPI_PATH}")
    args = parser.parse_args(argv)
    text = render(build_document())
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(f"{args.output} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
