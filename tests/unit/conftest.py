"""Shared fixtures for the unit tests: fake credentials, moto-backed DynamoDB, a fake Lambda context."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from moto import mock_aws

from migration_core.backfill import BackfillService
from migration_core.clock import Clock, utc_now
from migration_core.config import WorkerConfig
from migration_core.guards import ExecutionStatus
from migration_core.transform import CustomTransform, Transformer
from migration_core.types import Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from ddbmigrate.emulator import Emulator

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure no test can reach a real account or an endpoint configured in the developer's shell."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """The embedded emulator, in this process, for the tests of one module."""
    from ddbmigrate.emulator import start_emulator

    with start_emulator() as running:
        yield running


CreateTable = Callable[..., str]


def create_on_demand_table(client: DynamoDBClient, name: str, **key_schema: str) -> str:
    """Create an on-demand table: ``create_on_demand_table(client, "name", pk="S", sk="N")`` (partition key first)."""
    names = list(key_schema)
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": attribute, "KeyType": "HASH" if index == 0 else "RANGE"}
            for index, attribute in enumerate(names)
        ],
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": key_schema[attribute]}  # type: ignore[typeddict-item]
            for attribute in names
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.fixture
def create_table(dynamodb: DynamoDBClient) -> CreateTable:
    """Create an on-demand table in moto: ``create_table("name", pk="S", sk="N")`` (partition key first)."""

    def create(name: str, **key_schema: str) -> str:
        return create_on_demand_table(dynamodb, name, **key_schema)

    return create


def scan_all(client: DynamoDBClient, table: str) -> list[dict[str, Any]]:
    """Every item of a table, read with the low-level client exactly as DynamoDB returns it."""
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        items.extend(page["Items"])
    return items


@dataclass
class FakeLambdaContext:
    """The part of Lambda's context object the worker and Powertools use.

    ``remaining_ms`` is reported as is, then lowered by ``ms_per_call`` on every call, which lets a test make
    the invocation run out of time after a known number of checks.
    """

    remaining_ms: int = 900_000
    ms_per_call: int = 0
    function_name: str = "ddb-migrate-worker"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:ddb-migrate-worker"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/ddb-migrate-worker"
    log_stream_name: str = "2024/01/01/[$LATEST]0000"
    calls: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        reported = self.remaining_ms
        self.calls.append(reported)
        self.remaining_ms -= self.ms_per_call
        return reported


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


STATE_TABLE = "migration-state"


@pytest.fixture
def backfill_tables(create_table: CreateTable) -> tuple[str, str, str]:
    """Source and target (both ``pk`` S + ``sk`` N) and the state table, as Terraform would create them."""
    create_table("source", pk="S", sk="N")
    create_table("target", pk="S", sk="N")
    create_table(STATE_TABLE, pk="S", sk="S")
    return "source", "target", STATE_TABLE


def make_service(
    client: DynamoDBClient,
    *,
    source: str = "source",
    target: str = "target",
    transform_steps: Sequence[Mapping[str, Any]] = (),
    custom_transform: CustomTransform | None = None,
    write_client: DynamoDBClient | None = None,
    max_write_attempts: int = 3,
    scan_page_limit: int | None = None,
    time_safety_margin_seconds: float = 60.0,
    cleanup_allowed: bool = True,
    clock: Clock = utc_now,
    monotonic: Callable[[], float] = time.monotonic,
    execution_status: ExecutionStatus | None = None,
) -> BackfillService:
    """A BackfillService on moto clients whose retries never sleep."""
    config = WorkerConfig(
        source_table=source,
        target_table=target,
        state_table=STATE_TABLE,
        write_concurrency=4,
        max_write_attempts=max_write_attempts,
        time_safety_margin_seconds=time_safety_margin_seconds,
        scan_page_limit=scan_page_limit,
        cleanup_allowed=cleanup_allowed,
    )
    return BackfillService(
        config=config,
        client=client,
        write_client=write_client or client,
        retry_policy=config.retry_policy(sleep=lambda seconds: None, rng=random.Random(0)),
        transformer_factory=lambda: Transformer.from_spec(list(transform_steps), custom_transform, clock=clock),
        clock=clock,
        monotonic=monotonic,
        execution_status=execution_status,
    )


def enable_pitr(client: DynamoDBClient, table: str) -> None:
    """Point-in-time recovery, which the plan requires before an in-place run or a cleanup mutates a table."""
    client.update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )


def put_items(client: DynamoDBClient, table: str, items: Iterable[Mapping[str, Any]]) -> None:
    for item in items:
        client.put_item(TableName=table, Item=cast(Any, item))


def numbered_items(count: int) -> list[Item]:
    return [
        {"pk": {"S": f"item#{index:05d}"}, "sk": {"N": str(index % 7)}, "payload": {"S": "x" * 50}}
        for index in range(count)
    ]


def by_key(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Index items by their ``pk``/``sk`` so that two scans can be compared regardless of order."""
    return {f"{item['pk']}|{item.get('sk')}": item for item in items}
