"""summarize and report_failure: totals from the state table and a readable failure cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from migration_core.errors import IncompleteRun, InvalidItemError
from migration_core.models import RunSpec, SegmentRequest
from migration_core.types import Item
from tests.support.backfill import make_service
from tests.support.tables import STATE_TABLE, enable_pitr, numbered_items, put_items

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class SteppingClock:
    """Wall clock that the test moves forward explicitly."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def run_record(client: DynamoDBClient) -> dict[str, Any]:
    key: Any = {"pk": {"S": "run-1"}, "sk": {"S": "run"}}
    return dict(client.get_item(TableName=STATE_TABLE, Key=key)["Item"])


def run_all_segments(service: Any, run: RunSpec, phase: str = "copy") -> None:
    for segment in range(run.total_segments):
        start_key = None
        while True:
            request = SegmentRequest(run=run, phase=phase, segment=segment, start_key=start_key)  # type: ignore[arg-type]
            result = service.run_segment(request, lambda: 900_000)
            if result.done:
                break
            start_key = result.last_evaluated_key


def test_summarize_sums_every_segment_record(dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]) -> None:
    put_items(dynamodb, "source", numbered_items(40))
    put_items(dynamodb, "target", [{"pk": {"S": "stale"}, "sk": {"N": "1"}}])
    clock = SteppingClock()
    service = make_service(dynamodb, clock=clock, scan_page_limit=6)
    enable_pitr(dynamodb, "target")
    run = RunSpec.from_event(
        service.plan({"total_segments": 3, "cleanup_destination_table": True, "confirm_cleanup": "target"}, "run-1")[
            "run"
        ]
    )
    run_all_segments(service, run, "cleanup")
    run_all_segments(service, run)
    clock.now += timedelta(seconds=8)

    summary = service.summarize(run)

    consumed_rcu = summary.pop("consumed_rcu")
    consumed_wcu = summary.pop("consumed_wcu")
    assert summary == {
        "run_id": "run-1",
        "source": "scan",
        "segments": 3,
        "segments_done": 3,
        "scanned": 41,
        "written": 40,
        "skipped": 0,
        "deleted": 1,
        "duplicates": 0,
        "retries": 0,
        "duration_seconds": 8.0,
        "items_per_second": 5.0,
    }
    assert consumed_rcu > 0
    assert consumed_wcu > 0
    assert run_record(dynamodb)["status"] == {"S": "SUCCEEDED"}
    assert run_record(dynamodb)["finished_at"] == {"S": "2024-05-01T12:00:08.000Z"}


def test_summarize_refuses_success_when_a_segment_never_finished(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(40))
    service = make_service(dynamodb, scan_page_limit=6)
    run = RunSpec.from_event(service.plan({"total_segments": 4}, "run-1")["run"])
    for segment in (0, 1, 3):
        result = service.run_segment(
            SegmentRequest(run=run, phase="copy", segment=segment, start_key=None), lambda: 900_000
        )
        while not result.done:
            request = SegmentRequest(run=run, phase="copy", segment=segment, start_key=result.last_evaluated_key)
            result = service.run_segment(request, lambda: 900_000)

    with pytest.raises(IncompleteRun, match=r"1 of 4 copy segments of run run-1 did not finish \(segments 2\)"):
        service.summarize(run)
    assert "status" not in run_record(dynamodb) or run_record(dynamodb)["status"] != {"S": "SUCCEEDED"}


def test_report_failure_lists_failed_segments_with_their_errors_and_counts(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(30))
    service = make_service(dynamodb)
    run = RunSpec.from_event(service.plan({"total_segments": 2}, "run-1")["run"])
    service.run_segment(SegmentRequest(run, "copy", 0, None), lambda: 900_000)

    def reject(item: Item) -> Item:
        del item["sk"]
        return item

    with pytest.raises(InvalidItemError):
        make_service(dynamodb, custom_transform=reject).run_segment(
            SegmentRequest(run, "copy", 1, None), lambda: 900_000
        )

    report = service.report_failure(
        run, {"Error": "States.ExceedToleratedFailureThreshold", "Cause": "The Map Run failed."}
    )

    assert report["error"] == "MigrationFailed"
    cause = report["cause"]
    assert cause.startswith(
        "Migration run run-1 (source -> target) failed: States.ExceedToleratedFailureThreshold: The Map Run failed."
    )
    assert "Copy segments done: 1 of 2." in cause
    assert "Failed segments: 1." in cause
    assert "  copy segment 1: InvalidItemError: item transformed from source key" in cause
    assert "Counts so far: scanned=" in cause
    assert run_record(dynamodb)["status"] == {"S": "FAILED"}


def test_report_failure_copes_with_an_unexpected_error_payload(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    service = make_service(dynamodb)
    run = RunSpec.from_event(service.plan({"total_segments": 1}, "run-1")["run"])

    report = service.report_failure(run, None)

    assert report["cause"].startswith("Migration run run-1 (source -> target) failed: unknown error")
    assert "Failed segments: 0." in report["cause"]
