"""Case g: a backfill from a point-in-time export against a Scan backfill, same data, same run.

The model server of the other cases serves DynamoDB only, so this case runs on the embedded emulator
(``devtools.emulator``, a child process: DynamoDB, S3 and CloudWatch), for both variants. One source table with
point-in-time recovery on, loaded once; one target per variant; the worker's transform derives a new key
(``target_pk = "{pk}#{sk}"``), so the target is compared item by item with transform(source) computed here,
independently of the worker's code.

- *scan*: :class:`.backfill.PreparedBackfill` as in case a: plan, then one process per segment.
- *export*: plan with ``{"source": "export"}``, then the export steps the state machine runs (``export_start``,
  ``export_status`` every ``poll_seconds`` until COMPLETED, ``export_files``), then one process per data file,
  each copying its file as a segment. The emulator is told to cut its export into as many files as the Scan has
  segments, so both copies run with the same concurrency.

The emulator's export stays IN_PROGRESS for a fixed, configured time (``export_seconds``), not the minutes to
hours an export takes on AWS: its wait is reported, but it measures the setting, not an export. What is measured
is the copy and what each variant read through the source table's capacity: CloudWatch's
``ConsumedReadCapacityUnits`` of the source (which the emulator publishes from what every request consumed, as
DynamoDB does) over each variant, and the run's own ``consumed_rcu``. The cost of each for a stated table size
comes from ``migration_core.estimate``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from botocore.config import Config

from devtools.emulator.dynamodb_export import ENV_IN_PROGRESS_SECONDS, ENV_ITEMS_PER_FILE
from devtools.local import environment, running_emulator
from devtools.tables import create_table_request
from migration_core.attribute_values import item_size, item_to_json
from migration_core.batch_writer import ParallelBatchWriter
from migration_core.config import WorkerConfig, write_client_config
from migration_core.estimate import (
    EXPORT_PRICE_PER_GB,
    Prices,
    TableFacts,
    estimate_export,
    estimate_export_copy,
    estimate_export_run,
    estimate_phase,
    estimate_run,
    scan_read_units,
)
from migration_core.models import RunSpec
from migration_core.retry import RetryPolicy
from migration_core.types import Item

from .backfill import BackfillOutcome, PreparedBackfill, bench_worker_config, worker_service
from .common import KEY_SCHEMA, SHAPES, STATE_TABLE, Dataset
from .harness import bench_client

SOURCE_TABLE = "bench-export-source"
TARGET_KEY = "target_pk"
TRANSFORM_STEPS: tuple[dict[str, Any], ...] = ({"op": "derive", "attribute": TARGET_KEY, "template": "{pk}#{sk}"},)
EXPORT_BUCKET = "bench-exports"
EXPORT_PREFIX = "ddb-migrate/bench"
LOAD_CONCURRENCY = 16
# Provisioned capacity of the tables in the cost projection: what the run's units are priced at, in unit-hours.
PROVISIONED_UNITS = 10_000.0
_ADMIN_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=5, read_timeout=60)


@dataclass(frozen=True)
class ExportParameters:
    items: int = 4_000
    shape: str = "realistic"
    payload_bytes: int = 200
    segments: int = 4
    write_concurrency: int = 8
    # How long the emulator's export stays IN_PROGRESS (DDBMIGRATE_EMULATOR_EXPORT_SECONDS): a setting, not a
    # measurement. AWS's exports take minutes to hours.
    export_seconds: float = 1.0
    poll_seconds: float = 0.2
    # Table sizes the cost projection prices a Scan and an export for, with the measured mean item size.
    cost_table_gb: tuple[float, ...] = (100.0, 1_000.0)


def _expected(item: Item) -> Item:
    """transform(source) as the case's TRANSFORM_STEPS define it, written out here rather than run through them."""
    return {**item, TARGET_KEY: {"S": f"{item['pk']['S']}#{item['sk']['N']}"}}


def _normalized(item: Item) -> dict[str, Any]:
    """Wire JSON with numbers as their values and the members of sets sorted: DynamoDB keeps neither a number's
    text (``9.9E+125`` comes back in digits) nor a set's order."""
    return {name: _normalized_value(value) for name, value in item_to_json(item).items()}


