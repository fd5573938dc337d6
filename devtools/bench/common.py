"""Shared pieces of the benchmark cases: test data, timing, statistics, machine facts."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import random
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from devtools import REPO_ROOT
from devtools.datagen import generate_items
from migration_core.attribute_values import item_size, item_to_json
from migration_core.types import Item

T = TypeVar("T")

KEY_SCHEMA = {"pk": "S", "sk": "N"}
REGION = "us-east-1"
# Benchmark tables keep their items in the model's in-memory store (see devtools.faults.store).
DATA_TABLE_PREFIX = "bench-data-"
STATE_TABLE = "bench-state"
# Queues whose messages the model records instead of moto (see devtools.faults: SQS sink).
SINK_QUEUE_PREFIX = "bench-sink-"


@dataclass(frozen=True)
class Dataset:
    """Items of one size class, in the boto3 shape (bytes for binary) and in wire JSON."""

    name: str
    payload_bytes: int
    items: list[Item]

    @property
    def mean_size(self) -> float:
        return statistics.fmean(item_size(item) for item in self.items)

    def wire(self) -> list[dict[str, Any]]:
        return [item_to_json(item) for item in self.items]


def dataset(name: str, count: int, payload_bytes: int, seed: int = 7, start: int = 0) -> Dataset:
    """``realistic`` items from ``devtools.datagen``: every AttributeValue type, nested documents."""
    items = generate_items(count, seed=seed, start=start, payload_bytes=payload_bytes)
    return Dataset(name, payload_bytes, list(items))


def flat_dataset(name: str, count: int, payload_bytes: int = 480, seed: int = 7) -> Dataset:
    """``flat`` items: a key and one string. Cheap to (de)serialize, so the client's CPU is not the limit."""
    rng = random.Random(seed)
    items: list[Item] = [
        {
            "pk": {"S": f"flat#{index:08d}"},
            "sk": {"N": str(index % 7)},
            "payload": {"S": rng.randbytes(payload_bytes // 2).hex()},
        }
        for index in range(count)
    ]
    return Dataset(name, payload_bytes, items)


SHAPES: dict[str, Callable[[str, int, int], Dataset]] = {"flat": flat_dataset, "realistic": dataset}


@dataclass(frozen=True)
class Timing:
    wall_seconds: float
    cpu_seconds: float


@contextmanager
def measured() -> Iterator[list[Timing]]:
    """``with measured() as timing:`` ... then ``timing[0]``: wall and process CPU time (all threads)."""
    result: list[Timing] = []
    wall, cpu = time.perf_counter(), time.process_time()
    yield result
    result.append(Timing(time.perf_counter() - wall, time.process_time() - cpu))


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def interleaved(runs: int, *variants: Callable[[], T]) -> list[list[T]]:
    """Run the variants alternately ``runs`` times (A B A B ...): drift on a noisy machine hits all alike."""
    results: list[list[T]] = [[] for _ in variants]
    for _ in range(runs):
        for index, variant in enumerate(variants):
            results[index].append(variant())
    return results


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model or platform.processor(),
        "load_average_at_start": [round(value, 2) for value in load],
    }


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for package in ("ddb-migrate", "boto3", "botocore", "moto", "aws-lambda-powertools", "werkzeug"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    found["git_commit"] = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    found["git_dirty"] = None if status is None else str(bool(status))
    return found


def _git(*arguments: str) -> str | None:
    try:
        completed = subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", *arguments],  # noqa: S607 - git from PATH, like any developer tool
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip()
