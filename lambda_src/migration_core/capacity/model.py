"""The capacity model: what the tables look like, the changes pre-warm makes, the reset's entries, and the
``$.capacity`` state document the state machine carries between the capacity steps.

``$.capacity`` is JSON in the execution state (read by ``modules/backfill/definition.tf``'s Choice states and by
the CLI's ``stop`` reset), so its shape is typed here (``CapacityState`` and the TypedDicts it holds) and only
parsed and serialized at the boundary: ``parse_capacity`` on the way in, the ``to_json`` methods on the way out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict, cast

from migration_core.errors import InvalidInput

Dimension = Literal["read", "write"]
DIMENSIONS: tuple[Dimension, ...] = ("read", "write")
ChangeKind = Literal["auto_scaling", "provisioned", "warm_throughput"]
PROVISIONED = "PROVISIONED"
ON_DEMAND = "PAY_PER_REQUEST"
ACTIVE = "ACTIVE"
PROVISIONED_KEYS: dict[Dimension, str] = {"read": "ReadCapacityUnits", "write": "WriteCapacityUnits"}
WARM_KEYS: dict[Dimension, str] = {"read": "ReadUnitsPerSecond", "write": "WriteUnitsPerSecond"}
ON_DEMAND_KEYS: dict[Dimension, str] = {"read": "MaxReadRequestUnits", "write": "MaxWriteRequestUnits"}
ResetStatus = Literal[
    "restored", "not_needed", "changed_during_run", "irreversible", "refused", "failed", "pending", "not_reset"
]
FINAL_OK: frozenset[str] = frozenset({"restored", "not_needed", "irreversible"})
NEEDS_OPERATOR: frozenset[str] = frozenset({"refused", "failed", "not_reset"})


# --- The JSON shapes of $.capacity ---------------------------------------------------------------------------


class ScalingJson(TypedDict):
    min: int
    max: int


class ResourceJson(TypedDict):
    index: str | None
    status: str
    provisioned: dict[Dimension, int] | None
    warm: dict[Dimension, int]
    warm_status: str | None
    on_demand_max: dict[Dimension, int]
    auto_scaling: dict[Dimension, ScalingJson]


class TableJson(TypedDict):
    name: str
    billing_mode: str
    status: str
    resources: list[ResourceJson]


class OriginalJson(TypedDict):
    tables: list[TableJson]


class ChangeJson(TypedDict):
    table: str
    index: str | None
    setting: ChangeKind
    dimension: Dimension
    before: int
    after: int
    # auto_scaling only.
    max_before: NotRequired[int | None]
    max_after: NotRequired[int | None]


class ResetEntryJson(TypedDict):
    table: str
    index: str | None
    setting: ChangeKind
    dimension: Dimension
    original: int
    raised_to: int
    status: ResetStatus
    current: int | None
    message: str
    # auto_scaling only.
    original_max: NotRequired[int | None]
    raised_max_to: NotRequired[int | None]


class RaiseJson(TypedDict):
    changes: list[ChangeJson]
    notes: list[str]
    applied: list[str]
    ready: bool
    checks: int
    waiting_for: list[str]
    gave_up_waiting: bool


ResetOutcome = Literal["in_progress", "nothing_to_reset", "operator_action_needed", "changed_during_run", "restored"]


class ResetJson(TypedDict):
    pending: bool
    attempts: int
    status: ResetOutcome
    operator_action_needed: bool
    entries: list[ResetEntryJson]
    manual_commands: list[str]


class StepFailureJson(TypedDict, total=False):
    """What a Catch stores (``$.capacity.reset_error`` when the reset step itself failed)."""

    Error: str
    Cause: str


# "raise" is a keyword, hence the functional form. Every capacity step returns the four keys; the state machine's
# Catch of the reset adds "reset_error" (the CLI's reset of a stopped run drops it again).
CapacityState = TypedDict(
    "CapacityState",
    {
        "prewarmed": bool,
        "original": OriginalJson | None,
        "raise": RaiseJson | None,
        "reset": ResetJson | None,
        "reset_error": NotRequired[StepFailureJson],
    },
)


def not_prewarmed() -> CapacityState:
    """The capacity of a run without pre-warm (also the state machine's NoPrewarm Pass state)."""
    return {"prewarmed": False, "original": None, "raise": None, "reset": None}


# The same, as a constant for readers (do not mutate).
NOT_PREWARMED: CapacityState = not_prewarmed()


def parse_capacity(value: object) -> CapacityState:
    """``$.capacity`` as a step receives it: a JSON object; missing keys are filled, other keys kept as they are."""
    if not isinstance(value, Mapping):
        raise InvalidInput(f"'capacity' must be the object capacity_capture returned, got {value!r}")
    return cast(CapacityState, {**not_prewarmed(), **value})


def dump_capacity(state: CapacityState) -> dict[str, Any]:
    """``$.capacity`` as the step returns it to Step Functions: plain JSON (the typed view ends here)."""
    return dict(state)


def original_tables(state: CapacityState) -> list[TableCapacity]:
    """The captured tables of a pre-warmed ``$.capacity``; InvalidInput when it is not one."""
    original = state.get("original")
    if not state.get("prewarmed") or not isinstance(original, Mapping):
        raise InvalidInput("capacity must be the object capacity_capture returned (prewarmed, original)")
    return [TableCapacity.from_json(table) for table in original["tables"]]


# --- What the tables look like -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScalingRange:
    """An Application Auto Scaling scalable target's bounds."""

    min_capacity: int
    max_capacity: int

    def to_json(self) -> ScalingJson:
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

    def to_json(self) -> ResourceJson:
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
    def from_json(cls, table: str, data: ResourceJson) -> ResourceCapacity:
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
                dimension: ScalingRange(int(bounds["min"]), int(bounds["max"]))
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

    def to_json(self) -> TableJson:
        return {
            "name": self.name,
            "billing_mode": self.billing_mode,
            "status": self.status,
            "resources": [resource.to_json() for resource in self.resources],
        }

    @classmethod
    def from_json(cls, data: TableJson) -> TableCapacity:
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
    return f"dynamodb:{'table' if index is None else 'index'}:{PROVISIONED_KEYS[dimension]}"


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
        else {dimension: int(throughput.get(key, 0)) for dimension, key in PROVISIONED_KEYS.items()},
        warm={dimension: int(warm[key]) for dimension, key in WARM_KEYS.items() if warm.get(key) is not None},
        warm_status=warm.get("Status"),
        on_demand_max={
            dimension: int(on_demand[key])
            for dimension, key in ON_DEMAND_KEYS.items()
            if on_demand.get(key) is not None and int(on_demand[key]) > 0
        },
        auto_scaling={
            dimension: scaling[(resource_id(table, index), scalable_dimension(index, dimension))]
            for dimension in DIMENSIONS
            if (resource_id(table, index), scalable_dimension(index, dimension)) in scaling
        },
    )


