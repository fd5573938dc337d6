"""What the worker needs to know about a DynamoDB table, from DescribeTable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from migration_core.errors import InvalidInput
from migration_core.estimate import TableFacts
from migration_core.items import key_schema_from_description

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class TableInfo:
    name: str
    status: str
    key_schema: dict[str, str]
    # DynamoDB's estimate, refreshed about every six hours.
    item_count: int
    # Capacity mode, limits and sizes: what a budget given as a share is a share of.
    facts: TableFacts


def describe_table(client: DynamoDBClient, name: str) -> TableInfo:
    try:
        table = client.describe_table(TableName=name)["Table"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise InvalidInput(
                f"table {name!r} does not exist in this account and region (DescribeTable: ResourceNotFoundException)"
            ) from error
        raise
    return TableInfo(
        name=name,
        status=table.get("TableStatus", "UNKNOWN"),
        key_schema=key_schema_from_description(table),
        item_count=table.get("ItemCount", 0),
        facts=TableFacts.from_description(table),
    )
