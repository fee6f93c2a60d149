"""The web app (issue 16): the API lets the app's origin call it (CORS on the HTTP API).

The app is a static single-page build (web/dist) that reads /config.json for the API's address.
Its origin is the media distribution's domain in AWS (the app is served by the same CloudFront
distribution as the media) plus any origins given as CDK context `reelstack:playerOrigins` (the
local cloud passes its web_url). The API authenticates with a bearer token, never cookies, so no
credentials are allowed cross-origin."""

from __future__ import annotations

from aws_cdk import Fn
from aws_cdk import aws_apigatewayv2 as apigwv2
from constructs import Construct

from infra.constructs.api import Edge
from infra.constructs.delivery import Delivery, player_origins_from_context

API_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
API_HEADERS = ["authorization", "content-type"]


class WebApp(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, api: Edge, delivery: Delivery) -> None:
        super().__init__(scope, construct_id)
        self.origin = Fn.join("", ["https://", delivery.distribution.distribution_domain_name])
        self.allowed_origins = [self.origin, *player_origins_from_context(self)]
        cfn_api = api.http_api.node.default_child
        assert isinstance(cfn_api, apigwv2.CfnApi)
        # HTTP API answers preflights itself and decorates every route's replies (the local edge too).
        cfn_api.cors_configuration = apigwv2.CfnApi.CorsProperty(
            allow_origins=self.allowed_origins,
            allow_methods=API_METHODS,
            allow_headers=API_HEADERS,
            max_age=600,
        )
