"""Capacity pre-warm before a run and its guaranteed reset afterwards.

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

import json
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, cast

import botocore
from botocore.exceptions import BotoCoreError, ClientError
from botocore.model import StructureShape

from migration_core.errors import ConfigurationError, InvalidInput, MigrationError
from migration_core.models import RunSpec

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_dynamodb import DynamoDBClient

Dimension = Literal["read", "write"]
DIMENSIONS: tuple[Dimension, ...] = ("read", "write")
ChangeKind = Literal["auto_scaling", "provisioned", "warm_throughput"]
PROVISIONED = "PROVISIONED"
ON_DEMAND = "PAY_PER_REQUEST"
ACTIVE = "ACTIVE"
SERVICE_NAMESPACE: Literal["dynamodb"] = "dynamodb"
# The state machine waits CAPACITY_CHECK_INTERVAL_SECONDS (Terraform, 10 s) between steps: 15 minutes of
# waiting for the raise, 10 minutes of retrying a reset while a table is UPDATING.
MAX_RAISE_CHECKS = 90
MAX_RESET_ATTEMPTS = 60
# DescribeScalableTargets takes at most 50 resource ids per call.
SCALABLE_TARGET_PAGE = 50
_PROVISIONED_KEYS: dict[Dimension, str] = {"read": "ReadCapacityUnits", "write": "WriteCapacityUnits"}
_WARM_KEYS: dict[Dimension, str] = {"read": "ReadUnitsPerSecond", "write": "WriteUnitsPerSecond"}
_ON_DEMAND_KEYS: dict[Dimension, str] = {"read": "MaxReadRequestUnits", "write": "MaxWriteRequestUnits"}
# Errors that mean "not now": the table is UPDATING, too many control-plane operations run at once, throttling.
_BUSY_CODES = frozenset(
    {"ResourceInUseException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError"}
)


class CapacityError(MigrationError, RuntimeError):
    """The tables' capacity could not be captured or raised; the run fails and still goes through the reset."""


# --- What the tables look like -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScalingRange:
    """An Application Auto Scaling scalable target's bounds."""

    min_capacity: int
    max_capacity: int

    def to_json(self) -> dict[str, int]:
        return {"min": self.min_capacity, "max": self.max_capacity}


@dataclass(frozen=True)
class ResourceCapacity:
    """The capacity settings of a base table (``index`` None) or of one of its global secondary indexes."""

    table: str
    index: str | None
    status: str
    # None for an on-demand table.
    provisioned: Mapping[Dimension, int] | None
    warm: Mapping[Dimension, int] = field(default_factory=dict)
    warm_status: str | None = None
    # Only the dimensions that have a maximum (DynamoDB reports -1 for none).
    on_demand_max: Mapping[Dimension, int] = field(default_factory=dict)
    auto_scaling: Mapping[Dimension, ScalingRange] = field(default_factory=dict)

    @property
    def resource_id(self) -> str:
        return resource_id(self.table, self.index)

    @property
    def label(self) -> str:
        return label(self.table, self.index)

    @property
    def ready(self) -> bool:
        return self.status == ACTIVE and self.warm_status in (None, ACTIVE)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": self.status,
            "provisioned": None if self.provisioned is None else dict(self.provisioned),
            "warm": dict(self.warm),
            "warm_status": self.warm_status,
            "on_demand_max": dict(self.on_demand_max),
            "auto_scaling": {dimension: bounds.to_json() for dimension, bounds in self.auto_scaling.items()},
        }

    @classmethod
    def from_json(cls, table: str, data: Mapping[str, Any]) -> ResourceCapacity:
        provisioned = data.get("provisioned")
        return cls(
            table=table,
            index=data.get("index"),
            status=str(data.get("status", ACTIVE)),
            provisioned=None if provisioned is None else _units(provisioned),
            warm=_units(data.get("warm") or {}),
            warm_status=data.get("warm_status"),
            on_demand_max=_units(data.get("on_demand_max") or {}),
            auto_scaling={
                cast(Dimension, dimension): ScalingRange(int(bounds["min"]), int(bounds["max"]))
                for dimension, bounds in (data.get("auto_scaling") or {}).items()
                if dimension in DIMENSIONS
            },
        )


@dataclass(frozen=True)
class TableCapacity:
    name: str
    billing_mode: str
    status: str
    # The base table first, then its GSIs in DescribeTable's order.
    resources: tuple[ResourceCapacity, ...]

    @property
    def ready(self) -> bool:
        return self.status == ACTIVE and all(resource.ready for resource in self.resources)

    def resource(self, index: str | None) -> ResourceCapacity | None:
        return next((resource for resource in self.resources if resource.index == index), None)

    def not_ready(self) -> list[str]:
        waiting = [] if self.status == ACTIVE else [f"table {self.name} is {self.status}"]
        for resource in self.resources:
            if resource.index is not None and resource.status != ACTIVE:
                waiting.append(f"{resource.label} is {resource.status}")
            if resource.warm_status not in (None, ACTIVE):
                waiting.append(f"warm throughput of {resource.label} is {resource.warm_status}")
        return waiting

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "billing_mode": self.billing_mode,
            "status": self.status,
            "resources": [resource.to_json() for resource in self.resources],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableCapacity:
        name = str(data["name"])
        return cls(
            name=name,
            billing_mode=str(data["billing_mode"]),
            status=str(data.get("status", ACTIVE)),
            resources=tuple(ResourceCapacity.from_json(name, resource) for resource in data["resources"]),
        )


