"""The benchmark's DynamoDB: the model server in a process of its own, and the chores around it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import boto3
from botocore.config import Config

from devtools.faults import Capacity, ModelControl, ModelSettings, model_server_process
from devtools.tables import create_table_request
from migration_core.batch_writer import ParallelBatchWriter
from migration_core.config import write_client_config
from migration_core.retry import RetryPolicy
from migration_core.types import Item

from .common import DATA_TABLE_PREFIX, KEY_SCHEMA, REGION, SINK_QUEUE_PREFIX, STATE_TABLE

LOAD_CONCURRENCY = 16
_ADMIN_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=5, read_timeout=60)


@dataclass(frozen=True)
class ModelSnapshot:
    """The model server's counters at one moment, for differences over a run."""

    cpu_seconds: float
    tables: Mapping[str, Mapping[str, Any]]
    # Model clock: when the current settings took effect, and now.
    settings_applied_at: float
    clock: float
    # Requests per operation since the model started (all tables).
    requests: Mapping[str, int]

    def table(self, name: str) -> Mapping[str, Any]:
        return self.tables.get(name, {})


class BenchAws:
    """Clients, tables and model settings against one model server."""

    def __init__(self, control: ModelControl) -> None:
        self.control = control
        self.endpoint = control.endpoint
        self.base_settings = ModelSettings(
            memory_tables=(f"{DATA_TABLE_PREFIX}*",), sqs_sink_queues=(f"{SINK_QUEUE_PREFIX}*",)
        )
        control.configure(self.base_settings)
        self._admin = self.client(_ADMIN_CONFIG)

    def client(self, config: Config | None = None, service: str = "dynamodb") -> Any:
        return bench_client(self.endpoint, config, service)

    # -- model settings -------------------------------------------------------------------------------------

    def configure(
        self,
        *,
        latency_ms: tuple[float, float] = (0.0, 0.0),
        write_capacity: Mapping[str, Capacity] | None = None,
        **overrides: Any,
    ) -> ModelSettings:
        settings = replace(
            self.base_settings, latency_ms=latency_ms, write_capacity=dict(write_capacity or {}), **overrides
        )
        self.control.configure(settings)
        return settings

    def snapshot(self) -> ModelSnapshot:
        stats = self.control.stats()
        return ModelSnapshot(
            float(stats["process_cpu_seconds"]),
            stats["tables"],
            float(stats["settings_applied_at"]),
            float(stats["clock"]),
            stats["requests"],
        )

    # -- tables ---------------------------------------------------------------------------------------------

    def new_table_name(self, label: str) -> str:
        return f"{DATA_TABLE_PREFIX}{label}-{uuid.uuid4().hex[:8]}"

    def create_table(self, name: str, key_schema: Mapping[str, str] = KEY_SCHEMA, *, stream: bool = False) -> str:
        self._admin.create_table(**create_table_request(name, key_schema, stream=stream))
        return name

    def ensure_state_table(self) -> str:
        try:
            self._admin.describe_table(TableName=STATE_TABLE)
        except self._admin.exceptions.ResourceNotFoundException:
            self.create_table(STATE_TABLE, {"pk": "S", "sk": "S"})
        return STATE_TABLE

    def delete_table(self, name: str) -> None:
        self._admin.delete_table(TableName=name)

    def item_count(self, name: str) -> int:
        return int(self._admin.describe_table(TableName=name)["Table"]["ItemCount"])

    def load(self, name: str, items: Sequence[Item]) -> float:
        """Write ``items`` with the project's batch writer (run with the model's latency off); seconds taken."""
        started = time.perf_counter()
        client = self.client(write_client_config(LOAD_CONCURRENCY))
        with ParallelBatchWriter(client, name, KEY_SCHEMA, LOAD_CONCURRENCY, RetryPolicy()) as writer:
            for start in range(0, len(items), 5000):
                writer.put_many(items[start : start + 5000])
        return time.perf_counter() - started

    def compare(self, source: str, target: str) -> dict[str, Any]:
        """Item-by-item comparison done inside the model (exact wire JSON), so no scan is needed."""
        return self.control.compare(source, target)


def bench_client(endpoint: str, config: Config | None = None, service: str = "dynamodb") -> Any:
    """A new client for the model (own session: creating clients from boto3's default one is not thread-safe)."""
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - the local model accepts anything
        config=config,
    )


@contextmanager
def bench_aws() -> Iterator[BenchAws]:
    """Start the model server (own process) and yield a :class:`BenchAws` for it."""
    with model_server_process() as control:
        yield BenchAws(control)


@contextmanager
def temporary_table(aws: BenchAws, label: str) -> Iterator[str]:
    """A fresh data table, deleted afterwards (the model keeps items in memory)."""
    name = aws.create_table(aws.new_table_name(label))
    try:
        yield name
    finally:
        aws.delete_table(name)
