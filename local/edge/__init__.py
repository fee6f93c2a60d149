"""Local stand-ins for the platform's two HTTP edges, serving exactly what the synthesized template
declares: API Gateway HTTP API (payload 2.0 routes, JWT authorizer, CORS per API) and an
Application Load Balancer (listener rules, Lambda targets).

Deliberate differences from AWS, for a friendlier contract: on the HTTP API an unknown path is 404
and a known path with another method is 405 (HTTP API answers 404 to both); edge-made errors carry
both AWS's `{"message": ...}` and Reelstack's `{"error": {"code", "message"}}`.
"""

from local.edge.alb import Alb, AlbRule
from local.edge.cors import CorsConfig
from local.edge.http_api import HttpApi, HttpRoute
from local.edge.http_server import serve
from local.edge.jwt_authorizer import JwksCache, JwtAuthorizer

__all__ = ["Alb", "AlbRule", "CorsConfig", "HttpApi", "HttpRoute", "JwksCache", "JwtAuthorizer", "serve"]
