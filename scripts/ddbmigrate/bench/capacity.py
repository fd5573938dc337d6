"""Case b: how much of a provisioned target's write capacity a backfill uses, and that it loses nothing.

The target gets ``C`` WCU as a token bucket that starts empty and keeps at most one second of capacity, so
``consumed WCU / (C x duration)`` is the share of the provisioned rate the run used (it cannot exceed 1); the
duration runs from the moment the capacity limit was applied (just before the run starts) to the last write.
Items are ``flat`` and under 1 KB (1 WCU each) so that capacity, not this machine's CPU, is the limit; the
model adds 5-10 ms per request. Each run is compared with its source item by item. The seed's algorithm runs
too, as the reference.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from ddbmigrate.faults import Capacity

from .backfill import PreparedBackfill
from .common import flat_dataset, median
from .harness import BenchAws, temporary_table
from .seed import SEED_CLIENT_CONFIG, SeedCopy


@dataclass(frozen=True)
class CapacityParameters:
    capacities: tuple[int, ...] = (500, 2000)
    segments: tuple[int, ...] = (1, 4, 8)
    # Items per run = C x this: the run's length if capacity were used fully.
    seconds_of_work: float = 6.0
    latency_ms: tuple[float, float] = (5.0, 10.0)
    burst_seconds: float = 1.0
    write_concurrency: int = 8
    payload_bytes: int = 480
    include_seed: bool = True
    seed_time_limit_seconds: float = 90.0


def run(aws: BenchAws, parameters: CapacityParameters) -> dict[str, Any]:
    aws.ensure_state_table()
    rows: list[dict[str, Any]] = []
    for capacity in parameters.capacities:
        data = flat_dataset("flat", round(capacity * parameters.seconds_of_work), parameters.payload_bytes)
        with temporary_table(aws, f"b-{capacity}-src") as source:
            aws.configure()
            aws.load(source, data.items)
            variants: list[int | None] = [*parameters.segments]
            if parameters.include_seed:
                variants.insert(0, None)
            for segments in variants:
                with temporary_table(aws, f"b-{capacity}-dst") as target:
                    row = _one_run(aws, parameters, source, target, capacity, segments, len(data.items))
                    aws.configure()
                    row |= _check(aws.compare(source, target))
                    rows.append(row)
    return {"parameters": asdict(parameters), "runs": rows, "summary": _summary(rows, parameters)}


def _one_run(
    aws: BenchAws,
    parameters: CapacityParameters,
    source: str,
    target: str,
    capacity: int,
    segments: int | None,
    items: int,
) -> dict[str, Any]:
    extras: dict[str, Any]
    bucket = Capacity(capacity, burst_seconds=parameters.burst_seconds, initial_fill=0.0)
    if segments is None:
        client = aws.client(SEED_CLIENT_CONFIG)
        client.describe_table(TableName=source)  # a warm client, as our segment processes get
        aws.configure(latency_ms=parameters.latency_ms, write_capacity={target: bucket})
        started, cpu = time.perf_counter(), time.process_time()
        seed = SeedCopy(client, source, target, time_limit_seconds=parameters.seed_time_limit_seconds).run()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        extras = {"variant": "seed", "segments": 1, "retries": seed.retries, "dropped": seed.dropped}
        extras["client_cpu_cores"] = round(cpu / wall, 3)
        extras |= {"error": seed.error, "timed_out": seed.timed_out}
    else:
        backfill = PreparedBackfill(aws, source, target, segments, parameters.write_concurrency)
        # The bucket starts empty when configured, so capacity counts from here on.
        aws.configure(latency_ms=parameters.latency_ms, write_capacity={target: bucket})
        outcome = backfill.run()
        wall = outcome.wall_seconds
        extras = {"variant": "ours", "segments": segments, "retries": outcome.counts.retries}
        extras |= {"redrives": outcome.redrives, "client_cpu_cores": round(outcome.cpu_seconds / wall, 3)}
    snapshot = aws.snapshot()
    stats = snapshot.table(target)
    consumed = float(stats.get("consumed_wcu", 0.0))
    written = int(stats.get("writes_applied", 0))
    sent = written + int(stats.get("unprocessed_items", 0)) + int(stats.get("throttled_items", 0))
    last = stats.get("last_write_at")
    # The capacity that was there to use: the bucket started empty when the settings were applied and refilled
    # at C until the last write; before the first write the run was planning and scanning.
    active = (last - snapshot.settings_applied_at) if last is not None else 0.0
    return {
        "capacity_wcu": capacity,
        "items": items,
        "wall_seconds": round(wall, 3),
        "consumed_wcu": consumed,
        "utilization": round(consumed / (capacity * active), 3) if active > 0 else 0.0,
        "throttled_requests": stats.get("throttled_requests", 0),
        "unprocessed_items": stats.get("unprocessed_items", 0),
        # Items sent per item accepted: what retrying against a full table costs in requests (and client CPU).
        "send_amplification": round(sent / written, 2) if written else 0.0,
        **extras,
    }


def _check(comparison: dict[str, Any]) -> dict[str, Any]:
    return {
        "target_items": comparison["target_items"],
        "lost_items": comparison["missing"],
        "different_items": comparison["different"],
    }


def _summary(rows: list[dict[str, Any]], parameters: CapacityParameters) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for capacity in parameters.capacities:
        for row in rows:
            if row["capacity_wcu"] != capacity:
                continue
            name = "seed" if row["variant"] == "seed" else f"ours_{row['segments']}_segments"
            summary[f"utilization_{capacity}_wcu_{name}"] = row["utilization"]
    ours = [row for row in rows if row["variant"] == "ours"]
    summary["ours_median_utilization"] = median([row["utilization"] for row in ours])
    summary["ours_lost_items"] = sum(row["lost_items"] + row["different_items"] for row in ours)
    seed = [row for row in rows if row["variant"] == "seed"]
    summary["seed_lost_items"] = sum(row["lost_items"] + row["different_items"] for row in seed)
    return summary