def resource_id(table: str, index: str | None) -> str:
    """Application Auto Scaling's ResourceId of a table or index."""
    return f"table/{table}" if index is None else f"table/{table}/index/{index}"


def label(table: str, index: str | None) -> str:
    return f"table {table}" if index is None else f"index {index} of {table}"


def scalable_dimension(index: str | None, dimension: Dimension) -> str:
    return f"dynamodb:{'table' if index is None else 'index'}:{_PROVISIONED_KEYS[dimension]}"


def table_capacity(
    description: Mapping[str, Any], scaling: Mapping[tuple[str, str], ScalingRange] | None = None
) -> TableCapacity:
    """A TableCapacity from DescribeTable's ``Table`` and the scalable targets keyed by (ResourceId, dimension)."""
    name = str(description["TableName"])
    # Tables created before billing modes existed have no BillingModeSummary: they are provisioned.
    billing_mode = str((description.get("BillingModeSummary") or {}).get("BillingMode") or PROVISIONED)
    scaling = scaling or {}
    base = _resource(name, None, description, str(description.get("TableStatus", "UNKNOWN")), billing_mode, scaling)
    indexes = [
        _resource(name, str(gsi["IndexName"]), gsi, str(gsi.get("IndexStatus", "UNKNOWN")), billing_mode, scaling)
        for gsi in description.get("GlobalSecondaryIndexes") or []
    ]
    return TableCapacity(name, billing_mode, base.status, (base, *indexes))


def _resource(
    table: str,
    index: str | None,
    description: Mapping[str, Any],
    status: str,
    billing_mode: str,
    scaling: Mapping[tuple[str, str], ScalingRange],
) -> ResourceCapacity:
    throughput = description.get("ProvisionedThroughput") or {}
    warm = description.get("WarmThroughput") or {}
    on_demand = description.get("OnDemandThroughput") or {}
    return ResourceCapacity(
        table=table,
        index=index,
        status=status,
        provisioned=None
        if billing_mode == ON_DEMAND
        else {dimension: int(throughput.get(key, 0)) for dimension, key in _PROVISIONED_KEYS.items()},
        warm={dimension: int(warm[key]) for dimension, key in _WARM_KEYS.items() if warm.get(key) is not None},
        warm_status=warm.get("Status"),
        on_demand_max={
            dimension: int(on_demand[key])
            for dimension, key in _ON_DEMAND_KEYS.items()
            if on_demand.get(key) is not None and int(on_demand[key]) > 0
        },
        auto_scaling={
            dimension: scaling[(resource_id(table, index), scalable_dimension(index, dimension))]
            for dimension in DIMENSIONS
            if (resource_id(table, index), scalable_dimension(index, dimension)) in scaling
        },
    )


def _units(data: Mapping[str, Any]) -> dict[Dimension, int]:
    return {dimension: int(data[dimension]) for dimension in DIMENSIONS if data.get(dimension) is not None}


# --- What a run needs, and the plan to get there ----------------------------------------------------------


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
class Change:
    """One setting the raise changes: ``before`` is the original value, ``after`` what pre-warm sets."""

    table: str
    index: str | None
    kind: ChangeKind
    dimension: Dimension
    before: int
    after: int
    # auto_scaling only: MaxCapacity before and after (raised only when it is below the new minimum).
    max_before: int | None = None
    max_after: int | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.dimension}:{resource_id(self.table, self.index)}"

    def describe(self) -> str:
        what = {
            "auto_scaling": f"auto scaling minimum {self.dimension}",
            "provisioned": f"provisioned {self.dimension} capacity",
            "warm_throughput": f"warm throughput {self.dimension} units per second",
        }[self.kind]
        text = f"{label(self.table, self.index)}: {what} {self.before:,} -> {self.after:,}"
        if self.kind == "auto_scaling" and self.max_before != self.max_after:
            text += f" (maximum {self.max_before:,} -> {self.max_after:,})"
        return text

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "table": self.table,
            "index": self.index,
            "setting": self.kind,
            "dimension": self.dimension,
            "before": self.before,
            "after": self.after,
        }
        if self.kind == "auto_scaling":
            data["max_before"] = self.max_before
            data["max_after"] = self.max_after
        return data


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


# --- Talking to AWS ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """One piece of an UpdateTable request: the base table's or one GSI's throughput, or warm throughput."""

    index: str | None
    kind: Literal["provisioned", "warm_throughput"]
    values: Mapping[Dimension, int]
    changes: tuple[Change, ...]


