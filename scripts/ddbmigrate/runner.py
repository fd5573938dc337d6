"""Start a backfill execution and follow it to the end with a progress display."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from botocore import exceptions as boto_errors
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ddbmigrate.aws import client
from ddbmigrate.deployment import Deployment
from ddbmigrate.progress import RunProgress, read_progress

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
PLAIN_REPORT_INTERVAL_SECONDS = 5.0
# Polls in a row that may fail (throttled, connection reset) before following gives up: a run lasts hours, and a
# short outage of the API must not end the follow of a run that goes on regardless.
MAX_FAILED_POLLS = 10
TRANSIENT_ERROR_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "ServiceUnavailable", "InternalServerError"}
)


@dataclass(frozen=True)
class ExecutionResult:
    execution_arn: str
    status: str
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    start_date: datetime | None = None
    stop_date: datetime | None = None
    redrive_count: int = 0
    # What the execution was started with: the run's settings, as ``ddb-migrate run`` sent them.
    run_input: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        """The run whose checkpoints this execution works on: its own name, or the run it resumes."""
        resumes = self.run_input.get("resume_run_id")
        return resumes if isinstance(resumes, str) else self.name

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def name(self) -> str:
        return execution_name(self.execution_arn)

    @property
    def failure(self) -> Failure | None:
        if self.succeeded or self.status == "RUNNING" or (self.error is None and self.cause is None):
            return None
        return parse_failure(self.error, self.cause)


def execution_name(execution_arn: str) -> str:
    return execution_arn.rsplit(":", 1)[-1]


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
    try:
        execution_input = json.loads(description.get("input") or "{}")
    except json.JSONDecodeError:
        execution_input = {}
    return ExecutionResult(
        execution_arn=execution_arn,
        status=description["status"],
        output=json.loads(output) if output else None,
        error=description.get("error"),
        cause=description.get("cause"),
        start_date=description.get("startDate"),
        stop_date=description.get("stopDate"),
        redrive_count=int(description.get("redriveCount", 0)),
        run_input=execution_input if isinstance(execution_input, dict) else {},
    )


# ----------------------------------------------------------------------------------------------------------------
# Failures: Step Functions error + cause, made readable
# ----------------------------------------------------------------------------------------------------------------

SEGMENT_LINE = re.compile(r"^\s*(copy|cleanup|verify) segment (\d+): (.*)$")
KEY_IN_TEXT = re.compile(r"(?:key|item|keys:) \{")
JSON_STRING = r'"((?:[^"\\]|\\.)*)"'


@dataclass(frozen=True)
class Failure:
    """What went wrong in a run, as an operator reads it: the type, the message, where, and the rest."""

    error: str | None
    error_type: str | None
    message: str
    # (phase, segment, message) of every failed segment the cause lists
    segments: tuple[tuple[str, int, str], ...] = ()
    key: str | None = None
    stack: tuple[str, ...] = ()
    details: tuple[str, ...] = ()

    @property
    def headline(self) -> str:
        kind = self.error_type or self.error or "error"
        if not self.message:
            return kind
        # The run's failure report already names the error inside its message.
        return self.message if f"{kind}:" in self.message else f"{kind}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "type": self.error_type,
            "message": self.message,
            "segments": [{"phase": phase, "segment": number, "error": text} for phase, number, text in self.segments],
            "key": self.key,
            "stack": list(self.stack),
            "details": list(self.details),
        }


def _lambda_error(text: str) -> tuple[str | None, str | None, tuple[str, ...], str] | None:
    """(errorType, errorMessage, stack, the text with the Lambda error JSON replaced by "type: message").

    A Lambda error arrives as JSON, either as the whole cause or embedded in the run's failure report, where
    it may be cut short; the type and message are then still read from what is left."""
    start = text.find('{"error')
    if start < 0:
        return None
    try:
        document, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        document, end = None, len(text)
    if isinstance(document, dict):
        error_type = document.get("errorType")
        message = document.get("errorMessage")
        raw_stack = document.get("stackTrace") or []
        stack = tuple(str(frame).rstrip() for frame in raw_stack) if isinstance(raw_stack, list) else ()
    else:
        fragment = text[start:]
        type_match = re.search(r'"errorType"\s*:\s*' + JSON_STRING, fragment)
        message_match = re.search(r'"errorMessage"\s*:\s*' + JSON_STRING, fragment)
        error_type = json.loads(f'"{type_match.group(1)}"') if type_match else None
        message = json.loads(f'"{message_match.group(1)}"') if message_match else None
        stack = ()
    if error_type is None and message is None:
        return None
    readable = ": ".join(str(part) for part in (error_type, message) if part)
    return error_type, None if message is None else str(message), stack, text[:start] + readable + text[end:]


def parse_failure(error: str | None, cause: str | None) -> Failure:
    if not cause:
        return Failure(error=error, error_type=None, message="")
    lambda_error = _lambda_error(cause.strip()) if cause.lstrip().startswith("{") else None
    if lambda_error is None:
        return _from_report(error, cause.strip().splitlines())
    error_type, message, stack, _ = lambda_error
    return Failure(
        error=error,
        error_type=error_type,
        message=" ".join((message or "").split()),
        segments=_segments(message or ""),
        key=_key(message or ""),
        stack=stack,
    )


def _from_report(error: str | None, lines: list[str]) -> Failure:
    """The run's own failure report (report_failure): a headline, the failed segments, counts and capacity."""
    first = lines[0]
    error_type = None
    stack: tuple[str, ...] = ()
    embedded = _lambda_error(first)
    if embedded is not None:
        error_type, _, stack, first = embedded
    segments: list[tuple[str, int, str]] = []
    details: list[str] = []
    for line in lines[1:]:
        match = SEGMENT_LINE.match(line)
        if match:
            segments.append((match.group(1), int(match.group(2)), match.group(3).strip()))
        elif line.strip():
            details.append(line.rstrip())
    found_segments = tuple(segments) or _segments(first)
    key = _key(first) or next((k for k in (_key(text) for _, _, text in found_segments) if k), None)
    return Failure(
        error=error,
        error_type=error_type,
        message=" ".join(first.split()),
        segments=found_segments,
        key=key,
        stack=stack,
        details=tuple(details),
    )


