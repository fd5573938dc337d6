"""DescribeTable's ``Table`` as DynamoDB returns it, for the pure code that reads capacity and sizes from it."""

from __future__ import annotations

from typing import Any


def provisioned(name: str, items: int, size: int, rcu: int, wcu: int, gsis: int = 0) -> dict[str, Any]:
    return {
        "TableName": name,
        "ItemCount": items,
        "TableSizeBytes": size,
        "ProvisionedThroughput": {"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu},
        "GlobalSecondaryIndexes": [
            {"IndexName": f"gsi{index}", "ProvisionedThroughput": {"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}}
            for index in range(gsis)
        ],
    }


def on_demand(name: str, items: int, size: int, **extra: Any) -> dict[str, Any]:
    return {
        "TableName": name,
        "ItemCount": items,
        "TableSizeBytes": size,
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
        **extra,
    }
