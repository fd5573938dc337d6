"""Pre-warm through the worker: the plan's prewarm fields, the environment, the handler's capacity actions,
the capacity report in the summary and the failure cause, and the CLI's prewarm options."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from ddbmigrate import cli, cli_plan, runner
from ddbmigrate.deployment import Deployment
from migration_core.backfill import BackfillService
from migration_core.config import WorkerConfig
from migration_core.errors import ConfigurationError, InvalidInput
from migration_core.models import PrewarmSpec, RunSpec
from migration_core.transform import Transformer
from tests.support.backfill import WORKER_ENVIRONMENT, import_handler, worker_config
from tests.support.lambda_context import FakeLambdaContext
from tests.support.tables import STATE_TABLE, create_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PREWARM_ENVIRONMENT = {
    "PREWARM_ALLOWED": "true",
    "DEFAULT_PREWARM": "false",
    "DEFAULT_PREWARM_RCU": "12000",
    "DEFAULT_PREWARM_WCU": "4000",
    "DEFAULT_PREWARM_WARM_THROUGHPUT": "false",
}


def config(**overrides: Any) -> WorkerConfig:
    return worker_config(state_table=STATE_TABLE, **overrides)


def plan(dynamodb: DynamoDBClient, execution_input: Any, **overrides: Any) -> dict[str, Any]:
    settings = config(**overrides)
    service = BackfillService(
        config=settings,
        client=dynamodb,
        write_client=dynamodb,
        retry_policy=settings.retry_policy(sleep=lambda seconds: None),
        transformer_factory=lambda: Transformer.from_spec([]),
    )
    return service.plan(execution_input, "run-1")


@pytest.mark.parametrize(
    ("execution_input", "message"),
    [
        ({"prewarm": "yes"}, "prewarm must be true or false, got 'yes'"),
        ({"prewarm": True, "prewarm_rcu": 0}, "prewarm_rcu must be an integer from 1 to 40,000"),
        ({"prewarm": True, "prewarm_wcu": 40_001}, "prewarm_wcu must be an integer from 1 to 40,000"),
        ({"prewarm": True, "prewarm_wcu": 2.5}, "prewarm_wcu must be an integer"),
        ({"prewarm": True, "prewarm_rcu": True}, "prewarm_rcu must be an integer"),
        ({"prewarm": True, "prewarm_on_demand_warm_throughput": 1}, "prewarm_on_demand_warm_throughput must be true"),
        ({"prewarm_rcu": 100}, r'prewarm_rcu only apply when the run pre-warms; pass "prewarm": true'),
        ({"prewarm": False, "prewarm_on_demand_warm_throughput": True}, "only apply when the run pre-warms"),
    ],
)
def test_bad_prewarm_input_is_refused(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str], execution_input: Any, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        plan(dynamodb, execution_input, prewarm_allowed=True)


def test_prewarm_is_refused_unless_the_deployment_enables_it(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    with pytest.raises(InvalidInput, match=r"prewarm is not enabled for this deployment: set prewarm = \{ enabled"):
        plan(dynamodb, {"prewarm": True})
    # Saying no is fine anywhere, and leaves the run as it always was.
    assert "prewarm" not in plan(dynamodb, {"prewarm": False})["run"]


def test_prewarm_defaults_come_from_the_deployment(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    settings = {
        "prewarm_allowed": True,
        "default_prewarm": True,
        "default_prewarm_read_units": 3_000,
        "default_prewarm_write_units": 1_000,
        "default_warm_throughput_on_demand": True,
    }
    assert plan(dynamodb, {}, **settings)["run"]["prewarm"] == {
        "read_units": 3_000,
        "write_units": 1_000,
        "warm_throughput_on_demand": True,
    }
    assert plan(dynamodb, {"prewarm_wcu": 2_500, "prewarm_on_demand_warm_throughput": False}, **settings)["run"][
        "prewarm"
    ] == {"read_units": 3_000, "write_units": 2_500, "warm_throughput_on_demand": False}
    assert "prewarm" not in plan(dynamodb, {"prewarm": False}, **settings)["run"]
    allowed_only = plan(dynamodb, {"prewarm": True}, prewarm_allowed=True)["run"]["prewarm"]
    assert allowed_only == {"read_units": 12_000, "write_units": 4_000, "warm_throughput_on_demand": False}


def test_run_spec_round_trips_its_prewarm_settings() -> None:
    run = RunSpec("r", "source", "target", 4, prewarm=PrewarmSpec(100, 200, warm_throughput_on_demand=True))
    assert RunSpec.from_event(json.loads(json.dumps(run.to_event()))) == run
    assert "prewarm" not in RunSpec("r", "source", "target", 4).to_event()
    with pytest.raises(InvalidInput, match=r"run.prewarm.write_units must be an integer from 1 to 40000"):
        RunSpec.from_event({**run.to_event(), "prewarm": {"read_units": 1, "write_units": 0}})


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"DEFAULT_PREWARM": "true"}, "DEFAULT_PREWARM=true needs PREWARM_ALLOWED=true"),
        ({"PREWARM_ALLOWED": "yes"}, "PREWARM_ALLOWED must be true or false"),
        ({"PREWARM_ALLOWED": "true", "DEFAULT_PREWARM_RCU": "50000"}, "DEFAULT_PREWARM_RCU must be from 1 to 40000"),
        ({"DEFAULT_PREWARM_WCU": "many"}, "DEFAULT_PREWARM_WCU must be an integer"),
    ],
)
def test_bad_prewarm_environment_fails_the_cold_start(environment: dict[str, str], message: str) -> None:
    base = {**WORKER_ENVIRONMENT, "STATE_TABLE": STATE_TABLE}
    with pytest.raises(ConfigurationError, match=message):
        WorkerConfig.from_environment({**base, **environment})


def test_prewarm_environment_is_read() -> None:
    base = {**WORKER_ENVIRONMENT, "STATE_TABLE": STATE_TABLE}
    parsed = WorkerConfig.from_environment({**base, **PREWARM_ENVIRONMENT, "DEFAULT_PREWARM": "true"})
    assert (parsed.prewarm_allowed, parsed.default_prewarm) == (True, True)
    assert (parsed.default_prewarm_read_units, parsed.default_prewarm_write_units) == (12_000, 4_000)
    assert WorkerConfig.from_environment(base).prewarm_allowed is False


@pytest.fixture
def prewarm_handler(monkeypatch: pytest.MonkeyPatch, dynamodb: DynamoDBClient) -> Iterator[ModuleType]:
    """The worker with pre-warm enabled, on provisioned source and target tables in moto."""
    for name, value in {**WORKER_ENVIRONMENT, **PREWARM_ENVIRONMENT}.items():
        monkeypatch.setenv(name, value)
    for name in ("source", "target"):
        create_table(dynamodb, name, {"pk": "S", "sk": "N"}, units=(5, 5))
    create_table(dynamodb, STATE_TABLE, {"pk": "S", "sk": "S"})
    yield import_handler()
    sys.modules.pop("backfill_worker.handler", None)


def write_units(dynamodb: DynamoDBClient, table: str) -> int:
    return dynamodb.describe_table(TableName=table)["Table"]["ProvisionedThroughput"]["WriteCapacityUnits"]


def test_capacity_actions_through_the_handler_and_the_report_in_the_summary(
    prewarm_handler: ModuleType, dynamodb: DynamoDBClient
) -> None:
    context = FakeLambdaContext()
    planned = prewarm_handler.lambda_handler(
        {"action": "plan", "input": {"prewarm": True, "prewarm_wcu": 900}, "execution": "run-1"}, context
    )
    run = planned["run"]
    assert run["prewarm"] == {"read_units": 12_000, "write_units": 900, "warm_throughput_on_demand": False}

    capacity = prewarm_handler.lambda_handler({"action": "capacity_capture", "run": run}, context)
    assert set(capacity) == {"prewarmed", "original", "raise", "reset"}, "the ResultSelector picks these four"
    capacity = prewarm_handler.lambda_handler({"action": "capacity_raise", "run": run, "capacity": capacity}, context)
    assert capacity["raise"]["ready"] is True
    assert write_units(dynamodb, "target") == 900
    capacity = prewarm_handler.lambda_handler({"action": "capacity_status", "run": run, "capacity": capacity}, context)
    assert capacity["raise"]["checks"] == 1
    capacity = prewarm_handler.lambda_handler({"action": "capacity_reset", "run": run, "capacity": capacity}, context)
    assert capacity["reset"]["pending"] is False
    assert write_units(dynamodb, "target") == 5
    json.dumps(capacity)

    for segment in planned["segments"]:
        event = {"action": "segment", "run": run, "phase": "copy", "segment": segment, "start_key": None}
        assert prewarm_handler.lambda_handler(event, context)["done"] is True
    summary = prewarm_handler.lambda_handler({"action": "summarize", "run": run, "capacity": capacity}, context)

    assert summary["segments_done"] == len(planned["segments"])
    assert summary["capacity"]["reset"]["status"] == "restored"
    assert [change["setting"] for change in summary["capacity"]["planned"]] == ["provisioned", "provisioned"]
    not_prewarmed = {"prewarmed": False, "original": None, "raise": None, "reset": None}
    assert "capacity" not in prewarm_handler.lambda_handler(
        {"action": "summarize", "run": run, "capacity": not_prewarmed}, context
    )


def test_failure_cause_carries_the_reset_report(prewarm_handler: ModuleType, dynamodb: DynamoDBClient) -> None:
    context = FakeLambdaContext()
    planned = prewarm_handler.lambda_handler(
        {"action": "plan", "input": {"prewarm": True}, "execution": "run-1"}, context
    )
    run = planned["run"]
    capacity = prewarm_handler.lambda_handler({"action": "capacity_capture", "run": run}, context)
    capacity = prewarm_handler.lambda_handler({"action": "capacity_raise", "run": run, "capacity": capacity}, context)
    # The reset Lambda itself failed (the state machine's Catch keeps the error in $.capacity.reset_error).
    capacity["reset_error"] = {"Error": "Lambda.Unknown", "Cause": "out of memory"}
    error = {"Error": "States.ExceedToleratedFailureThreshold", "Cause": "segment 1 failed"}

    report = prewarm_handler.lambda_handler(
        {"action": "report_failure", "run": run, "error": error, "capacity": capacity}, context
    )

    assert report["error"] == "MigrationFailed"
    cause = report["cause"]
    assert "States.ExceedToleratedFailureThreshold: segment 1 failed" in cause, "the run's own error comes first"
    assert "reset: failed" in cause
    assert "The reset itself failed: Lambda.Unknown: out of memory" in cause
    assert (
        "aws dynamodb update-table --table-name source --provisioned-throughput "
        "ReadCapacityUnits=5,WriteCapacityUnits=5" in cause
    )
    assert (
        "aws dynamodb update-table --table-name target --provisioned-throughput "
        "ReadCapacityUnits=5,WriteCapacityUnits=5" in cause
    )


def test_capacity_actions_are_refused_without_prewarm(
    monkeypatch: pytest.MonkeyPatch, dynamodb: DynamoDBClient
) -> None:
    for name, value in WORKER_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    handler = import_handler()
    try:
        run = RunSpec("run-1", "source", "target", 2, prewarm=PrewarmSpec(1, 1)).to_event()
        with pytest.raises(InvalidInput, match="pre-warm is not enabled for this deployment"):
            handler.lambda_handler({"action": "capacity_capture", "run": run}, FakeLambdaContext())
    finally:
        sys.modules.pop("backfill_worker.handler", None)


@pytest.mark.parametrize(
    ("arguments", "environment", "expected"),
    [
        ([], {}, {}),
        (["--prewarm"], {}, {"prewarm": True}),
        (
            ["--prewarm", "--prewarm-rcu", "20000", "--prewarm-wcu", "5000", "--prewarm-warm-throughput"],
            {},
            {"prewarm": True, "prewarm_rcu": 20_000, "prewarm_wcu": 5_000, "prewarm_on_demand_warm_throughput": True},
        ),
        (["--no-prewarm"], {"PREWARM_RCU": "100"}, {"prewarm": False}),
        ([], {"PREWARM": "true", "PREWARM_WCU": "700"}, {"prewarm": True, "prewarm_wcu": 700}),
        (["--prewarm-rcu", "300"], {}, {"prewarm_rcu": 300}),
    ],
)
def test_cli_run_sends_only_the_prewarm_fields_given(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    arguments: list[str],
    environment: dict[str, str],
    expected: dict[str, Any],
) -> None:
    for name in ("PREWARM", "PREWARM_RCU", "PREWARM_WCU", "PREWARM_WARM_THROUGHPUT"):
        monkeypatch.delenv(name, raising=False)
    # A deployment whose runs pre-warm by default: sizes alone then apply (without it, see test_cli_guards).
    deployment = Deployment("arn:sm", "worker", "source", "target", STATE_TABLE, 4, {}, {"DEFAULT_PREWARM": "true"})
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(cli, "_deployment", lambda *_: deployment)

    def start_execution(deployment: Deployment, run_input: dict[str, Any], name: str) -> str:
        started.append(run_input)
        return f"arn:aws:states:us-east-1:123456789012:execution:sm:{name}"

    monkeypatch.setattr(runner, "start_execution", start_execution)
    # The checks and the plan before StartExecution read AWS; this test is about the input the CLI builds.
    monkeypatch.setattr(cli_plan, "check_run", lambda *_: RunSpec("run-1", "source", "target", 4))
    monkeypatch.setattr(cli_plan, "plan_report", lambda *_, **__: {"_text": []})

    result = CliRunner().invoke(cli.main, ["run", "--no-follow", *arguments], env=environment, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    prewarm_fields = {key: value for key, value in started[0].items() if key.startswith("prewarm")}
    assert prewarm_fields == expected


def test_cli_refuses_prewarm_units_above_the_quota() -> None:
    result = CliRunner().invoke(cli.main, ["run", "--prewarm-rcu", "40001"])
    assert result.exit_code == 2
    assert "40001" in result.output
