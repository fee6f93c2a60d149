"""The accounts service (sign-up, login, profiles, billing): its routes come from its router."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.api import Edge
from infra.constructs.data import DataTables
from infra.constructs.dax import DaxCache
from infra.constructs.identity import ADMINS_GROUP, Identity
from infra.constructs.service import ServiceApi
from infra.routers import ACCOUNTS


@dataclass(frozen=True)
class AccountsContext:
    """What every accounts function (the HTTP service and the billing run) runs with: the same
    tables, user pool, DAX cache, layers and private subnets, hence the same env and grants."""

    data: DataTables
    identity: Identity
    dax_cache: DaxCache | None
    layers: Sequence[lambda_.ILayerVersion]
    vpc: ec2.IVpc
    vpc_subnets: ec2.SubnetSelection

    def environment(self) -> dict[str, str]:
        """Env shared by every accounts function: see docs/architecture.md."""
        return {
            "ACCOUNTS_TABLE": self.data.accounts_table.table_name,
            "IDEMPOTENCY_TABLE": self.data.idempotency_table.table_name,
            "USER_POOL_ID": self.identity.user_pool.user_pool_id,
            "USER_POOL_CLIENT_ID": self.identity.user_pool_client.user_pool_client_id,
            "ADMINS_GROUP": ADMINS_GROUP,
            # Empty -> the data layer falls back to plain DynamoDB (contract in architecture.md).
            "DAX_ENDPOINT": self.dax_cache.endpoint_url if self.dax_cache is not None else "",
            "PAYMENT_PROVIDER": "local",
        }

    def grant(self, fn: lambda_.Function) -> None:
        """Least privilege for an accounts function: two tables, its DAX cluster, its user pool."""
        self.data.grant_read_write(fn)
        self.identity.grant_accounts_admin(fn)
        if self.dax_cache is not None:
            self.dax_cache.grant_data_access(fn)
            self.dax_cache.allow_from(fn)


class AccountsService(Construct):
    """Attributes: ``service`` (ServiceApi), ``function`` (the HTTP function)."""

    def __init__(self, scope: Construct, construct_id: str, *, api: Edge, context: AccountsContext) -> None:
        super().__init__(scope, construct_id)
        self.service = ServiceApi(
            self,
            "Api",
            service=ACCOUNTS,
            environment=context.environment(),
            api=api,
            layers=context.layers,
            vpc=context.vpc,
            vpc_subnets=context.vpc_subnets,
        )
        self.function = self.service.function
        context.grant(self.function)
