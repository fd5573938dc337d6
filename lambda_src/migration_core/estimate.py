"""What a run will consume, how long it takes at the tables' capacity, and what it costs: from DescribeTable alone.

Pure and typed (no AWS calls), shared by ``ddb-migrate plan`` and ``run``. The inputs are DynamoDB's own
estimates (ItemCount, TableSizeBytes), which it refreshes about every six hours, so the figures are a plan, not
a measurement: the run's summary reports the consumed capacity DynamoDB returned.

Consumption rules (DynamoDB developer guide, "Read/write capacity mode"):
- A Scan is charged on the bytes it reads, in 4 KB units, halved for eventually consistent reads (the worker's
  Scans are), whatever the projection: total table bytes / 4 KB / 2.
- A write (or delete) costs 1 WCU per started KB of the item, per item, and the same again in every GSI the
  item is projected into. Without per-item sizes the estimate rounds the average item size up, and assumes the
  transform keeps the size and that every item is projected into every GSI (the worst case).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
EVENTUALLY_CONSISTENT_FACTOR = 0.5
# The default per-table throughput quota of an on-demand table (reads and writes each, per second): what an
# on-demand table without a maximum or warm throughput can reach at most (Service Quotas, "Table-level read/write
# throughput limit"). Reaching it takes time: DynamoDB adapts to twice the previous peak.
ON_DEMAND_TABLE_QUOTA = 40_000.0
SIX_HOURS_NOTE = (
    "DynamoDB updates item counts and table sizes about every six hours: these figures may lag recent writes"
)

# us-east-1 list prices, Standard table class, as published on AWS's DynamoDB pricing pages: on-demand since
# the price reduction of 2024-11-01 ($0.125 per million read request units, $0.625 per million write request
# units), provisioned $0.00013 per RCU-hour and $0.00065 per WCU-hour. Other regions and table classes differ:
# pass the flags that override them.
PRICES_REGION = "us-east-1"
PRICES_DATE = "2024-11-01"


@dataclass(frozen=True)
class Prices:
    on_demand_read_per_million: float = 0.125
    on_demand_write_per_million: float = 0.625
    provisioned_read_unit_hour: float = 0.00013
    provisioned_write_unit_hour: float = 0.00065
    region: str = PRICES_REGION
    as_of: str = PRICES_DATE


@dataclass(frozen=True)
class IndexFacts:
    name: str
    # Per-second limits; None on an on-demand index without a maximum (the table's quota applies).
    read_units: float | None
    write_units: float | None


@dataclass(frozen=True)
class TableFacts:
    name: str
    item_count: int
    size_bytes: int
    on_demand: bool
    # Provisioned RCU/WCU, or an on-demand table's maximum (None: no maximum set).
    read_units: float | None
    write_units: float | None
    # An on-demand table's warm throughput: what it serves at once, without adapting first.
    warm_read_units: float | None = None
    warm_write_units: float | None = None
    indexes: tuple[IndexFacts, ...] = ()
    # A provisioned table under Application Auto Scaling: the most its capacity may be raised to.
    scaling_max_read_units: float | None = None
    scaling_max_write_units: float | None = None

    @classmethod
    def from_description(cls, table: Mapping[str, Any]) -> TableFacts:
        """From DescribeTable's ``Table``."""
        on_demand = table.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"
        indexes = tuple(
            IndexFacts(
                name=str(index.get("IndexName", "")),
                read_units=_limit(index, "ReadCapacityUnits", "MaxReadRequestUnits", on_demand=on_demand),
                write_units=_limit(index, "WriteCapacityUnits", "MaxWriteRequestUnits", on_demand=on_demand),
            )
            for index in table.get("GlobalSecondaryIndexes", [])
        )
        warm = table.get("WarmThroughput", {})
        return cls(
            name=str(table.get("TableName", "")),
            item_count=int(table.get("ItemCount", 0)),
            size_bytes=int(table.get("TableSizeBytes", 0)),
            on_demand=on_demand,
            read_units=_limit(table, "ReadCapacityUnits", "MaxReadRequestUnits", on_demand=on_demand),
            write_units=_limit(table, "WriteCapacityUnits", "MaxWriteRequestUnits", on_demand=on_demand),
            warm_read_units=_positive(warm.get("ReadUnitsPerSecond")) if on_demand else None,
            warm_write_units=_positive(warm.get("WriteUnitsPerSecond")) if on_demand else None,
            indexes=indexes,
        )

    @property
    def average_item_bytes(self) -> float:
        return self.size_bytes / self.item_count if self.item_count else 0.0

    @property
    def write_units_per_item(self) -> int:
        return max(1, math.ceil(self.average_item_bytes / WRITE_UNIT_BYTES))

    def read_rate(self) -> float:
        """Read units per second the table serves a run: provisioned (up to the auto-scaling maximum), else the
        on-demand maximum, else warm throughput."""
        return _rate(
            _larger(self.read_units, self.scaling_max_read_units) or self.warm_read_units, on_demand=self.on_demand
        )

    def write_rate(self) -> float:
        return _rate(
            _larger(self.write_units, self.scaling_max_write_units) or self.warm_write_units, on_demand=self.on_demand
        )

    def raised(self, read_units: float | None, write_units: float | None) -> TableFacts:
        """The table as a run's pre-warm leaves it: provisioned capacity (of its GSIs too, for writes) raised to at
        least these units. Pre-warm leaves on-demand capacity alone."""
        if self.on_demand:
            return self
        return replace(
            self,
            read_units=_larger(self.read_units, read_units),
            write_units=_larger(self.write_units, write_units),
            indexes=tuple(
                replace(index, write_units=_larger(index.write_units, write_units)) for index in self.indexes
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "indexes": [asdict(index) for index in self.indexes],
            "capacity_mode": "on-demand" if self.on_demand else "provisioned",
            "average_item_bytes": round(self.average_item_bytes, 1),
        }


@dataclass(frozen=True)
class Budget:
    """A run's capacity budget in units per second, per table name (``RunSpec.read_budget`` / ``write_budget``)."""

    read: Mapping[str, float] = field(default_factory=dict)
    write: Mapping[str, float] = field(default_factory=dict)


def budget_warnings(budget: Budget, tables: Mapping[str, TableFacts]) -> list[str]:
    """A budget above what a table delivers: the table, not the budget, then limits the run."""
    warnings = []
    for kind, rates, capacity_of in (
        ("read", budget.read, TableFacts.read_rate),
        ("write", budget.write, TableFacts.write_rate),
    ):
        for name, units in rates.items():
            table = tables.get(name)
            if table is None:
                continue
            capacity = capacity_of(table)
            provisioned = table.read_units if kind == "read" else table.write_units
            if units > capacity:
                warnings.append(
                    f"warning: the {kind} budget of {units:,.0f} units/s on {name} exceeds what the table delivers "
                    f"({capacity:,.0f} units/s): the run takes what the table has, and the application competes "
                    f"with it; lower the budget or raise the table's capacity"
                )
            elif not table.on_demand and provisioned is not None and units > provisioned:
                warnings.append(
                    f"warning: the {kind} budget of {units:,.0f} units/s on {name} exceeds its provisioned "
                    f"{provisioned:,.0f} units/s: auto-scaling raises that toward its maximum of {capacity:,.0f} "
                    f"only after minutes of high use, and until then the run and the application share throttles; "
                    f"pre-warm the table (--prewarm) or start with a lower budget"
                )
    return warnings


@dataclass(frozen=True)
class PhaseEstimate:
    """One pass over a table: the Scan of ``read_table`` and the writes (or deletes) on ``write_table``."""

    phase: str
    read_table: str
    write_table: str
    items: int
    read_units: float
    write_units: float
    # The same writes again in each GSI of the written table.
    index_write_units: float
    duration_seconds: float
    # What the duration is limited by, e.g. "writes on target (1,000 WCU/s)".
    bottleneck: str
    cost_usd: float


@dataclass(frozen=True)
class RunEstimate:
    phases: tuple[PhaseEstimate, ...]
    prices: Prices
    notes: tuple[str, ...] = field(default=())

    @property
    def read_units(self) -> float:
        return sum(phase.read_units for phase in self.phases)

    @property
    def write_units(self) -> float:
        return sum(phase.write_units + phase.index_write_units for phase in self.phases)

    @property
    def duration_seconds(self) -> float:
        return sum(phase.duration_seconds for phase in self.phases)

    @property
    def cost_usd(self) -> float:
        return sum(phase.cost_usd for phase in self.phases)

    def to_json(self) -> dict[str, Any]:
        return {
            "phases": [asdict(phase) for phase in self.phases],
            "read_units": round(self.read_units, 1),
            "write_units": round(self.write_units, 1),
            "duration_seconds": round(self.duration_seconds, 1),
            "cost_usd": round(self.cost_usd, 4),
            "prices": asdict(self.prices),
            "notes": list(self.notes),
        }


def scan_read_units(table: TableFacts) -> float:
    return table.size_bytes / READ_UNIT_BYTES * EVENTUALLY_CONSISTENT_FACTOR


def estimate_phase(
    phase: str,
    read_table: TableFacts,
    write_table: TableFacts,
    prices: Prices,
    budget: Budget | None = None,
) -> PhaseEstimate:
    """A copy (read the source, write its items to the target) or a cleanup (read the target, delete its items).

    With a ``budget`` the phase reads and writes at most at its rates; writes count their GSI writes too.
    """
    budget = budget or Budget()
    items = read_table.item_count
    read_units = scan_read_units(read_table)
    # Writes are sized by the items read; a cleanup's deletes by the target's own items (the same table).
    write_units = float(items * read_table.write_units_per_item)
    index_write_units = write_units * len(write_table.indexes)
    limits: list[tuple[float, str]] = [
        (
            _seconds(read_units, read_table.read_rate()),
            f"reads on {read_table.name} ({read_table.read_rate():,.0f} RCU/s)",
        ),
        *_write_limits(write_table, write_units, index_write_units, budget),
    ]
    read_budget = budget.read.get(read_table.name)
    if read_budget is not None:
        limits.append(
            (_seconds(read_units, read_budget), f"the read budget on {read_table.name} ({read_budget:,.0f} RCU/s)")
        )
    duration, bottleneck = max(limits, key=lambda limit: limit[0])
    cost = _cost(read_units, read_table.on_demand, prices, read=True) + _cost(
        write_units + index_write_units, write_table.on_demand, prices, read=False
    )
    return PhaseEstimate(
        phase=phase,
        read_table=read_table.name,
        write_table=write_table.name,
        items=items,
        read_units=read_units,
        write_units=write_units,
        index_write_units=index_write_units,
        duration_seconds=duration,
        bottleneck=bottleneck,
        cost_usd=cost,
    )


def _write_limits(
    table: TableFacts, write_units: float, index_write_units: float, budget: Budget
) -> list[tuple[float, str]]:
    """How long the writes of a phase take at each limit of the written table: its capacity, the budget, its GSIs."""
    limits = [(_seconds(write_units, table.write_rate()), f"writes on {table.name} ({table.write_rate():,.0f} WCU/s)")]
    write_budget = budget.write.get(table.name)
    if write_budget is not None:
        limits.append(
            (
                _seconds(write_units + index_write_units, write_budget),
                f"the write budget on {table.name} ({write_budget:,.0f} WCU/s, GSIs included)",
            )
        )
    for index in table.indexes:
        rate = _rate(index.write_units, on_demand=table.on_demand)
        limits.append((_seconds(write_units, rate), f"writes on GSI {index.name} of {table.name} ({rate:,.0f} WCU/s)"))
    return limits


def estimate_run(
    source: TableFacts,
    target: TableFacts,
    *,
    cleanup: bool,
    prices: Prices | None = None,
    budget: Budget | None = None,
) -> RunEstimate:
    prices = prices or Prices()
    budget = budget or Budget()
    phases: list[PhaseEstimate] = []
    if cleanup:
        phases.append(estimate_phase("cleanup", target, target, prices, budget))
    phases.append(estimate_phase("copy", source, target, prices, budget))
    notes = [SIX_HOURS_NOTE, *budget_warnings(budget, {table.name: table for table in (source, target)})]
    if target.indexes:
        notes.append(
            f"GSI writes assume every item is projected into all {len(target.indexes)} GSI(s) of {target.name}"
        )
    for table in _distinct((source, target)):
        if table.on_demand and table.read_units is None and table.warm_read_units is None:
            notes.append(
                f"{table.name} is on demand without a maximum: the duration assumes the default table quota of "
                f"{ON_DEMAND_TABLE_QUOTA:,.0f} units/s, which DynamoDB reaches only by doubling from the previous peak"
            )
    if not (source.on_demand and target.on_demand):
        notes.append(
            "provisioned cost is the consumed capacity in unit-hours at the provisioned price: what the run adds "
            "when capacity is raised exactly for it; idle provisioned capacity is already paid for"
        )
    return RunEstimate(phases=tuple(phases), prices=prices, notes=tuple(notes))


def _distinct(tables: Sequence[TableFacts]) -> list[TableFacts]:
    seen: dict[str, TableFacts] = {}
    for table in tables:
        seen.setdefault(table.name, table)
    return list(seen.values())


def _limit(
    description: Mapping[str, Any], provisioned_key: str, on_demand_key: str, *, on_demand: bool
) -> float | None:
    if on_demand:
        return _positive(description.get("OnDemandThroughput", {}).get(on_demand_key))
    return _positive(description.get("ProvisionedThroughput", {}).get(provisioned_key))


def _positive(value: Any) -> float | None:
    # DynamoDB reports "no maximum" as -1 (on-demand) and a new on-demand table's provisioned units as 0.
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _larger(units: float | None, other: float | None) -> float | None:
    return max(units, other) if units is not None and other is not None else units or other


def _rate(units: float | None, *, on_demand: bool) -> float:
    if units is not None:
        return units
    return ON_DEMAND_TABLE_QUOTA if on_demand else 0.0


def _seconds(units: float, rate: float) -> float:
    if units <= 0:
        return 0.0
    return units / rate if rate > 0 else math.inf


def _cost(units: float, on_demand: bool, prices: Prices, *, read: bool) -> float:
    if on_demand:
        per_million = prices.on_demand_read_per_million if read else prices.on_demand_write_per_million
        return units / 1_000_000 * per_million
    per_unit_hour = prices.provisioned_read_unit_hour if read else prices.provisioned_write_unit_hour
    return units / 3600 * per_unit_hour


# ----------------------------------------------------------------------------------------------------------------
# A backfill from a point-in-time export (issue #17)
# ----------------------------------------------------------------------------------------------------------------

# A full export to S3 is billed per GB of the table's size at the export time (us-east-1 list price, DynamoDB
# pricing "Export to Amazon S3"), whatever the table's capacity mode. The export is made from the point-in-time
# recovery backup, so it reads nothing through the table's capacity: the copy then reads the export's files in S3.
EXPORT_PRICE_PER_GB = 0.10
BYTES_PER_GB = 1024**3
EXPORT_DURATION_NOTE = (
    "the export runs before the copy and is not in the duration above: AWS gives no figure for it (minutes to "
    "hours, growing with the table's size and independent of its capacity), so it cannot be predicted here"
)
EXPORT_S3_NOTE = (
    "S3 adds a little: the export's storage until the bucket's lifecycle expires it (compressed, at most about "
    "the table's size), the PUTs DynamoDB makes to write it and one GET per data file to read it; not included"
)


@dataclass(frozen=True)
class ExportEstimate:
    """The export of ``table`` to S3: billed per GB of the table's size; no read units on the table."""

    table: str
    size_bytes: int
    price_per_gb: float
    # An export the run reuses (--export-arn) was billed when it was made: the run adds nothing for it.
    reused: bool = False

    @property
    def size_gb(self) -> float:
        return self.size_bytes / BYTES_PER_GB

    @property
    def cost_usd(self) -> float:
        return 0.0 if self.reused else self.size_gb * self.price_per_gb

    @property
    def source_read_units(self) -> float:
        return 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "size_bytes": self.size_bytes,
            "size_gb": round(self.size_gb, 6),
            "price_per_gb": self.price_per_gb,
            "reused": self.reused,
            "cost_usd": round(self.cost_usd, 4),
            "source_read_units": self.source_read_units,
            "duration_seconds": None,
        }


