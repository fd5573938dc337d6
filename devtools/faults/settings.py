"""What the DynamoDB model does to requests: latency, capacity per table, fault probabilities."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Capacity:
    """Provisioned capacity of one table in one direction (read or write)."""

    units_per_second: float
    # DynamoDB keeps up to 300 s of unused capacity as burst; a benchmark wants little of it, so that the
    # sustained rate, not the burst, decides how long a run takes.
    burst_seconds: float = 1.0
    # Share of the bucket that is full when the settings are applied; 0 makes "units written / (rate x
    # duration)" a share of the provisioned rate that cannot exceed 1.
    initial_fill: float = 1.0

    def __post_init__(self) -> None:
        if self.units_per_second <= 0:
            raise ValueError("units_per_second must be positive")
        if self.burst_seconds <= 0:
            raise ValueError("burst_seconds must be positive")
        if not 0 <= self.initial_fill <= 1:
            raise ValueError("initial_fill must be between 0 and 1")


@dataclass(frozen=True)
class ModelSettings:
    """The model's behaviour; see ``devtools.faults``. Rates are probabilities per data-plane request."""

    latency_ms: tuple[float, float] = (0.0, 0.0)
    write_capacity: Mapping[str, Capacity] = field(default_factory=dict)
    read_capacity: Mapping[str, Capacity] = field(default_factory=dict)
    server_error_rate: float = 0.0
    # Share of the injected 500s that happen *after* the request was applied: the ambiguous case a client
    # survives only by retrying idempotently.
    server_error_after_apply_share: float = 0.0
    throttle_rate: float = 0.0
    partial_batch_rate: float = 0.0
    # Tables whose requests may be faulted (injected errors, throttles, partial batches); None means every
    # table. Capacity applies to the tables named in write_capacity/read_capacity regardless.
    fault_tables: frozenset[str] | None = None
    # fnmatch patterns: a table created while its name matches one keeps its items in the model's in-memory
    # store instead of moto (see devtools.faults.store for why and what that store supports).
    memory_tables: tuple[str, ...] = ()
    # fnmatch patterns of SQS queue names whose SendMessage/SendMessageBatch the model accepts and records
    # itself instead of moto (whose SQS walks every queued message on each send): see DynamoDBModel.sink.
    sqs_sink_queues: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        low, high = self.latency_ms
        if not 0 <= low <= high:
            raise ValueError("latency_ms must be (low, high) with 0 <= low <= high")
        for name in ("server_error_rate", "server_error_after_apply_share", "throttle_rate", "partial_batch_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a probability between 0 and 1")

    def faults_apply(self, table: str) -> bool:
        return self.fault_tables is None or table in self.fault_tables

    def keeps_in_memory(self, table: str) -> bool:
        return any(fnmatch.fnmatchcase(table, pattern) for pattern in self.memory_tables)

    def sinks(self, queue_name: str) -> bool:
        return any(fnmatch.fnmatchcase(queue_name, pattern) for pattern in self.sqs_sink_queues)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["latency_ms"] = list(self.latency_ms)
        data["fault_tables"] = None if self.fault_tables is None else sorted(self.fault_tables)
        data["memory_tables"] = list(self.memory_tables)
        data["sqs_sink_queues"] = list(self.sqs_sink_queues)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelSettings:
        def capacities(raw: Any) -> dict[str, Capacity]:
            return {str(table): Capacity(**spec) for table, spec in (raw or {}).items()}

        low, high = data.get("latency_ms", (0.0, 0.0))
        tables = data.get("fault_tables")
        seed = data.get("seed")
        return cls(
            latency_ms=(float(low), float(high)),
            write_capacity=capacities(data.get("write_capacity")),
            read_capacity=capacities(data.get("read_capacity")),
            server_error_rate=float(data.get("server_error_rate", 0.0)),
            server_error_after_apply_share=float(data.get("server_error_after_apply_share", 0.0)),
            throttle_rate=float(data.get("throttle_rate", 0.0)),
            partial_batch_rate=float(data.get("partial_batch_rate", 0.0)),
            fault_tables=None if tables is None else frozenset(map(str, tables)),
            memory_tables=tuple(map(str, data.get("memory_tables", ()))),
            sqs_sink_queues=tuple(map(str, data.get("sqs_sink_queues", ()))),
            seed=None if seed is None else int(seed),
        )
