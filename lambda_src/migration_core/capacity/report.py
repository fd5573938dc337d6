"""Reporting: the reset's report in ``$.capacity.reset``, the run output's ``capacity`` part, the failure's cause
lines, and the AWS CLI commands that restore by hand what the reset could not."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict

from migration_core.capacity.model import (
    FINAL_OK,
    NEEDS_OPERATOR,
    PROVISIONED_KEYS,
    CapacityState,
    Change,
    ChangeJson,
    OriginalJson,
    ResetEntry,
    ResetEntryJson,
    ResetJson,
    ResetOutcome,
    TableCapacity,
    label,
    original_tables,
    parse_capacity,
    resource_id,
    scalable_dimension,
)


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
            throughput = {key: values.get(dimension, change.before) for dimension, key in PROVISIONED_KEYS.items()}
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


def reset_report(entries: Sequence[ResetEntry], original: Sequence[TableCapacity], attempts: int) -> ResetJson:
    pending = any(entry.status == "pending" for entry in entries)
    attention = [entry for entry in entries if entry.status in NEEDS_OPERATOR]
    status: ResetOutcome
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


class ReportResetJson(TypedDict, total=False):
    """The reset's part of the report: its own report, or (it did not run to its end) ``failed`` with everything."""

    status: str
    operator_action_needed: bool
    error: str | None
    original: OriginalJson | None
    entries: list[ResetEntryJson] | None
    manual_commands: list[str]


class CapacityReportJson(TypedDict):
    planned: list[ChangeJson]
    applied: list[str]
    gave_up_waiting: bool
    notes: list[str]
    reset: ReportResetJson


def capacity_report(capacity: object) -> CapacityReportJson | None:
    """The ``capacity`` part of a run's output: what was raised and what the reset did; None if not pre-warmed."""
    if not isinstance(capacity, Mapping) or not capacity.get("prewarmed"):
        return None
    state = parse_capacity(capacity)
    raised = state.get("raise")
    reset = state.get("reset")
    error = state.get("reset_error")
    reset_part: ReportResetJson
    if isinstance(error, Mapping) or not isinstance(reset, Mapping):
        # The reset did not run to its end: list every change with its original value.
        reset_part = {
            "status": "failed",
            "operator_action_needed": True,
            "error": None if not isinstance(error, Mapping) else f"{error.get('Error')}: {error.get('Cause')}",
            "original": state.get("original"),
            "manual_commands": _commands_for_all(state),
        }
        if isinstance(reset, Mapping):
            reset_part["entries"] = reset.get("entries")
    else:
        reset_part = {
            "status": reset["status"],
            "operator_action_needed": reset["operator_action_needed"],
            "entries": reset["entries"],
            "manual_commands": reset["manual_commands"],
        }
    return {
        # What the plan asked for, and what the raise steps actually changed (empty when the raise failed early).
        "planned": list(raised.get("changes") or []) if raised else [],
        "applied": list(raised.get("applied") or []) if raised else [],
        "gave_up_waiting": bool(raised.get("gave_up_waiting", False)) if raised else False,
        "notes": list(raised.get("notes") or []) if raised else [],
        "reset": reset_part,
    }


def _commands_for_all(state: CapacityState) -> list[str]:
    try:
        original = original_tables(state)
        raised = state.get("raise")
        changes = [Change.from_json(item) for item in (raised.get("changes") or [] if raised else [])]
    except (KeyError, TypeError, ValueError):
        return []
    return restore_commands((ResetEntry(change, "not_reset") for change in changes), original)


def capacity_cause_lines(capacity: object) -> list[str]:
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
