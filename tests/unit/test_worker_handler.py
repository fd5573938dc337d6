"""The worker Lambda's handler end to end on moto, driven by the events Step Functions sends."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from migration_core.errors import ConfigurationError, InvalidInput
from tests.support.backfill import HANDLER_MODULE, WORKER_ENVIRONMENT, import_handler
from tests.support.lambda_context import FakeLambdaContext, emitted_metrics
from tests.support.lambda_events import load_event
from tests.support.tables import STATE_TABLE, numbered_items, put_items, scan_all

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture
def handler(
    monkeypatch: pytest.MonkeyPatch, dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> Iterator[ModuleType]:
    for name, value in WORKER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    yield import_handler()
    sys.modules.pop(HANDLER_MODULE, None)


def test_plan_segments_and_summary_through_the_handler(
    handler: ModuleType, dynamodb: DynamoDBClient, capsys: pytest.CaptureFixture[str]
) -> None:
    put_items(dynamodb, "source", numbered_items(25))

    planned = handler.lambda_handler(load_event("backfill/plan.json"), FakeLambdaContext())
    assert planned["segments"] == [0, 1]
    segment_event = load_event("backfill/segment.json")
    assert planned["run"] == segment_event["run"]

    for segment in planned["segments"]:
        event = {**segment_event, "segment": segment}
        while True:
            result = handler.lambda_handler(json.loads(json.dumps(event)), FakeLambdaContext())
            if result["done"]:
                break
            event["start_key"] = result["last_evaluated_key"]

    summary = handler.lambda_handler(load_event("backfill/summarize.json"), FakeLambdaContext())

    assert summary["run_id"] == "run-from-event"
    assert (summary["segments"], summary["segments_done"]) == (2, 2)
    assert (summary["scanned"], summary["written"], summary["skipped"]) == (25, 25, 0)
    target = scan_all(dynamodb, "target")
    assert len(target) == 25
    assert all(item["migrated"] == {"BOOL": True} for item in target)
    metrics = emitted_metrics(capsys.readouterr().out, namespace="ddb-migrate")
    assert metrics["ItemsScanned"] == 25
    assert metrics["ItemsWritten"] == 25
    assert metrics["ItemsSkipped"] == 0
    assert metrics["WriteRetries"] == 0


def test_a_handed_off_segment_is_listed_for_the_next_pass_until_it_runs_again(
    handler: ModuleType, dynamodb: DynamoDBClient
) -> None:
    put_items(dynamodb, "source", numbered_items(25))
    handler.lambda_handler(load_event("backfill/plan.json"), FakeLambdaContext())
    # Pages of two items and a budget shorter than a page: one page per invocation.
    run = {**load_event("backfill/segment.json")["run"], "scan_page_size": 2, "time_budget_seconds": 1e-6}
    segment_event = {**load_event("backfill/segment.json"), "run": run}
    first_page = handler.lambda_handler(segment_event, FakeLambdaContext())
    assert not first_page["done"]

    handler.lambda_handler({"action": "hand_off", "run": run, "phase": "copy", "segment": 0}, FakeLambdaContext())
    next_pass = {"action": "handed_off", "run": run, "phase": "copy"}

    assert handler.lambda_handler(next_pass, FakeLambdaContext()) == {"segments": [0]}
    assert handler.lambda_handler({**next_pass, "phase": "cleanup"}, FakeLambdaContext()) == {"segments": []}
    # The next pass's child starts the segment afresh (start_key null); it resumes from the checkpoint.
    rest = handler.lambda_handler({**segment_event, "start_key": None}, FakeLambdaContext())
    assert handler.lambda_handler(next_pass, FakeLambdaContext()) == {"segments": []}
    while not rest["done"]:
        rest = handler.lambda_handler({**segment_event, "start_key": rest["last_evaluated_key"]}, FakeLambdaContext())
    (record,) = [item for item in scan_all(dynamodb, STATE_TABLE) if item["sk"]["S"] == "seg#copy#0000000"]
    assert record["done"] == {"BOOL": True}
    assert "handed_off" not in record


def test_a_resumed_run_continues_the_earlier_runs_checkpoints(handler: ModuleType, dynamodb: DynamoDBClient) -> None:
    put_items(dynamodb, "source", numbered_items(25))
    handler.lambda_handler(load_event("backfill/plan.json"), FakeLambdaContext())
    segment_event = load_event("backfill/segment.json")
    first = handler.lambda_handler({**segment_event, "segment": 0}, FakeLambdaContext())
    assert first["done"]

    resumed = handler.lambda_handler(
        {"action": "plan", "input": {"total_segments": 2, "resume_run_id": "run-from-event"}, "execution": "resume-1"},
        FakeLambdaContext(),
    )

    assert resumed["run"]["run_id"] == "run-from-event"
    again = handler.lambda_handler({**segment_event, "segment": 0}, FakeLambdaContext())
    assert again["done"]
    assert again["written"] == 0, "a finished segment is not copied again"
    rest = handler.lambda_handler({**segment_event, "segment": 1}, FakeLambdaContext())
    while not rest["done"]:
        rest = handler.lambda_handler(
            {**segment_event, "segment": 1, "start_key": rest["last_evaluated_key"]}, FakeLambdaContext()
        )
    summary = handler.lambda_handler(load_event("backfill/summarize.json"), FakeLambdaContext())
    assert (summary["segments_done"], summary["written"]) == (2, 25)


def test_resuming_a_run_with_other_settings_or_no_record_is_refused(
    handler: ModuleType, dynamodb: DynamoDBClient
) -> None:
    handler.lambda_handler(load_event("backfill/plan.json"), FakeLambdaContext())

    with pytest.raises(InvalidInput, match=r"planned with total_segments '2' \(now '3'\)"):
        handler.lambda_handler(
            {"action": "plan", "input": {"total_segments": 3, "resume_run_id": "run-from-event"}, "execution": "r2"},
            FakeLambdaContext(),
        )
    with pytest.raises(InvalidInput, match="run no-such-run has no record in the state table"):
        handler.lambda_handler(
            {"action": "plan", "input": {"resume_run_id": "no-such-run"}, "execution": "r3"}, FakeLambdaContext()
        )


def test_handed_off_refuses_an_unknown_phase(handler: ModuleType) -> None:
    with pytest.raises(InvalidInput, match="phase must be one of cleanup, copy, verify, got 'copies'"):
        handler.lambda_handler(
            {"action": "handed_off", "run": load_event("backfill/segment.json")["run"], "phase": "copies"},
            FakeLambdaContext(),
        )


def test_segment_result_has_the_documented_shape(handler: ModuleType, dynamodb: DynamoDBClient) -> None:
    put_items(dynamodb, "source", numbered_items(5))
    handler.lambda_handler(load_event("backfill/plan.json"), FakeLambdaContext())

    result = handler.lambda_handler(load_event("backfill/segment.json"), FakeLambdaContext())

    assert set(result) == {
        "done",
        "last_evaluated_key",
        "scanned",
        "written",
        "skipped",
        "deleted",
        "duplicates",
        "consumed_rcu",
        "consumed_wcu",
        "retries",
    }
    json.dumps(result)  # Lambda must be able to serialise it


def test_bad_plan_input_raises_invalid_input_and_writes_nothing(handler: ModuleType, dynamodb: DynamoDBClient) -> None:
    event = {**load_event("backfill/plan.json"), "input": {"total_segments": 20_000}}

    with pytest.raises(InvalidInput, match="between 1 and 10,000"):
        handler.lambda_handler(event, FakeLambdaContext())
    assert scan_all(dynamodb, STATE_TABLE) == []
    assert scan_all(dynamodb, "target") == []


def test_unknown_action_is_invalid_input(handler: ModuleType) -> None:
    with pytest.raises(
        InvalidInput,
        match="unknown action 'copy'; expected plan, segment, hand_off, handed_off, summarize or report_failure",
    ):
        handler.lambda_handler({"action": "copy"}, FakeLambdaContext())


def test_report_failure_returns_the_final_error(handler: ModuleType, dynamodb: DynamoDBClient) -> None:
    handler.lambda_handler(load_event("backfill/plan.json"), FakeLambdaContext())

    report = handler.lambda_handler(load_event("backfill/report_failure.json"), FakeLambdaContext())

    assert report["error"] == "MigrationFailed"
    assert "States.ExceedToleratedFailureThreshold" in report["cause"]
    assert "Copy segments done: 0 of 2." in report["cause"]


def test_a_missing_setting_fails_the_cold_start(monkeypatch: pytest.MonkeyPatch, dynamodb: DynamoDBClient) -> None:
    for name, value in WORKER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("STATE_TABLE")
    try:
        with pytest.raises(ConfigurationError, match="environment variable STATE_TABLE is required"):
            import_handler()
    finally:
        sys.modules.pop(HANDLER_MODULE, None)
