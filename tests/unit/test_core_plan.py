"""The plan action: every refusal happens before anything is written; success writes the run record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from migration_core.backfill import BackfillService
from migration_core.errors import InvalidInput, InvalidItemError, TransformError
from migration_core.models import RunSpec, SegmentRequest
from tests.support.backfill import make_service
from tests.support.tables import STATE_TABLE, CreateTable, enable_pitr, numbered_items, put_items, scan_all

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

FIXED_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def assert_nothing_written(client: DynamoDBClient) -> None:
    assert scan_all(client, STATE_TABLE) == []
    assert scan_all(client, "target") == []


@pytest.mark.parametrize(
    ("execution_input", "message"),
    [
        ([1, 2], "the execution input must be a JSON object, got list"),
        ({"totalSegments": 4}, r"unknown field\(s\) in the execution input: totalSegments; accepted fields:"),
        ({"total_segments": 0}, "total_segments must be between 1 and 10,000, got 0: each segment is one child"),
        ({"total_segments": 10_001}, "runs at most 10,000 children.*256 KiB"),
        ({"total_segments": "16"}, "total_segments must be an integer, got '16'"),
        ({"total_segments": True}, "total_segments must be an integer, got True"),
        ({"source_table": "other"}, "source_table 'other' is not the table this deployment migrates \\('source'\\)"),
        ({"target_table": "prod"}, "target_table 'prod' is not the table this deployment migrates"),
        ({"time_budget_seconds": -1}, "time_budget_seconds must be >= 0"),
        ({"time_budget_seconds": "60"}, "time_budget_seconds must be a number"),
        ({"mode": "swap"}, "mode must be one of copy, verify, got 'swap'"),
        (
            {"mode": "verify", "cleanup_destination_table": True},
            "cleanup_destination_table is refused with mode verify",
        ),
        ({"settle_seconds": 5}, "settle_seconds only apply to mode verify, not copy"),
        ({"mode": "verify", "settle_seconds": 61}, "settle_seconds must be a number from 0 to 60"),
        ({"mode": "verify", "sample_fraction": 0}, "sample_fraction must be a number above 0 and at most 1"),
        ({"cleanup_destination_table": "yes"}, "cleanup_destination_table must be true or false"),
        ({"cleanup_destination_table": True}, 'confirm by also passing "confirm_cleanup": "target"'),
        ({"cleanup_destination_table": True, "confirm_cleanup": "source"}, "deletes every item of 'target'"),
    ],
)
def test_bad_execution_input_is_refused_and_nothing_is_written(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str], execution_input: Any, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as raised:
        make_service(dynamodb).plan(execution_input, "run-1")

    assert type(raised.value).__name__ == "InvalidInput", "the name Step Functions matches on"
    assert_nothing_written(dynamodb)


def test_cleanup_of_an_in_place_run_is_refused(dynamodb: DynamoDBClient, create_table: CreateTable) -> None:
    create_table("source", pk="S", sk="N")
    create_table(STATE_TABLE, pk="S", sk="S")
    put_items(dynamodb, "source", numbered_items(3))
    service = make_service(dynamodb, target="source")

    with pytest.raises(InvalidInput, match="same table \\('source'\\): it would delete every item of the source"):
        service.plan({"cleanup_destination_table": True, "confirm_cleanup": "source"}, "run-1")

    assert scan_all(dynamodb, STATE_TABLE) == []
    assert len(scan_all(dynamodb, "source")) == 3


def test_cleanup_is_refused_when_the_deployment_did_not_allow_it(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(3))
    service = make_service(dynamodb, cleanup_allowed=False)

    with pytest.raises(InvalidInput, match="set allow_target_cleanup = true in the Terraform module"):
        service.plan({"cleanup_destination_table": True, "confirm_cleanup": "target"}, "run-1")

    assert_nothing_written(dynamodb)


@pytest.mark.parametrize("missing", ["source", "target"])
def test_a_missing_table_is_named(dynamodb: DynamoDBClient, create_table: CreateTable, missing: str) -> None:
    for table in {"source", "target"} - {missing}:
        create_table(table, pk="S", sk="N")
    create_table(STATE_TABLE, pk="S", sk="S")

    with pytest.raises(InvalidInput, match=f"table '{missing}' does not exist in this account and region"):
        make_service(dynamodb).plan({}, "run-1")
    assert scan_all(dynamodb, STATE_TABLE) == []


class TableStatusOverride:
    """Delegates to the moto client but reports one table in another status (moto's are always ACTIVE)."""

    def __init__(self, client: DynamoDBClient, table: str, status: str) -> None:
        self._client = client
        self._table = table
        self._status = status

    def describe_table(self, *, TableName: str) -> Any:  # noqa: N803 - boto3's name
        response: Any = self._client.describe_table(TableName=TableName)
        if TableName == self._table:
            response["Table"]["TableStatus"] = self._status
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_table_that_is_not_active_is_refused(dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]) -> None:
    client: Any = TableStatusOverride(dynamodb, "target", "UPDATING")

    with pytest.raises(InvalidInput, match="table 'target' is UPDATING, not ACTIVE"):
        make_service(client).plan({}, "run-1")
    assert_nothing_written(dynamodb)


@pytest.mark.parametrize("execution_name", ["", None, "x" * 81])
def test_the_run_id_must_be_an_execution_name(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str], execution_name: Any
) -> None:
    with pytest.raises(InvalidInput, match="execution name"):
        make_service(dynamodb).plan({}, execution_name)
    assert_nothing_written(dynamodb)