def estimate_export(
    source: TableFacts, *, price_per_gb: float = EXPORT_PRICE_PER_GB, reused_size_bytes: int | None = None
) -> ExportEstimate:
    """A new export of ``source`` (its six-hourly size), or, with ``reused_size_bytes``, one the run reuses."""
    if reused_size_bytes is not None:
        return ExportEstimate(source.name, reused_size_bytes, price_per_gb, reused=True)
    return ExportEstimate(source.name, source.size_bytes, price_per_gb)


def estimate_export_copy(
    source: TableFacts, target: TableFacts, prices: Prices, budget: Budget | None = None
) -> PhaseEstimate:
    """The copy of an export run: the source's items, read from the export's files, written to the target.

    Nothing is read from a table, so only the writes (at the target's capacity and the write budget) limit it."""
    budget = budget or Budget()
    items = source.item_count
    write_units = float(items * source.write_units_per_item)
    index_write_units = write_units * len(target.indexes)
    duration, bottleneck = max(
        _write_limits(target, write_units, index_write_units, budget), key=lambda limit: limit[0]
    )
    return PhaseEstimate(
        phase="copy",
        read_table=source.name,
        write_table=target.name,
        items=items,
        read_units=0.0,
        write_units=write_units,
        index_write_units=index_write_units,
        duration_seconds=duration,
        bottleneck=bottleneck,
        cost_usd=_cost(write_units + index_write_units, target.on_demand, prices, read=False),
    )