UpdateOutcome = Literal["applied", "busy", "decrease_limit", "error"]


@dataclass(frozen=True)
class _PartResult:
    part: _Part
    outcome: UpdateOutcome
    message: str = ""


# The first botocore release whose DynamoDB model has WarmThroughput (UpdateTable, DescribeTable).
WARM_THROUGHPUT_MIN_BOTOCORE = "1.35.60"


class CapacityClient:
    """The thin AWS side: DescribeTable, UpdateTable, DescribeScalableTargets, RegisterScalableTarget."""

    def __init__(self, dynamodb: DynamoDBClient, autoscaling: ApplicationAutoScalingClient) -> None:
        self._dynamodb = dynamodb
        self._autoscaling = autoscaling

    def knows_warm_throughput(self) -> bool:
        """Whether this SDK can send UpdateTable's WarmThroughput and read it back from DescribeTable.

        Asked of the client's own service model rather than of a version number: the functions run with the Lambda
        runtime's boto3, whichever release that is, and a botocore without the parameter refuses it before
        sending, or drops it from responses without a word.
        """
        model = self._dynamodb.meta.service_model
        update = model.operation_model("UpdateTable").input_shape
        described = model.shape_for("TableDescription")
        return all(
            isinstance(shape, StructureShape) and "WarmThroughput" in shape.members for shape in (update, described)
        )

    def describe(self, table: str, *, with_scaling: bool = True) -> TableCapacity:
        description = self._dynamodb.describe_table(TableName=table)["Table"]
        scaling: dict[tuple[str, str], ScalingRange] = {}
        if with_scaling:
            ids = [resource_id(table, None)] + [
                resource_id(table, gsi["IndexName"]) for gsi in description.get("GlobalSecondaryIndexes") or []
            ]
            scaling = self.scalable_targets(ids)
        return table_capacity(cast(Mapping[str, Any], description), scaling)

    def scalable_targets(self, resource_ids: Iterable[str]) -> dict[tuple[str, str], ScalingRange]:
        ids = sorted(set(resource_ids))
        targets: dict[tuple[str, str], ScalingRange] = {}
        paginator = self._autoscaling.get_paginator("describe_scalable_targets")
        for start in range(0, len(ids), SCALABLE_TARGET_PAGE):
            pages = paginator.paginate(
                ServiceNamespace=SERVICE_NAMESPACE, ResourceIds=ids[start : start + SCALABLE_TARGET_PAGE]
            )
            for page in pages:
                for target in page["ScalableTargets"]:
                    key = (target["ResourceId"], target["ScalableDimension"])
                    targets[key] = ScalingRange(int(target["MinCapacity"]), int(target["MaxCapacity"]))
        return targets

    def register(self, change: Change, bounds: ScalingRange) -> None:
        # Only the bounds: no RoleARN (so no iam:PassRole) and no Tags, and the target already exists, so its
        # service-linked role does too.
        self._autoscaling.register_scalable_target(
            ServiceNamespace=SERVICE_NAMESPACE,
            ResourceId=resource_id(change.table, change.index),
            ScalableDimension=cast(Any, scalable_dimension(change.index, change.dimension)),
            MinCapacity=bounds.min_capacity,
            MaxCapacity=bounds.max_capacity,
        )

    def update(self, current: TableCapacity, parts: Sequence[_Part]) -> list[_PartResult]:
        """Apply the parts in one UpdateTable; if DynamoDB refuses the combination, one part at a time.

        After one part went through the table is UPDATING, so the rest are reported busy (done on a later step).
        """
        try:
            self._dynamodb.update_table(**_update_request(current, parts))
        except ClientError as error:
            outcome, message = _classify(error)
            if outcome == "busy" or len(parts) == 1:
                return [_PartResult(part, outcome, message) for part in parts]
        else:
            return [_PartResult(part, "applied") for part in parts]
        results: list[_PartResult] = []
        applied = False
        for part in parts:
            if applied:
                results.append(_PartResult(part, "busy", "waiting for the previous update of the table"))
                continue
            try:
                self._dynamodb.update_table(**_update_request(current, [part]))
            except ClientError as error:
                outcome, message = _classify(error)
                results.append(_PartResult(part, outcome, message))
            else:
                applied = True
                results.append(_PartResult(part, "applied"))
        return results


def _update_request(current: TableCapacity, parts: Sequence[_Part]) -> dict[str, Any]:
    request: dict[str, Any] = {"TableName": current.name}
    index_updates: dict[str, dict[str, Any]] = {}
    for part in parts:
        resource = current.resource(part.index)
        if part.kind == "provisioned":
            # ProvisionedThroughput needs both values: the one not changed stays at its current value.
            present = (resource.provisioned if resource is not None else None) or {}
            block: dict[str, Any] = {
                key: part.values.get(dimension, present.get(dimension, 0))
                for dimension, key in _PROVISIONED_KEYS.items()
            }
            name = "ProvisionedThroughput"
        else:
            block = {_WARM_KEYS[dimension]: units for dimension, units in part.values.items()}
            name = "WarmThroughput"
        if part.index is None:
            request[name] = block
        else:
            index_updates.setdefault(part.index, {"IndexName": part.index})[name] = block
    if index_updates:
        request["GlobalSecondaryIndexUpdates"] = [{"Update": update} for update in index_updates.values()]
    return request


