"""DynamoDB tables: the accounts service's (single-table design + Powertools idempotency) and the
catalog's (titles, shared by the catalog service and the transcode workflow)."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.house import house_table

GSI1 = "gsi1"

# Item-level read/write, no table management. Written out (instead of Table.grant_read_write_data)
# so index rights name the one index that exists ("<arn>/index/gsi1") rather than "<arn>/index/*".
ITEM_READ_WRITE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
]


def single_table(
    scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy, **props: Any
) -> dynamodb.Table:
    """The services' single-table layout: ``pk``/``sk`` strings plus GSI ``gsi1``
    (``gsi1pk``/``gsi1sk``, projection ALL) — what reelstack_common.dynamo and the services expect."""
    table = house_table(
        scope,
        construct_id,
        removal_policy=removal_policy,
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
        **props,
    )
    table.add_global_secondary_index(
        index_name=GSI1,
        partition_key=dynamodb.Attribute(name="gsi1pk", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="gsi1sk", type=dynamodb.AttributeType.STRING),
        projection_type=dynamodb.ProjectionType.ALL,
    )
    return table


class DataTables(Construct):
    """Attributes other code uses:

    accounts_table: pk/sk (S), GSI ``gsi1`` (gsi1pk/gsi1sk, ALL), TTL ``expires_at``,
        stream NEW_AND_OLD_IMAGES (env ``ACCOUNTS_TABLE``)
    idempotency_table: key ``id`` (S), TTL ``expiration`` (env ``IDEMPOTENCY_TABLE``)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        # Account data is the system of record: RETAIN by default so a stack delete never drops it.
        self.accounts_table = single_table(
            self,
            "AccountsTable",
            removal_policy=removal_policy,
            time_to_live_attribute="expires_at",
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        )

        # Idempotency records are short-lived (TTL) and reproducible: losing them on delete is fine.
        self.idempotency_table = house_table(
            self,
            "IdempotencyTable",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            removal_policy=RemovalPolicy.DESTROY,
            time_to_live_attribute="expiration",
        )

    @property
    def tables(self) -> list[dynamodb.Table]:
        return [self.accounts_table, self.idempotency_table]

    @property
    def resource_arns(self) -> list[str]:
        """Both tables plus the accounts GSI by name (no index wildcard)."""
        return [
            self.accounts_table.table_arn,
            f"{self.accounts_table.table_arn}/index/{GSI1}",
            self.idempotency_table.table_arn,
        ]

    def grant_read_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """Item read/write on both tables and the gsi1 index; nothing else."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=ITEM_READ_WRITE_ACTIONS, resource_arns=self.resource_arns
        )


# The catalog table lived in MediaPipeline first. It is RETAINed, so a new logical ID would leave
# the old table (and every title) behind and start an empty one: keep the old ID.
_CATALOG_TABLE_LOGICAL_ID = "MediaCatalogTable47D99E25"


class CatalogData(Construct):
    """Attributes other code uses:

    catalog_table: pk/sk (S), GSI ``gsi1`` (gsi1pk = ``STATUS#{status}``, gsi1sk =
        ``{created_at}#{title_id}``: the listing by status), env ``CATALOG_TABLE``, stream
        NEW_AND_OLD_IMAGES (the catalog's outbox). The catalog service writes titles, series and
        episodes; the transcode workflow moves them through their statuses. Item layout:
        functions/catalog/catalog/dal/dynamo_titles.py and docs/architecture.md.
    gsi1_arn: the listing index by name (no index wildcard)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        # The stream is the catalog's outbox (the catalog's outbox function publishes the changes a
        # write announces); NEW_AND_OLD_IMAGES so a change's version can be compared with the last.
        self.catalog_table = single_table(
            self,
            "CatalogTable",
            removal_policy=removal_policy,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        )
        cfn_table = self.catalog_table.node.default_child
        assert isinstance(cfn_table, dynamodb.CfnTable)
        cfn_table.override_logical_id(_CATALOG_TABLE_LOGICAL_ID)

    @property
    def gsi1_arn(self) -> str:
        return f"{self.catalog_table.table_arn}/index/{GSI1}"
