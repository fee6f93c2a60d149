"""CORS as an HTTP API applies it: each API's CorsConfiguration answers preflight requests itself and
decorates the replies of that API's routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from local.edge.messages import Reply


@dataclass(frozen=True)
class CorsConfig:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ("*",)
    allow_headers: tuple[str, ...] = ("*",)
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None

    @classmethod
    def from_template(cls, conf: dict[str, Any]) -> CorsConfig:
        """From an AWS::ApiGatewayV2::Api's CorsConfiguration."""
        return cls(
            allow_origins=tuple(conf.get("AllowOrigins") or ()),
            allow_methods=tuple(conf.get("AllowMethods") or ("*",)),
            allow_headers=tuple(conf.get("AllowHeaders") or ("*",)),
            expose_headers=tuple(conf.get("ExposeHeaders") or ()),
            allow_credentials=bool(conf.get("AllowCredentials")),
            max_age=int(conf["MaxAge"]) if conf.get("MaxAge") is not None else None,
        )

    def preflight(self, origin: str | None) -> Reply:
        reply = Reply(204)
        self.decorate(reply, origin)
        reply.headers["access-control-allow-methods"] = ",".join(self.allow_methods)
        reply.headers["access-control-allow-headers"] = ",".join(self.allow_headers)
        if self.max_age is not None:
            reply.headers["access-control-max-age"] = str(self.max_age)
        return reply

    def decorate(self, reply: Reply, origin: str | None) -> None:
        """This API's CORS headers on a reply; API Gateway ignores any the integration returned."""
        for name in [h for h in reply.headers if h.startswith("access-control-")]:
            del reply.headers[name]
        if origin is None or not ("*" in self.allow_origins or origin in self.allow_origins):
            return
        reply.headers["access-control-allow-origin"] = "*" if "*" in self.allow_origins else origin
        if self.allow_credentials:
            reply.headers["access-control-allow-credentials"] = "true"
        if self.expose_headers:
            reply.headers["access-control-expose-headers"] = ",".join(self.expose_headers)