def _segments(text: str) -> tuple[tuple[str, int, str], ...]:
    match = re.search(r"\b(copy|cleanup|verify) segment (\d+)\b", text)
    return ((match.group(1), int(match.group(2)), " ".join(text.split())),) if match else ()


def _key(text: str) -> str | None:
    """The first item key a message names ("source item {...}: ..."), as the worker wrote it (wire JSON)."""
    for match in KEY_IN_TEXT.finditer(text):
        try:
            _, end = json.JSONDecoder().raw_decode(text, match.end() - 1)
        except json.JSONDecodeError:
            continue
        return text[match.end() - 1 : end]
    return None


def render_failure(failure: Failure, status: str, console: Console, *, debug: bool = False) -> None:
    console.print(f"[bold red]{status}[/]: {escape(failure.headline)}")
    for phase, segment, text in failure.segments:
        console.print(f"  {phase} segment {segment}: {escape(text)}")
    if failure.key:
        console.print(f"  item key: {escape(failure.key)}")
    for line in failure.details:
        console.print(f"  {escape(line.strip())}")
    if failure.stack:
        if debug:
            console.print("  stack trace:")
            for frame in failure.stack:
                console.print(frame, markup=False)
        else:
            console.print("  (the Lambda stack trace is in --debug and in --json)")


# ----------------------------------------------------------------------------------------------------------------
# Following a run
# ----------------------------------------------------------------------------------------------------------------


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


def is_transient(error: Exception) -> bool:
    if isinstance(error, boto_errors.ConnectionError | boto_errors.HTTPClientError):
        return True
    return (
        isinstance(error, boto_errors.ClientError)
        and error.response.get("Error", {}).get("Code") in TRANSIENT_ERROR_CODES
    )


@dataclass
class _Poll:
    """Consecutive failed polls; following gives up only when the API stays unreachable."""

    failures: int = 0

    def attempt(self, console: Console, function: Callable[[], Any]) -> Any:
        try:
            value = function()
        except Exception as error:
            if not is_transient(error) or self.failures + 1 >= MAX_FAILED_POLLS:
                raise
            self.failures += 1
            console.print(f"[yellow]polling failed ({type(error).__name__}); trying again[/]")
            return None
        self.failures = 0
        return value


def follow(
    deployment: Deployment,
    execution_arn: str,
    console: Console,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ExecutionResult:
    """Poll the execution and the state table until the run ends, drawing progress as it goes."""
    # The run whose records to read: the execution's own, or the one it resumes (known once described).
    run_id = execution_name(execution_arn)
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
    poll = _Poll()
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as bar:
        task = bar.add_task("backfill", total=None, phase="planning", segments="-", written="0")
        while True:
            result: ExecutionResult | None = poll.attempt(console, lambda: describe(execution_arn))
            if result is not None:
                run_id = result.run_id
            progress = poll.attempt(console, partial(read_progress, deployment.state_table, run_id))
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
            if result is not None and result.status in TERMINAL_STATUSES:
                return result
            sleep(poll_seconds)


def render_summary(result: ExecutionResult, console: Console, *, debug: bool = False) -> None:
    if not result.succeeded:
        failure = result.failure or Failure(error=None, error_type=None, message="no error recorded")
        render_failure(failure, result.status, console, debug=debug)
        return
    summary = dict(result.output or {})
    # An export run's export (arn, export_time, item_count, files): a row each, not one dict.
    export = summary.pop("export", None)
    if isinstance(export, dict):
        summary.update({f"export_{key}": value for key, value in export.items()})
    elif export is not None:
        summary["export"] = export
    table = Table(title="Backfill summary", show_header=False)
    for key, value in summary.items():
        rendered = f"{value:,}" if isinstance(value, int) else str(value)
        table.add_row(key.replace("_", " "), rendered)
    console.print(table)


def progress_json(progress: RunProgress | None) -> dict[str, Any] | None:
    """The counts of a run per phase, for --json: what a pipeline needs next to the status."""
    if progress is None:
        return None
    return {
        "total_segments": progress.total_segments,
        "source_item_count": progress.source_item_count,
        "phases": {
            name: {
                "segments_done": phase.segments_done,
                "segments_total": phase.segments_total,
                "counts": dict(phase.counts),
                "errors": {str(segment): error for segment, error in sorted(phase.errors.items())},
            }
            for name, phase in progress.phases.items()
        },
    }


def result_json(result: ExecutionResult, progress: RunProgress | None) -> dict[str, Any]:
    failure = result.failure
    return {
        "execution_arn": result.execution_arn,
        "name": result.name,
        "status": result.status,
        "start_date": result.start_date,
        "stop_date": result.stop_date,
        "redrive_count": result.redrive_count,
        "output": result.output,
        "error": result.error,
        # The raw Step Functions cause, unchanged; "failure" is the same, parsed (its stack is a list).
        "cause": result.cause,
        "failure": None if failure is None else failure.to_json(),
        "progress": progress_json(progress),
    }