def test_plan_checks_the_transform_on_sample_items_before_anything_starts(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(5))
    broken = make_service(dynamodb, transform_steps=[{"op": "derive", "attribute": "pk", "template": "{tenant}"}])

    with pytest.raises(TransformError, match="checked on a sample of source items before starting, nothing written"):
        broken.plan({}, "run-1")
    assert_nothing_written(dynamodb)

    drops_key = make_service(dynamodb, transform_steps=[{"op": "remove", "attribute": "sk"}])
    with pytest.raises(InvalidItemError, match="missing key attribute 'sk'"):
        drops_key.plan({}, "run-1")
    assert_nothing_written(dynamodb)


def test_an_invalid_transform_spec_fails_the_plan(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    with pytest.raises(TransformError, match="unknown op 'upsert'"):
        make_service(dynamodb, transform_steps=[{"op": "upsert"}]).plan({}, "run-1")
    assert_nothing_written(dynamodb)


def test_plan_normalises_the_input_and_writes_the_run_record(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(4))
    service = make_service(dynamodb, clock=lambda: FIXED_TIME)
    enable_pitr(dynamodb, "target")

    planned = service.plan(
        {
            "total_segments": 5,
            "time_budget_seconds": 120,
            "cleanup_destination_table": True,
            "confirm_cleanup": "target",
        },
        "run-1",
    )

    assert planned == {
        "run": {
            "run_id": "run-1",
            "source_table": "source",
            "target_table": "target",
            "total_segments": 5,
            "mode": "copy",
            "cleanup": True,
            "in_place": False,
            "time_budget_seconds": 120,
            "scan_page_size": None,
            "settle_seconds": 0,
            "sample_fraction": 1.0,
        },
        "segments": [0, 1, 2, 3, 4],
    }
    [record] = scan_all(dynamodb, STATE_TABLE)
    assert record["pk"] == {"S": "run-1"}
    assert record["sk"] == {"S": "run"}
    assert record["source_table"] == {"S": "source"}
    assert record["target_table"] == {"S": "target"}
    assert record["total_segments"] == {"N": "5"}
    assert record["mode"] == {"S": "copy"}
    assert record["cleanup"] == {"BOOL": True}
    assert record["started_at"] == {"S": "2024-05-01T12:00:00.000Z"}
    assert record["source_item_count"]["N"].isdigit()
    assert record["status"] == {"S": "RUNNING"}
    assert int(record["expires_at"]["N"]) > FIXED_TIME.timestamp()
    assert scan_all(dynamodb, "target") == []


def test_defaults_come_from_the_environment_and_a_retried_plan_keeps_the_first_record(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    first = make_service(dynamodb, clock=lambda: FIXED_TIME).plan(None, "run-1")
    later = datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    second = make_service(dynamodb, clock=lambda: later).plan({}, "run-1")

    assert first == second
    assert first["run"]["total_segments"] == 16
    assert first["run"]["cleanup"] is False
    [record] = scan_all(dynamodb, STATE_TABLE)
    assert record["started_at"] == {"S": "2024-05-01T12:00:00.000Z"}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"run": None, "phase": "copy", "segment": 0}, "'run' must be the object the plan step returned"),
        ({"phase": "copy", "segment": 0, "run": {"run_id": "r", "source_table": "source"}}, "run.target_table"),
        ({"phase": "delete", "segment": 0}, "phase must be one of cleanup, copy, verify, got 'delete'"),
        ({"phase": "copy", "segment": 4}, r"segment must be an integer in 0\.\.3, got 4"),
        ({"phase": "copy", "segment": "1"}, "segment must be an integer"),
        ({"phase": "copy", "segment": 0, "start_key": {"pk": "plain"}}, "start_key is not a DynamoDB key"),
    ],
)
def test_malformed_segment_events_are_invalid_input(event: dict[str, Any], message: str) -> None:
    run = RunSpec("r", "source", "target", total_segments=4).to_event()
    with pytest.raises(InvalidInput, match=message):
        SegmentRequest.from_event({"run": run, **event})


def test_a_segment_event_for_other_tables_is_refused(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    service: BackfillService = make_service(dynamodb)
    run = RunSpec("run-1", "source", "elsewhere", total_segments=1)
    request = SegmentRequest(run=run, phase="copy", segment=0, start_key=None)

    with pytest.raises(InvalidInput, match="run names 'source' -> 'elsewhere', but this worker migrates"):
        service.run_segment(request, lambda: 900_000)
    assert_nothing_written(dynamodb)


@pytest.mark.parametrize(
    "run",
    [
        RunSpec("run-1", "source", "target", total_segments=1, cleanup=False),
        RunSpec("run-1", "source", "source", total_segments=1, cleanup=True, in_place=True),
    ],
)
def test_a_cleanup_phase_without_a_confirmed_cleanup_is_refused(
    dynamodb: DynamoDBClient, create_table: CreateTable, run: RunSpec
) -> None:
    create_table("source", pk="S", sk="N")
    create_table("target", pk="S", sk="N")
    create_table(STATE_TABLE, pk="S", sk="S")
    put_items(dynamodb, "target", numbered_items(3))
    put_items(dynamodb, "source", numbered_items(3))
    service = make_service(dynamodb, target=run.target_table)

    with pytest.raises(InvalidInput, match="cleanup phase runs only for a run planned with a confirmed"):
        service.run_segment(SegmentRequest(run, "cleanup", 0, None), lambda: 900_000)
    assert len(scan_all(dynamodb, "target")) == 3
    assert len(scan_all(dynamodb, "source")) == 3
