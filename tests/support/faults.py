"""The DynamoDB fault model (``devtools.faults``) from a test's side: clients of a running ``ModelServer``."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config

from devtools.faults import ModelServer, ModelSettings
from tests.support import tables
from tests.support.tables import REGION

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
"""The test sees every throttle and error the model injects: botocore retries nothing underneath it."""


def model_client(server: ModelServer, service: str = "dynamodb", *, config: Config = NO_RETRIES) -> Any:
    """A boto3 client of the model server, in a session of its own (clients are not shared across threads)."""
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        endpoint_url=server.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def model_table(server: ModelServer, name: str, key_schema: Mapping[str, str] | None = None) -> str:
    """Create an on-demand table in the model (``pk`` S + ``sk`` N unless ``key_schema`` says otherwise); returns
    its name."""
    tables.create_table(model_client(server), name, key_schema or {"pk": "S", "sk": "N"})
    return name


def memory_settings(prefix: str) -> ModelSettings:
    """Plain settings (no faults) with the tables whose names start with ``prefix`` in the in-memory store."""
    return ModelSettings(memory_tables=(f"{prefix}*",))


class VirtualClock:
    """Time that passes only while the code under test waits (backs off or paces), so the model's capacity
    buckets see the same request times on any machine, however busy. Pass it as the ``ModelServer``'s clock, its
    ``sleep`` as the retry policy's and itself as the writer's ``monotonic``."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
