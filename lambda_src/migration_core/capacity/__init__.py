"""Capacity pre-warm before a run and its guaranteed reset afterwards, split by layer:

- ``model``: the typed capacity model and the ``$.capacity`` state document (parse/serialize at the boundary);
- ``planning``: pure: what a run needs (:func:`demand_for`) and the raise plan (:func:`plan_raise`);
- ``aws``: the thin AWS client (:class:`CapacityClient`);
- ``steps``: the step engines (:func:`raise_step`, :func:`reset_step`);
- ``actions``: the worker's capacity actions on ``$.capacity`` (:class:`CapacityActions`);
- ``report``: the reset report, the run output's ``capacity`` part, cause lines and restore commands.

This package re-exports the public names, so ``from migration_core.capacity import ...`` keeps working.

The state machine (``modules/backfill`` with ``prewarm.enabled``) runs four worker actions around the Maps:

``capacity_capture``
    DescribeTable of the source and the target (base table and every GSI) and DescribeScalableTargets: the
    original billing mode, provisioned throughput, warm throughput, on-demand maximums and auto scaling
    min/max, kept in the execution state as ``$.capacity.original``.
``capacity_raise`` / ``capacity_status``
    One step towards the raise plan each (:func:`plan_raise`); the state machine repeats ``capacity_status``
    after a Wait until every table and index is ACTIVE at its planned capacity, at most ``MAX_RAISE_CHECKS``
    times (then the run goes ahead anyway: a table serves traffic while UPDATING).
``capacity_reset``
    One step of putting back what the raise changed (:func:`plan_reset`), repeated after a Wait while a table
    is UPDATING. It never fails a run over a setting it could not restore: DynamoDB allows about 27 decreases
    a day per table and per index, so a refused decrease is reported with the original values and the command
    that restores them by hand.

What pre-warm asks for (:func:`demand_for`): ``read_units`` for every table the run scans or reads (the source;
in mode verify the target too, and the target of a cleanup, which scans it) on the base table only, since only
base tables are scanned; ``write_units`` for the table the run writes, on the base table *and every GSI*,
because every write to a table also writes each of its GSIs that projects the item.

What each kind of table gets (:func:`plan_raise`), never lowering a value that is already higher:

- provisioned: UpdateTable raises ProvisionedThroughput (GSIs through GlobalSecondaryIndexUpdates) to the demand;
- provisioned under Application Auto Scaling: auto scaling would override a direct change, so
  RegisterScalableTarget raises MinCapacity to the demand (and MaxCapacity when it is below the new minimum);
  the provisioned value itself is raised to the new minimum too, which the scaler would do on its own: doing it
  here makes it immediate and lets the wait loop see it;
- on-demand: left alone, unless the run asks for warm throughput (``warm_throughput_on_demand``): then
  UpdateTable WarmThroughput raises ReadUnitsPerSecond / WriteUnitsPerSecond to the demand. Warm throughput is
  billed and can never be lowered again on the base table, so the reset reports it as irreversible. On-demand
  maximums (OnDemandThroughput) are the owner's cost guard and are never changed: a maximum below the demand
  is reported, and warm throughput is capped at it.

The reset compares, per setting, the current value with the original and with what the raise set: equal to the
original → nothing to do; equal to the raised value → restore the original (scalable targets first, so the
scaler does not undo the table's decrease); anything else was changed by someone else during the run and is
left as it is (reported).
"""

from __future__ import annotations

from migration_core.capacity.actions import CapacityActions
from migration_core.capacity.aws import WARM_THROUGHPUT_MIN_BOTOCORE, CapacityClient
from migration_core.capacity.model import (
    ACTIVE,
    DIMENSIONS,
    FINAL_OK,
    NEEDS_OPERATOR,
    NOT_PREWARMED,
    ON_DEMAND,
    PROVISIONED,
    CapacityState,
    Change,
    ChangeKind,
    Dimension,
    ResetEntry,
    ResetStatus,
    ResourceCapacity,
    ScalingRange,
    TableCapacity,
    label,
    not_prewarmed,
    parse_capacity,
    resource_id,
    scalable_dimension,
    table_capacity,
)
from migration_core.capacity.planning import RaisePlan, TableDemand, demand_for, plan_raise
from migration_core.capacity.report import capacity_cause_lines, capacity_report, reset_report, restore_commands
from migration_core.capacity.steps import MAX_RAISE_CHECKS, MAX_RESET_ATTEMPTS, RaiseStep, raise_step, reset_step
from migration_core.errors import CapacityError

__all__ = [
    "ACTIVE",
    "DIMENSIONS",
    "FINAL_OK",
    "MAX_RAISE_CHECKS",
    "MAX_RESET_ATTEMPTS",
    "NEEDS_OPERATOR",
    "NOT_PREWARMED",
    "ON_DEMAND",
    "PROVISIONED",
    "WARM_THROUGHPUT_MIN_BOTOCORE",
    "CapacityActions",
    "CapacityClient",
    "CapacityError",
    "CapacityState",
    "Change",
    "ChangeKind",
    "Dimension",
    "RaisePlan",
    "RaiseStep",
    "ResetEntry",
    "ResetStatus",
    "ResourceCapacity",
    "ScalingRange",
    "TableCapacity",
    "TableDemand",
    "capacity_cause_lines",
    "capacity_report",
    "demand_for",
    "label",
    "not_prewarmed",
    "parse_capacity",
    "plan_raise",
    "raise_step",
    "reset_report",
    "reset_step",
    "resource_id",
    "restore_commands",
    "scalable_dimension",
    "table_capacity",
]
