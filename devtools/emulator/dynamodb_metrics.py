"""DynamoDB's per-table CloudWatch metrics ``ConsumedReadCapacityUnits`` / ``ConsumedWriteCapacityUnits``.

DynamoDB publishes, per minute, in namespace ``AWS/DynamoDB``, the units every table consumed (dimension
``TableName``) and every global secondary index (dimensions ``TableName`` and ``GlobalSecondaryIndexName``), whether
or not the requests asked for ConsumedCapacity. moto publishes nothing, so a test could not tell from outside which
table a piece of code read (the export backfill must read none of the source table's capacity).

The figures are the ones :mod:`.dynamodb_capacity` computes (it calls :func:`record` for every metered action, with
the table's units and each index's). They are aggregated in memory, one (Sum, SampleCount, Minimum, Maximum) per
table, metric and minute, under one short lock; nothing touches moto's CloudWatch on the request path. The pending
minutes are moved into moto's CloudWatch backend of the table's account and region when that backend is read
(``CloudWatchBackend.get_all_metrics``, which GetMetricStatistics, GetMetricData and ListMetrics go through), so a
reader always sees every request answered before it asked.

Not modelled: the one-minute delay with which CloudWatch shows DynamoDB's data points, throttling metrics, and the
``Operation`` dimension metrics (``SuccessfulRequestLatency``, ``ReturnedItemCount``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend, MetricAggregatedDatum

NAMESPACE = "AWS/DynamoDB"
READ = "ConsumedReadCapacityUnits"
WRITE = "ConsumedWriteCapacityUnits"
UNIT = "Count"


@dataclass
class _Minute:
    total: float = 0.0
    count: int = 0
    minimum: float = float("inf")
    maximum: float = float("-inf")

    def add(self, units: float) -> None:
        self.total += units
        self.count += 1
        self.minimum = min(self.minimum, units)
        self.maximum = max(self.maximum, units)


# (account, region, metric, table, index or "", minute) -> aggregate
_Key = tuple[str, str, str, str, str, dt.datetime]
_pending: dict[_Key, _Minute] = {}
_lock = threading.Lock()
enabled = True
"""Whether actions are metered for the metrics; :mod:`.dynamodb_capacity` reads it."""


def _minute(now: dt.datetime | None = None) -> dt.datetime:
    # Naive UTC, as moto's CloudWatch stores and compares its data points.
    moment = now or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)


def record(account: str, region: str, metric: str, table: str, units: float, index: str = "") -> None:
    """Count ``units`` of ``metric`` against a table (or one of its global secondary indexes) for this minute."""
    key = (account, region, metric, table, index, _minute())
    with _lock:
        aggregate = _pending.get(key)
        if aggregate is None:
            aggregate = _pending[key] = _Minute()
        aggregate.add(units)


def _take(account: str, region: str) -> list[tuple[_Key, _Minute]]:
    with _lock:
        keys = [key for key in _pending if key[0] == account and key[1] == region]
        return [(key, _pending.pop(key)) for key in keys]


def flush(backend: Any) -> None:
    """Move the pending minutes of ``backend``'s account and region into it (moto's ``CloudWatchBackend``)."""
    taken = _take(str(backend.account_id), str(backend.region_name))
    for (_, _, metric, table, index, minute), aggregate in taken:
        dimensions = [{"Name": "TableName", "Value": table}]
        if index:
            dimensions.append({"Name": "GlobalSecondaryIndexName", "Value": index})
        backend.metric_data.append(
            MetricAggregatedDatum(
                namespace=NAMESPACE,
                name=metric,
                min_stat=aggregate.minimum,
                max_stat=aggregate.maximum,
                sample_count=float(aggregate.count),
                sum_stat=aggregate.total,
                dimensions=dimensions,
                timestamp=minute,
                unit=UNIT,
            )
        )


def reset() -> None:
    with _lock:
        _pending.clear()


def _flushing_first(original: Callable[..., Any]) -> Callable[..., Any]:
    """``CloudWatchBackend.get_all_metrics``: the DynamoDB minutes counted so far are data points too."""

    def get_all_metrics(self: Any) -> Any:
        flush(self)
        return original(self)

    return get_all_metrics


def replacements() -> Iterator[tuple[Any, str, Any]]:
    yield CloudWatchBackend, "get_all_metrics", _flushing_first(CloudWatchBackend.__dict__["get_all_metrics"])


def compatibility_problems() -> list[str]:
    problems = []
    if "get_all_metrics" not in CloudWatchBackend.__dict__:
        problems.append("CloudWatchBackend.get_all_metrics is missing")
    else:
        for reader in ("get_metric_statistics", "get_metric_data"):
            code = CloudWatchBackend.__dict__[reader].__code__
            if "get_all_metrics" not in code.co_names:
                problems.append(f"CloudWatchBackend.{reader} no longer reads get_all_metrics")
    return problems