def _units(data: Mapping[Dimension, int | None]) -> dict[Dimension, int]:
    return {dimension: int(value) for dimension in DIMENSIONS if (value := data.get(dimension)) is not None}


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

    def to_json(self) -> ChangeJson:
        data: ChangeJson = {
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

    @classmethod
    def from_json(cls, data: ChangeJson) -> Change:
        return cls(
            table=str(data["table"]),
            index=data.get("index"),
            kind=data["setting"],
            dimension=data["dimension"],
            before=int(data["before"]),
            after=int(data["after"]),
            max_before=data.get("max_before"),
            max_after=data.get("max_after"),
        )


@dataclass(frozen=True)
class ResetEntry:
    """What the reset did with one changed setting."""

    change: Change
    status: ResetStatus
    message: str = ""
    current: int | None = None

    def to_json(self) -> ResetEntryJson:
        # The key order is the one the execution history has always shown: the change's fields, its original and
        # raised values, then the outcome, then (auto scaling) the maximums.
        change = self.change
        data: ResetEntryJson = {
            "table": change.table,
            "index": change.index,
            "setting": change.kind,
            "dimension": change.dimension,
            "original": change.before,
            "raised_to": change.after,
            "status": self.status,
            "current": self.current,
            "message": self.message,
        }
        if change.kind == "auto_scaling":
            data["original_max"] = change.max_before
            data["raised_max_to"] = change.max_after
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], change: Change) -> ResetEntry:
        return cls(change, cast(ResetStatus, data.get("status")), str(data.get("message", "")), data.get("current"))
