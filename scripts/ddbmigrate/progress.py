"""Progress of a backfill run, read from the migration's state table (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ddbmigrate.aws import client
from migration_core.state import RUN_SORT_KEY, StateStore

COUNTERS = ("scanned", "written", "skipped", "deleted", "retries")


@dataclass
class PhaseProgress:
    segments_total: int
    segments_done: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    errors: dict[int, str] = field(default_factory=dict)


@dataclass
class RunProgress:
    run_id: str
    total_segments: int
    source_item_count: int | None
    phases: dict[str, PhaseProgress]

    def phase(self, name: str) -> PhaseProgress:
        return self.phases.setdefault(name, PhaseProgress(self.total_segments))

    @property
    def current_phase(self) -> str:
        if "copy" in self.phases or "cleanup" not in self.phases:
            return "copy"
        return "cleanup"


def read_progress(state_table: str, run_id: str) -> RunProgress | None:
    """Fold the run record and the per-segment checkpoint records into totals per phase."""
    dynamodb = client("dynamodb")
    run = dynamodb.get_item(
        TableName=state_table, Key={"pk": {"S": run_id}, "sk": {"S": RUN_SORT_KEY}}, ConsistentRead=True
    ).get("Item")
    if run is None:
        return None
    count = run.get("source_item_count")
    progress = RunProgress(run_id, int(run["total_segments"]["N"]), int(count["N"]) if count else None, {})
    for record in StateStore(dynamodb, state_table).segment_records(run_id):
        phase = progress.phase(record.phase)
        for counter in COUNTERS:
            phase.counts[counter] += getattr(record.counts, counter)
        if record.done:
            phase.segments_done += 1
        if record.error:
            phase.errors[record.segment] = record.error
    return progress