def _parts(changes: Iterable[Change], values: Callable[[Change], int]) -> list[_Part]:
    """Group changes of one table into UpdateTable parts: one per (resource, kind), base table first."""
    grouped: dict[tuple[str | None, str], list[Change]] = {}
    for change in changes:
        if change.kind in ("provisioned", "warm_throughput"):
            grouped.setdefault((change.index, change.kind), []).append(change)
    ordered = sorted(grouped.items(), key=lambda item: (item[0][0] is not None, item[0][0] or "", item[0][1]))
    return [
        _Part(
            index=index,
            kind=cast(Literal["provisioned", "warm_throughput"], kind),
            values={change.dimension: values(change) for change in members},
            changes=tuple(members),
        )
        for (index, kind), members in ordered
    ]


def _classify(error: ClientError) -> tuple[UpdateOutcome, str]:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = f"{code}: {details.get('Message', '')}".strip()
    lowered = message.lower()
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in {"LimitExceededException", "ValidationException"} and "decrease" in lowered:
        return "decrease_limit", message
    if code in _BUSY_CODES or status >= 500:
        return "busy", message
    if code == "LimitExceededException" and any(word in lowered for word in ("concurrent", "simultaneous")):
        return "busy", message
    return "error", message


def _error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        return _classify(error)[1]
    return f"{type(error).__name__}: {error}"


# --- Raise ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaiseStep:
    ready: bool
    waiting_for: tuple[str, ...]
    applied: tuple[str, ...]


def raise_step(client: CapacityClient, plan: RaisePlan) -> RaiseStep:
    """One step towards the plan: apply what is not there yet; ready when every table is ACTIVE at its target.

    Idempotent (a value already at or above its target is left alone), so a Lambda retry or the next loop
    iteration simply continues. Raises CapacityError when AWS refuses a change outright.
    """
    applied: list[str] = []
    waiting: list[str] = []
    scaling_changes = plan.of_kind("auto_scaling")
    if scaling_changes:
        current = _call(
            "DescribeScalableTargets",
            lambda: client.scalable_targets(resource_id(c.table, c.index) for c in scaling_changes),
        )
        for change in scaling_changes:
            now = current.get(
                (resource_id(change.table, change.index), scalable_dimension(change.index, change.dimension))
            )
            if now is None:
                raise CapacityError(
                    f"{change.describe()}: its Application Auto Scaling target is gone; nothing to raise"
                )
            wanted = ScalingRange(max(now.min_capacity, change.after), max(now.max_capacity, change.max_after or 0))
            if wanted != now:
                _call("RegisterScalableTarget", partial(client.register, change, wanted))
                applied.append(change.describe())
    for table, changes in _by_table(plan.of_kind("provisioned", "warm_throughput")).items():
        current = _call("DescribeTable", partial(client.describe, table, with_scaling=False))
        outstanding = [change for change in changes if _current_value(current, change) < change.after]
        if not current.ready:
            waiting.extend(current.not_ready())
            continue
        if not outstanding:
            continue
        for result in client.update(current, _parts(outstanding, lambda change: change.after)):
            if result.outcome == "applied":
                applied.extend(change.describe() for change in result.part.changes)
            elif result.outcome == "busy":
                waiting.append(f"{label(table, result.part.index)}: {result.message}")
            else:
                raise CapacityError(f"UpdateTable of table {table} refused the pre-warm: {result.message}")
        # DynamoDB answers UpdateTable at once and applies it while the table is UPDATING; look again, so that a
        # change already in effect does not cost a Wait.
        again = _call("DescribeTable", partial(client.describe, table, with_scaling=False))
        waiting.extend(again.not_ready())
        waiting.extend(
            f"{change.describe()}: not in effect yet"
            for change in changes
            if _current_value(again, change) < change.after
        )
    return RaiseStep(ready=not waiting, waiting_for=tuple(dict.fromkeys(waiting)), applied=tuple(applied))


def _call(operation: str, function: Callable[[], Any]) -> Any:
    try:
        return function()
    except (ClientError, BotoCoreError) as error:
        raise CapacityError(f"{operation} failed during pre-warm: {_error_text(error)}") from error


def _by_table(changes: Iterable[Change]) -> dict[str, list[Change]]:
    grouped: dict[str, list[Change]] = {}
    for change in changes:
        grouped.setdefault(change.table, []).append(change)
    return grouped


