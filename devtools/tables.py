"""Table chores for the demo, tests and benchmarks: create, load, read back."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from ddbmigrate.aws import client
from migration_core.batch_writer import ParallelBatchWriter
from migration_core.config import write_client_config
from migration_core.items import key_schema_from_description
from migration_core.retry import RetryPolicy

Item = dict[str, dict[str, Any]]


def create_table_request(
    name: str,
    key_schema: Mapping[str, str],
    *,
    units: tuple[int, int] | None = None,
    indexes: Mapping[str, Mapping[str, str]] | None = None,
    index_units: Mapping[str, tuple[int, int]] | None = None,
    projection: str = "KEYS_ONLY",
    stream: bool = False,
) -> dict[str, Any]:
    """The arguments of a CreateTable call: the one place the demo, the tests and the benchmarks build them.

    ``key_schema`` maps each key attribute to its type, partition key first: ``{"pk": "S", "sk": "N"}``.
    ``units`` (read, write) makes the table provisioned, None on-demand. ``indexes`` maps each global secondary
    index to its key schema (projected as ``projection``); a provisioned table's indexes get ``index_units`` (by
    index name) or the table's. ``stream`` turns on a NEW_AND_OLD_IMAGES stream.
    """
    indexes = indexes or {}
    types: dict[str, str] = dict(key_schema)
    for index_keys in indexes.values():
        types.update(index_keys)
    arguments: dict[str, Any] = {
        "TableName": name,
        "KeySchema": key_elements(key_schema),
        "AttributeDefinitions": [
            {"AttributeName": attribute, "AttributeType": kind} for attribute, kind in types.items()
        ],
        "BillingMode": "PAY_PER_REQUEST" if units is None else "PROVISIONED",
    }
    if units is not None:
        arguments["ProvisionedThroughput"] = provisioned_throughput(units)
    if indexes:
        arguments["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": key_elements(index_keys),
                "Projection": {"ProjectionType": projection},
                **(
                    {}
                    if units is None
                    else {"ProvisionedThroughput": provisioned_throughput((index_units or {}).get(index, units))}
                ),
            }
            for index, index_keys in indexes.items()
        ]
    if stream:
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    return arguments


def key_elements(key_schema: Mapping[str, str]) -> list[dict[str, str]]:
    """A KeySchema: the first attribute is the partition (HASH) key, a second one the sort (RANGE) key."""
    return [
        {"AttributeName": attribute, "KeyType": "HASH" if index == 0 else "RANGE"}
        for index, attribute in enumerate(key_schema)
    ]


def provisioned_throughput(units: tuple[int, int]) -> dict[str, int]:
    return {"ReadCapacityUnits": units[0], "WriteCapacityUnits": units[1]}


def create_table(
    name: str,
    key_schema: Mapping[str, str],
    stream: bool = False,
    provisioned: tuple[int, int] | None = None,
) -> None:
    """Create a table keyed by ``key_schema`` ({"pk": "S", "sk": "N"}: first entry is the partition key) and wait
    until it exists; ``provisioned`` (read, write) units, or on-demand."""
    dynamodb = client("dynamodb")
    dynamodb.create_table(**create_table_request(name, key_schema, units=provisioned or None, stream=stream))
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


# Items handed to the writer at a time: enough to keep every thread busy, few enough that an interrupted load
# has little left in the writer's queue (its threads are joined before the process can exit).
LOAD_SLICE_CHUNKS_PER_THREAD = 4


class LoadInterruptedError(RuntimeError):
    """Raised in the writer's threads once the load was interrupted, instead of another backoff or send."""


def load_items(
    table: str,
    items: Iterable[Item],
    concurrency: int = 8,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write items with parallel BatchWriteItem calls through the project's own batch writer.

    ``progress`` gets the number of items written so far after every slice. On Ctrl-C (or any error here) the
    writer's threads give up at their next backoff or send instead of retrying for minutes against an endpoint
    that may be gone: the same Ctrl-C stops the emulator.
    """
    interrupted = threading.Event()

    def sleep(seconds: float) -> None:
        if interrupted.wait(seconds):
            raise LoadInterruptedError("the load was interrupted")

    # Not the CLI's client: the writer counts its own retry budget, so botocore must not retry underneath it.
    write_client = boto3.client("dynamodb", config=write_client_config(concurrency))
    slice_size = concurrency * LOAD_SLICE_CHUNKS_PER_THREAD * 25
    written = 0
    with ParallelBatchWriter(
        write_client, table, key_schema_of(table), concurrency, RetryPolicy(sleep=sleep)
    ) as writer:
        try:
            iterator = iter(items)
            while batch := list(itertools.islice(iterator, slice_size)):
                written += writer.put_many(batch).written
                if progress is not None:
                    progress(written)
        except BaseException:
            interrupted.set()
            raise
    return written


def scan_items(dynamodb: Any, table: str, **arguments: Any) -> list[Item]:
    """Every item one (paginated) Scan of ``table`` with these arguments returns, as DynamoDB returns it."""
    return [
        item for page in dynamodb.get_paginator("scan").paginate(TableName=table, **arguments) for item in page["Items"]
    ]


def scan_all(table: str, segments: int = 4, consistent: bool = True) -> list[Item]:
    """Every item of a table, read with a parallel consistent Scan."""
    dynamodb = client("dynamodb")

    def scan_segment(segment: int) -> list[Item]:
        return scan_items(dynamodb, table, Segment=segment, TotalSegments=segments, ConsistentRead=consistent)

    with ThreadPoolExecutor(max_workers=segments) as pool:
        return [item for part in pool.map(scan_segment, range(segments)) for item in part]


def key_schema_of(table: str) -> dict[str, str]:
    return key_schema_from_description(client("dynamodb").describe_table(TableName=table)["Table"])
