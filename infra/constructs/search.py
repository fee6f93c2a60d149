"""Search: an OpenSearch Service domain in the VPC, the search HTTP service, and the indexer fed by
the catalog's events (EventBridge rule -> SQS + DLQ -> Lambda), plus an operator-invoked reindex
function.

Domain security: VPC only (private subnets, a security group open on 443 to the three functions
alone), encryption at rest, node-to-node encryption, HTTPS enforced with TLS 1.2, no fine-grained
access control and no resource policy: access is IAM (SigV4, service "es") through each
function's identity policy, scoped to this domain and to the HTTP verbs it uses.

Sizing is CDK context (cdk.json or ``-c``), so dev and production differ by settings, not code:
  reelstack:searchInstanceType   data node type       (default t3.small.search)
  reelstack:searchDataNodes      data node count      (default 2: one per AZ of the 2-AZ VPC)
  reelstack:searchZoneAwareness  spread over AZs      (default true; needs data nodes % AZs == 0)
  reelstack:searchMasterNodes    dedicated masters    (default 0; 3 for production)
  reelstack:searchMasterType     master node type     (default m6g.large.search)
  reelstack:searchVolumeGb       gp3 EBS per node     (default 10)
Deploy note: a VPC domain needs the service-linked role AWSServiceRoleForAmazonOpenSearchService,
which CloudFormation does not create (``aws iam create-service-linked-role --aws-service-name
opensearchservice.amazonaws.com`` once per account).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.api import Edge
from infra.constructs.data import CatalogData, DataTables
from infra.constructs.events import PlatformEvents
from infra.constructs.identity import Identity
from infra.constructs.nag import acknowledge
from infra.constructs.service import ServiceApi, service_function
from infra.routers import SEARCH

CATALOG_EVENT_SOURCE = "reelstack.catalog"
CATALOG_EVENT_TYPES = ("TitlePublished", "TitleUpdated", "TitleWithdrawn")
SEARCH_TIMEOUT_S = 2  # per engine request from the HTTP function: a search box fails fast (503)
INDEXER_BATCH = 10
MAX_RECEIVES = 5  # then the event goes to the dead-letter queue

# The HTTP verbs each function sends to the domain (es:ESHttp<Verb>).
SEARCH_VERBS = ("Get", "Post")  # _search (POST; GET for some client paths)
INDEXER_VERBS = ("Get", "Head", "Put", "Post")  # index docs, alias look-ups, first index + alias
REINDEX_VERBS = ("Get", "Head", "Put", "Post", "Delete")  # + dropping old indices


@dataclass(frozen=True)
class SearchSizing:
    instance_type: str = "t3.small.search"
    data_nodes: int = 2
    zone_awareness: bool = True
    availability_zones: int = 2
    master_nodes: int = 0
    master_type: str = "m6g.large.search"
    volume_gb: int = 10

    @classmethod
    def from_context(cls, scope: Construct, availability_zones: int) -> SearchSizing:
        def ctx(name: str, default: Any) -> Any:
            value = scope.node.try_get_context(f"reelstack:{name}")
            return default if value is None else value

        defaults = cls()
        zone_awareness = ctx("searchZoneAwareness", defaults.zone_awareness)
        if isinstance(zone_awareness, str):
            zone_awareness = zone_awareness.lower() in ("1", "true", "yes")
        sizing = cls(
            instance_type=str(ctx("searchInstanceType", defaults.instance_type)),
            data_nodes=int(ctx("searchDataNodes", defaults.data_nodes)),
            zone_awareness=bool(zone_awareness),
            availability_zones=availability_zones,
            master_nodes=int(ctx("searchMasterNodes", defaults.master_nodes)),
            master_type=str(ctx("searchMasterType", defaults.master_type)),
            volume_gb=int(ctx("searchVolumeGb", defaults.volume_gb)),
        )
        if sizing.zone_awareness and sizing.data_nodes % availability_zones:
            raise ValueError(
                f"searchDataNodes={sizing.data_nodes} cannot spread evenly over {availability_zones} AZs"
            )
        return sizing

    @property
    def subnet_count(self) -> int:
        # A VPC domain takes one subnet per AZ it uses.
        return self.availability_zones if self.zone_awareness else 1


def _es_actions(verbs: Sequence[str]) -> list[str]:
    return [f"es:ESHttp{v}" for v in verbs]


class SearchService(Construct):
    """Attributes other code uses:

    domain: opensearch.Domain (``domain_endpoint``: the bare host the functions get as SEARCH_ENDPOINT)
    service: ServiceApi of GET /search*, function: its function
    indexer: the SQS-fed indexer function; queue / dead_letter_queue; rule (on the platform bus)
    reindex_function: rebuilds the index from the catalog table (invoke by hand)
    sizing: SearchSizing read from context
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Edge,
        identity: Identity,
        events_bus: PlatformEvents,
        catalog: CatalogData,
        data: DataTables,
        layers: Sequence[lambda_.ILayerVersion],
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection,
    ) -> None:
        super().__init__(scope, construct_id)
        selected = vpc.select_subnets(
            subnet_type=vpc_subnets.subnet_type, subnet_group_name=vpc_subnets.subnet_group_name
        )
        self.sizing = SearchSizing.from_context(self, availability_zones=len(selected.subnets))
        self.security_group = ec2.SecurityGroup(
            self,
            "DomainSg",
            vpc=vpc,
            description="OpenSearch domain: HTTPS from the search functions only",
            allow_all_outbound=False,
        )
        self.domain = self._domain(vpc, selected)
        endpoint = self.domain.domain_endpoint  # a bare host; the client adds https:// and signs

        env = {"SEARCH_ENDPOINT": endpoint}
        # --- HTTP service: GET /search, GET /search/suggest (reads the viewer's profile) ---------
        self.service = ServiceApi(
            self,
            "Api",
            service=SEARCH,
            environment={
                **env,
                "SEARCH_TIMEOUT_S": str(SEARCH_TIMEOUT_S),
                "ACCOUNTS_TABLE": data.accounts_table.table_name,
                # ALB events carry the bearer token: the function verifies it against the pool.
                "USER_POOL_ID": identity.user_pool.user_pool_id,
                "USER_POOL_CLIENT_ID": identity.user_pool_client.user_pool_client_id,
            },
            api=api,
            layers=layers,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
        )
        self.function = self.service.function
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[data.accounts_table.table_arn])
        )
        self._grant_domain(self.function, SEARCH_VERBS)

        # --- indexer: catalog events -> SQS (+ DLQ) -> Lambda -----------------------------------
        catalog_env = {**env, "CATALOG_TABLE": catalog.catalog_table.table_name}
        self.dead_letter_queue = sqs.Queue(
            self,
            "IndexerDeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.indexer = service_function(
            self,
            "Indexer",
            name=f"{SEARCH.name}-indexer",
            code_dir=str(SEARCH.code_dir),
            handler="search.handlers.indexer.lambda_handler",
            environment=catalog_env,
            layers=layers,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            timeout=Duration.seconds(60),
            description="Reelstack search indexer (catalog events -> OpenSearch)",
        )
        self.queue = sqs.Queue(
            self,
            "IndexerQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # Lambda's guidance: at least 6x the function timeout, so a slow batch is not redelivered
            # while it still runs.
            visibility_timeout=Duration.seconds(6 * 60),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVES),
        )
        self.indexer.add_event_source(
            sources.SqsEventSource(
                self.queue, batch_size=INDEXER_BATCH, report_batch_item_failures=True,
                max_batching_window=Duration.seconds(1),
            )
        )  # fmt: skip
        self.rule = events_bus.subscribe(
            "CatalogChanges",
            description="search indexes catalog titles as they are published, edited and withdrawn",
            sources=[CATALOG_EVENT_SOURCE],
            detail_types=list(CATALOG_EVENT_TYPES),
            targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dead_letter_queue, retry_attempts=8)],
        )
        self._grant_catalog_read(self.indexer, catalog, scan=False)
        self._grant_domain(self.indexer, INDEXER_VERBS)

        # --- reindex: invoked by an operator (the domain is reachable only inside the VPC) ---------
        self.reindex_function = service_function(
            self,
            "Reindex",
            name=f"{SEARCH.name}-reindex",
            code_dir=str(SEARCH.code_dir),
            handler="search.handlers.reindex.lambda_handler",
            environment=catalog_env,
            layers=layers,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            memory_size=1024,
            timeout=Duration.minutes(15),
            description="Reelstack search reindex (catalog table -> fresh index -> alias swap)",
        )
        self._grant_catalog_read(self.reindex_function, catalog, scan=True)
        self._grant_domain(self.reindex_function, REINDEX_VERBS)

        for fn in (self.function, self.indexer, self.reindex_function):
            self.security_group.connections.allow_from(fn, ec2.Port.tcp(443), "HTTPS from a search function")

    # ------------------------------------------------------------------ domain
    def _domain(self, vpc: ec2.IVpc, selected: ec2.SelectedSubnets) -> opensearch.Domain:
        s = self.sizing
        slow_logs = logs.LogGroup(
            self, "SlowSearchLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        index_logs = logs.LogGroup(
            self, "SlowIndexLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        app_logs = logs.LogGroup(
            self, "AppLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        domain = opensearch.Domain(
            self,
            "Domain",
            version=opensearch.EngineVersion.OPENSEARCH_2_19,
            vpc=vpc,
            vpc_subnets=[ec2.SubnetSelection(subnets=selected.subnets[: s.subnet_count])],
            security_groups=[self.security_group],
            capacity=opensearch.CapacityConfig(
                data_node_instance_type=s.instance_type,
                data_nodes=s.data_nodes,
                master_nodes=s.master_nodes or None,
                master_node_instance_type=s.master_type if s.master_nodes else None,
                multi_az_with_standby_enabled=False,  # needs 3 AZs and dedicated masters
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(
                enabled=s.zone_awareness, availability_zone_count=s.availability_zones if s.zone_awareness else None
            ),
            ebs=opensearch.EbsOptions(volume_size=s.volume_gb, volume_type=ec2.EbsDeviceVolumeType.GP3),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True,
                slow_search_log_group=slow_logs,
                slow_index_log_enabled=True,
                slow_index_log_group=index_logs,
                app_log_enabled=True,
                app_log_group=app_logs,
            ),
            # CDK would add the log-delivery resource policy through a custom-resource Lambda; a
            # plain AWS::Logs::ResourcePolicy below does the same without one.
            suppress_logs_resource_policy=True,
            enable_auto_software_update=True,
            # Derived data: `python -m search reindex` (or the reindex function) rebuilds it.
            removal_policy=RemovalPolicy.DESTROY,
        )
        logs.ResourcePolicy(
            self,
            "LogDelivery",
            policy_statements=[
                iam.PolicyStatement(
                    actions=["logs:PutLogEvents", "logs:CreateLogStream"],
                    principals=[iam.ServicePrincipal("es.amazonaws.com")],
                    resources=[g.log_group_arn for g in (slow_logs, index_logs, app_logs)],
                )
            ],
        )
        if not s.master_nodes:
            acknowledge(
                domain,
                "AwsSolutions-OS4",
                "Dedicated master nodes are a sizing setting (context reelstack:searchMasterNodes=3 for "
                "production); the 2-node development domain runs without them.",
            )
        if not s.zone_awareness:
            acknowledge(
                domain,
                "AwsSolutions-OS7",
                "Zone awareness is a sizing setting (context reelstack:searchZoneAwareness); turned off here.",
            )
        acknowledge(
            domain,
            "AwsSolutions-OS3",
            "The domain is in private subnets behind a security group open only to the search functions; "
            "access is IAM (SigV4) through their identity policies, so an IP allowlist adds nothing.",
        )
        acknowledge(
            domain,
            "AwsSolutions-OS5",
            "No anonymous access: the domain has no resource policy at all and only IAM principals whose "
            "identity policy grants es:ESHttp* on it (the search functions) can call it, from inside the VPC.",
        )
        return domain

    def _grant_domain(self, fn: lambda_.Function, verbs: Sequence[str]) -> None:
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=_es_actions(verbs), resources=[f"{self.domain.domain_arn}/*"])
        )
        cfn = self.domain.node.default_child
        assert cfn is not None
        domain_id = Stack.of(self).get_logical_id(cfn)  # type: ignore[arg-type]
        role = fn.role
        assert role is not None
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "OpenSearch HTTP actions are authorised per path under the domain ARN (index names change "
            "with every reindex); scoped to this one domain and to the verbs this function sends.",
            applies_to=[f"Resource::<{domain_id}.Arn>/*"],
        )

    @staticmethod
    def _grant_catalog_read(fn: lambda_.Function, catalog: CatalogData, *, scan: bool) -> None:
        actions = ["dynamodb:GetItem"] + (["dynamodb:Scan"] if scan else [])
        fn.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=[catalog.catalog_table.table_arn]))
