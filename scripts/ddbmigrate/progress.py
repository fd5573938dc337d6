"""Progress of a backfill run, read from the migration's state table (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ddbmigrate.aws import client

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


def _number(attribute: dict[str, Any] | None) -> int:
    if not attribute:
        return 0
    return int(float(attribute["N"])) if "." in attribute["N"] else int(attribute["N"])


def progress_from_records(run_id: str, records: list[dict[str, Any]]) -> RunProgress | None:
    """Fold the run record and the per-segment checkpoint records into totals per phase."""
    run = next((r for r in records if r["sk"]["S"] == "run"), None)
    if run is None:
        return None
    total = _number(run.get("total_segments"))
    count = run.get("source_item_count")
    progress = RunProgress(run_id, total, _number(count) if count else None, {})
    for record in records:
        sort_key = record["sk"]["S"]
        if not sort_key.startswith("seg#"):
            continue
        _, phase_name, segment = sort_key.split("#")
        phase = progress.phase(phase_name)
        for counter in COUNTERS:
            phase.counts[counter] += _number(record.get(counter))
        if record.get("done", {}).get("BOOL"):
            phase.segments_done += 1
        if "error" in record:
            phase.errors[int(segment)] = record["error"]["S"]
    return progress


def read_progress(state_table: str, run_id: str) -> RunProgress | None:
    paginator = client("dynamodb").get_paginator("query")
    records: list[dict[str, Any]] = []
    for page in paginator.paginate(
        TableName=state_table,
        KeyConditionExpression="pk = :run",
        ExpressionAttributeValues={":run": {"S": run_id}},
    ):
        records.extend(page["Items"])
    return progress_from_records(run_id, records)
