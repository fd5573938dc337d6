"""Fixtures of the unit tests: fake credentials, moto-backed DynamoDB and deployments, a fake Lambda context.

Fixtures only; the helpers they use are in ``tests/support``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from ddbmigrate.aws import client
from tests.support import tables
from tests.support.aws import aws_credentials  # noqa: F401 - autouse: fake credentials for every test
from tests.support.deployment import Deployed, deploy
from tests.support.lambda_context import FakeLambdaContext
from tests.support.replication import client_sqs, create_fifo_queue
from tests.support.tables import REGION, STATE_TABLE, CreateTable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


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
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Deployed:
    """A deployment of the migration in moto, for the CLI to discover (``tests.support.deployment.deploy``)."""
    return deploy(tmp_path, monkeypatch)


@pytest.fixture
def queue_url(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """A FIFO replication queue in moto, named in ``QUEUE_URL`` for the stream forwarder. ``aws`` is the
    requesting module's: the replication modules import their own (``tests.support.replication.aws``)."""
    url = create_fifo_queue(client_sqs())
    monkeypatch.setenv("QUEUE_URL", url)
    return url


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
