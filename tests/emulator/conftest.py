"""Fixtures of the tests that run servers in this process: the embedded emulator and the DynamoDB fault model.

Fixtures only; the helpers they use are in ``tests/support``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from devtools.faults import DynamoDBModel, ModelServer
from tests.support.aws import aws_credentials  # noqa: F401 - autouse: fake credentials for every test
from tests.support.emulator import Aws
from tests.support.faults import memory_settings

if TYPE_CHECKING:
    from devtools.emulator import Emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """The embedded emulator, in this process, for the tests of one module."""
    from devtools.emulator import start_emulator

    with start_emulator() as running:
        yield running


@pytest.fixture(scope="module")
def aws(emulator: Emulator) -> Aws:
    """boto3 clients pointed at this module's emulator."""
    return Aws(emulator.endpoint)


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[ModelServer]:
    """The DynamoDB fault model, served from this process for the tests of one module (whose ``MEMORY`` prefix
    names the tables kept in the model's in-memory store)."""
    with ModelServer(memory_settings(request.module.MEMORY)) as running:
        yield running


@pytest.fixture
def model(server: ModelServer, request: pytest.FixtureRequest) -> Iterator[DynamoDBModel]:
    """The server's model; plain settings again after each test."""
    yield server.model
    server.model.configure(memory_settings(request.module.MEMORY))
