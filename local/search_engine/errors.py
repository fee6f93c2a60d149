"""OpenSearch's error shape: ``{"error": {"root_cause": [...], "type", "reason", ...}, "status": N}``.

opensearch-py maps the HTTP status to its exception class (400 RequestError, 404 NotFoundError,
409 ConflictError) and reads ``error.type`` into ``exc.error``: the service branches on both."""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    def __init__(self, status: int, type_: str, reason: str, **extra: Any) -> None:
        super().__init__(reason)
        self.status = status
        self.type = type_
        self.reason = reason
        self.extra = extra

    def cause(self) -> dict[str, Any]:
        return {"type": self.type, "reason": self.reason, **self.extra}

    def body(self) -> dict[str, Any]:
        return {"error": {"root_cause": [self.cause()], **self.cause()}, "status": self.status}


def parsing(reason: str) -> EngineError:
    return EngineError(400, "parsing_exception", reason)


def illegal(reason: str) -> EngineError:
    return EngineError(400, "illegal_argument_exception", reason)


def unsupported(what: str) -> EngineError:
    """Valid OpenSearch that this engine does not implement: refused, never answered approximately."""
    return EngineError(400, "illegal_argument_exception", f"{what} is not supported by the local search engine")


def index_not_found(name: str) -> EngineError:
    return EngineError(404, "index_not_found_exception", f"no such index [{name}]",
                       **{"resource.type": "index_or_alias", "resource.id": name, "index": name})
