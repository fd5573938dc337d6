"""Pure planning: what a run needs on which table (:func:`demand_for`) and the changes that give it (:func:`plan_raise`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from migration_core.capacity.model import (
    ON_DEMAND,
    Change,
    ChangeKind,
    Dimension,
    ResourceCapacity,
    TableCapacity,
)
from migration_core.errors import InvalidInput
from migration_core.models import RunSpec


@dataclass(frozen=True)
class TableDemand:
    # Read capacity for the base table (only base tables are scanned or read).
    read: int | None = None
    # Write capacity for the base table and every GSI.
    write: int | None = None

    def merge(self, other: TableDemand) -> TableDemand:
        return TableDemand(read=_max(self.read, other.read), write=_max(self.write, other.write))


def demand_for(run: RunSpec) -> dict[str, TableDemand]:
    """Which capacity the run needs on which table (an in-place run gets both on the one table)."""
    if run.prewarm is None:
        raise InvalidInput(f"run {run.run_id} does not pre-warm (its run has no prewarm settings)")
    reads, writes = run.prewarm.read_units, run.prewarm.write_units
    demand: dict[str, TableDemand] = {}

    def add(table: str, needed: TableDemand) -> None:
        demand[table] = demand.get(table, TableDemand()).merge(needed)

    if run.export is None:
        # A run that copies an export reads its files from S3, nothing through the source's capacity.
        add(run.source_table, TableDemand(read=reads))
    if run.mode == "verify":
        # Verify reads the target with consistent BatchGetItem calls and writes nothing.
        add(run.target_table, TableDemand(read=reads))
    else:
        add(run.target_table, TableDemand(write=writes))
        if run.cleanup:
            add(run.target_table, TableDemand(read=reads))
    return demand


@dataclass(frozen=True)
class RaisePlan:
    changes: tuple[Change, ...]
    notes: tuple[str, ...]

    def of_kind(self, *kinds: ChangeKind) -> list[Change]:
        return [change for change in self.changes if change.kind in kinds]


def plan_raise(
    original: Sequence[TableCapacity], demand: Mapping[str, TableDemand], *, warm_throughput_on_demand: bool
) -> RaisePlan:
    """The changes that give every table what the run needs, from the original settings; pure."""
    changes: list[Change] = []
    notes: list[str] = []
    for table in original:
        needed = demand.get(table.name)
        if needed is None:
            continue
        if table.billing_mode == ON_DEMAND and not warm_throughput_on_demand:
            notes.append(
                f"table {table.name} is on-demand: left alone (warm throughput was not requested; it is billed "
                "and cannot be lowered again)"
            )
        for resource in table.resources:
            wanted: dict[Dimension, int | None] = {
                "read": needed.read if resource.index is None else None,
                "write": needed.write,
            }
            for dimension, units in wanted.items():
                if units is None:
                    continue
                if table.billing_mode == ON_DEMAND:
                    _plan_on_demand(resource, dimension, units, warm_throughput_on_demand, changes, notes)
                else:
                    _plan_provisioned(resource, dimension, units, changes, notes)
    return RaisePlan(tuple(changes), tuple(notes))


def _plan_provisioned(
    resource: ResourceCapacity, dimension: Dimension, units: int, changes: list[Change], notes: list[str]
) -> None:
    current = (resource.provisioned or {}).get(dimension, 0)
    bounds = resource.auto_scaling.get(dimension)
    target = units
    if bounds is not None:
        # Auto scaling would undo a direct change; its minimum is what keeps the capacity up.
        new_min = max(bounds.min_capacity, units)
        new_max = max(bounds.max_capacity, new_min)
        target = new_min
        if (new_min, new_max) != (bounds.min_capacity, bounds.max_capacity):
            changes.append(
                Change(
                    resource.table,
                    resource.index,
                    "auto_scaling",
                    dimension,
                    before=bounds.min_capacity,
                    after=new_min,
                    max_before=bounds.max_capacity,
                    max_after=new_max,
                )
            )
        else:
            notes.append(
                f"{resource.label}: auto scaling minimum {dimension} {bounds.min_capacity:,} is already at least "
                f"{units:,}: left as is"
            )
    if current < target:
        changes.append(Change(resource.table, resource.index, "provisioned", dimension, before=current, after=target))
    elif bounds is None:
        notes.append(
            f"{resource.label}: provisioned {dimension} capacity {current:,} is already at least {units:,}: left as is"
        )


def _plan_on_demand(
    resource: ResourceCapacity,
    dimension: Dimension,
    units: int,
    warm_throughput_on_demand: bool,
    changes: list[Change],
    notes: list[str],
) -> None:
    maximum = resource.on_demand_max.get(dimension)
    if maximum is not None and maximum < units:
        notes.append(
            f"{resource.label}: its on-demand maximum of {maximum:,} {dimension} request units per second caps the "
            f"run below the {units:,} asked for; pre-warm never changes on-demand maximums (they are a cost guard), "
            "raise it yourself if that is intended"
        )
    if not warm_throughput_on_demand:
        return
    target = units if maximum is None else min(units, maximum)
    current = resource.warm.get(dimension, 0)
    if current < target:
        changes.append(
            Change(resource.table, resource.index, "warm_throughput", dimension, before=current, after=target)
        )
    else:
        notes.append(
            f"{resource.label}: warm throughput of {current:,} {dimension} units per second is already at least "
            f"{target:,}: left as is"
        )


def _max(first: int | None, second: int | None) -> int | None:
    if first is None:
        return second
    if second is None:
        return first
    return max(first, second)
