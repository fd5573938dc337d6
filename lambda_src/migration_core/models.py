"""Typed forms of the worker's events and results (the JSON shapes are in docs/ARCHITECTURE.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, TypeGuard, cast

from migration_core.attribute_values import item_from_json, item_to_json
from migration_core.budget import RateSetting
from migration_core.errors import InvalidInput
from migration_core.types import Item

Phase = Literal["cleanup", "copy", "verify"]
PHASES: tuple[Phase, ...] = ("cleanup", "copy", "verify")
# A run's mode is also the phase of its main Map: "copy" writes the target, "verify" only reads both tables.
MODES = ("copy", "verify")
# Where a copy reads the source: Scan segments of the live table, or the data files of a point-in-time export.
SOURCES = ("scan", "export")
# Verify mode re-checks differing items after this many seconds at most (a Lambda sleeps meanwhile).
MAX_SETTLE_SECONDS = 60
# Pre-warm capacity units: DynamoDB's default per-table quota for provisioned capacity (and for on-demand
# throughput), read and write alike. Requests above it fail at UpdateTable unless the account's quota was raised.
MAX_PREWARM_UNITS = 40_000


@dataclass(frozen=True)
class PrewarmSpec:
    """What a run asked the capacity states to raise (see migration_core.capacity for what each table gets)."""

    # Read capacity for the tables the run scans or reads (the source; the target too in verify and cleanup).
    read_units: int
    # Write capacity for the table the run writes and every one of its global secondary indexes.
    write_units: int
    # On-demand tables are left alone unless this is set: warm throughput is billed and cannot be lowered.
    warm_throughput_on_demand: bool = False

    def to_event(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_event(cls, payload: Any) -> PrewarmSpec:
        if not isinstance(payload, Mapping):
            raise InvalidInput(f"run.prewarm must be an object or absent, got {payload!r}")
        units: dict[str, int] = {}
        for name in ("read_units", "write_units"):
            value = payload.get(name)
            if not _is_int(value) or not 1 <= value <= MAX_PREWARM_UNITS:
                raise InvalidInput(
                    f"run.prewarm.{name} must be an integer from 1 to {MAX_PREWARM_UNITS}, got {value!r}"
                )
            units[name] = value
        warm = payload.get("warm_throughput_on_demand", False)
        if not isinstance(warm, bool):
            raise InvalidInput(f"run.prewarm.warm_throughput_on_demand must be true or false, got {warm!r}")
        return cls(read_units=units["read_units"], write_units=units["write_units"], warm_throughput_on_demand=warm)


@dataclass(frozen=True)
class ExportSpec:
    """A run's point-in-time export: where it goes, and what the export steps learnt about it."""

    bucket: str
    prefix: str
    # The bucket's account when it is not the worker's ("" otherwise).
    bucket_owner: str = ""
    # ExportTime asked for (ISO 8601); None: the moment the export starts.
    requested_time: str | None = None
    # Set when given (a reused export) or once the export started.
    arn: str | None = None
    # Known once the export completed: the moment it reflects, its items, and its data files.
    export_time: str | None = None
    item_count: int | None = None
    files: int | None = None

    def to_event(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_event(cls, payload: Any) -> ExportSpec:
        if not isinstance(payload, Mapping):
            raise InvalidInput(f"run.export must be an object for a run with source export, got {payload!r}")
        for name in ("bucket", "prefix"):
            if not isinstance(payload.get(name), str) or not payload[name]:
                raise InvalidInput(f"run.export.{name} must be a non-empty string, got {payload.get(name)!r}")
        texts: dict[str, str | None] = {}
        for name in ("requested_time", "arn", "export_time"):
            value = payload.get(name)
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidInput(f"run.export.{name} must be a non-empty string or null, got {value!r}")
            texts[name] = value
        numbers: dict[str, int | None] = {}
        for name in ("item_count", "files"):
            value = payload.get(name)
            if value is not None and (not _is_int(value) or value < 0):
                raise InvalidInput(f"run.export.{name} must be an integer >= 0 or null, got {value!r}")
            numbers[name] = value
        owner = payload.get("bucket_owner", "")
        if not isinstance(owner, str):
            raise InvalidInput(f"run.export.bucket_owner must be a string, got {owner!r}")
        return cls(
            bucket=payload["bucket"],
            prefix=payload["prefix"],
            bucket_owner=owner,
            requested_time=texts["requested_time"],
            arn=texts["arn"],
            export_time=texts["export_time"],
            item_count=numbers["item_count"],
            files=numbers["files"],
        )


@dataclass(frozen=True)
class RunSpec:
    """One migration run as the plan step normalised it; travels in every later event."""

    run_id: str
    source_table: str
    target_table: str
    total_segments: int
    mode: str = "copy"
    cleanup: bool = False
    in_place: bool = False
    # 0 means: as long as the Lambda invocation allows.
    time_budget_seconds: float = 0
    # Scan Limit per page; None means DynamoDB's 1 MB pages. Smaller pages checkpoint more often.
    scan_page_size: int | None = None
    # Verify mode: how long to let in-flight replication settle before re-checking differing items (0: never).
    settle_seconds: float = 0
    # Verify mode: the share of segments the plan picked (1.0: all of them).
    sample_fraction: float = 1.0
    # Capacity to raise before the Maps and restore after them; None: the run leaves capacity alone.
    prewarm: PrewarmSpec | None = None
    # The capacity budget as given ("500" units/s or "25%" of the table's capacity; None: no budget), and as
    # the plan step resolved it: units per second per table read or written (see migration_core.budget).
    max_read_rate: str | None = None
    max_write_rate: str | None = None
    read_budget: dict[str, float] = field(default_factory=dict)
    write_budget: dict[str, float] = field(default_factory=dict)
    # "export": the copy reads the data files of ``export`` (one segment per file) instead of Scan segments.
    source: str = "scan"
    export: ExportSpec | None = None

    def __post_init__(self) -> None:
        if (self.source == "export") != (self.export is not None):
            raise InvalidInput("a run with source export needs its export settings, and only such a run has them")

    def to_event(self) -> dict[str, Any]:
        event = asdict(self)
        # A Scan run keeps the shape it had before exports existed; SourceChoice tests run.source.
        if self.export is None:
            del event["export"]
            del event["source"]
        # Absent rather than null, so the run of a deployment without pre-warm keeps its shape; the state
        # machine's PrewarmChoice tests the field with IsPresent.
        if self.prewarm is None:
            del event["prewarm"]
        # The same for a run without a budget (the common case).
        for name in ("max_read_rate", "max_write_rate", "read_budget", "write_budget"):
            if not event[name]:
                del event[name]
        return event

    @classmethod
    def from_event(cls, payload: Any) -> RunSpec:
        """Read the ``run`` object of an event; fields other than the known ones are ignored."""
        if not isinstance(payload, Mapping):
            raise InvalidInput(f"'run' must be the object the plan step returned, got {payload!r}")
        for name in ("run_id", "source_table", "target_table"):
            if not isinstance(payload.get(name), str) or not payload[name]:
                raise InvalidInput(f"run.{name} must be a non-empty string, got {payload.get(name)!r}")
        total_segments = payload.get("total_segments")
        if not _is_int(total_segments) or total_segments < 1:
            raise InvalidInput(f"run.total_segments must be a positive integer, got {total_segments!r}")
        mode = payload.get("mode", "copy")
        if mode not in MODES:
            raise InvalidInput(f"run.mode must be one of {', '.join(MODES)}, got {mode!r}")
        budget = payload.get("time_budget_seconds", 0)
        if not _is_number(budget) or budget < 0:
            raise InvalidInput(f"run.time_budget_seconds must be a number >= 0, got {budget!r}")
        scan_page_size = payload.get("scan_page_size")
        if scan_page_size is not None and (not _is_int(scan_page_size) or scan_page_size < 1):
            raise InvalidInput(f"run.scan_page_size must be a positive integer or null, got {scan_page_size!r}")
        settle_seconds = payload.get("settle_seconds", 0)
        if not _is_number(settle_seconds) or not 0 <= settle_seconds <= MAX_SETTLE_SECONDS:
            raise InvalidInput(
                f"run.settle_seconds must be a number in 0..{MAX_SETTLE_SECONDS}, got {settle_seconds!r}"
            )
        sample_fraction = payload.get("sample_fraction", 1.0)
        if not _is_number(sample_fraction) or not 0 < sample_fraction <= 1:
            raise InvalidInput(f"run.sample_fraction must be a number in (0, 1], got {sample_fraction!r}")
        flags = {name: payload.get(name, False) for name in ("cleanup", "in_place")}
        for name, value in flags.items():
            if not isinstance(value, bool):
                raise InvalidInput(f"run.{name} must be true or false, got {value!r}")
        raw_prewarm = payload.get("prewarm")
        prewarm = None if raw_prewarm is None else PrewarmSpec.from_event(raw_prewarm)
        rates = {
            name: RateSetting.parse(payload.get(name), f"run.{name}") for name in ("max_read_rate", "max_write_rate")
        }
        budgets = {name: _budget(payload.get(name, {}), f"run.{name}") for name in ("read_budget", "write_budget")}
        source = payload.get("source", "scan")
        if source not in SOURCES:
            raise InvalidInput(f"run.source must be one of {', '.join(SOURCES)}, got {source!r}")
        export = ExportSpec.from_event(payload.get("export")) if source == "export" else None
        return cls(
            run_id=payload["run_id"],
            source_table=payload["source_table"],
            target_table=payload["target_table"],
            total_segments=total_segments,
            mode=mode,
            cleanup=flags["cleanup"],
            in_place=flags["in_place"],
            time_budget_seconds=budget,
            scan_page_size=scan_page_size,
            settle_seconds=settle_seconds,
            sample_fraction=sample_fraction,
            prewarm=prewarm,
            max_read_rate=None if rates["max_read_rate"] is None else str(rates["max_read_rate"]),
            max_write_rate=None if rates["max_write_rate"] is None else str(rates["max_write_rate"]),
            read_budget=budgets["read_budget"],
            write_budget=budgets["write_budget"],
            source=source,
            export=export,
        )


def _budget(payload: Any, name: str) -> dict[str, float]:
    if not isinstance(payload, Mapping) or not all(
        isinstance(table, str) and _is_number(units) and units > 0 for table, units in payload.items()
    ):
        raise InvalidInput(f"{name} must map table names to units per second above 0, got {payload!r}")
    return {table: float(units) for table, units in payload.items()}


@dataclass(frozen=True)
class SegmentRequest:
    run: RunSpec
    phase: Phase
    segment: int
    start_key: Item | None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> SegmentRequest:
        run = RunSpec.from_event(event.get("run"))
        phase = event.get("phase")
        if phase not in PHASES:
            raise InvalidInput(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
        segment = event.get("segment")
        if not _is_int(segment) or not 0 <= segment < run.total_segments:
            raise InvalidInput(f"segment must be an integer in 0..{run.total_segments - 1}, got {segment!r}")
        raw_start_key = event.get("start_key")
        try:
            start_key = None if raw_start_key is None else item_from_json(raw_start_key)
        except ValueError as exc:
            raise InvalidInput(f"start_key is not a DynamoDB key in AttributeValue JSON: {exc}") from exc
        return cls(run=run, phase=cast(Phase, phase), segment=segment, start_key=start_key)


@dataclass(frozen=True)
class SegmentCounts:
    """What one or more pages of a segment did; per invocation in results, cumulative in the state table."""

    scanned: int = 0
    written: int = 0
    skipped: int = 0
    deleted: int = 0
    duplicates: int = 0
    consumed_rcu: float = 0.0
    consumed_wcu: float = 0.0
    retries: int = 0
    # Verify phase: expected target items that match, have no target item, or differ.
    matching: int = 0
    missing: int = 0
    different: int = 0

    def __add__(self, other: SegmentCounts) -> SegmentCounts:
        return SegmentCounts(**{name: getattr(self, name) + getattr(other, name) for name in COUNT_FIELDS})

    def to_dict(self, names: Sequence[str] | None = None) -> dict[str, int | float]:
        """The counts named (by default those of the copy and cleanup phases), capacity rounded for reports."""
        counts: dict[str, int | float] = {name: getattr(self, name) for name in names or COPY_COUNT_FIELDS}
        for name in ("consumed_rcu", "consumed_wcu"):
            if name in counts:
                counts[name] = round(counts[name], 3)
        return counts


COUNT_FIELDS = tuple(field.name for field in fields(SegmentCounts))
COPY_COUNT_FIELDS = (
    "scanned",
    "written",
    "skipped",
    "deleted",
    "duplicates",
    "consumed_rcu",
    "consumed_wcu",
    "retries",
)
# scanned = source items read, skipped = source items the transform turned into nothing.
VERIFY_COUNT_FIELDS = ("scanned", "skipped", "matching", "missing", "different", "consumed_rcu", "retries")
PHASE_COUNT_FIELDS: dict[str, tuple[str, ...]] = {
    "cleanup": COPY_COUNT_FIELDS,
    "copy": COPY_COUNT_FIELDS,
    "verify": VERIFY_COUNT_FIELDS,
}


@dataclass(frozen=True)
class SegmentResult:
    done: bool
    last_evaluated_key: Item | None
    counts: SegmentCounts
    phase: Phase = "copy"

    def to_event(self) -> dict[str, Any]:
        lek = None if self.last_evaluated_key is None else item_to_json(self.last_evaluated_key)
        return {"done": self.done, "last_evaluated_key": lek, **self.counts.to_dict(PHASE_COUNT_FIELDS[self.phase])}


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass, and JSON true must not pass for 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))
