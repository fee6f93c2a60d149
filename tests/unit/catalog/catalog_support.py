"""What the catalog unit tests share: names of the fake resources and the ``Catalog`` driver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.unit.events import invoke_edge

TABLE = "catalog-test"
BUCKET = "ingest-test"
PASSWORD = "Corr3ct-Horse"


@dataclass
class Catalog:
    """The catalog handler behind a fake edge, with two signed-in users (moto Cognito tokens)."""

    table: Any
    s3: Any
    tokens: dict[str, str]  # "admin" / "viewer" -> access token
    subs: dict[str, str]  # "admin" / "viewer" -> user id (sub)

    def invoke(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        as_: str | None = "admin",
        edge: str = "http",
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """Call the handler as API Gateway's JWT authorizer (edge="http") or the ALB would;
        ``as_=None`` sends no identity at all."""
        from catalog.handlers.http import lambda_handler

        token = self.tokens[as_] if as_ else None
        return invoke_edge(lambda_handler, method, path, body, token=token, edge=edge, **kwargs)

    def item(self, title_id: str) -> dict[str, Any]:
        return dict(self.table.get_item(Key={"pk": f"TITLE#{title_id}", "sk": "META"})["Item"])
