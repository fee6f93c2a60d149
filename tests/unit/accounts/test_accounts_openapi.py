"""The OpenAPI document generated from the router lists the whole HTTP contract."""

from __future__ import annotations

import json


def test_openapi_lists_every_route() -> None:
    from accounts.handlers.http import lambda_handler

    resolver = lambda_handler.resolvers["http_api"]
    document = json.loads(resolver.get_openapi_json_schema(title="Reelstack accounts", version="1"))
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert operations == {
        ("POST", "/accounts"),
        ("POST", "/accounts/confirm"),
        ("POST", "/accounts/login"),
        ("GET", "/accounts/me"),
        ("GET", "/profiles"),
        ("POST", "/profiles"),
        ("GET", "/profiles/{profile_id}"),
        ("PATCH", "/profiles/{profile_id}"),
        ("DELETE", "/profiles/{profile_id}"),
        ("GET", "/billing/plans"),
        ("GET", "/billing/subscription"),
        ("PUT", "/billing/subscription"),
        ("DELETE", "/billing/subscription"),
        ("GET", "/billing/invoices"),
    }
    schemas = document["components"]["schemas"]
    assert {"CreateAccountRequest", "ProfileOut", "PlanList", "InvoiceList"} <= set(schemas)
