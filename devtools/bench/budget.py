"""Case f: the run's capacity budget (``max_read_rate`` / ``max_write_rate``): does it hold, and what is it for.

**Budget held** (``runs``): the source is provisioned for reads and the target for writes at ``headroom`` times
the run's budgets, so that the budget, not the table, is the limit. For every N segments and every budget pair
a fresh backfill copies ``flat`` items (1 WCU to write, about 1/16 RCU to scan) with both budgets set; one of
the pair binds (its items per second are the lower), the other shows it is not exceeded either. A sampler polls
the model's own counters (consumed RCU of the source, WCU of the target, on the model's clock) every
``sample_seconds``; see :class:`Consumption` for the rates taken from them. The budget is an upper bound: a
binding ratio well below 1 on a machine short of CPU (its load, or the run's client and model cores, near its
cores) means this machine could not go faster, not that the budget failed.

**Budget for the application** (``application``): the source gets little read capacity and the target little
write capacity, and an application issues GetItem on the source and PutItem on the target at steady rates
(botocore retries off, so every throttle is seen) while a backfill runs: once without a budget and once with
``budget_share`` x (table capacity - the application's units per second) for reads and for writes.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from devtools.faults import THROUGHPUT_EXCEEDED, Capacity, read_units, write_units
from devtools.faults.capacity import READ_UNIT_BYTES
from migration_core.attribute_values import item_size
from migration_core.types import Item

from .backfill import BackfillOutcome, PreparedBackfill
from .common import Dataset, flat_dataset, median, ratio
from .harness import BenchAws, ModelSnapshot, temporary_table

# The application sees every throttle: botocore does not retry (total_max_attempts counts the first call).
APPLICATION_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=30
)
APPLICATION_KEY_PREFIX = "app#"
# A run whose processes used this share of the machine's cores was short of CPU.
CPU_BOUND_SHARE = 0.8


@dataclass(frozen=True)
class BudgetParameters:
    segments: tuple[int, ...] = (1, 4, 8)
    # (max_read_rate RCU/s, max_write_rate WCU/s) per run: the first pair binds on reads, the second on writes.
    budgets: tuple[tuple[float, float], ...] = ((64.0, 2000.0), (125.0, 1000.0))
    # Items per run = the binding budget's items per second x this: the run's length if the budget is met.
    seconds_of_work: float = 30.0
    # The tables' capacity, as a multiple of the run's budgets (1 s of burst, full when the run starts).
    headroom: float = 4.0
    latency_ms: tuple[float, float] = (5.0, 10.0)
    write_concurrency: int = 8
    payload_bytes: int = 480
    sample_seconds: float = 0.1
    peak_window_seconds: float = 1.0
    tolerance: float = 0.05
    # The application's part: the tables' capacity, its steady load, and the backfill beside it.
    application_segments: int = 4
    source_read_capacity: float = 40.0
    target_write_capacity: float = 500.0
    application_reads_per_second: float = 20.0
    application_writes_per_second: float = 50.0
    # The budget's share of the capacity the application leaves.
    budget_share: float = 0.9
    # Burst the tables keep (DynamoDB keeps up to 300 s); a budgeted Scan page costs a quarter second of a
    # segment's share at once (migration_core.budget.PAGE_SECONDS), and the backfill starts beside an application
    # that is already running.
    application_burst_seconds: float = 3.0
    application_seconds_of_work: float = 10.0


@dataclass(frozen=True)
class Consumption:
    """What one table consumed over a run, from cumulative samples (model clock, units).

    The active span runs from the first sample that saw the table's consumption grow to the first that saw all
    of it. ``per_second`` is the units consumed within that span over its length; ``sustained_per_second`` the
    least-squares slope of the cumulative units over it, which the start of a run (each segment's probe page,
    paid for after it went out, and the time before the first page) hardly moves; ``peak_per_second``
    the highest rate between two samples about ``window_seconds`` apart.
    """

    units: float
    active_seconds: float
    per_second: float | None
    sustained_per_second: float | None
    peak_per_second: float | None

    @classmethod
    def from_samples(cls, samples: Sequence[tuple[float, float]], window_seconds: float) -> Consumption:
        if len(samples) < 2:
            return cls(0.0, 0.0, None, None, None)
        base, final = samples[0][1], samples[-1][1]
        first = next((index for index, (_, units) in enumerate(samples) if units > base), None)
        last = next(index for index, (_, units) in enumerate(samples) if units >= final)
        if first is None or last <= first:
            return cls(final - base, 0.0, None, None, None)
        active = samples[first : last + 1]
        (start, start_units), (end, end_units) = active[0], active[-1]
        return cls(
            units=final - base,
            active_seconds=end - start,
            per_second=(end_units - start_units) / (end - start),
            sustained_per_second=_slope(active) if len(active) > 2 else None,
            peak_per_second=_peak(active, window_seconds),
        )

    def to_json(self, budget: float | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "units": round(self.units, 1),
            "active_seconds": round(self.active_seconds, 2),
            "per_second": _rounded(self.per_second),
            "sustained_per_second": _rounded(self.sustained_per_second),
            "peak_per_second": _rounded(self.peak_per_second),
        }
        if budget is not None:
            data["budget"] = budget
            for name in ("per_second", "sustained_per_second", "peak_per_second"):
                value = getattr(self, name)
                data[name.replace("per_second", "ratio")] = None if value is None else ratio(value, budget)
        return data


def _slope(samples: Sequence[tuple[float, float]]) -> float:
    mean_clock = sum(clock for clock, _ in samples) / len(samples)
    mean_units = sum(units for _, units in samples) / len(samples)
    covariance = sum((clock - mean_clock) * (units - mean_units) for clock, units in samples)
    return covariance / sum((clock - mean_clock) ** 2 for clock, _ in samples)


def _peak(samples: Sequence[tuple[float, float]], window_seconds: float) -> float | None:
    peak: float | None = None
    later = 0
    for clock, units in samples:
        while later < len(samples) and samples[later][0] - clock < window_seconds:
            later += 1
        if later == len(samples):
            break
        rate = (samples[later][1] - units) / (samples[later][0] - clock)
        peak = rate if peak is None else max(peak, rate)
    return peak


class ConsumptionSampler:
    """Samples the source's consumed RCU and the target's consumed WCU in a thread, from the model's counters."""

    def __init__(self, aws: BenchAws, source: str, target: str, interval_seconds: float) -> None:
        self._aws = aws
        self._source = source
        self._target = target
        self._interval = interval_seconds
        self.reads: list[tuple[float, float]] = []
        self.writes: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._samples, name="bench-sampler", daemon=True)

    def __enter__(self) -> ConsumptionSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def consumption(self, window_seconds: float) -> tuple[Consumption, Consumption]:
        """(source reads, target writes)."""
        return (
            Consumption.from_samples(self.reads, window_seconds),
            Consumption.from_samples(self.writes, window_seconds),
        )

    def _samples(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def _sample(self) -> None:
        snapshot = self._aws.snapshot()
        self.reads.append((snapshot.clock, float(snapshot.table(self._source).get("consumed_rcu", 0.0))))
        self.writes.append((snapshot.clock, float(snapshot.table(self._target).get("consumed_wcu", 0.0))))


@dataclass
class _Calls:
    requests: int = 0
    throttled: int = 0
    errors: int = 0


class Application:
    """Steady GetItem on the source and PutItem on the target at fixed rates, each from a thread of its own.

    Requests are paced on a fixed schedule; one that falls behind (a slow response) is not made up for by a
    burst. Use as a context manager around the run it accompanies.
    """

    def __init__(
        self, aws: BenchAws, source: str, target: str, keys: Sequence[Item], parameters: BudgetParameters
    ) -> None:
        self.reads = _Calls()
        self.writes = _Calls()
        self._stop = threading.Event()
        rng = random.Random(11)
        payload = rng.randbytes(parameters.payload_bytes // 2).hex()
        read_client, write_client = aws.client(APPLICATION_CLIENT_CONFIG), aws.client(APPLICATION_CLIENT_CONFIG)
        for client, table in ((read_client, source), (write_client, target)):
            client.describe_table(TableName=table)  # warm clients: the application has been running for a while
        written = itertools.count()

        def get() -> None:
            key = rng.choice(keys)
            read_client.get_item(TableName=source, Key={"pk": key["pk"], "sk": key["sk"]})

        def put() -> None:
            item = {"pk": {"S": f"{APPLICATION_KEY_PREFIX}{next(written):08d}"}, "sk": {"N": "0"}}
            write_client.put_item(TableName=target, Item=item | {"payload": {"S": payload}})

        self._threads = [
            threading.Thread(
                target=self._steady, args=(call, per_second, calls), name=f"bench-application-{name}", daemon=True
            )
            for name, call, per_second, calls in (
                ("get", get, parameters.application_reads_per_second, self.reads),
                ("put", put, parameters.application_writes_per_second, self.writes),
            )
        ]

    def __enter__(self) -> Application:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _steady(self, call: Callable[[], None], per_second: float, calls: _Calls) -> None:
        due = time.perf_counter()
        while not self._stop.is_set():
            calls.requests += 1
            try:
                call()
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == THROUGHPUT_EXCEEDED:
                    calls.throttled += 1
                else:
                    calls.errors += 1
            due += 1 / per_second
            delay = due - time.perf_counter()
            if delay > 0:
                self._stop.wait(delay)
            else:
                due = time.perf_counter()


@dataclass(frozen=True)
class _Costs:
    """Mean capacity units per item of a dataset."""

    write_units: float
    # A Scan is charged on the bytes of the whole page, half a unit per 4 KB (eventually consistent).
    scan_read_units: float
    get_read_units: float

    @classmethod
    def of(cls, data: Dataset) -> _Costs:
        sizes = [item_size(item) for item in data.items]
        return cls(
            write_units=sum(write_units(size) for size in sizes) / len(sizes),
            scan_read_units=sum(sizes) / len(sizes) / READ_UNIT_BYTES / 2,
            get_read_units=sum(read_units(size, consistent=False) for size in sizes) / len(sizes),
        )

    def items_per_second(self, read_budget: float, write_budget: float) -> float:
        return min(read_budget / self.scan_read_units, write_budget / self.write_units)


def run(aws: BenchAws, parameters: BudgetParameters) -> dict[str, Any]:
    aws.ensure_state_table()
    probe = _Costs.of(flat_dataset("flat", 100, parameters.payload_bytes))
    rates = [probe.items_per_second(*pair) for pair in parameters.budgets]
    data = flat_dataset("flat", round(max(rates) * parameters.seconds_of_work), parameters.payload_bytes)
    costs = _Costs.of(data)
    rows: list[dict[str, Any]] = []
    with temporary_table(aws, "f-src") as source:
        aws.configure()
        aws.load(source, data.items)
        for read_budget, write_budget in parameters.budgets:
            for segments in parameters.segments:
                rows.append(
                    _budgeted_run(aws, parameters, costs, source, len(data.items), segments, read_budget, write_budget)
                )
    application = _application(aws, parameters)
    return {
        "parameters": asdict(parameters),
        "units_per_item": asdict(costs),
        "cpu_count": os.cpu_count(),
        "runs": rows,
        "application": application,
        "summary": _summary(rows, application, parameters),
    }


def _budgeted_run(
    aws: BenchAws,
    parameters: BudgetParameters,
    costs: _Costs,
    source: str,
    items: int,
    segments: int,
    read_budget: float,
    write_budget: float,
) -> dict[str, Any]:
    binding = "read" if read_budget / costs.scan_read_units < write_budget / costs.write_units else "write"
    with temporary_table(aws, "f-dst") as target:
        backfill = PreparedBackfill(
            aws,
            source,
            target,
            segments,
            parameters.write_concurrency,
            max_read_rate=f"{read_budget:g}",
            max_write_rate=f"{write_budget:g}",
        )
        measured = _measured_run(
            aws,
            parameters,
            backfill,
            source,
            target,
            read_capacity=Capacity(read_budget * parameters.headroom),
            write_capacity=Capacity(write_budget * parameters.headroom),
        )
    reads = measured.pop("reads").to_json(read_budget)
    writes = measured.pop("writes").to_json(write_budget)
    bound = reads if binding == "read" else writes
    return {
        "segments": segments,
        "items": items,
        "binding": binding,
        "read_budget_rcu": read_budget,
        "write_budget_wcu": write_budget,
        "reads": reads,
        "writes": writes,
        "verdict": _verdict(bound["ratio"], [reads["ratio"], writes["ratio"]], parameters.tolerance),
        **measured,
    }


def _measured_run(
    aws: BenchAws,
    parameters: BudgetParameters,
    backfill: PreparedBackfill,
    source: str,
    target: str,
    *,
    read_capacity: Capacity,
    write_capacity: Capacity,
    application: Application | None = None,
) -> dict[str, Any]:
    """Run a prepared backfill (with the application beside it) and measure it from the model's counters."""
    # The buckets start full (initial_fill) when configured: capacity counts from here on.
    aws.configure(
        latency_ms=parameters.latency_ms,
        read_capacity={source: read_capacity},
        write_capacity={target: write_capacity},
    )
    before = aws.snapshot()
    with ConsumptionSampler(aws, source, target, parameters.sample_seconds) as sampler:
        if application is None:
            outcome = backfill.run()
            calls: dict[str, Any] = {}
        else:
            with application:
                outcome = backfill.run()
            calls = {
                "application_get_item": asdict(application.reads),
                "application_put_item": asdict(application.writes),
            }
    after = aws.snapshot()
    aws.configure()
    comparison = aws.compare(source, target)
    reads, writes = sampler.consumption(parameters.peak_window_seconds)
    return {
        "reads": reads,
        "writes": writes,
        **calls,
        "wall_seconds": round(outcome.wall_seconds, 3),
        "throttled_source_requests": _grown(before, after, source, "throttled_requests"),
        "throttled_target_requests": _grown(before, after, target, "throttled_requests"),
        "unprocessed_items": _grown(before, after, target, "unprocessed_items"),
        "retries": outcome.counts.retries,
        **_cpu(outcome, before.cpu_seconds, after.cpu_seconds),
        # Items of the source's in the target (the application writes items of its own there).
        "target_items": comparison["target_items"] - comparison["extra"],
        "lost_items": comparison["missing"] + comparison["different"],
    }


def _application(aws: BenchAws, parameters: BudgetParameters) -> dict[str, Any]:
    """The same backfill without and with a budget, an application's steady load beside it."""
    data = flat_dataset(
        "flat",
        round(parameters.target_write_capacity * parameters.application_seconds_of_work),
        parameters.payload_bytes,
    )
    costs = _Costs.of(data)
    application_rcu = parameters.application_reads_per_second * costs.get_read_units
    application_wcu = parameters.application_writes_per_second * costs.write_units
    read_budget = round(parameters.budget_share * (parameters.source_read_capacity - application_rcu), 1)
    write_budget = round(parameters.budget_share * (parameters.target_write_capacity - application_wcu), 1)
    burst = parameters.application_burst_seconds
    rows: list[dict[str, Any]] = []
    with temporary_table(aws, "f-app-src") as source:
        aws.configure()
        aws.load(source, data.items)
        for variant, budgets in (("no budget", None), ("budget", (read_budget, write_budget))):
            with temporary_table(aws, "f-app-dst") as target:
                backfill = PreparedBackfill(
                    aws,
                    source,
                    target,
                    parameters.application_segments,
                    parameters.write_concurrency,
                    max_read_rate=None if budgets is None else f"{budgets[0]:g}",
                    max_write_rate=None if budgets is None else f"{budgets[1]:g}",
                )
                measured = _measured_run(
                    aws,
                    parameters,
                    backfill,
                    source,
                    target,
                    read_capacity=Capacity(parameters.source_read_capacity, burst_seconds=burst),
                    write_capacity=Capacity(parameters.target_write_capacity, burst_seconds=burst),
                    application=Application(aws, source, target, data.items, parameters),
                )
            get_item, put_item = measured["application_get_item"], measured["application_put_item"]
            rows.append(
                {
                    "variant": variant,
                    "read_budget_rcu": None if budgets is None else budgets[0],
                    "write_budget_wcu": None if budgets is None else budgets[1],
                    "reads": measured.pop("reads").to_json(),
                    "writes": measured.pop("writes").to_json(),
                    **measured,
                    # The model counts every throttle on a table; the application's own are counted above.
                    "backfill_throttled_requests": measured["throttled_source_requests"]
                    + measured["throttled_target_requests"]
                    - get_item["throttled"]
                    - put_item["throttled"],
                }
            )
    return {
        "items": len(data.items),
        "application_rcu_per_second": round(application_rcu, 2),
        "application_wcu_per_second": round(application_wcu, 2),
        "runs": rows,
    }


def _verdict(bound: float | None, ratios: Sequence[float | None], tolerance: float) -> str:
    """Whether the binding budget was met within ``tolerance``; "over" if any consumption exceeded its budget."""
    if any(value is not None and value > 1 + tolerance for value in ratios):
        return "over"
    if bound is None:
        return "no data"
    return "within" if bound >= 1 - tolerance else "below"


def _grown(before: ModelSnapshot, after: ModelSnapshot, table: str, name: str) -> int:
    return int(after.table(table).get(name, 0)) - int(before.table(table).get(name, 0))


def _cpu(outcome: BackfillOutcome, model_before: float, model_after: float) -> dict[str, Any]:
    """Cores the backfill's processes and the model used, and how busy the machine was.

    The run was short of CPU (``cpu_bound``) when those cores come near the machine's, or when the machine's
    load (other processes included) reached its cores, so that the run's processes waited for one.
    """
    wall = outcome.wall_seconds
    cores = os.cpu_count() or 1
    client = outcome.cpu_seconds / wall if wall else 0.0
    model = (model_after - model_before) / wall if wall else 0.0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return {
        "client_cpu_cores": round(client, 2),
        "model_cpu_cores": round(model, 2),
        "load_average": round(load, 2),
        "cpu_bound": client + model >= CPU_BOUND_SHARE * cores or load >= cores,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _summary(rows: list[dict[str, Any]], application: dict[str, Any], parameters: BudgetParameters) -> dict[str, Any]:
    def binding(name: str) -> list[float]:
        values = [row["reads" if row["binding"] == "read" else "writes"][name] for row in rows]
        return [value for value in values if value is not None]

    every = [row[kind]["ratio"] for row in rows for kind in ("reads", "writes")]
    summary: dict[str, Any] = {
        "runs_within_tolerance": sum(row["verdict"] == "within" for row in rows),
        "runs": len(rows),
        "tolerance": parameters.tolerance,
        "median_binding_ratio": round(median(binding("ratio")), 3),
        "lowest_binding_ratio": min(binding("ratio"), default=None),
        "highest_ratio": max((value for value in every if value is not None), default=None),
        "median_binding_sustained_ratio": round(median(binding("sustained_ratio")), 3),
        "highest_binding_peak_ratio": max(binding("peak_ratio"), default=None),
    }
    for row in application["runs"]:
        name = row["variant"].replace(" ", "_")
        summary[f"application_throttled_{name}"] = (
            row["application_get_item"]["throttled"] + row["application_put_item"]["throttled"]
        )
        summary[f"backfill_seconds_{name}"] = row["wall_seconds"]
    summary["lost_items"] = sum(row["lost_items"] for row in rows + application["runs"])
    return summary