def _current_value(table: TableCapacity, change: Change) -> int:
    resource = table.resource(change.index)
    if resource is None:
        raise CapacityError(f"{label(change.table, change.index)} no longer exists")
    if change.kind == "warm_throughput":
        return resource.warm.get(change.dimension, 0)
    return (resource.provisioned or {}).get(change.dimension, 0)


# --- Reset ---------------------------------------------------------------------------------------------------

ResetStatus = Literal[
    "restored", "not_needed", "changed_during_run", "irreversible", "refused", "failed", "pending", "not_reset"
]
FINAL_OK: frozenset[str] = frozenset({"restored", "not_needed", "irreversible"})
NEEDS_OPERATOR: frozenset[str] = frozenset({"refused", "failed", "not_reset"})


@dataclass(frozen=True)
class ResetEntry:
    """What the reset did with one changed setting."""

    change: Change
    status: ResetStatus
    message: str = ""
    current: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = {
            **self.change.to_json(),
            "original": self.change.before,
            "raised_to": self.change.after,
            "status": self.status,
            "current": self.current,
            "message": self.message,
        }
        data.pop("before")
        data.pop("after")
        if self.change.kind == "auto_scaling":
            data["original_max"] = data.pop("max_before")
            data["raised_max_to"] = data.pop("max_after")
        return data


def reset_step(
    client: CapacityClient,
    original: Sequence[TableCapacity],
    plan: RaisePlan,
    previous: Mapping[str, ResetEntry],
    *,
    final_attempt: bool,
) -> dict[str, ResetEntry]:
    """One step of putting the plan's changes back; never raises for a setting, it records what happened."""
    entries = {key: entry for key, entry in previous.items() if entry.status != "pending"}
    todo = [change for change in plan.changes if change.key not in entries]
    for change in todo:
        if change.kind == "warm_throughput":
            entries[change.key] = ResetEntry(
                change,
                "irreversible",
                f"warm throughput stays at {change.after:,} (was {change.before:,}): DynamoDB cannot lower the "
                "warm throughput of a base table, and it was billed when raised",
            )
    _reset_scaling([c for c in todo if c.kind == "auto_scaling"], client, entries)
    _reset_provisioned([c for c in todo if c.kind == "provisioned"], client, original, entries)
    if final_attempt:
        for key, entry in entries.items():
            if entry.status == "pending":
                entries[key] = ResetEntry(
                    entry.change,
                    "not_reset",
                    f"gave up after {MAX_RESET_ATTEMPTS} attempts ({entry.message}); restore the original by hand",
                    entry.current,
                )
    return entries


def _reset_scaling(changes: Sequence[Change], client: CapacityClient, entries: dict[str, ResetEntry]) -> None:
    if not changes:
        return
    try:
        current = client.scalable_targets(resource_id(c.table, c.index) for c in changes)
    except (ClientError, BotoCoreError) as error:
        for change in changes:
            entries[change.key] = ResetEntry(change, "pending", f"DescribeScalableTargets: {_error_text(error)}")
        return
    for change in changes:
        now = current.get((resource_id(change.table, change.index), scalable_dimension(change.index, change.dimension)))
        original = ScalingRange(change.before, change.max_before or change.before)
        raised = ScalingRange(change.after, change.max_after or change.after)
        if now is None:
            entries[change.key] = ResetEntry(
                change, "failed", "the scalable target no longer exists (deregistered during the run?)"
            )
        elif now == original:
            entries[change.key] = ResetEntry(change, "not_needed", "already at the original bounds", now.min_capacity)
        elif now != raised:
            entries[change.key] = ResetEntry(
                change,
                "changed_during_run",
                f"minimum/maximum are now {now.min_capacity:,}/{now.max_capacity:,}, neither the original "
                f"{original.min_capacity:,}/{original.max_capacity:,} nor what pre-warm set "
                f"({raised.min_capacity:,}/{raised.max_capacity:,}): someone changed them during the run; left as is",
                now.min_capacity,
            )
        else:
            try:
                client.register(change, original)
            except (ClientError, BotoCoreError) as error:
                outcome = _classify(error)[0] if isinstance(error, ClientError) else "busy"
                status: ResetStatus = "pending" if outcome == "busy" else "failed"
                entries[change.key] = ResetEntry(change, status, _error_text(error), now.min_capacity)
            else:
                entries[change.key] = ResetEntry(
                    change,
                    "restored",
                    f"minimum/maximum back to {original.min_capacity:,}/{original.max_capacity:,}",
                    original.min_capacity,
                )


