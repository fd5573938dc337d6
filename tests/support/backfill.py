"""The backfill worker on moto: a BackfillService whose retries never sleep, and the handler as Lambda loads it."""

from __future__ import annotations

import dataclasses
import importlib
import json
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3

from migration_core.backfill import BackfillService
from migration_core.clock import Clock, utc_now
from migration_core.config import WorkerConfig
from migration_core.guards import ExecutionStatus
from migration_core.transform import CustomTransform, Transformer
from tests.support.tables import REGION, STATE_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

HANDLER_MODULE = "backfill_worker.handler"
EXPORT_PREFIX = "exports/ddb-migrate"
WORKER_ENVIRONMENT = {
    "SOURCE_TABLE": "source",
    "TARGET_TABLE": "target",
    "STATE_TABLE": STATE_TABLE,
    "DEFAULT_TOTAL_SEGMENTS": "4",
    "WRITE_CONCURRENCY": "4",
    "MAX_WRITE_ATTEMPTS": "5",
    "BACKOFF_BASE_MS": "10",
    "BACKOFF_CAP_MS": "100",
    "TIME_SAFETY_MARGIN_SECONDS": "30",
    "SCAN_PAGE_LIMIT": "0",
    "CLEANUP_ALLOWED": "true",
    "PREWARM_ALLOWED": "false",
    "DEFAULT_PREWARM": "false",
    "DEFAULT_PREWARM_RCU": "12000",
    "DEFAULT_PREWARM_WCU": "4000",
    "DEFAULT_PREWARM_WARM_THROUGHPUT": "false",
    "DEFAULT_MAX_READ_RATE": "",
    "DEFAULT_MAX_WRITE_RATE": "",
    "MAX_CONCURRENCY": "4",
    "EXPORT_BUCKET": "",
    "EXPORT_PREFIX": "",
    "EXPORT_BUCKET_OWNER": "",
    "DEFAULT_BACKFILL_SOURCE": "scan",
    "TRANSFORM_STEPS": json.dumps([{"op": "set", "attribute": "migrated", "value": {"BOOL": True}}]),
    "POWERTOOLS_SERVICE_NAME": "ddb-migrate-worker",
    "POWERTOOLS_METRICS_NAMESPACE": "ddb-migrate",
}


def worker_config(**overrides: Any) -> WorkerConfig:
    """The worker's configuration as Terraform's environment gives it (``WORKER_ENVIRONMENT``), with overrides."""
    return dataclasses.replace(WorkerConfig.from_environment(WORKER_ENVIRONMENT), **overrides)


def import_handler() -> ModuleType:
    """The worker's handler module, imported afresh: it builds its clients and configuration at import, like a
    Lambda cold start."""
    sys.modules.pop(HANDLER_MODULE, None)
    return importlib.import_module(HANDLER_MODULE)


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
    state_table: str = STATE_TABLE,
    backoff_ms: tuple[int, int] | None = None,
    sleep: Callable[[float], None] = lambda seconds: None,
    seed: int = 0,
    export_bucket: str | None = None,
) -> BackfillService:
    """A BackfillService on the given clients (moto unless a test passes others) whose retries never sleep.

    ``backoff_ms`` (base, cap) replaces the configuration's default backoff; ``sleep=time.sleep`` makes retries
    really wait it out. ``export_bucket`` enables runs with source export, whose exports go to that bucket under
    ``EXPORT_PREFIX`` (moto's S3).
    """
    config = worker_config(
        source_table=source,
        target_table=target,
        state_table=state_table,
        default_total_segments=16,
        write_concurrency=4,
        max_write_attempts=max_write_attempts,
        backoff_base_ms=50,
        backoff_cap_ms=20_000,
        time_safety_margin_seconds=time_safety_margin_seconds,
        scan_page_limit=scan_page_limit,
        cleanup_allowed=cleanup_allowed,
    )
    if backoff_ms is not None:
        config = dataclasses.replace(config, backoff_base_ms=backoff_ms[0], backoff_cap_ms=backoff_ms[1])
    if export_bucket is not None:
        config = dataclasses.replace(config, export_bucket=export_bucket, export_prefix=EXPORT_PREFIX)
    return BackfillService(
        config=config,
        client=client,
        write_client=write_client or client,
        retry_policy=config.retry_policy(sleep=sleep, rng=random.Random(seed)),
        transformer_factory=lambda: Transformer.from_spec(list(transform_steps), custom_transform, clock=clock),
        clock=clock,
        monotonic=monotonic,
        execution_status=execution_status,
        s3=lambda: boto3.client("s3", region_name=REGION),
    )