def _normalized_value(value: Mapping[str, Any]) -> Any:
    ((kind, payload),) = value.items()
    # Decimal compares exactly, whatever the context's precision (which only rounds arithmetic).
    if kind == "N":
        return {kind: Decimal(payload)}
    if kind == "NS":
        return {kind: sorted(Decimal(member) for member in payload)}
    if kind in ("SS", "BS"):
        return {kind: sorted(payload)}
    if kind == "M":
        return {kind: {name: _normalized_value(member) for name, member in payload.items()}}
    if kind == "L":
        return {kind: [_normalized_value(member) for member in payload]}
    return {kind: payload}


def compare(expected: Sequence[Item], target: Sequence[Item]) -> dict[str, Any]:
    """Every expected item against the target's item of the same key: missing, different, extra."""
    wanted = {item[TARGET_KEY]["S"]: _normalized(item) for item in expected}
    found = {item[TARGET_KEY]["S"]: _normalized(item) for item in target}
    missing = [key for key in wanted if key not in found]
    different = [key for key, item in wanted.items() if key in found and found[key] != item]
    extra = [key for key in found if key not in wanted]
    return {
        "expected_items": len(wanted),
        "target_items": len(found),
        "missing": len(missing),
        "different": len(different),
        "extra": len(extra),
        "sample_missing": missing[:3],
        "sample_different": different[:3],
    }


