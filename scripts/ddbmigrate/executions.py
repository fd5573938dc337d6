"""Acting on runs: list them, stop one, redrive one, and tell what a stopped run left behind.

A stopped execution runs none of the state machine's Catch paths, so a pre-warmed run's capacity reset (which
hangs off those paths) never happens. What the run raised is in its execution history: every capacity state
passes the ``$.capacity`` object on, and the last one recorded is what the operator has to undo.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ddbmigrate.aws import client
from migration_core.capacity import capacity_report


@dataclass(frozen=True)
class ExecutionSummary:
    name: str
    execution_arn: str
    status: str
    start_date: datetime | None
    stop_date: datetime | None
    redrive_count: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "execution_arn": self.execution_arn,
            "status": self.status,
            "start_date": None if self.start_date is None else self.start_date.isoformat(),
            "stop_date": None if self.stop_date is None else self.stop_date.isoformat(),
            "redrive_count": self.redrive_count,
        }


def list_executions(state_machine_arn: str, *, limit: int, status: str | None = None) -> list[ExecutionSummary]:
    """The newest executions first (ListExecutions' order), at most ``limit``."""
    arguments: dict[str, Any] = {"stateMachineArn": state_machine_arn}
    if status is not None:
        arguments["statusFilter"] = status
    found: list[ExecutionSummary] = []
    for page in client("stepfunctions").get_paginator("list_executions").paginate(**arguments):
        for execution in page["executions"]:
            found.append(
                ExecutionSummary(
                    name=execution["name"],
                    execution_arn=execution["executionArn"],
                    status=execution["status"],
                    start_date=execution.get("startDate"),
                    stop_date=execution.get("stopDate"),
                    redrive_count=int(execution.get("redriveCount", 0)),
                )
            )
            if len(found) >= limit:
                return found
    return found


def latest_execution(state_machine_arn: str) -> ExecutionSummary | None:
    executions = list_executions(state_machine_arn, limit=1)
    return executions[0] if executions else None


def stop_execution(execution_arn: str, cause: str) -> datetime | None:
    response = client("stepfunctions").stop_execution(
        executionArn=execution_arn, error="StoppedByOperator", cause=cause
    )
    stopped: datetime | None = response.get("stopDate")
    return stopped


def _history_documents(execution_arn: str) -> Iterator[dict[str, Any]]:
    """The state documents of the execution, newest first: what each state received and passed on."""
    paginator = client("stepfunctions").get_paginator("get_execution_history")
    pages = paginator.paginate(executionArn=execution_arn, reverseOrder=True, includeExecutionData=True)
    # Ordered by event id here, whatever order the service returned them in: the parent's history is short (its
    # Map Run children keep their own), and an emulator may ignore reverseOrder.
    events = sorted((event for page in pages for event in page["events"]), key=lambda event: -int(event["id"]))
    for event in events:
        details = event.get("stateExitedEventDetails") or {}
        text = details.get("output")
        if text is None:
            text = (event.get("stateEnteredEventDetails") or {}).get("input")
        if not text:
            continue
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(document, dict):
            yield document


@dataclass(frozen=True)
class CapacityState:
    """The last ``$.capacity`` in an execution's history; ``recorded`` False when no state carried one."""

    recorded: bool
    capacity: Any = None
    # The run ($.run) the capacity belongs to: what the worker's capacity actions need besides the capacity.
    run: Any = None


def last_capacity(execution_arn: str) -> CapacityState:
    for document in _history_documents(execution_arn):
        if "capacity" in document:
            return CapacityState(recorded=True, capacity=document["capacity"], run=document.get("run"))
    return CapacityState(recorded=False)


# As the state machine does it (modules/backfill: WaitBeforeReset, and the worker's 60 reset attempts).
RESET_WAIT_SECONDS = 10.0
MAX_RESET_ATTEMPTS = 60


def needs_reset(state: CapacityState) -> bool:
    """The run raised capacity (a recorded raise) and its reset did not finish: a stopped run's case."""
    capacity = state.capacity
    if not state.recorded or not isinstance(capacity, Mapping) or not capacity.get("prewarmed"):
        return False
    if not isinstance(capacity.get("raise"), Mapping) or not isinstance(state.run, Mapping):
        return False
    reset = capacity.get("reset")
    return not isinstance(reset, Mapping) or bool(reset.get("pending")) or bool(capacity.get("reset_error"))


def reset_capacity(
    worker_function: str,
    state: CapacityState,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_wait: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run the worker's capacity_reset on the stopped run's capacity state, as the state machine's reset states
    would have: again after a wait while a table is UPDATING. Returns the final capacity state."""
    capacity: Any = {key: value for key, value in dict(state.capacity).items() if key != "reset_error"}
    for attempt in range(1, MAX_RESET_ATTEMPTS + 1):
        response = client("lambda").invoke(
            FunctionName=worker_function,
            Payload=json.dumps({"action": "capacity_reset", "capacity": capacity, "run": state.run}).encode(),
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            message = payload.get("errorMessage") if isinstance(payload, dict) else payload
            raise CapacityResetError(f"the worker's capacity_reset failed: {message}")
        capacity = payload
        if not (capacity.get("reset") or {}).get("pending"):
            return dict(capacity)
        if on_wait is not None:
            on_wait(attempt)
        sleep(RESET_WAIT_SECONDS)
    return dict(capacity)


class CapacityResetError(RuntimeError):
    """The worker could not reset the capacity; the message says why."""


def capacity_advice(state: CapacityState) -> tuple[bool, list[str]]:
    """(the operator must act, the lines that say what the run left and how to restore it)."""
    capacity = state.capacity
    if not state.recorded:
        return False, [
            "capacity: no state of the run carried $.capacity, so it raised no capacity; nothing to restore."
        ]
    if not isinstance(capacity, Mapping) or not capacity.get("prewarmed"):
        return False, ["capacity: the run did not pre-warm; nothing to restore."]
    reset = capacity.get("reset")
    if isinstance(reset, Mapping) and not reset.get("pending") and not capacity.get("reset_error"):
        report: Mapping[str, Any] = capacity_report(capacity) or {}
        commands = list((report.get("reset") or {}).get("manual_commands") or [])
        lines = [f"capacity: the reset has finished ({reset.get('status')})."]
        if commands:
            lines.append("  It could not restore everything; restore by hand:")
            lines.extend(f"    {command}" for command in commands)
        return bool(commands), lines
    # The reset never ran (or never finished): report every planned change as not reset.
    report = capacity_report({**capacity, "reset": None, "reset_error": None}) or {}
    planned = list(report.get("planned") or [])
    commands = list((report.get("reset") or {}).get("manual_commands") or [])
    lines = [
        "capacity: the run pre-warmed the tables and the state machine will not reset them (a stopped run "
        "runs no Catch)."
    ]
    if not planned:
        lines.append(
            "  The raise was still in flight, so what it changed is not recorded: compare each table with the "
            "original settings below (aws dynamodb describe-table) and restore what differs."
        )
        lines.extend(f"  {line}" for line in _originals(capacity.get("original")))
        return True, lines
    lines.append("  Changes pre-warm planned (before -> raised):")
    lines.extend(f"    {_describe_change(change)}" for change in planned)
    if commands:
        lines.append(
            "  Restore the original values (DynamoDB refuses an update that changes nothing; skip what is "
            "already back, and it allows about 27 decreases per table a day):"
        )
        lines.extend(f"    {command}" for command in commands)
    lines.append("  Warm throughput, if raised, cannot be lowered again.")
    return True, lines


def _describe_change(change: Mapping[str, Any]) -> str:
    where = str(change.get("table")) + (f" index {change['index']}" if change.get("index") else "")
    return f"{where}: {change.get('setting')} {change.get('dimension')} {change.get('before')} -> {change.get('after')}"


def _originals(original: Any) -> list[str]:
    tables = original.get("tables") if isinstance(original, Mapping) else None
    if not isinstance(tables, list):
        return ["(the original settings are not in the history)"]
    lines: list[str] = []
    for table in tables:
        for resource in table.get("resources") or []:
            where = str(table.get("name")) + (f" index {resource['index']}" if resource.get("index") else "")
            provisioned = resource.get("provisioned")
            setting = (
                "on-demand"
                if not provisioned
                else f"provisioned read {provisioned.get('read')}, write {provisioned.get('write')}"
            )
            scaling = ", ".join(
                f"auto scaling {dimension} min {bounds.get('min')} max {bounds.get('max')}"
                for dimension, bounds in (resource.get("auto_scaling") or {}).items()
            )
            lines.append(f"{where}: {setting}" + (f"; {scaling}" if scaling else ""))
    return lines
