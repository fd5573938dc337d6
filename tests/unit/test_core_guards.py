"""The plan step's guards: the run lock, point-in-time recovery before a mutating run, and their overrides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ddbmigrate.progress import read_progress
from migration_core.errors import InvalidInput, RunInProgress
from migration_core.guards import LOCK_PARTITION_KEY, LOCK_SORT_KEY, GuardOverrides, RunLock
from migration_core.models import RunSpec, SegmentRequest
from migration_core.state import StateStore
from tests.support.backfill import make_service
from tests.support.tables import STATE_TABLE, CreateTable, enable_pitr, numbered_items, put_items, scan_all

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ARN = "arn:aws:states:us-east-1:123456789012:execution:demo-backfill:"


class Executions:
    """DescribeExecution as the lock sees it: the status of each execution ARN, None for an unknown one."""

    def __init__(self, **statuses: str) -> None:
        self.statuses = {ARN + name: status for name, status in statuses.items()}
        self.asked: list[str] = []

    def __call__(self, execution_arn: str) -> str | None:
        self.asked.append(execution_arn)
        return self.statuses.get(execution_arn)


def lock_item(client: DynamoDBClient) -> dict[str, Any] | None:
    """The lock record while someone holds it; None when free (never taken, or released)."""
    key: Any = {"pk": {"S": LOCK_PARTITION_KEY}, "sk": {"S": LOCK_SORT_KEY}}
    item: dict[str, Any] | None = client.get_item(TableName=STATE_TABLE, Key=key, ConsistentRead=True).get("Item")
    return item if item is not None and "execution_arn" in item else None


def run_records(client: DynamoDBClient) -> list[str]:
    return sorted(item["pk"]["S"] for item in scan_all(client, STATE_TABLE) if item["sk"]["S"] == "run")


# ----------------------------------------------------------------------------------------------------------------
# Point-in-time recovery
# ----------------------------------------------------------------------------------------------------------------


def test_an_in_place_run_is_refused_without_pitr_naming_the_fix(
    dynamodb: DynamoDBClient, create_table: CreateTable
) -> None:
    create_table("source", pk="S", sk="N")
    create_table(STATE_TABLE, pk="S", sk="S")
    put_items(dynamodb, "source", numbered_items(3))

    with pytest.raises(InvalidInput) as raised:
        make_service(dynamodb, target="source").plan({}, "run-1")

    message = str(raised.value)
    assert "point-in-time recovery is not enabled on 'source'" in message
    assert "an in-place run rewrites every item of it" in message
    assert "aws dynamodb update-continuous-backups --table-name source" in message
    assert '"allow_without_pitr": true' in message
    assert scan_all(dynamodb, STATE_TABLE) == []


def test_a_cleanup_is_refused_without_pitr_on_the_target(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    enable_pitr(dynamodb, "source")  # the source's backup does not protect the target

    with pytest.raises(InvalidInput, match="not enabled on 'target', and a cleanup deletes every item of it"):
        make_service(dynamodb).plan({"cleanup_destination_table": True, "confirm_cleanup": "target"}, "run-1")

    assert scan_all(dynamodb, STATE_TABLE) == []


def test_pitr_or_the_explicit_override_lets_a_mutating_run_plan(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    cleanup = {"cleanup_destination_table": True, "confirm_cleanup": "target"}

    make_service(dynamodb).plan({**cleanup, "allow_without_pitr": True}, "run-1")
    enable_pitr(dynamodb, "target")
    make_service(dynamodb).plan(cleanup, "run-2")

    assert run_records(dynamodb) == ["run-1", "run-2"]


def test_a_copy_into_another_table_needs_no_pitr(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    make_service(dynamodb).plan({}, "run-1")

    assert run_records(dynamodb) == ["run-1"]


@pytest.mark.parametrize("field", ["allow_without_pitr", "allow_consumer_running"])
def test_overrides_must_be_booleans(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str], field: str
) -> None:
    with pytest.raises(InvalidInput, match=f"{field} must be true or false, got 'yes'"):
        make_service(dynamodb).plan({field: "yes"}, "run-1")
    assert GuardOverrides.from_input({field: True}) != GuardOverrides()


# ----------------------------------------------------------------------------------------------------------------
# The run lock
# ----------------------------------------------------------------------------------------------------------------


def test_a_second_run_is_refused_while_the_first_runs_and_writes_nothing(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    executions = Executions(**{"run-1": "RUNNING"})
    service = make_service(dynamodb, execution_status=executions)
    service.plan({}, "run-1", ARN + "run-1")

    with pytest.raises(RunInProgress) as raised:
        service.plan({}, "run-2", ARN + "run-2")

    assert "run run-1 (execution run-1, since " in str(raised.value)
    assert "wait for it to end or stop it" in str(raised.value)
    assert isinstance(raised.value, InvalidInput), "the Plan state's catch treats it as bad input"
    assert run_records(dynamodb) == ["run-1"]
    assert (lock_item(dynamodb) or {})["execution_arn"]["S"] == ARN + "run-1"


def test_a_retried_plan_of_the_same_execution_keeps_its_lock(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    executions = Executions(**{"run-1": "RUNNING"})
    service = make_service(dynamodb, execution_status=executions)

    service.plan({}, "run-1", ARN + "run-1")
    service.plan({}, "run-1", ARN + "run-1")

    assert executions.asked == [], "its own lock needs no DescribeExecution"


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT", None])
def test_a_stale_lock_is_taken_over(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str], status: str | None
) -> None:
    executions = Executions(**({} if status is None else {"run-1": status}))
    service = make_service(dynamodb, execution_status=executions)
    RunLock(dynamodb, STATE_TABLE).acquire("run-1", ARN + "run-1", executions)

    service.plan({}, "run-2", ARN + "run-2")

    assert executions.asked == [ARN + "run-1"]
    item = lock_item(dynamodb) or {}
    assert (item["run_id"]["S"], item["execution_arn"]["S"]) == ("run-2", ARN + "run-2")


def test_a_resumed_run_takes_over_the_lock_its_stopped_execution_left(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    executions = Executions(**{"run-1": "RUNNING"})
    service = make_service(dynamodb, execution_status=executions)
    service.plan({}, "run-1", ARN + "run-1")
    executions.statuses[ARN + "run-1"] = "ABORTED"

    planned = service.plan({"resume_run_id": "run-1"}, "resume-1", ARN + "resume-1")

    assert planned["run"]["run_id"] == "run-1"
    item = lock_item(dynamodb) or {}
    assert (item["run_id"]["S"], item["execution_arn"]["S"]) == ("run-1", ARN + "resume-1")


def test_a_resume_is_refused_while_the_run_it_resumes_still_runs(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    service = make_service(dynamodb, execution_status=Executions(**{"run-1": "RUNNING"}))
    service.plan({}, "run-1", ARN + "run-1")

    with pytest.raises(RunInProgress, match="run run-1 "):
        service.plan({"resume_run_id": "run-1"}, "resume-1", ARN + "resume-1")


def test_summarize_and_report_failure_release_the_lock(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(2))
    executions = Executions(**{"run-1": "RUNNING", "run-2": "RUNNING"})
    service = make_service(dynamodb, execution_status=executions)
    first = RunSpec.from_event(service.plan({"total_segments": 1}, "run-1", ARN + "run-1")["run"])
    service.run_segment(_segment(first), lambda: 900_000)

    service.summarize(first)
    assert lock_item(dynamodb) is None

    second = RunSpec.from_event(service.plan({}, "run-2", ARN + "run-2")["run"])
    service.report_failure(second, {"Error": "States.TaskFailed", "Cause": "boom"})
    assert lock_item(dynamodb) is None


def test_releasing_leaves_a_lock_another_run_took_over(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    lock = RunLock(dynamodb, STATE_TABLE)
    lock.acquire("run-2", ARN + "run-2", Executions())

    lock.release("run-1")

    assert (lock_item(dynamodb) or {})["run_id"]["S"] == "run-2"


def test_a_verify_run_neither_takes_nor_needs_the_lock(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    service = make_service(dynamodb, execution_status=Executions(**{"run-1": "RUNNING"}))
    service.plan({}, "run-1", ARN + "run-1")

    service.plan({"mode": "verify"}, "verify-1", ARN + "verify-1")

    assert (lock_item(dynamodb) or {})["run_id"]["S"] == "run-1"


def test_the_lock_record_is_never_read_as_a_run_or_a_segment(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Even a run named like the lock's partition: its records and the lock differ in the sort key.
    RunLock(dynamodb, STATE_TABLE).acquire("lock", ARN + "lock", Executions())
    monkeypatch.setattr("ddbmigrate.progress.client", lambda _: dynamodb)

    assert StateStore(dynamodb, STATE_TABLE).segment_records(LOCK_PARTITION_KEY) == []
    assert read_progress(STATE_TABLE, LOCK_PARTITION_KEY) is None


def _segment(run: RunSpec) -> SegmentRequest:
    return SegmentRequest(run=run, phase="copy", segment=0, start_key=None)
