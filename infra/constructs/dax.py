"""DAX cluster in front of the accounts table (read-through cache for hot profile/account reads)."""

from __future__ import annotations

from aws_cdk import Fn
from aws_cdk import aws_dax as dax
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.data import DataTables

DAX_TLS_PORT = 9111

# Data-plane actions a DAX *client* needs on the cluster (the cluster's own role does the DynamoDB calls).
DAX_CLIENT_ACTIONS = [
    "dax:GetItem",
    "dax:BatchGetItem",
    "dax:Query",
    "dax:Scan",
    "dax:PutItem",
    "dax:UpdateItem",
    "dax:DeleteItem",
    "dax:BatchWriteItem",
    "dax:ConditionCheckItem",
]


class DaxCache(Construct):
    """Attributes other code uses:

    cluster: dax.CfnCluster (``cluster.attr_arn``)
    endpoint_url: ``dax://<discovery-host>:9111`` for the ``DAX_ENDPOINT`` env var
    connections: ec2.Connections on port 9111 — ``dax_cache.allow_from(fn)`` opens it to a function
    security_group, subnet_group, role
    grant_data_access(grantee): the dax:* item actions on this cluster only
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        data: DataTables,
        node_type: str = "dax.t3.small",
        replication_factor: int = 1,
        cache_ttl_ms: int = 5000,
    ) -> None:
        super().__init__(scope, construct_id)
        # replication_factor=1 keeps dev cheap; production should use >= 3 (one node per AZ).
        self.security_group = ec2.SecurityGroup(
            self,
            "Sg",
            vpc=vpc,
            description="DAX cluster: TLS port 9111 from the functions that use it",
            # Egress stays open: DAX nodes replicate among themselves and reach DynamoDB; AWS documents
            # no narrower egress set, and a too-tight rule fails only at runtime.
            allow_all_outbound=True,
        )
        self.connections = ec2.Connections(
            security_groups=[self.security_group], default_port=ec2.Port.tcp(DAX_TLS_PORT)
        )

        # The role DAX itself assumes to read/write DynamoDB on a cache miss / write-through.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("dax.amazonaws.com"),
            description="DAX cluster access to the Reelstack tables",
        )
        data.grant_read_write(self.role)

        selected = vpc.select_subnets(
            subnet_type=subnets.subnet_type, subnet_group_name=subnets.subnet_group_name
        )
        self.subnet_group = dax.CfnSubnetGroup(
            self,
            "SubnetGroup",
            subnet_ids=selected.subnet_ids,
            description="Reelstack DAX private subnets",
        )

        # Writes and transactions go straight to DynamoDB (reelstack_common.dynamo), so DAX's item
        # and query caches never see them: short TTLs bound how stale a read-after-write can be
        # (the defaults are 5 minutes). Measured staleness budget: 5 s for the accounts reads.
        self.parameter_group = dax.CfnParameterGroup(
            self,
            "ParameterGroup",
            description="Reelstack: short TTLs because writes bypass the cache",
            parameter_name_values={"record-ttl-millis": str(cache_ttl_ms), "query-ttl-millis": str(cache_ttl_ms)},
        )
        self.cluster = dax.CfnCluster(
            self,
            "Cluster",
            parameter_group_name=self.parameter_group.ref,
            iam_role_arn=self.role.role_arn,
            node_type=node_type,
            replication_factor=replication_factor,
            subnet_group_name=self.subnet_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            sse_specification=dax.CfnCluster.SSESpecificationProperty(sse_enabled=True),
            cluster_endpoint_encryption_type="TLS",
            description="Reelstack read-through cache for the accounts table",
        )
        # The role's policy must exist before DAX validates it at cluster creation.
        self.cluster.node.add_dependency(self.role)

        # ClusterDiscoveryEndpointURL is already "dax://<host>" for TLS clusters; the port is added
        # explicitly because the Python client expects host:port.
        self.endpoint_url: str = Fn.join(
            "", [self.cluster.attr_cluster_discovery_endpoint_url, f":{DAX_TLS_PORT}"]
        )

    def allow_from(self, other: ec2.IConnectable) -> None:
        """Open TLS port 9111 from ``other`` (e.g. a Lambda function) to the cluster."""
        self.connections.allow_default_port_from(other, "DAX TLS from a client function")

    def grant_data_access(self, grantee: iam.IGrantable) -> iam.Grant:
        """Item-level dax:* actions on this cluster only (no dax:* wildcard)."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=DAX_CLIENT_ACTIONS, resource_arns=[self.cluster.attr_arn]
        )
