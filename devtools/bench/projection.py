"""Case e: how long 100 million 1 KB items take on AWS, from the figures measured in cases a-c.

The model, and what each input is:

- **capacity-bound rate** = ``C x u``: the target's provisioned WCU ``C`` times the utilisation ``u`` our
  backfill sustained against a capacity-limited table in case b. A 1 KB item costs exactly 1 WCU (1,025 bytes
  would cost 2), so WCU/s = items/s.
- **worker-bound rate** = ``segments x r``: every segment is one Lambda (Distributed Map child), and a worker
  copies ``r = min(r_cpu, r_latency)`` items per second.

  - ``r_cpu = vCPU share / CPU per item``. CPU per item is case c's "ours" figure, interpolated linearly in item
    size between its small and large items to 1 KB; it was measured on this machine's CPU, taken to be as fast
    as a Lambda vCPU. Lambda gives a function ``memory / 1,769 MB`` of a vCPU (1 vCPU at 1,769 MB); the
    worker's default is 1,024 MB.
  - ``r_latency = write threads x 25 items / mean request latency`` (8 threads, 7.5 ms): the ceiling if CPU were
    free. It is far above ``r_cpu``: a worker is CPU-bound, which is why case a's runs here are too.
- **time** = items / ``min(C x u, segments x r)``, plus nothing for start-up (plan and Map start take seconds,
  not hours). Segments must also fit the account's Lambda concurrency (1,000 by default) and the Map's
  ``MaxConcurrency``; the "segments needed" column is the smallest count that makes the run capacity-bound.
- The seed's algorithm (one Lambda, one call at a time) runs at ``r / ratio``, with case a's ratio of our
  one-segment worker to the seed on the same items; its 15-minute Lambda limit is ignored (it would simply
  not finish).

**Check against case b**: the same formula, with this machine's per-worker rate (case a, ``flat`` items, one
segment) in place of ``r``, predicts every case-b run's duration; the ratio measured / predicted is reported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .common import median

LAMBDA_FULL_VCPU_MB = 1769
BATCH_ITEMS = 25


@dataclass(frozen=True)
class ProjectionParameters:
    items: int = 100_000_000
    item_bytes: int = 1024
    capacities: tuple[int, ...] = (4_000, 40_000)
    segments: int = 16
    lambda_memory_mb: tuple[int, ...] = (1024, 1769)
    write_threads: int = 8
    latency_ms: float = 7.5
    account_concurrency: int = 1000
    # The drain: the application's writes on the source while the backfill runs (each one event in the stream),
    # and how many consumers apply them at once (a FIFO queue's consumers scale with its message groups, one per
    # item, up to the mapping's maximum concurrency).
    application_writes_per_second: tuple[float, ...] = (100.0, 1000.0)
    consumer_concurrency: tuple[int, ...] = (10, 100)
    # Used when case b did not run: its value in the reference run is in benchmarks/results.json.
    default_utilization: float = 0.9


def _interpolated_cpu_us(cpu: dict[str, Any], item_bytes: int) -> float | None:
    try:
        small, large = cpu["small"], cpu["large"]
    except KeyError:
        return None
    x0, y0 = small["mean_item_bytes"], small["variants"]["ours"]["cpu_us_per_item"]
    x1, y1 = large["mean_item_bytes"], large["variants"]["ours"]["cpu_us_per_item"]
    if x1 == x0:
        return float(y0)
    return float(y0 + (y1 - y0) * (item_bytes - x0) / (x1 - x0))


def run(
    parameters: ProjectionParameters,
    throughput: dict[str, Any] | None,
    capacity: dict[str, Any] | None,
    cpu: dict[str, Any] | None,
    replication: dict[str, Any] | None = None,
) -> dict[str, Any]:
    utilization = parameters.default_utilization
    if capacity is not None and capacity["summary"].get("ours_median_utilization"):
        utilization = float(capacity["summary"]["ours_median_utilization"])
    cpu_us = _interpolated_cpu_us(cpu, parameters.item_bytes) if cpu is not None else None
    seed_ratio = _seed_ratio(throughput)
    r_latency = parameters.write_threads * BATCH_ITEMS / (parameters.latency_ms / 1000)
    rows = []
    for memory in parameters.lambda_memory_mb:
        vcpu = min(1.0, memory / LAMBDA_FULL_VCPU_MB)
        r_cpu = vcpu / (cpu_us / 1e6) if cpu_us else math.inf
        per_worker = min(r_cpu, r_latency)
        for capacity_wcu in parameters.capacities:
            wcu_per_item = math.ceil(parameters.item_bytes / 1024)
            capacity_rate = capacity_wcu * utilization / wcu_per_item
            worker_rate = parameters.segments * per_worker
            rate = min(capacity_rate, worker_rate)
            needed = math.ceil(capacity_rate / per_worker)
            seed_rate = min(capacity_rate, per_worker / seed_ratio) if seed_ratio else None
            rows.append(
                {
                    "capacity_wcu": capacity_wcu,
                    "lambda_memory_mb": memory,
                    "vcpu_share": round(vcpu, 3),
                    "per_worker_items_per_second": round(per_worker, 1),
                    "segments": parameters.segments,
                    "bound": "capacity" if capacity_rate <= worker_rate else "workers",
                    "items_per_second": round(rate, 1),
                    "hours": round(parameters.items / rate / 3600, 2),
                    "segments_needed_for_capacity": needed,
                    "fits_default_concurrency": needed <= parameters.account_concurrency,
                    "hours_with_segments_needed": round(parameters.items / capacity_rate / 3600, 2),
                    "seed_hours": round(parameters.items / seed_rate / 3600, 1) if seed_rate else None,
                }
            )
    return {
        "parameters": asdict(parameters),
        "inputs": {
            "utilization": utilization,
            "utilization_source": "case b" if capacity is not None else "default (case b not run)",
            "cpu_us_per_item_at_item_bytes": round(cpu_us, 1) if cpu_us else None,
            "latency_bound_items_per_second": round(r_latency, 1),
            "seed_ratio_from_case_a": seed_ratio,
        },
        "rows": rows,
        "drain": _drain(parameters, rows, replication),
        "check_against_case_b": _check(throughput, capacity),
    }


def _drain(
    parameters: ProjectionParameters, rows: list[dict[str, Any]], replication: dict[str, Any] | None
) -> dict[str, Any] | None:
    """How long the replication backlog takes to drain after the backfill, next to the backfill's own time.

    Every application write during the backfill is an event the paused consumer holds back; once resumed, the
    consumers apply ``concurrency x r`` events per second while the application keeps writing ``w``, so the
    backlog ``w x backfill seconds`` shrinks at ``concurrency x r - w`` (never, if that is not positive). ``r`` is
    case d's batched consumer rate per concurrent consumer on distinct keys, measured here against the model's
    5-10 ms latency: a Lambda's round trips to DynamoDB are of the same order.
    """
    rate = (replication or {}).get("summary", {}).get("consumer_distinct_batched_events_per_second")
    if not rate:
        return None
    backfills = [row for row in rows if row["lambda_memory_mb"] == min(parameters.lambda_memory_mb)]
    drains = []
    for row in backfills:
        backfill_seconds = row["hours_with_segments_needed"] * 3600
        for writes in parameters.application_writes_per_second:
            for concurrency in parameters.consumer_concurrency:
                backlog = writes * backfill_seconds
                net = concurrency * rate - writes
                drains.append(
                    {
                        "capacity_wcu": row["capacity_wcu"],
                        "backfill_hours": row["hours_with_segments_needed"],
                        "application_writes_per_second": writes,
                        "consumer_concurrency": concurrency,
                        "backlog_events": round(backlog),
                        "drain_hours": round(backlog / net / 3600, 2) if net > 0 else None,
                    }
                )
    return {"consumer_events_per_second": rate, "rows": drains}


def _seed_ratio(throughput: dict[str, Any] | None) -> float | None:
    if throughput is None:
        return None
    shape = throughput["shapes"].get("realistic") or next(iter(throughput["shapes"].values()))
    value = shape["summary"].get("ratio_ours_1_segments_to_seed")
    return float(value) if value else None


def _check(throughput: dict[str, Any] | None, capacity: dict[str, Any] | None) -> list[dict[str, Any]]:
    if throughput is None or capacity is None or "flat" not in throughput["shapes"]:
        return []
    flat = throughput["shapes"]["flat"]["runs"]
    per_worker_here = median([r["items_per_second"] for r in flat if r["variant"] == "ours" and r["segments"] == 1])
    if not per_worker_here:
        return []
    checks = []
    for run in capacity["runs"]:
        if run["variant"] != "ours":
            continue
        rate = min(run["capacity_wcu"], run["segments"] * per_worker_here)
        predicted = run["items"] / rate
        checks.append(
            {
                "capacity_wcu": run["capacity_wcu"],
                "segments": run["segments"],
                "predicted_seconds": round(predicted, 2),
                "measured_seconds": run["wall_seconds"],
                "ratio_measured_to_predicted": round(run["wall_seconds"] / predicted, 3),
                "bound": "capacity" if run["capacity_wcu"] <= run["segments"] * per_worker_here else "workers",
            }
        )
    return checks
