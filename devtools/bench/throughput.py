"""Case a: our backfill against the seed's algorithm, same data, same DynamoDB model, same run.

The model adds 5-10 ms to every request and no capacity limit, so what is measured is how each algorithm
copes with latency: the seed's one call at a time against our segments x write threads. Two item shapes:
``flat`` (a key and a string: cheap for botocore, so latency and concurrency decide) and ``realistic``
(``datagen`` items with every type: botocore's per-item CPU, case c, becomes the limit of this one process).
Every copy is compared with its source item by item.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from .backfill import PreparedBackfill
from .common import SHAPES, median, ratio
from .harness import BenchAws, ModelSnapshot, temporary_table
from .seed import SEED_CLIENT_CONFIG, SeedCopy


@dataclass(frozen=True)
class ThroughputParameters:
    items: int = 20_000
    payload_bytes: int = 200
    latency_ms: tuple[float, float] = (5.0, 10.0)
    segments: tuple[int, ...] = (1, 4, 8)
    write_concurrency: int = 8
    shapes: tuple[str, ...] = ("flat", "realistic")
    runs: int = 1


def _row(
    variant: str,
    segments: int,
    items: int,
    wall: float,
    cpu: float,
    before: ModelSnapshot,
    after: ModelSnapshot,
    check: dict[str, Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    lost = check["missing"]
    return {
        "variant": variant,
        "segments": segments,
        "items": items,
        "wall_seconds": round(wall, 3),
        "items_per_second": round(check["target_items"] / wall, 1) if wall else 0.0,
        # CPU seconds per second of the client processes and of the model server: a figure near the number of
        # cores free for them means CPU, not the algorithm, set the pace.
        "client_cpu_cores": round(cpu / wall, 3) if wall else 0.0,
        "model_cpu_cores": round((after.cpu_seconds - before.cpu_seconds) / wall, 3) if wall else 0.0,
        "lost_items": lost,
        "different_items": check["different"],
        **extra,
    }


def _seed_run(aws: BenchAws, source: str, target: str, items: int) -> dict[str, Any]:
    client = aws.client(SEED_CLIENT_CONFIG)
    client.describe_table(TableName=source)  # a warm client, as our segment processes get
    before = aws.snapshot()
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = SeedCopy(client, source, target).run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = aws.snapshot()
    extras = {"retries": outcome.retries, "dropped": outcome.dropped, "error": outcome.error}
    return _row("seed", 1, items, wall, cpu, before, after, aws.compare(source, target), extras)


def _ours_run(aws: BenchAws, source: str, target: str, items: int, segments: int, concurrency: int) -> dict[str, Any]:
    backfill = PreparedBackfill(aws, source, target, segments, concurrency)
    before = aws.snapshot()
    outcome = backfill.run()
    after = aws.snapshot()
    extras = {"retries": outcome.counts.retries, "redrives": outcome.redrives}
    check = aws.compare(source, target)
    return _row("ours", segments, items, outcome.wall_seconds, outcome.cpu_seconds, before, after, check, extras)


def run(aws: BenchAws, parameters: ThroughputParameters) -> dict[str, Any]:
    aws.ensure_state_table()
    shapes: dict[str, Any] = {}
    for shape in parameters.shapes:
        data = SHAPES[shape](shape, parameters.items, parameters.payload_bytes)
        rows: list[dict[str, Any]] = []
        with temporary_table(aws, f"a-{shape}-src") as source:
            aws.configure()
            load_seconds = aws.load(source, data.items)
            variants: list[int | None] = [None, *parameters.segments]
            for _ in range(parameters.runs):
                for segments in variants:
                    with temporary_table(aws, f"a-{shape}-dst") as target:
                        aws.configure(latency_ms=parameters.latency_ms)
                        if segments is None:
                            row = _seed_run(aws, source, target, len(data.items))
                        else:
                            row = _ours_run(
                                aws, source, target, len(data.items), segments, parameters.write_concurrency
                            )
                        aws.configure()
                        rows.append(row)
        shapes[shape] = {
            "mean_item_bytes": round(data.mean_size, 1),
            "load_seconds": round(load_seconds, 2),
            "runs": rows,
            "summary": _summary(rows, parameters.segments),
        }
    return {"parameters": asdict(parameters), "shapes": shapes}


def _summary(rows: list[dict[str, Any]], segments: tuple[int, ...]) -> dict[str, Any]:
    def rate(variant: str, count: int) -> float:
        return median([r["items_per_second"] for r in rows if r["variant"] == variant and r["segments"] == count])

    seed = rate("seed", 1)
    summary: dict[str, Any] = {"seed_items_per_second": seed}
    for count in segments:
        ours = rate("ours", count)
        summary[f"ours_{count}_segments_items_per_second"] = ours
        summary[f"ratio_ours_{count}_segments_to_seed"] = ratio(ours, seed)
    summary["lost_items"] = sum(r["lost_items"] + r["different_items"] for r in rows if r["variant"] == "ours")
    summary["seed_lost_items"] = sum(r["lost_items"] + r["different_items"] for r in rows if r["variant"] == "seed")
    return summary
