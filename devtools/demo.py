"""``python -m devtools demo``: a verified live migration under load, on the embedded emulator or LocalStack.

The demo follows the README's runbook with the real commands an operator types: replication starts with the
consumer paused, the backfill copies the table with a key-changing transform while an application keeps
writing, the consumer drains what queued up, and ``verify`` compares transform(source) with the target.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ddbmigrate.aws import client
from devtools.datagen import generate_items
from devtools.local import running_emulator
from devtools.stack import Stack
from devtools.tables import create_table, load_items
from devtools.workload import LiveWorkload, WorkloadStats

SOURCE_KEY = {"pk": "S", "sk": "N"}
TARGET_KEY = {"target_pk": "S"}
# A key schema change: the target is keyed by tenant/id/sk, plus an attribute renamed, one dropped and a marker.
KEY_CHANGING_STEPS = [
    {"op": "derive", "attribute": "target_pk", "template": "{tenant}/{id}/{sk}"},
    {"op": "rename", "attribute": "amount", "to": "total"},
    {"op": "remove", "attribute": "nothing"},
    {"op": "set", "attribute": "migrated", "value": json.dumps({"BOOL": True})},
]
DRAIN_TIMEOUT_SECONDS = 600
POLL_SECONDS = 1.0
QUIET_POLLS = 3
# A long phase (loading, terraform apply, the drain) says where it is at least this often.
PROGRESS_SECONDS = 10.0
PLAN_LINE = re.compile(r"^Plan: (\d+) to add, (\d+) to change, (\d+) to destroy")
DONE_LINE = re.compile(r": (Creation|Modifications|Destruction) complete after ")


@dataclass
class DemoReport:
    items: int
    segments: int
    load_seconds: float = 0.0
    apply_seconds: float = 0.0
    backfill_seconds: float = 0.0
    backfill_written: int = 0
    drain_seconds: float = 0.0
    workload: WorkloadStats = field(default_factory=WorkloadStats)
    dead_letters: int = 0
    verify: dict[str, Any] = field(default_factory=dict)
    total_seconds: float = 0.0

    @property
    def verified(self) -> bool:
        return bool(self.verify.get("clean"))


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and why."""