def _reset_provisioned(
    changes: Sequence[Change],
    client: CapacityClient,
    original: Sequence[TableCapacity],
    entries: dict[str, ResetEntry],
) -> None:
    for table, table_changes in _by_table(changes).items():
        try:
            current = client.describe(table, with_scaling=False)
        except (ClientError, BotoCoreError) as error:
            outcome = _classify(error)[0] if isinstance(error, ClientError) else "busy"
            for change in table_changes:
                status: ResetStatus = "pending" if outcome == "busy" else "failed"
                entries[change.key] = ResetEntry(change, status, f"DescribeTable: {_error_text(error)}")
            continue
        if not current.ready:
            for change in table_changes:
                entries[change.key] = ResetEntry(change, "pending", "; ".join(current.not_ready()))
            continue
        to_restore: list[Change] = []
        for change in table_changes:
            resource = current.resource(change.index)
            now = None if resource is None else (resource.provisioned or {}).get(change.dimension)
            blocked = _scaling_blocks(change, entries)
            if now is None:
                entries[change.key] = ResetEntry(change, "failed", f"{label(table, change.index)} no longer exists")
            elif now == change.before:
                entries[change.key] = ResetEntry(change, "not_needed", "already at the original value", now)
            elif now != change.after:
                entries[change.key] = ResetEntry(
                    change,
                    "changed_during_run",
                    f"now {now:,}, neither the original {change.before:,} nor the {change.after:,} pre-warm set: "
                    "changed during the run (by auto scaling or by someone else); left as is",
                    now,
                )
            elif blocked is not None:
                entries[change.key] = ResetEntry(change, blocked[0], blocked[1], now)
            else:
                to_restore.append(change)
        if to_restore:
            _record_update(client.update(current, _parts(to_restore, lambda change: change.before)), current, entries)


def _scaling_blocks(change: Change, entries: Mapping[str, ResetEntry]) -> tuple[ResetStatus, str] | None:
    """A provisioned value under auto scaling is lowered only once the scalable target's minimum is back."""
    key = f"auto_scaling:{change.dimension}:{resource_id(change.table, change.index)}"
    scaling = entries.get(key)
    if scaling is None or scaling.status in ("restored", "not_needed"):
        return None
    if scaling.status == "pending":
        return "pending", "waiting until the auto scaling minimum is restored"
    if scaling.status == "changed_during_run":
        return "changed_during_run", "left to auto scaling, whose bounds were changed during the run"
    return "not_reset", "not lowered because the auto scaling minimum could not be restored (it would raise it again)"


def _record_update(results: Sequence[_PartResult], current: TableCapacity, entries: dict[str, ResetEntry]) -> None:
    for result in results:
        resource = current.resource(result.part.index)
        for change in result.part.changes:
            now = None if resource is None else (resource.provisioned or {}).get(change.dimension)
            if result.outcome == "applied":
                entries[change.key] = ResetEntry(change, "restored", f"back to {change.before:,}", change.before)
            elif result.outcome == "busy":
                entries[change.key] = ResetEntry(change, "pending", result.message, now)
            elif result.outcome == "decrease_limit":
                entries[change.key] = ResetEntry(
                    change,
                    "refused",
                    f"DynamoDB refused the decrease (about 27 decreases a day per table and per index: 4 at any "
                    f"time, then one per hour): {result.message}",
                    now,
                )
            else:
                entries[change.key] = ResetEntry(change, "failed", result.message, now)


# --- Commands an operator can run ---------------------------------------------------------------------------


def restore_commands(entries: Iterable[ResetEntry], original: Sequence[TableCapacity]) -> list[str]:
    """AWS CLI commands that put back the original values of the entries that need an operator."""
    originals = {table.name: table for table in original}
    commands: list[str] = []
    for entry in entries:
        if entry.status not in NEEDS_OPERATOR:
            continue
        change = entry.change
        if change.kind == "auto_scaling":
            command = (
                "aws application-autoscaling register-scalable-target --service-namespace dynamodb "
                f"--resource-id {shlex.quote(resource_id(change.table, change.index))} "
                f"--scalable-dimension {scalable_dimension(change.index, change.dimension)} "
                f"--min-capacity {change.before} --max-capacity {change.max_before or change.before}"
            )
        elif change.kind == "provisioned":
            table = originals.get(change.table)
            resource = None if table is None else table.resource(change.index)
            values = dict((resource.provisioned if resource is not None else None) or {})
            values.setdefault(change.dimension, change.before)
            throughput = {key: values.get(dimension, change.before) for dimension, key in _PROVISIONED_KEYS.items()}
            if change.index is None:
                argument = ",".join(f"{key}={value}" for key, value in throughput.items())
                command = (
                    f"aws dynamodb update-table --table-name {shlex.quote(change.table)} "
                    f"--provisioned-throughput {argument}"
                )
            else:
                updates = [{"Update": {"IndexName": change.index, "ProvisionedThroughput": throughput}}]
                command = (
                    f"aws dynamodb update-table --table-name {shlex.quote(change.table)} "
                    f"--global-secondary-index-updates {shlex.quote(json.dumps(updates, separators=(',', ':')))}"
                )
        else:
            continue
        if command not in commands:
            commands.append(command)
    return commands


# --- The execution state ($.capacity) and the worker actions -------------------------------------------------

# The capacity object the state machine threads through the capacity states; each action returns all four keys.
NOT_PREWARMED: dict[str, Any] = {"prewarmed": False, "original": None, "raise": None, "reset": None}


