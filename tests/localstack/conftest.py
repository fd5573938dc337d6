"""Fixtures of the tests of the project's LocalStack plugins (``devtools/localstack/plugins``): they run against
the LocalStack that ``make test-localstack`` starts (``devtools/localstack/run.sh`` sets ``AWS_ENDPOINT_URL``).

Fixtures only; the helpers are in ``tests/support``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest

from tests.support.emulator import Aws
from tests.support.localstack import localstack_endpoint
from tests.support.tables import REGION

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient


@pytest.fixture(scope="session")
def aws() -> Aws:
    """boto3 clients pointed at the running LocalStack; without one, every test here is skipped, saying why."""
    endpoint = localstack_endpoint()
    if endpoint is None:
        pytest.skip("needs a running LocalStack with the project's plugins: `make test-localstack`")
    return Aws(endpoint)


@pytest.fixture(scope="session")
def streams(aws: Aws) -> DynamoDBStreamsClient:
    """A DynamoDB Streams client of the same LocalStack."""
    client: DynamoDBStreamsClient = boto3.client(
        "dynamodbstreams",
        endpoint_url=aws.endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client