@dataclass
class Demo:
    items: int
    segments: int
    workload_rate: float
    workdir: Path
    console: Console
    use_emulator: bool = True
    # "export": the backfill copies a point-in-time export of the source instead of scanning it.
    source: str = "scan"
    suffix: str = field(default_factory=lambda: secrets.token_hex(3))

    @property
    def source_table(self) -> str:
        return f"demo-orders-{self.suffix}"

    @property
    def target_table(self) -> str:
        return f"demo-orders-v2-{self.suffix}"

    def run(self) -> DemoReport:
        report = DemoReport(items=self.items, segments=self.segments)
        started = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.migrate(report)
        except KeyboardInterrupt:
            # Every block below has stopped what it started by now: terraform and its providers, the workload,
            # the writer threads, the emulator (its state with it) and its temporary directory.
            self.console.print(
                f"[yellow]interrupted[/]: stopped everything the demo started; its logs are in {self.workdir}",
                highlight=False,
            )
            raise
        report.total_seconds = time.monotonic() - started
        self.render(report)
        return report

    def migrate(self, report: DemoReport) -> None:
        emulator = running_emulator(self.workdir / "emulator.log") if self.use_emulator else nullcontext(None)
        with emulator as endpoint:
            self.step("AWS endpoint", endpoint or "from the environment (AWS_ENDPOINT_URL or real AWS)")
            stack = self.prepare_tables(report)
            self.apply(stack, report)
            with LiveWorkload(self.source_table, self.items, rate=self.workload_rate) as workload:
                self.step("live workload", f"~{self.workload_rate:.0f} writes/s of inserts, updates and deletes")
                self.backfill(stack, report)
                self.drain(stack, report)
                report.workload = workload.stop()
            self.step("workload stopped", f"{report.workload.operations:,} application writes during the migration")
            with self.timed(report, None, "waiting for the last changes to reach the target"):
                status = self.wait_for_empty_queue(stack)
            report.dead_letters = status["dlq"]["visible"] + status["dlq"]["in_flight"]
            report.verify = self.verify(stack)
            self.operator("cutover-check", "--terraform-dir", str(stack.directory), check=False)

    def prepare_tables(self, report: DemoReport) -> Stack:
        create_table(self.source_table, SOURCE_KEY)
        create_table(self.target_table, TARGET_KEY)
        self.step("tables", f"{self.source_table} (pk, sk) → {self.target_table} (target_pk)")
        loaded = 0

        def on_progress(written: int) -> None:
            nonlocal loaded
            loaded = written

        with (
            self.timed(report, "load_seconds", f"loading {self.items:,} generated items"),
            self.progress(lambda: f"{loaded:,} of {self.items:,} items loaded"),
        ):
            load_items(self.source_table, generate_items(self.items), progress=on_progress)
        dynamodb = client("dynamodb")
        dynamodb.update_table(
            TableName=self.source_table,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        dynamodb.get_waiter("table_exists").wait(TableName=self.source_table)
        # Nothing is restored from a backup here, so nothing needs dropping: the cutoff sits before the stream (and
        # so before an export's time: the changes since the export are all replayed).
        cutoff = (datetime.now(UTC) - timedelta(seconds=60)).replace(microsecond=0)
        self.step("stream enabled", f"NEW_AND_OLD_IMAGES; replication cutoff {cutoff.isoformat()}")
        if self.source == "export":
            dynamodb.update_continuous_backups(
                TableName=self.source_table,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            self.step("point-in-time recovery", "on: the backfill copies an export of the source")
        return Stack(
            self.workdir / "stack",
            {
                "name": f"demo-{self.suffix}",
                "source_table_name": self.source_table,
                "target_table_name": self.target_table,
                "total_segments": self.segments,
                "transform": {"steps": KEY_CHANGING_STEPS},
                "replication": {
                    "enabled": True,
                    "consumer_enabled": False,
                    "cutoff_timestamp": cutoff.isoformat().replace("+00:00", "Z"),
                },
                **self.export_inputs(),
            },
        )

    def export_inputs(self) -> dict[str, Any]:
        if self.source != "export":
            return {}
        # The demo's bucket goes with its stack; a poll every few seconds suits the emulator's short exports.
        return {"export": {"enabled": True, "by_default": True, "poll_seconds": 2, "force_destroy": True}}

    def apply(self, stack: Stack, report: DemoReport) -> None:
        planned: int | None = None
        done = 0

        def on_line(line: str) -> None:
            nonlocal planned, done
            if match := PLAN_LINE.match(line):
                planned = sum(int(count) for count in match.groups())
                self.console.print(f"[dim]  {line}[/]", highlight=False)
            elif DONE_LINE.search(line):
                done += 1

        def where() -> str:
            return "terraform init and plan" if planned is None else f"{done} of {planned} resources applied"

        with (
            self.timed(report, "apply_seconds", "terraform apply: backfill + replication, consumer paused"),
            self.progress(where),
        ):
            stack.apply(on_line=on_line)

    def backfill(self, stack: Stack, report: DemoReport) -> None:
        result_path = self.workdir / "backfill.json"
        with self.timed(report, "backfill_seconds", "backfill while the application writes"):
            self.operator("run", "--terraform-dir", str(stack.directory), "--json-output", str(result_path))
        result = json.loads(result_path.read_text())
        report.backfill_written = int((result.get("output") or {}).get("written", 0))

    def drain(self, stack: Stack, report: DemoReport) -> None:
        self.operator("replication", "resume", "--terraform-dir", str(stack.directory))
        with self.timed(report, "drain_seconds", "consumer catching up with the queued changes"):
            # A few seconds of live traffic may be in the queue at any moment; the backlog is what matters.
            self.wait_for_empty_queue(stack, backlog=int(self.workload_rate * 3), quiet_polls=1)

    def wait_for_empty_queue(self, stack: Stack, backlog: int = 0, quiet_polls: int = QUIET_POLLS) -> dict[str, Any]:
        """Until at most ``backlog`` messages stay queued for ``quiet_polls`` polls in a row.

        With the application still writing, the queue never empties; the consumer has caught up once only the
        live trickle is left. After the writes stop, the queue must stay empty for a few polls because changes
        still in the stream arrive moments later.
        """
        status_path = self.workdir / "replication.json"
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        empty_polls = 0
        queued: dict[str, int] = {}

        def where() -> str:
            if not queued:
                return "reading the queue"
            return (
                f"{sum(queued.values()):,} messages in the queue ({queued.get('visible', 0):,} visible, "
                f"{queued.get('in_flight', 0):,} in flight), waiting for at most {backlog:,}"
            )

        with self.progress(where):
            while time.monotonic() < deadline:
                self.operator(
                    "replication",
                    "status",
                    "--terraform-dir",
                    str(stack.directory),
                    "--json",
                    str(status_path),
                    quiet=True,
                )
                status: dict[str, Any] = json.loads(status_path.read_text())
                queued = {key: int(value) for key, value in status["queue"].items()}
                empty_polls = empty_polls + 1 if sum(queued.values()) <= backlog else 0
                if empty_polls >= quiet_polls:
                    return status
                time.sleep(POLL_SECONDS)
        raise DemoError(f"the replication queue did not drain within {DRAIN_TIMEOUT_SECONDS} s")

    def verify(self, stack: Stack) -> dict[str, Any]:
        summary_path = self.workdir / "verify.json"
        self.operator("verify", "--terraform-dir", str(stack.directory), "--json", str(summary_path), check=False)
        summary: dict[str, Any] = json.loads(summary_path.read_text())
        return summary

    def operator(self, *args: str, check: bool = True, quiet: bool = False) -> None:
        """Run a ``ddb-migrate`` command exactly as an operator would type it."""
        if not quiet:
            self.console.print(f"[dim]$ ddb-migrate {' '.join(args)}[/]")
        completed = subprocess.run(  # noqa: S603 - our own CLI, fixed argv
            [sys.executable, "-m", "ddbmigrate", *args],
            check=False,
            capture_output=quiet,
            text=True,
        )
        if check and completed.returncode != 0:
            raise DemoError(f"ddb-migrate {' '.join(args)} exited {completed.returncode}: {completed.stderr or ''}")

    def step(self, title: str, detail: str) -> None:
        self.console.print(f"[bold green]●[/] [bold]{title}[/]: {detail}")

    @contextmanager
    def timed(self, report: DemoReport, attribute: str | None, title: str) -> Iterator[None]:
        if self.console.is_terminal:
            self.console.rule(title)
        else:
            # A rule is as wide as the console, which is unbounded when the output is not a terminal.
            self.console.print(f"── {title}", highlight=False)
        started = time.monotonic()
        yield
        elapsed = time.monotonic() - started
        if attribute is not None:
            setattr(report, attribute, elapsed)
        self.step(title, f"{elapsed:.1f} s")

    @contextmanager
    def progress(self, where: Callable[[], str]) -> Iterator[None]:
        """Print ``where()`` every PROGRESS_SECONDS while the block runs, so that no phase is silent for long."""
        stop = threading.Event()
        started = time.monotonic()
        every = PROGRESS_SECONDS

        def report() -> None:
            while not stop.wait(every):
                self.console.print(f"[dim]  … {where()} ({time.monotonic() - started:.0f} s)[/]", highlight=False)

        thread = threading.Thread(target=report, name="demo-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def render(self, report: DemoReport) -> None:
        verify = report.verify
        table = Table(title="Live migration report", show_header=False)
        rows = [
            ("source items", f"{report.items:,} (mixed types: 38-digit numbers, binary, sets, nested maps)"),
            ("transform", "key change pk+sk → target_pk, rename, remove, set"),
            (
                "backfill",
                f"{report.backfill_written:,} items in {report.backfill_seconds:.1f} s "
                f"({report.backfill_written / max(report.backfill_seconds, 1e-9):,.0f} items/s, "
                f"{report.segments} segments)",
            ),
            (
                "application writes during migration",
                f"{report.workload.operations:,} ({report.workload.inserts:,} inserts, {report.workload.updates:,} "
                f"updates, {report.workload.deletes:,} deletes)",
            ),
            (
                "replication drain",
                f"{report.drain_seconds:.1f} s from resume to an empty queue; {report.dead_letters} dead letters",
            ),
            (
                "verify",
                f"{'CLEAN' if report.verified else 'DIFFERENCES FOUND'}: "
                f"{verify.get('matching', 0):,} matching, {verify.get('missing', 0):,} missing, "
                f"{verify.get('different', 0):,} different, {verify.get('extra', 0)} extra",
            ),
            ("total", f"{report.total_seconds:.1f} s"),
        ]
        for name, value in rows:
            table.add_row(name, value)
        self.console.print(table)