class CapacityActions:
    """The worker's capacity actions on the execution state's ``capacity`` object."""

    def __init__(
        self,
        client_factory: Callable[[], CapacityClient],
        configured_tables: tuple[str, str],
        *,
        max_raise_checks: int = MAX_RAISE_CHECKS,
        max_reset_attempts: int = MAX_RESET_ATTEMPTS,
    ) -> None:
        self._client_factory = client_factory
        self._client: CapacityClient | None = None
        self._configured_tables = configured_tables
        self._max_raise_checks = max_raise_checks
        self._max_reset_attempts = max_reset_attempts

    @property
    def client(self) -> CapacityClient:
        # Built on first use: backfill-only invocations never create the Application Auto Scaling client.
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def capture(self, run: RunSpec) -> dict[str, Any]:
        self._check(run)
        if run.prewarm is None:
            raise InvalidInput(f"run {run.run_id} does not pre-warm; capacity_capture has nothing to do")
        if run.prewarm.warm_throughput_on_demand and not self.client.knows_warm_throughput():
            raise ConfigurationError(
                f"pre-warm with warm throughput needs UpdateTable's WarmThroughput, which this Lambda runtime's SDK "
                f"(botocore {botocore.__version__}) does not know; it arrived in botocore "
                f"{WARM_THROUGHPUT_MIN_BOTOCORE}. Run without it (ddb-migrate run --no-prewarm-warm-throughput, or "
                "prewarm.warm_throughput_on_demand = false in the module), or deploy on a runtime whose SDK is newer"
            )
        tables = list(dict.fromkeys((run.source_table, run.target_table)))
        original: list[TableCapacity] = [
            _call("DescribeTable/DescribeScalableTargets", partial(self.client.describe, table)) for table in tables
        ]
        return {**NOT_PREWARMED, "prewarmed": True, "original": {"tables": [table.to_json() for table in original]}}

    def raise_capacity(self, run: RunSpec, capacity: Any) -> dict[str, Any]:
        """capacity_raise and capacity_status: one step towards the plan, counting the checks."""
        self._check(run)
        state = _state(capacity)
        _, plan = self._plan(run, state)
        previous = state.get("raise") or {}
        checks = int(previous.get("checks", -1)) + 1
        step = raise_step(self.client, plan)
        gave_up = not step.ready and checks >= self._max_raise_checks
        state["raise"] = {
            "changes": [change.to_json() for change in plan.changes],
            "notes": list(plan.notes),
            "applied": sorted({*previous.get("applied", []), *step.applied}),
            "ready": step.ready or gave_up,
            "checks": checks,
            "waiting_for": list(step.waiting_for),
            "gave_up_waiting": gave_up,
        }
        if gave_up:
            state["raise"]["notes"].append(
                f"gave up waiting after {checks} checks; the run goes ahead (tables serve traffic while UPDATING): "
                + "; ".join(step.waiting_for)
            )
        return state

    def reset(self, run: RunSpec, capacity: Any) -> dict[str, Any]:
        """capacity_reset: one step; ``reset.pending`` asks the state machine to wait and call again."""
        self._check(run)
        state = _state(capacity)
        original, plan = self._plan(run, state)
        previous_report = state.get("reset") or {}
        attempts = int(previous_report.get("attempts", 0)) + 1
        previous = _entries_from_json(previous_report.get("entries") or [], plan)
        entries = reset_step(self.client, original, plan, previous, final_attempt=attempts >= self._max_reset_attempts)
        ordered = [entries[change.key] for change in plan.changes if change.key in entries]
        state["reset"] = reset_report(ordered, original, attempts)
        return state

    def _plan(self, run: RunSpec, state: Mapping[str, Any]) -> tuple[list[TableCapacity], RaisePlan]:
        if not state.get("prewarmed") or not isinstance(state.get("original"), Mapping):
            raise InvalidInput("capacity must be the object capacity_capture returned (prewarmed, original)")
        if run.prewarm is None:
            raise InvalidInput(f"run {run.run_id} does not pre-warm")
        original = [TableCapacity.from_json(table) for table in state["original"]["tables"]]
        plan = plan_raise(original, demand_for(run), warm_throughput_on_demand=run.prewarm.warm_throughput_on_demand)
        return original, plan

    def _check(self, run: RunSpec) -> None:
        if (run.source_table, run.target_table) != self._configured_tables:
            raise InvalidInput(
                f"run names {run.source_table!r} -> {run.target_table!r}, but this worker migrates "
                f"{self._configured_tables[0]!r} -> {self._configured_tables[1]!r}"
            )


def _state(capacity: Any) -> dict[str, Any]:
    if not isinstance(capacity, Mapping):
        raise InvalidInput(f"'capacity' must be the object capacity_capture returned, got {capacity!r}")
    return {**NOT_PREWARMED, **capacity}


