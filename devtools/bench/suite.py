"""The benchmark suite: which cases run with which parameters, and the JSON document they produce."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import budget, capacity, cpu, export_backfill, projection, replication, throughput
from .common import machine_info, versions
from .harness import bench_aws

SCHEMA = "ddb-migrate.bench/1"
CASES = ("a", "b", "c", "d", "e", "f", "g")
CASE_KEYS = {
    "a": "a_throughput",
    "b": "b_capacity",
    "c": "c_cpu",
    "d": "d_replication",
    "e": "e_projection",
    "f": "f_budget",
    "g": "g_export",
}


@dataclass(frozen=True)
class SuiteConfig:
    mode: str
    throughput: throughput.ThroughputParameters
    capacity: capacity.CapacityParameters
    cpu: cpu.CpuParameters
    replication: replication.ReplicationParameters
    projection: projection.ProjectionParameters = field(default_factory=projection.ProjectionParameters)
    budget: budget.BudgetParameters = field(default_factory=budget.BudgetParameters)
    export: export_backfill.ExportParameters = field(default_factory=export_backfill.ExportParameters)


FULL = SuiteConfig(
    mode="full",
    throughput=throughput.ThroughputParameters(items=8_000, runs=2),
    capacity=capacity.CapacityParameters(),
    cpu=cpu.CpuParameters(),
    replication=replication.ReplicationParameters(events=1000),
    export=export_backfill.ExportParameters(items=4_000, segments=4),
)

# Smoke run for CI (under a minute): every case, tiny sizes, one run each; the emulator only for case g, which
# cannot run without it (S3 and CloudWatch).
QUICK = SuiteConfig(
    mode="quick",
    throughput=throughput.ThroughputParameters(items=1500, segments=(1, 4), shapes=("flat",), runs=1),
    capacity=capacity.CapacityParameters(
        capacities=(1000,), segments=(1, 4), seconds_of_work=1.5, include_unpaced=False
    ),
    cpu=cpu.CpuParameters(small_items=600, large_items=150, runs=1),
    replication=replication.ReplicationParameters(events=120, consumer_events=60, runs=1, lag_on_emulator=False),
    budget=budget.BudgetParameters(
        segments=(2,), seconds_of_work=2.0, application_segments=2, application_seconds_of_work=5.0
    ),
    export=export_backfill.ExportParameters(items=300, segments=2),
)


def run_suite(
    config: SuiteConfig,
    cases: Sequence[str] = CASES,
    *,
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Run the selected cases; returns the results document (see benchmarks/README.md)."""
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        raise ValueError(f"unknown case(s) {', '.join(unknown)}; expected some of {', '.join(CASES)}")
    started = time.perf_counter()
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "mode": config.mode,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "versions": versions(),
        "parameters": {key: asdict(value) for key, value in asdict_shallow(config).items() if key != "mode"},
        "cases": {},
    }
    results: dict[str, Any] = document["cases"]
    timings: dict[str, float] = {}
    if "c" in cases:
        results[CASE_KEYS["c"]] = _timed("c", timings, progress, lambda: cpu.run(config.cpu))
    if {"a", "b", "d", "f"} & set(cases):
        with bench_aws() as aws:
            if "a" in cases:
                results[CASE_KEYS["a"]] = _timed("a", timings, progress, lambda: throughput.run(aws, config.throughput))
            if "b" in cases:
                results[CASE_KEYS["b"]] = _timed("b", timings, progress, lambda: capacity.run(aws, config.capacity))
            if "d" in cases:
                results[CASE_KEYS["d"]] = _timed(
                    "d", timings, progress, lambda: replication.run(aws, config.replication)
                )
            if "f" in cases:
                results[CASE_KEYS["f"]] = _timed("f", timings, progress, lambda: budget.run(aws, config.budget))
    if "g" in cases:
        # On the embedded emulator (DynamoDB, S3 and CloudWatch), which it starts and stops itself.
        results[CASE_KEYS["g"]] = _timed("g", timings, progress, lambda: export_backfill.run(config.export))
    if "e" in cases:
        results[CASE_KEYS["e"]] = _timed(
            "e",
            timings,
            progress,
            lambda: projection.run(
                config.projection,
                results.get(CASE_KEYS["a"]),
                results.get(CASE_KEYS["b"]),
                results.get(CASE_KEYS["c"]),
                results.get(CASE_KEYS["d"]),
            ),
        )
    document["case_seconds"] = {key: round(value, 1) for key, value in timings.items()}
    document["duration_seconds"] = round(time.perf_counter() - started, 1)
    document["lost_items"] = lost_items(document)
    return document


def asdict_shallow(config: SuiteConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


def _timed(case: str, timings: dict[str, float], progress: Callable[[str], None], run: Callable[[], Any]) -> Any:
    progress(f"case {case} ...")
    started = time.perf_counter()
    result = run()
    timings[case] = time.perf_counter() - started
    progress(f"case {case} done in {timings[case]:.1f} s")
    return result


def lost_items(document: dict[str, Any]) -> int:
    """Items (or events) our code failed to deliver anywhere in the run; must be 0."""
    cases = document["cases"]
    lost = 0
    if CASE_KEYS["a"] in cases:
        lost += sum(shape["summary"]["lost_items"] for shape in cases[CASE_KEYS["a"]]["shapes"].values())
    if CASE_KEYS["b"] in cases:
        lost += cases[CASE_KEYS["b"]]["summary"]["ours_lost_items"]
    if CASE_KEYS["d"] in cases:
        replicated = cases[CASE_KEYS["d"]]
        lost += replicated["throughput"]["lost_events"] + replicated["throughput"]["failed_events"]
        lost += replicated.get("lag", {}).get("lost_items", 0)
    if CASE_KEYS["f"] in cases:
        lost += cases[CASE_KEYS["f"]]["summary"]["lost_items"]
    if CASE_KEYS["g"] in cases:
        lost += cases[CASE_KEYS["g"]]["summary"]["lost_items"]
    return int(lost)


def write(document: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    temporary.replace(path)
