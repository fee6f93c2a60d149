"""ReelstackStack: a short composition of one-concern constructs (infra/constructs/*)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.constructs.accounts import AccountsContext, AccountsService
from infra.constructs.api import Edge
from infra.constructs.billing import BillingSchedule
from infra.constructs.catalog import CatalogService
from infra.constructs.data import CatalogData, DataTables
from infra.constructs.dax import DaxCache
from infra.constructs.delivery import Delivery
from infra.constructs.events import PlatformEvents
from infra.constructs.home import HomeService
from infra.constructs.identity import Identity
from infra.constructs.layers import Layers
from infra.constructs.media_pipeline import MediaPipeline
from infra.constructs.network import Network
from infra.constructs.playback import PlaybackService
from infra.constructs.search import SearchService
from infra.constructs.web import WebApp, WebAppOrigin, deploys_web_app


class ReelstackStack(Stack):
    """Attributes other code uses: network (.vpc), data (.accounts_table, .idempotency_table),
    catalog_data (.catalog_table), events (.bus), dax (.endpoint_url), identity (.user_pool,
    .user_pool_client), edge (.http_api, .jwt_authorizer, .alb, .listener), layers (.all, .ffmpeg),
    accounts (.function, .service), billing (.function, .rule), media (MediaPipeline: buckets,
    parts table, step functions, state machine), catalog (.service, .function)."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = Network(self, "Network")
        self.data = DataTables(self, "Data")
        self.catalog_data = CatalogData(self, "CatalogData")
        self.events = PlatformEvents(self, "Events")
        self.dax = DaxCache(
            self,
            "Dax",
            vpc=self.network.vpc,
            subnets=self.network.private_subnets,
            data=self.data,
        )
        self.identity = Identity(self, "Identity")
        self.edge = Edge(
            self,
            "Edge",
            vpc=self.network.vpc,
            issuer_url=self.identity.issuer_url,
            audience=[self.identity.user_pool_client.user_pool_client_id],
        )
        self.layers = Layers(self, "Layers")
        # The HTTP service and the billing run share tables, user pool, cache and subnets.
        accounts_context = AccountsContext(
            data=self.data,
            identity=self.identity,
            dax_cache=self.dax,
            layers=self.layers.all,
            vpc=self.network.vpc,
            vpc_subnets=self.network.private_subnets,
        )
        self.accounts = AccountsService(self, "Accounts", api=self.edge, context=accounts_context)
        self.billing = BillingSchedule(self, "Billing", context=accounts_context)
        # Ingest: catalog API (admins create titles, get presigned uploads) -> S3 -> EventBridge ->
        # the transcoding state machine.
        self.media = MediaPipeline(
            self,
            "Media",
            catalog_table=self.catalog_data.catalog_table,
            events_bus=self.events,
            ffmpeg_layer=self.layers.ffmpeg,
            pydantic_layer=self.layers.pydantic,
        )
        self.catalog = CatalogService(
            self,
            "Catalog",
            api=self.edge,
            identity=self.identity,
            catalog=self.catalog_data,
            media=self.media,
            events=self.events,
            layers=self.layers.all,
        )
        # Delivery (issue 12): CloudFront (OAC, signed grants, titles/ only) in front of the media
        # bucket, and the prefill that warms it on TitlePublished. Same stack as the bucket (OAC).
        # The web app (issue 16) is the distribution's default behaviour; titles/* keep theirs.
        self.web_origin = WebAppOrigin(self, "WebOrigin") if deploys_web_app(self) else None
        self.delivery = Delivery(
            self,
            "Delivery",
            app_behavior=self.web_origin.behavior if self.web_origin else None,
            media_bucket=self.media.media_bucket,
            events_bus=self.events,
            layers=self.layers.all,
        )
        CfnOutput(self, "CdnDomainName", value=self.delivery.distribution.distribution_domain_name)
        CfnOutput(self, "CdnKeyPairId", value=self.delivery.public_key.public_key_id)

        # Search (issue 14): OpenSearch in the VPC, GET /search*, indexer fed by the catalog's events.
        self.search = SearchService(
            self,
            "Search",
            api=self.edge,
            identity=self.identity,
            events_bus=self.events,
            catalog=self.catalog_data,
            data=self.data,
            layers=[*self.layers.all, self.layers.search],
            vpc=self.network.vpc,
            vpc_subnets=self.network.private_subnets,
        )

        # Playback (issue 13): sessions, stream leases, watch states, view stream -> Firehose -> lake.
        self.playback = PlaybackService(
            self,
            "Playback",
            api=self.edge,
            identity=self.identity,
            data=self.data,
            catalog=self.catalog_data,
            signing=self.delivery,
            layers=self.layers.all,
        )

        # Home (issue 15): GET /home, ratings, campaigns; the daily training workflow; trending from
        # the playback view stream.
        self.recommendations = HomeService(
            self,
            "Home",
            api=self.edge,
            identity=self.identity,
            data=self.data,
            catalog=self.catalog_data,
            layers=self.layers.all,
            vpc=self.network.vpc,
            vpc_subnets=self.network.private_subnets,
            dax_cache=self.dax,
            playback_table=self.playback.table,
            view_stream=self.playback.view_stream,
            access_log_bucket=self.media.access_log_bucket,
        )
        CfnOutput(self, "HomeStateMachineArn", value=self.recommendations.state_machine.state_machine_arn)
        CfnOutput(self, "HomeModelBucketName", value=self.recommendations.model_bucket.bucket_name)
        # Delivery's off-peak fill (issue 12) ranks titles by home's trending items: wired after both.
        self.delivery.add_offpeak_fill(
            catalog=self.catalog_data, home_table=self.recommendations.home_table, layers=self.layers.all
        )

        # The web app (issue 16): the API allows the app's origin (the distribution's domain).
        self.web = WebApp(self, "Web", api=self.edge, delivery=self.delivery, origin=self.web_origin)

        # Outputs directly under the stack: their logical IDs carry no hash, so scripts and the local
        # cloud can read them by name.
        outputs = {
            "HttpApiUrl": self.edge.http_api.api_endpoint,
            "AlbUrl": f"http://{self.edge.alb.load_balancer_dns_name}",
            "UserPoolId": self.identity.user_pool.user_pool_id,
            "UserPoolClientId": self.identity.user_pool_client.user_pool_client_id,
            "TranscodeStateMachineArn": self.media.state_machine.state_machine_arn,
            "IngestBucketName": self.media.ingest_bucket.bucket_name,
            "MediaBucketName": self.media.media_bucket.bucket_name,
            "EventBusName": self.events.bus.event_bus_name,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
