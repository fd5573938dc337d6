"""Start a backfill execution and follow it to the end with a progress display."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ddbmigrate.aws import client
from ddbmigrate.deployment import Deployment
from ddbmigrate.progress import RunProgress, read_progress

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
PLAIN_REPORT_INTERVAL_SECONDS = 5.0


@dataclass(frozen=True)
class ExecutionResult:
    execution_arn: str
    status: str
    output: dict[str, Any] | None
    error: str | None
    cause: str | None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


def new_run_name(prefix: str = "run") -> str:
    return f"{prefix}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def start_execution(deployment: Deployment, run_input: dict[str, Any], name: str) -> str:
    response = client("stepfunctions").start_execution(
        stateMachineArn=deployment.state_machine_arn, name=name, input=json.dumps(run_input)
    )
    return str(response["executionArn"])


def describe(execution_arn: str) -> ExecutionResult:
    description = client("stepfunctions").describe_execution(executionArn=execution_arn)
    output = description.get("output")
    return ExecutionResult(
        execution_arn=execution_arn,
        status=description["status"],
        output=json.loads(output) if output else None,
        error=description.get("error"),
        cause=description.get("cause"),
    )


class RateColumn(ProgressColumn):
    """Items per second over the whole run so far, which is steadier than rich's short window."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} items/s", style="cyan")


def _phase_line(progress: RunProgress | None) -> tuple[str, int, int, dict[str, int]]:
    if progress is None:
        return "planning", 0, 0, {}
    phase_name = progress.current_phase
    phase = progress.phase(phase_name)
    return phase_name, phase.segments_done, phase.segments_total, phase.counts


def follow(
    deployment: Deployment,
    execution_arn: str,
    console: Console,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ExecutionResult:
    """Poll the execution and the state table until the run ends, drawing progress as it goes."""
    run_id = execution_arn.rsplit(":", 1)[-1]
    columns = (
        TextColumn("[bold]{task.fields[phase]:<8}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("segments {task.fields[segments]}"),
        TextColumn("{task.fields[written]} written"),
        RateColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    last_plain_report = 0.0
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as bar:
        task = bar.add_task("backfill", total=None, phase="planning", segments="-", written="0")
        while True:
            result = describe(execution_arn)
            progress = read_progress(deployment.state_table, run_id)
            phase, done, total, counts = _phase_line(progress)
            scanned = counts.get("scanned", 0)
            estimate = progress.source_item_count if progress else None
            bar.update(
                task,
                phase=phase,
                segments=f"{done}/{total}" if total else "-",
                written=f"{counts.get('written', 0) + counts.get('deleted', 0):,}",
                completed=scanned,
                total=max(estimate or 0, scanned) or None,
            )
            now = time.monotonic()
            if not console.is_terminal and now - last_plain_report >= PLAIN_REPORT_INTERVAL_SECONDS:
                last_plain_report = now
                console.print(
                    f"{phase}: segments {done}/{total}, scanned {scanned:,}, "
                    f"written {counts.get('written', 0):,}, deleted {counts.get('deleted', 0):,}"
                )
            if result.status in TERMINAL_STATUSES:
                return result
            sleep(poll_seconds)


def render_summary(result: ExecutionResult, console: Console) -> None:
    if not result.succeeded:
        console.print(f"[bold red]{result.status}[/]: {result.error or 'no error name'}")
        if result.cause:
            console.print(result.cause)
        return
    summary = dict(result.output or {})
    table = Table(title="Backfill summary", show_header=False)
    for key, value in summary.items():
        rendered = f"{value:,}" if isinstance(value, int) else str(value)
        table.add_row(key.replace("_", " "), rendered)
    console.print(table)