def _entries_from_json(data: Sequence[Mapping[str, Any]], plan: RaisePlan) -> dict[str, ResetEntry]:
    by_key = {change.key: change for change in plan.changes}
    entries: dict[str, ResetEntry] = {}
    for item in data:
        kind = item.get("setting")
        key = f"{kind}:{item.get('dimension')}:{resource_id(str(item.get('table')), item.get('index'))}"
        change = by_key.get(key)
        if change is not None:
            entries[key] = ResetEntry(
                change, cast(ResetStatus, item.get("status")), str(item.get("message", "")), item.get("current")
            )
    return entries


def reset_report(entries: Sequence[ResetEntry], original: Sequence[TableCapacity], attempts: int) -> dict[str, Any]:
    pending = any(entry.status == "pending" for entry in entries)
    attention = [entry for entry in entries if entry.status in NEEDS_OPERATOR]
    if pending:
        status = "in_progress"
    elif not entries:
        status = "nothing_to_reset"
    elif attention:
        status = "operator_action_needed"
    elif any(entry.status == "changed_during_run" for entry in entries):
        # Restored where pre-warm's value was still in place; what others changed meanwhile was left alone.
        status = "changed_during_run"
    else:
        status = "restored"
    return {
        "pending": pending,
        "attempts": attempts,
        "status": status,
        "operator_action_needed": bool(attention),
        "entries": [entry.to_json() for entry in entries],
        "manual_commands": restore_commands(attention, original),
    }


# --- Reporting: the execution's output and the failure's cause ----------------------------------------------


def capacity_report(capacity: Any) -> dict[str, Any] | None:
    """The ``capacity`` part of a run's output: what was raised and what the reset did; None if not pre-warmed."""
    if not isinstance(capacity, Mapping) or not capacity.get("prewarmed"):
        return None
    raise_state = capacity.get("raise") or {}
    reset = capacity.get("reset")
    report: dict[str, Any] = {
        # What the plan asked for, and what the raise steps actually changed (empty when the raise failed early).
        "planned": list(raise_state.get("changes") or []),
        "applied": list(raise_state.get("applied") or []),
        "gave_up_waiting": bool(raise_state.get("gave_up_waiting", False)),
        "notes": list(raise_state.get("notes") or []),
    }
    error = capacity.get("reset_error")
    if isinstance(error, Mapping) or not isinstance(reset, Mapping):
        # The reset did not run to its end: list every change with its original value.
        report["reset"] = {
            "status": "failed",
            "operator_action_needed": True,
            "error": None if not isinstance(error, Mapping) else f"{error.get('Error')}: {error.get('Cause')}",
            "original": capacity.get("original"),
            "manual_commands": _commands_for_all(capacity),
        }
        if isinstance(reset, Mapping):
            report["reset"]["entries"] = reset.get("entries")
    else:
        report["reset"] = {
            key: reset[key] for key in ("status", "operator_action_needed", "entries", "manual_commands")
        }
    return report


def _commands_for_all(capacity: Mapping[str, Any]) -> list[str]:
    try:
        original = [TableCapacity.from_json(table) for table in capacity["original"]["tables"]]
        changes = [_change_from_json(item) for item in (capacity.get("raise") or {}).get("changes") or []]
    except (KeyError, TypeError, ValueError):
        return []
    return restore_commands((ResetEntry(change, "not_reset") for change in changes), original)


def _change_from_json(item: Mapping[str, Any]) -> Change:
    return Change(
        table=str(item["table"]),
        index=item.get("index"),
        kind=cast(ChangeKind, item["setting"]),
        dimension=cast(Dimension, item["dimension"]),
        before=int(item["before"]),
        after=int(item["after"]),
        max_before=item.get("max_before"),
        max_after=item.get("max_after"),
    )


def capacity_cause_lines(capacity: Any) -> list[str]:
    """Readable lines for a failed run's cause: the reset's result, and what an operator must do by hand."""
    report = capacity_report(capacity)
    if report is None:
        return []
    reset = report["reset"]
    lines = [
        f"Capacity pre-warm: {len(report['planned'])} setting(s) planned, {len(report['applied'])} changed; "
        f"reset: {reset['status']}."
    ]
    if reset.get("error"):
        lines.append(f"  The reset itself failed: {str(reset['error'])[:1000]}")
    for entry in reset.get("entries") or []:
        if entry.get("status") not in FINAL_OK:
            where = label(str(entry.get("table")), entry.get("index"))
            lines.append(
                f"  {where} {entry.get('setting')} {entry.get('dimension')}: {entry.get('status')}, original "
                f"{entry.get('original')}, pre-warm set {entry.get('raised_to')}: {entry.get('message')}"
            )
    if reset.get("manual_commands"):
        lines.append("  Restore by hand:")
        lines.extend(f"    {command}" for command in reset["manual_commands"])
    return lines


def _max(first: int | None, second: int | None) -> int | None:
    if first is None:
        return second
    if second is None:
        return first
    return max(first, second)
