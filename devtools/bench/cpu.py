"""Case c: client CPU per item of the worker's scan -> transform -> write path, against botocore's floor.

Both variants talk to the same zero-latency canned DynamoDB (:mod:`.canned`), with the clients configured as
the worker Lambda configures them (``read_client_config`` / ``write_client_config``):

- **ours**: ``SegmentWorker`` + ``CopyPages`` + ``ParallelBatchWriter`` + ``StateStore`` checkpoints, exactly
  what ``BackfillService.run_segment`` runs for one segment;
- **floor**: the same Scan pages and the same 25-item BatchWriteItem calls issued directly, sequentially, with
  no transform, validation, de-duplication, threads or checkpoints: what any copy through botocore must pay;
- **scan only**: the floor's Scan calls alone, to split the floor into its read and write halves.

CPU time is the process's (every thread), measured alternately for the variants so that a noisy neighbour
hits all of them alike; the figures are the best of the runs (medians are kept in the JSON too).
"""

from __future__ import annotations

import cProfile
import io
import pstats
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.config import Config

from migration_core.batch_writer import ParallelBatchWriter
from migration_core.config import read_client_config, write_client_config
from migration_core.models import RunSpec, SegmentRequest
from migration_core.retry import RetryPolicy
from migration_core.segment import CopyPages, SegmentWorker, TimeBudget
from migration_core.state import StateStore
from migration_core.transform import Transformer
from migration_core.wire import wired

from .canned import CannedDynamoDB
from .common import KEY_SCHEMA, Dataset, Timing, dataset, interleaved, measured, median, ratio

# A typical migration transform: a constant attribute and a timestamp.
TYPICAL_TRANSFORM: list[dict[str, Any]] = [
    {"op": "set", "attribute": "migrated", "value": {"BOOL": True}},
    {"op": "timestamp", "attribute": "migratedAt", "format": "iso8601"},
]


@dataclass(frozen=True)
class CpuParameters:
    # Two or more 1 MB pages of each size (the worker reads pages ahead).
    small_items: int = 3600
    large_items: int = 700
    small_payload_bytes: int = 0
    large_payload_bytes: int = 3800
    runs: int = 3
    write_concurrency: int = 8


def _ours(canned: CannedDynamoDB, steps: Sequence[Mapping[str, Any]], concurrency: int) -> Callable[[], Timing]:
    # Clients live as long as the variant (a warm Lambda container's do); the warm-up run pays their first calls.
    # As the worker's handler builds them.
    read_client = wired(canned.client(read_client_config()))
    write_client = wired(canned.client(write_client_config(concurrency)))
    transformer = Transformer.from_spec(list(steps))

    def run() -> Timing:
        pages = CopyPages(
            source_table="source",
            target_table="target",
            transformer=transformer,
            source_key_schema=KEY_SCHEMA,
            target_key_schema=KEY_SCHEMA,
            in_place=False,
        )
        request = SegmentRequest(
            run=RunSpec(run_id="bench-cpu", source_table="source", target_table="target", total_segments=1),
            phase="copy",
            segment=0,
            start_key=None,
        )
        with ParallelBatchWriter(write_client, "target", KEY_SCHEMA, concurrency, RetryPolicy()) as writer:
            worker = SegmentWorker(client=read_client, state=StateStore(read_client, "state"), writer=writer)
            with measured() as timing:
                result = worker.run(request, pages, TimeBudget(lambda: 900_000, 60.0))
        if not result.done:
            raise RuntimeError("the segment did not finish in one invocation")
        return timing[0]

    return run


def _floor(canned: CannedDynamoDB, *, write: bool, write_config: Config | None = None) -> Callable[[], Timing]:
    read_client = canned.client(read_client_config())
    write_client = canned.client(write_config or write_client_config(1))

    def run() -> Timing:
        arguments: dict[str, Any] = {
            "TableName": "source",
            "Segment": 0,
            "TotalSegments": 1,
            "ReturnConsumedCapacity": "TOTAL",
            "ConsistentRead": False,
        }
        with measured() as timing:
            while True:
                page = read_client.scan(**arguments)
                items = page["Items"]
                if write:
                    for start in range(0, len(items), 25):
                        write_client.batch_write_item(
                            RequestItems={
                                "target": [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
                            },
                            ReturnConsumedCapacity="TOTAL",
                        )
                if "LastEvaluatedKey" not in page:
                    break
                arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return timing[0]

    return run


def measure_size_class(data: Dataset, parameters: CpuParameters) -> dict[str, Any]:
    canned = CannedDynamoDB(data.items)
    count = len(data.items)
    variants = {
        "ours": _ours(canned, [], parameters.write_concurrency),
        "ours_typical_transform": _ours(canned, TYPICAL_TRANSFORM, parameters.write_concurrency),
        "floor": _floor(canned, write=True),
        "floor_scan_only": _floor(canned, write=False),
        # botocore's defaults validate every parameter on the client; shown for reference only.
        "floor_botocore_default_config": _floor(canned, write=True, write_config=Config()),
    }
    for variant in variants.values():  # warm-up: first-use caches in botocore and our code
        variant()
    canned.items_written = 0
    timings = dict(zip(variants, interleaved(parameters.runs, *variants.values()), strict=True))
    expected_writes = count * parameters.runs * sum(1 for name in variants if not name.endswith("scan_only"))
    if canned.items_written != expected_writes:
        raise RuntimeError(f"case c lost items: {canned.items_written} written, {expected_writes} expected")

    def per_item(name: str) -> dict[str, float]:
        runs = timings[name]
        return {
            # Best of the runs, as timeit reports: on a shared machine every disturbance only adds time.
            "cpu_us_per_item": round(min(t.cpu_seconds for t in runs) / count * 1e6, 2),
            "cpu_us_per_item_median": round(median([t.cpu_seconds for t in runs]) / count * 1e6, 2),
            "wall_us_per_item": round(min(t.wall_seconds for t in runs) / count * 1e6, 2),
        }

    figures = {name: per_item(name) for name in variants}
    ours, floor, scan = (figures[name]["cpu_us_per_item"] for name in ("ours", "floor", "floor_scan_only"))
    return {
        "items": count,
        "mean_item_bytes": round(data.mean_size, 1),
        "scan_pages": len(canned.pages),
        "variants": figures,
        "floor_write_cpu_us_per_item": round(floor - scan, 2),
        "overhead_cpu_us_per_item": round(ours - floor, 2),
        "ratio_ours_to_floor": ratio(ours, floor),
        "ratio_typical_transform_to_floor": ratio(figures["ours_typical_transform"]["cpu_us_per_item"], floor),
    }


def run(parameters: CpuParameters) -> dict[str, Any]:
    small = dataset("small", parameters.small_items, parameters.small_payload_bytes)
    large = dataset("large", parameters.large_items, parameters.large_payload_bytes)
    return {
        "parameters": {**parameters.__dict__, "transform_typical": TYPICAL_TRANSFORM},
        "small": measure_size_class(small, parameters),
        "large": measure_size_class(large, parameters),
    }


def profile(items: int = 4000, payload_bytes: int = 0, top: int = 30) -> str:
    """cProfile of ours on one size class (for finding bottlenecks; not part of the results)."""
    data = dataset("profile", items, payload_bytes)
    canned = CannedDynamoDB(data.items)
    ours = _ours(canned, [], 8)
    ours()
    profiler = cProfile.Profile()
    profiler.enable()
    ours()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()
