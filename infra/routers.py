"""The HTTP services and the routes their Powertools routers declare (the one source of a route).

A route is written once, in its handler's decorator (``@router.get("/profiles/<profile_id>")``,
public ones with ``openapi_extensions=public("why")``). Infra builds the HTTP API routes from it and
``infra.openapi`` builds the published contract from it; nothing else lists routes.

The router is read in a child interpreter whose import path is exactly what Lambda gives the
function (its asset directory and the shared layer) and whose environment holds no AWS settings:
the service's package names cannot clash with anything in this process, its import side effects
stay there, and a handler module that needs credentials or variables at import fails here, at
synth, instead of at a cold start. No CDK import here: ``python -m infra.openapi`` stays fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_LAYER_PYTHON = REPO_ROOT / "layers" / "shared" / "python"
FUNCTIONS_DIR = REPO_ROOT / "functions"

_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

# Runs in the child: prints the router's routes and Powertools' own OpenAPI document for it.
_READ_ROUTER = """
import importlib, json, sys
from reelstack_common.http import declared_routes
module = importlib.import_module(sys.argv[1])
resolver = module.lambda_handler.resolvers["http_api"]
print(json.dumps({
    "routes": [
        {"method": r.method, "path": r.path, "public_reason": r.public_reason}
        for r in declared_routes(module.router)
    ],
    "openapi": json.loads(resolver.get_openapi_json_schema(title=sys.argv[1], version="0")),
}))
"""


@dataclass(frozen=True)
class Route:
    """One HTTP route: method, path in API Gateway syntax (``/profiles/{profile_id}``), and auth.
    ``auth=False`` routes are public and MUST say why (``public_reason``)."""

    method: str
    path: str
    auth: bool = True
    public_reason: str = ""

    def __post_init__(self) -> None:
        if self.method.upper() not in _METHODS:
            raise ValueError(f"unknown HTTP method {self.method!r}")
        if not self.path.startswith("/"):
            raise ValueError(f"route path must start with '/': {self.path!r}")
        if not self.auth and not self.public_reason.strip():
            raise ValueError(f"public route {self.method} {self.path} needs a public_reason")

    @property
    def route_key(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True)
class HttpService:
    """A service behind both edges. ``name`` is its one name: construct ids, the function's
    ``POWERTOOLS_SERVICE_NAME``, the OpenAPI tag. ``handler`` names the module holding ``router``
    and ``lambda_handler``."""

    name: str
    handler: str  # e.g. "accounts.handlers.http.lambda_handler"
    alb_path_patterns: tuple[str, ...]
    alb_priority: int
    functions_dir: Path = FUNCTIONS_DIR  # the asset is <functions_dir>/<name>

    @property
    def code_dir(self) -> Path:
        return self.functions_dir / self.name

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def routes(self) -> tuple[Route, ...]:
        return read_router(str(self.code_dir), self.module).routes

    @property
    def openapi(self) -> dict[str, Any]:
        """Powertools' OpenAPI document of this router alone (``infra.openapi`` merges them)."""
        return read_router(str(self.code_dir), self.module).openapi


ACCOUNTS = HttpService(
    name="accounts",
    handler="accounts.handlers.http.lambda_handler",
    alb_path_patterns=("/accounts*", "/profiles*", "/billing*"),
    alb_priority=100,
)
CATALOG = HttpService(
    name="catalog",
    handler="catalog.handlers.http.lambda_handler",
    alb_path_patterns=("/titles*",),
    alb_priority=200,
)
SEARCH = HttpService(
    name="search",
    handler="search.handlers.http.lambda_handler",
    alb_path_patterns=("/search*",),
    alb_priority=300,
)
HTTP_SERVICES: tuple[HttpService, ...] = (ACCOUNTS, CATALOG)
HTTP_SERVICES += (SEARCH,)
PLAYBACK = HttpService(
    name="playback",
    handler="playback.handlers.http.lambda_handler",
    # GET /profiles/{id}/continue-watching is playback's too: its own ALB rule (priority 60, in front
    # of accounts' /profiles*) is added by infra/constructs/playback.py.
    alb_path_patterns=("/playback*",),
    alb_priority=400,
)
HTTP_SERVICES += (PLAYBACK,)

RECOMMENDATIONS = HttpService(
    name="recommendations",
    handler="recommendations.handlers.http.lambda_handler",
    # PUT/DELETE /profiles/{id}/ratings/{title_id} are recommendations' too: their own ALB rule
    # (priority 70, in front of accounts' /profiles*) is added by infra/constructs/home.py.
    alb_path_patterns=("/home*", "/campaigns*"),
    alb_priority=500,
)
HTTP_SERVICES += (RECOMMENDATIONS,)


@dataclass(frozen=True)
class RouterReading:
    routes: tuple[Route, ...]
    openapi: dict[str, Any]


def router_environment(code_dir: str) -> dict[str, str]:
    """The child's whole environment: Lambda's import path, no AWS settings, no credentials."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join([code_dir, str(SHARED_LAYER_PYTHON)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONSAFEPATH": "1",  # the working directory is not on the path either
    }


@cache
def read_router(code_dir: str, module: str) -> RouterReading:
    """The routes ``module.router`` declares (and its OpenAPI document), read in a child process."""
    done = subprocess.run(
        [sys.executable, "-c", _READ_ROUTER, module],
        env=router_environment(code_dir),
        cwd=code_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cannot read the routes of {module} in {code_dir}:\n{done.stderr.strip()}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    routes = tuple(
        Route(r["method"], r["path"], auth=r["public_reason"] is None, public_reason=r["public_reason"] or "")
        for r in data["routes"]
    )
    return RouterReading(routes=routes, openapi=data["openapi"])
