"""Comparison helpers shared by the integration tests."""

from __future__ import annotations

from typing import Any

from ddbmigrate.aws import client

Item = dict[str, dict[str, Any]]
SET_TYPES = ("SS", "NS", "BS")


def normalize(value: Any) -> Any:
    """Make sets order-independent (DynamoDB returns set members in any order); everything else stays exact."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((kind, inner),) = value.items()
            if kind in SET_TYPES:
                return {kind: sorted(inner)}
        return {name: normalize(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [normalize(inner) for inner in value]
    return value


def by_key(items: list[Item], *key: str) -> dict[tuple[Any, ...], Item]:
    indexed: dict[tuple[Any, ...], Item] = {}
    for item in items:
        identity = tuple(next(iter(item[name].values())) for name in key)
        assert identity not in indexed, f"duplicate key {identity}"
        indexed[identity] = normalize(item)
    return indexed


def state_records(state_table: str, run_id: str) -> list[Item]:
    paginator = client("dynamodb").get_paginator("query")
    pages = paginator.paginate(
        TableName=state_table,
        KeyConditionExpression="pk = :run",
        ExpressionAttributeValues={":run": {"S": run_id}},
    )
    return [item for page in pages for item in page["Items"]]
