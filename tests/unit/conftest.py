"""Fixtures of the unit tests: fake credentials, moto-backed DynamoDB and deployments, a fake Lambda context.

Fixtures only; the helpers they use are in ``tests/support``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from ddbmigrate.aws import client
from tests.support import tables
from tests.support.aws import use_fake_credentials
from tests.support.lambda_context import FakeLambdaContext
from tests.support.tables import REGION, STATE_TABLE, CreateTable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure no test can reach a real account or an endpoint configured in the developer's shell."""
    use_fake_credentials(monkeypatch)


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def aws() -> Iterator[None]:
    """moto for the CLI, whose cached clients are made inside it (``tests.support.deployment`` deploys into it)."""
    client.cache_clear()
    with mock_aws():
        yield
    client.cache_clear()


@pytest.fixture
def create_table(dynamodb: DynamoDBClient) -> CreateTable:
    """Create an on-demand table in moto: ``create_table("name", pk="S", sk="N")`` (partition key first)."""

    def create(name: str, **key_schema: str) -> str:
        tables.create_table(dynamodb, name, key_schema)
        return name

    return create


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def backfill_tables(create_table: CreateTable) -> tuple[str, str, str]:
    """Source and target (both ``pk`` S + ``sk`` N) and the state table, as Terraform would create them."""
    create_table("source", pk="S", sk="N")
    create_table("target", pk="S", sk="N")
    create_table(STATE_TABLE, pk="S", sk="S")
    return "source", "target", STATE_TABLE