class _Emulator:
    """Clients and chores on the emulator."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.dynamodb = bench_client(endpoint, _ADMIN_CONFIG)
        self.s3 = bench_client(endpoint, _ADMIN_CONFIG, "s3")
        self.cloudwatch = bench_client(endpoint, _ADMIN_CONFIG, "cloudwatch")
        self.started = dt.datetime.now(dt.UTC)

    def create_table(self, name: str, key_schema: Mapping[str, str]) -> None:
        self.dynamodb.create_table(**create_table_request(name, key_schema))

    def load(self, name: str, items: Sequence[Item]) -> float:
        started = time.perf_counter()
        client = bench_client(self.endpoint, write_client_config(LOAD_CONCURRENCY))
        with ParallelBatchWriter(client, name, KEY_SCHEMA, LOAD_CONCURRENCY, RetryPolicy()) as writer:
            for start in range(0, len(items), 5000):
                writer.put_many(items[start : start + 5000])
        return time.perf_counter() - started

    def scan(self, name: str) -> list[Item]:
        items: list[Item] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
            items.extend(page["Items"])
        return items

    def read_units(self, table: str) -> float:
        """Every ConsumedReadCapacityUnits CloudWatch holds for ``table`` since the case started."""
        points = self.cloudwatch.get_metric_statistics(
            Namespace="AWS/DynamoDB",
            MetricName="ConsumedReadCapacityUnits",
            Dimensions=[{"Name": "TableName", "Value": table}],
            StartTime=self.started - dt.timedelta(minutes=2),
            EndTime=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2),
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        return float(sum(point["Sum"] for point in points))


@contextmanager
def _emulator(parameters: ExportParameters) -> Iterator[_Emulator]:
    # As many data files as the Scan has segments: the emulator cuts its export into ceil(items / per file).
    per_file = max(1, math.ceil(parameters.items / parameters.segments))
    settings = {ENV_IN_PROGRESS_SECONDS: f"{parameters.export_seconds:g}", ENV_ITEMS_PER_FILE: str(per_file)}
    # The emulator reads them when it starts, from the environment it inherits.
    with environment(settings), running_emulator() as endpoint:
        yield _Emulator(endpoint)


def _variant_row(
    variant: str,
    outcome: BackfillOutcome,
    reads: float,
    timings: Mapping[str, float],
    check: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    copy = outcome.wall_seconds
    lost = int(check["missing"] + check["different"] + check["extra"])
    return {
        "variant": variant,
        "segments": outcome.segments,
        **{name: round(value, 3) for name, value in timings.items()},
        "copy_seconds": round(copy, 3),
        "wall_seconds": round(sum(timings.values()) + copy, 3),
        "copy_items_per_second": round(outcome.counts.written / copy, 1) if copy else 0.0,
        "client_cpu_cores": round(outcome.cpu_seconds / copy, 3) if copy else 0.0,
        "source_rcu_cloudwatch": round(reads, 3),
        "source_rcu_counted": round(outcome.counts.consumed_rcu, 3),
        "target_wcu_counted": round(outcome.counts.consumed_wcu, 3),
        "scanned": outcome.counts.scanned,
        "written": outcome.counts.written,
        "retries": outcome.counts.retries,
        "redrives": outcome.redrives,
        **{name: check[name] for name in ("expected_items", "target_items", "missing", "different", "extra")},
        "lost_items": lost,
        **extra,
    }


def _scan_variant(
    emulator: _Emulator, config: WorkerConfig, parameters: ExportParameters, expected: Sequence[Item]
) -> dict[str, Any]:
    backfill = PreparedBackfill(
        emulator.endpoint,
        config.source_table,
        config.target_table,
        parameters.segments,
        parameters.write_concurrency,
        config=config,
        transform_steps=TRANSFORM_STEPS,
    )
    # After the warm-up (a one-item Scan per worker, not part of the run): the plan's sample and the copy count.
    before = emulator.read_units(config.source_table)
    outcome = backfill.run()
    reads = emulator.read_units(config.source_table) - before
    check = compare(expected, emulator.scan(config.target_table))
    # PreparedBackfill times the plan with the copy; the plan is a few calls, the copy the rest.
    return _variant_row("scan", outcome, reads, {}, check, {})


def _export_variant(
    emulator: _Emulator, config: WorkerConfig, parameters: ExportParameters, expected: Sequence[Item]
) -> dict[str, Any]:
    # The Plan, StartExport / CheckExport and ExportFiles states' worker, warm on what it reads (no source Scan).
    steps = worker_service(emulator.endpoint, config, transform_steps=TRANSFORM_STEPS, reads_export=True)
    before = emulator.read_units(config.source_table)
    started = time.perf_counter()
    planned = steps.plan({"source": "export", "total_segments": parameters.segments}, f"bench-{uuid.uuid4().hex[:12]}")
    run = RunSpec.from_event(planned["run"])
    planned_at = time.perf_counter()
    export = steps.export_start(run)["export"]
    polls = 0
    while export["status"] != "COMPLETED":
        time.sleep(parameters.poll_seconds)
        export = steps.export_status(run, export)["export"]
        polls += 1
    completed_at = time.perf_counter()
    files = steps.export_files(run, export)
    listed_at = time.perf_counter()
    copied = files["run"]
    # One process per data file (a Map child each): the emulator wrote as many files as the Scan has segments.
    backfill = PreparedBackfill(
        emulator.endpoint,
        config.source_table,
        config.target_table,
        len(files["segments"]),
        parameters.write_concurrency,
        config=config,
        transform_steps=TRANSFORM_STEPS,
        run=copied,
    )
    started_workers_at = time.perf_counter()
    outcome = backfill.run()
    reads = emulator.read_units(config.source_table) - before
    check = compare(expected, emulator.scan(config.target_table))
    timings = {
        "plan_seconds": planned_at - started,
        "export_wait_seconds": completed_at - planned_at,
        "export_files_seconds": listed_at - completed_at,
    }
    extra = {
        "files": copied["export"]["files"],
        "export_item_count": copied["export"]["item_count"],
        "export_polls": polls,
        # Starting the segment processes (a cold start each); excluded from the wall time, as in every case.
        "worker_start_seconds": round(started_workers_at - listed_at, 3),
    }
    return _variant_row("export", outcome, reads, timings, check, extra)


def cost_projection(
    mean_item_bytes: float, table_gb: Sequence[float], prices: Prices | None = None
) -> list[dict[str, Any]]:
    """A Scan backfill and an export backfill of a table of each size, by ``migration_core.estimate``.

    The two copies write the same items; they differ in what they read: the Scan reads the table through its
    capacity (on demand: request units; provisioned: the units consumed, in unit-hours), the export is billed per
    GB of the table and reads nothing from it."""
    prices = prices or Prices()
    rows: list[dict[str, Any]] = []
    for gigabytes in table_gb:
        size = round(gigabytes * 1024**3)
        items = max(1, round(size / mean_item_bytes))
        row: dict[str, Any] = {"table_gb": gigabytes, "items": items, "mean_item_bytes": round(mean_item_bytes, 1)}
        for mode, on_demand in (("on_demand", True), ("provisioned", False)):
            units = None if on_demand else PROVISIONED_UNITS
            source = TableFacts("source", items, size, on_demand, units, units)
            target = replace(source, name="target")
            scan = estimate_phase("copy", source, target, prices)
            from_export = estimate_export_copy(source, target, prices)
            row[mode] = {
                "scan_read_units": round(scan_read_units(source)),
                # Both copies write the same items: the difference is the Scan's reads.
                "scan_read_cost_usd": round(scan.cost_usd - from_export.cost_usd, 2),
                "write_cost_usd": round(from_export.cost_usd, 2),
                "scan_run_cost_usd": round(estimate_run(source, target, cleanup=False, prices=prices).cost_usd, 2),
                "export_run_cost_usd": round(
                    estimate_export_run(source, target, cleanup=False, prices=prices).cost_usd
                    + estimate_export(source).cost_usd,
                    2,
                ),
            }
        row["export_cost_usd"] = round(estimate_export(TableFacts("source", items, size, True, None, None)).cost_usd, 2)
        rows.append(row)
    return rows


def run(parameters: ExportParameters) -> dict[str, Any]:
    data: Dataset = SHAPES[parameters.shape](parameters.shape, parameters.items, parameters.payload_bytes)
    expected = [_expected(item) for item in data.items]
    source_bytes = sum(item_size(item) for item in data.items)
    with _emulator(parameters) as emulator:
        emulator.create_table(STATE_TABLE, {"pk": "S", "sk": "S"})
        emulator.create_table(SOURCE_TABLE, KEY_SCHEMA)
        emulator.dynamodb.update_continuous_backups(
            TableName=SOURCE_TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        emulator.s3.create_bucket(Bucket=EXPORT_BUCKET)
        load_seconds = emulator.load(SOURCE_TABLE, data.items)
        # One deployment with export enabled; each run picks its source, as `ddb-migrate run --source` does.
        deployment = replace(
            bench_worker_config(SOURCE_TABLE, "", parameters.segments, parameters.write_concurrency),
            export_bucket=EXPORT_BUCKET,
            export_prefix=EXPORT_PREFIX,
        )
        rows = []
        for variant in ("scan", "export"):
            target = f"bench-export-{variant}-target"
            emulator.create_table(target, {TARGET_KEY: "S"})
            config = replace(deployment, target_table=target)
            measure = _scan_variant if variant == "scan" else _export_variant
            rows.append(measure(emulator, config, parameters, expected))
    scan, export = rows
    summary = {
        "scan_copy_items_per_second": scan["copy_items_per_second"],
        "export_copy_items_per_second": export["copy_items_per_second"],
        "ratio_export_copy_to_scan_copy": (
            round(export["copy_items_per_second"] / scan["copy_items_per_second"], 3)
            if scan["copy_items_per_second"]
            else None
        ),
        "scan_source_rcu": scan["source_rcu_cloudwatch"],
        "export_source_rcu": export["source_rcu_cloudwatch"],
        # What DynamoDB's rules charge a Scan of the whole table: the CloudWatch figure should be about this (plus
        # the plan's sample), rounded up per page.
        "scan_source_rcu_formula": round(
            scan_read_units(TableFacts(SOURCE_TABLE, len(data.items), source_bytes, True, None, None)), 3
        ),
        "lost_items": scan["lost_items"] + export["lost_items"],
    }
    return {
        "parameters": asdict(parameters),
        "emulator": {"export_seconds": parameters.export_seconds, "load_average": list(os.getloadavg())},
        "items": len(data.items),
        "mean_item_bytes": round(data.mean_size, 1),
        "source_bytes": source_bytes,
        "load_seconds": round(load_seconds, 2),
        "runs": rows,
        "summary": summary,
        "cost": {
            "prices": asdict(Prices()),
            "export_price_per_gb": EXPORT_PRICE_PER_GB,
            "provisioned_units": PROVISIONED_UNITS,
            "rows": cost_projection(data.mean_size, parameters.cost_table_gb),
        },
    }
