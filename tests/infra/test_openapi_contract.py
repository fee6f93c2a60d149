"""docs/openapi.json: the published contract, generated from the services' routers (infra.openapi).

No CDK here: the document comes from the same router readings infra builds the routes from.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.openapi import BEARER, OPENAPI_PATH, build_document, render
from infra.routers import HTTP_SERVICES

ERROR_REF = {"$ref": "#/components/schemas/Error"}
UNAUTHORIZED = {"anyOf": [ERROR_REF, {"$ref": "#/components/schemas/GatewayMessage"}]}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{m.upper()} {path}": op for path, item in document["paths"].items() for m, op in item.items()}


def test_the_committed_document_is_current(document: dict[str, Any]) -> None:
    committed = OPENAPI_PATH.read_text(encoding="utf-8") if OPENAPI_PATH.exists() else ""
    assert committed == render(document), "docs/openapi.json is stale: run `make openapi`"


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    validate(json.loads(render(document)))


def test_every_declared_route_once_with_its_security(document: dict[str, Any]) -> None:
    operations = _operations(document)
    declared = {route.route_key: route for service in HTTP_SERVICES for route in service.routes}
    assert set(operations) == set(declared)
    assert document["components"]["securitySchemes"][BEARER] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Cognito access or id token from POST /accounts/login",
    }
    for key, op in operations.items():
        route = declared[key]
        if route.auth:
            assert op["security"] == [{BEARER: []}], key
            assert "401" in op["responses"], key
        else:
            assert op["security"] == [] and op["x-public-reason"] == route.public_reason, key
            # bad credentials, an ended session
            assert "401" not in op["responses"] or key in ("POST /accounts/login", "POST /accounts/refresh"), key


def test_every_error_response_has_the_error_shape(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["Error"]
    assert schema["required"] == ["error"]
    assert schema["properties"]["error"]["required"] == ["code", "message"]
    for key, op in _operations(document).items():
        responses = op["responses"]
        assert "422" not in responses, key  # Powertools' validation status; the API answers 400
        assert any(code.startswith("2") for code in responses), key
        for code, response in responses.items():
            if int(code) >= 400:
                expected = UNAUTHORIZED if code == "401" and op["security"] else ERROR_REF
                assert response["content"] == {"application/json": {"schema": expected}}, (key, code)
        if "requestBody" in op:
            assert {"400", "413", "415"} <= set(responses), key
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])


def test_statuses_the_routes_really_answer(document: dict[str, Any]) -> None:
    ops = _operations(document)
    # Created / accepted / no content where the handlers answer so, with the model (or no body).
    assert ops["POST /profiles"]["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProfileOut"
    }
    assert "content" not in ops["DELETE /profiles/{profile_id}"]["responses"]["204"]
    assert "201" in ops["POST /titles"]["responses"] and "200" not in ops["POST /titles"]["responses"]
    assert "202" in ops["POST /accounts"]["responses"]
    # Declared by the routes' own rules.
    assert {"403", "404", "409"} <= set(ops["POST /titles/{title_id}/upload"]["responses"])
    assert "404" in ops["GET /profiles/{profile_id}"]["responses"]
    assert "409" in ops["POST /profiles"]["responses"]
    # Request and response models are in the document.
    body = ops["POST /accounts/login"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/LoginRequest"}
    assert {"CreateTitleRequest", "TitlePage", "ProfileOut", "TokensOut"} <= set(document["components"]["schemas"])


def test_the_file_is_deterministic(document: dict[str, Any]) -> None:
    text = render(document)
    assert text == render(build_document()) and text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
