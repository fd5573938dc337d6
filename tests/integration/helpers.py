"""Comparison and polling helpers shared by the integration tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ddbmigrate.aws import client

Item = dict[str, dict[str, Any]]
SET_TYPES = ("SS", "NS", "BS")
CONVERGE_SECONDS = 180.0
POLL_SECONDS = 0.5


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


def queue_depth(url: str) -> int:
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def wait_until(condition: Callable[[], str | None], what: str, timeout: float = CONVERGE_SECONDS) -> None:
    """Poll ``condition`` (None when satisfied, else why not) until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        problem = condition()
        if problem is None:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s: {problem}")
        time.sleep(POLL_SECONDS)


def differences(expected: dict[Any, Item], actual: dict[Any, Item]) -> str | None:
    if expected == actual:
        return None
    missing = sorted(str(key) for key in expected.keys() - actual.keys())
    extra = sorted(str(key) for key in actual.keys() - expected.keys())
    changed = sorted(str(key) for key in expected.keys() & actual.keys() if expected[key] != actual[key])
    return f"missing {missing[:5]}, unexpected {extra[:5]}, different {changed[:5]}"
