"""What the worker needs to know about a DynamoDB table, from DescribeTable."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from migration_core.errors import InvalidInput
from migration_core.estimate import TableFacts
from migration_core.items import key_schema_from_description

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_dynamodb import DynamoDBClient

LOGGER = logging.getLogger(__name__)
# Denials that leave a share of the provisioned capacity, lower than or equal to a share of the auto-scaling
# maximum: a smaller budget, never a larger one.
_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})


@dataclass(frozen=True)
class TableInfo:
    name: str
    status: str
    key_schema: dict[str, str]
    # DynamoDB's estimate, refreshed about every six hours.
    item_count: int
    # Capacity mode, limits and sizes: what a budget given as a share is a share of.
    facts: TableFacts
    arn: str = ""


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
        arn=table.get("TableArn", ""),
    )


def with_auto_scaling(facts: TableFacts, autoscaling: ApplicationAutoScalingClient) -> tuple[TableFacts, str | None]:
    """The table's facts with its auto-scaling maxima, and a note when they could not be read.

    A provisioned table under Application Auto Scaling can serve up to its scalable targets' MaxCapacity, so a
    budget given as a share is of that. Without permission to read them, the share stays of the provisioned
    capacity (the smaller figure) and the note says so.
    """
    if facts.on_demand:
        return facts, None
    try:
        targets = autoscaling.describe_scalable_targets(
            ServiceNamespace="dynamodb", ResourceIds=[f"table/{facts.name}"]
        )["ScalableTargets"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code not in _DENIED:
            raise
        note = (
            f"could not read the auto-scaling of {facts.name} ({code}): a budget given as a share is of its "
            f"provisioned capacity; allow application-autoscaling:DescribeScalableTargets to have it of the maximum"
        )
        LOGGER.warning(note)
        return facts, note
    maxima = {target["ScalableDimension"]: float(target["MaxCapacity"]) for target in targets}
    return (
        replace(
            facts,
            scaling_max_read_units=maxima.get("dynamodb:table:ReadCapacityUnits"),
            scaling_max_write_units=maxima.get("dynamodb:table:WriteCapacityUnits"),
        ),
        None,
    )
