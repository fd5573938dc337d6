"""Case b: how much of a provisioned target's write capacity a backfill uses, and that it loses nothing.

The target gets ``C`` WCU as a token bucket that starts empty and keeps at most one second of capacity, so
``consumed WCU / (C x duration)`` is the share of the provisioned rate the run used (it cannot exceed 1); the
duration runs from the moment the capacity limit was applied (just before the run starts) to the last write.
Items are ``flat`` and under 1 KB (1 WCU each) so that capacity, not this machine's CPU, is the limit; the
model adds 5-10 ms per request. Each run is compared with its source item by item. The seed's algorithm runs
too, as the reference, and so does our writer without its adaptive send rate (``ours-unpaced``: each chunk
backs off on its own, as before the rate existed), next to ours for every N, so that what the rate saves in
requests and costs in utilisation is measured side by side.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

from devtools.faults import Capacity
from migration_core.batch_writer import BATCH_WRITE_LIMIT

from .backfill import PreparedBackfill
from .common import flat_dataset, median, ratio
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
    include_unpaced: bool = True
    seed_time_limit_seconds: float = 90.0


def run(aws: BenchAws, parameters: CapacityParameters) -> dict[str, Any]:
    aws.ensure_state_table()
    rows: list[dict[str, Any]] = []
    for capacity in parameters.capacities:
        data = flat_dataset("flat", round(capacity * parameters.seconds_of_work), parameters.payload_bytes)
        with temporary_table(aws, f"b-{capacity}-src") as source:
            aws.configure()
            aws.load(source, data.items)
            variants: list[tuple[str, int]] = [("seed", 1)] if parameters.include_seed else []
            for segments in parameters.segments:
                if parameters.include_unpaced:
                    variants.append(("ours-unpaced", segments))
                variants.append(("ours", segments))
            for variant, segments in variants:
                with temporary_table(aws, f"b-{capacity}-dst") as target:
                    row = _one_run(aws, parameters, source, target, capacity, variant, segments, len(data.items))
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
    variant: str,
    segments: int,
    items: int,
) -> dict[str, Any]:
    extras: dict[str, Any]
    bucket = Capacity(capacity, burst_seconds=parameters.burst_seconds, initial_fill=0.0)
    before = aws.snapshot()
    if variant == "seed":
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
        backfill = PreparedBackfill(
            aws, source, target, segments, parameters.write_concurrency, adaptive_rate=variant == "ours"
        )
        # The bucket starts empty when configured, so capacity counts from here on.
        aws.configure(latency_ms=parameters.latency_ms, write_capacity={target: bucket})
        outcome = backfill.run()
        wall = outcome.wall_seconds
        extras = {"variant": variant, "segments": segments, "retries": outcome.counts.retries}
        extras |= {"redrives": outcome.redrives, "client_cpu_cores": round(outcome.cpu_seconds / wall, 3)}
    snapshot = aws.snapshot()
    stats = snapshot.table(target)
    consumed = float(stats.get("consumed_wcu", 0.0))
    written = int(stats.get("writes_applied", 0))
    sent = written + int(stats.get("unprocessed_items", 0)) + int(stats.get("throttled_items", 0))
    # Only the run writes with BatchWriteItem between the two snapshots (checkpoints are UpdateItems).
    calls = snapshot.requests.get("BatchWriteItem", 0) - before.requests.get("BatchWriteItem", 0)
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
        # BatchWriteItem calls per call that a run without any refusal needs (one per 25 items).
        "write_calls": calls,
        "calls_per_batch_needed": round(calls / math.ceil(written / BATCH_WRITE_LIMIT), 2) if written else 0.0,
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
            variant = row["variant"].replace("-", "_")
            name = variant if variant == "seed" else f"{variant}_{row['segments']}_segments"
            summary[f"utilization_{capacity}_wcu_{name}"] = row["utilization"]
            summary[f"send_amplification_{capacity}_wcu_{name}"] = row["send_amplification"]
    ours = [row for row in rows if row["variant"] == "ours"]
    unpaced = [row for row in rows if row["variant"] == "ours-unpaced"]
    summary["ours_median_utilization"] = median([row["utilization"] for row in ours])
    summary["ours_median_send_amplification"] = median([row["send_amplification"] for row in ours])
    if unpaced:
        summary["unpaced_median_utilization"] = median([row["utilization"] for row in unpaced])
        summary["unpaced_median_send_amplification"] = median([row["send_amplification"] for row in unpaced])
        summary["adaptive_rate_effect"] = _pairs(ours, unpaced)
    summary["ours_lost_items"] = sum(row["lost_items"] + row["different_items"] for row in ours + unpaced)
    seed = [row for row in rows if row["variant"] == "seed"]
    summary["seed_lost_items"] = sum(row["lost_items"] + row["different_items"] for row in seed)
    return summary


def _pairs(ours: list[dict[str, Any]], unpaced: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each (C, N) run with the adaptive rate next to the same run without it: what the rate changed."""
    before = {(row["capacity_wcu"], row["segments"]): row for row in unpaced}
    pairs = []
    for row in ours:
        reference = before[(row["capacity_wcu"], row["segments"])]
        pairs.append(
            {
                "capacity_wcu": row["capacity_wcu"],
                "segments": row["segments"],
                "send_amplification_unpaced": reference["send_amplification"],
                "send_amplification_ours": row["send_amplification"],
                "send_amplification_ratio_unpaced_to_ours": ratio(
                    reference["send_amplification"], row["send_amplification"]
                ),
                "calls_per_batch_needed_unpaced": reference["calls_per_batch_needed"],
                "calls_per_batch_needed_ours": row["calls_per_batch_needed"],
                "utilization_unpaced": reference["utilization"],
                "utilization_ours": row["utilization"],
                "client_cpu_cores_unpaced": reference["client_cpu_cores"],
                "client_cpu_cores_ours": row["client_cpu_cores"],
            }
        )
    return pairs