def estimate_export_run(
    source: TableFacts,
    target: TableFacts,
    *,
    cleanup: bool,
    prices: Prices | None = None,
    budget: Budget | None = None,
) -> RunEstimate:
    """An export run's phases: the cleanup as a Scan run's (it scans the target), the copy from the export.

    The export's own cost is ``estimate_export``'s; the notes say what neither figure includes."""
    prices = prices or Prices()
    budget = budget or Budget()
    phases: list[PhaseEstimate] = []
    if cleanup:
        phases.append(estimate_phase("cleanup", target, target, prices, budget))
    phases.append(estimate_export_copy(source, target, prices, budget))
    # The source is not read: a read budget on it, and its read capacity, do not matter to this run.
    read_budget = {name: units for name, units in budget.read.items() if cleanup and name == target.name}
    notes = [
        SIX_HOURS_NOTE,
        *budget_warnings(Budget(read=read_budget, write=budget.write), {target.name: target}),
        EXPORT_DURATION_NOTE,
        EXPORT_S3_NOTE,
    ]
    if target.indexes:
        notes.append(
            f"GSI writes assume every item is projected into all {len(target.indexes)} GSI(s) of {target.name}"
        )
    if target.on_demand and target.write_units is None and target.warm_write_units is None:
        notes.append(
            f"{target.name} is on demand without a maximum: the duration assumes the default table quota of "
            f"{ON_DEMAND_TABLE_QUOTA:,.0f} units/s, which DynamoDB reaches only by doubling from the previous peak"
        )
    if not target.on_demand:
        notes.append(
            "provisioned cost is the consumed capacity in unit-hours at the provisioned price: what the run adds "
            "when capacity is raised exactly for it; idle provisioned capacity is already paid for"
        )
    return RunEstimate(phases=tuple(phases), prices=prices, notes=tuple(notes))
