"""The accounts service (sign-up, login, profiles, billing): its routes come from its router."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.api import Edge
from infra.constructs.data import DataTables
from infra.constructs.dax import DaxCache
from infra.constructs.identity import ADMINS_GROUP, Identity
from infra.constructs.service import ServiceApi
from infra.routers import ACCOUNTS


def accounts_environment(data: DataTables, identity: Identity, dax_cache: DaxCache | None) -> dict[str, str]:
    """Env shared by every accounts function (HTTP and billing run): see docs/architecture.md."""
    return {
        "ACCOUNTS_TABLE": data.accounts_table.table_name,
        "IDEMPOTENCY_TABLE": data.idempotency_table.table_name,
        "USER_POOL_ID": identity.user_pool.user_pool_id,
        "USER_POOL_CLIENT_ID": identity.user_pool_client.user_pool_client_id,
        "ADMINS_GROUP": ADMINS_GROUP,
        # Empty -> the data layer falls back to plain DynamoDB (contract in architecture.md).
        "DAX_ENDPOINT": dax_cache.endpoint_url if dax_cache is not None else "",
        "PAYMENT_PROVIDER": "local",
    }


def grant_accounts_access(
    fn: lambda_.Function, data: DataTables, identity: Identity, dax_cache: DaxCache | None
) -> None:
    """Least privilege for an accounts function: two tables, its DAX cluster, its user pool."""
    data.grant_read_write(fn)
    identity.grant_accounts_admin(fn)
    if dax_cache is not None:
        dax_cache.grant_data_access(fn)
        dax_cache.allow_from(fn)


class AccountsService(Construct):
    """Attributes: ``service`` (ServiceApi), ``function`` (the HTTP function)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Edge,
        data: DataTables,
        identity: Identity,
        dax_cache: DaxCache | None,
        layers: Sequence[lambda_.ILayerVersion],
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection,
    ) -> None:
        super().__init__(scope, construct_id)
        self.service = ServiceApi(
            self,
            "Api",
            service=ACCOUNTS,
            environment=accounts_environment(data, identity, dax_cache),
            api=api,
            layers=layers,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            memory_size=1024,  # pydantic + Powertools import time: more memory = more CPU = faster cold start
            timeout=Duration.seconds(10),
        )
        self.function = self.service.function
        grant_accounts_access(self.function, data, identity, dax_cache)
