"""``ddb-migrate run|status|runs|stop|redrive`` on moto: acting on runs, and how a failed run is shown."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from rich.console import Console

from ddbmigrate import runner
from ddbmigrate.cli import main
from ddbmigrate.deployment import load_deployment
from tests.support.deployment import Deployed, answer, end_run, fake_terraform, start_run
from tests.support.tables import REGION

pytestmark = pytest.mark.usefixtures("aws")

# As the worker writes keys into its messages (migration_core.attribute_values.format_key): wire JSON.
KEY = '{"pk":{"S":"item#7"},"sk":{"N":"3"}}'
LAMBDA_CAUSE = json.dumps(
    {
        "errorMessage": f"source item {KEY}: division by zero",
        "errorType": "TransformError",
        "requestId": "0f0e",
        "stackTrace": [
            '  File "/var/task/handler.py", line 40, in lambda_handler\n    return SERVICE.segment(request)\n',
            '  File "/var/task/migration_core/segment.py", line 116, in _run\n    raise TransformError(...)\n',
        ],
    }
)
REPORT_CAUSE = "\n".join(
    [
        f"Migration run r1 (source -> target) failed: States.TaskFailed: {LAMBDA_CAUSE}",
        "Copy segments done: 3 of 4.",
        "Failed segments: 1.",
        f"  copy segment 2: TransformError: source item {KEY}: division by zero",
        "Counts so far: scanned=120, written=100",
    ]
)


# ----------------------------------------------------------------------------------------------------------------
# runs and status
# ----------------------------------------------------------------------------------------------------------------


def test_runs_lists_the_runs_newest_first_with_status_and_times(deployed: Deployed) -> None:
    first = start_run(deployed, "run-1")
    start_run(deployed, "run-2")
    end_run(first, "FAILED", error="MigrationFailed", cause="boom")

    result = deployed.invoke("runs", "--json", "-")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [(run["name"], run["status"]) for run in document["runs"]] == [("run-2", "RUNNING"), ("run-1", "FAILED")]
    assert document["runs"][1]["stop_date"] is not None
    assert document["runs"][0]["stop_date"] is None
    assert "run-1" in result.stderr
    assert "FAILED" in result.stderr


def test_runs_filters_by_status_and_limits(deployed: Deployed) -> None:
    for index in range(3):
        start_run(deployed, f"run-{index}")
    end_run(start_run(deployed, "failed-one"), "FAILED")

    failed = deployed.invoke("runs", "--status", "FAILED")
    limited = deployed.invoke("runs", "--limit", "2", "--json", "-")

    assert failed.exit_code == 0
    assert "failed-one" in failed.output
    assert "run-0" not in failed.output
    assert len(json.loads(limited.stdout)["runs"]) == 2


def test_status_without_a_name_shows_the_latest_run(deployed: Deployed) -> None:
    start_run(deployed, "older")
    start_run(deployed, "newest")

    result = deployed.invoke("status")

    assert result.exit_code == 0, result.output
    assert "latest run: newest" in result.output
    assert "newest: RUNNING" in result.output
    assert "ddb-migrate status newest --watch --terraform-dir" in result.output


def test_status_prints_the_dashboard_of_the_deployment(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/m"
    fake_terraform(tmp_path, monkeypatch, {**deployed.outputs, "dashboard_url": url})
    start_run(deployed, "r-dash")

    result = deployed.invoke("status", "--json", "-")

    assert result.exit_code == 0, result.output
    assert f"dashboard: {url}" in result.stderr.splitlines()
    assert json.loads(result.stdout)["dashboard_url"] == url


def test_status_of_a_missing_execution_exits_2_with_one_line(deployed: Deployed) -> None:
    result = deployed.invoke("status", "no-such-run")

    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "no execution no-such-run" in line
    assert "ddb-migrate runs" in line


def test_status_with_no_runs_at_all_exits_2(deployed: Deployed) -> None:
    result = deployed.invoke("status")

    assert result.exit_code == 2
    assert "no runs of" in result.output


def test_a_failed_run_shows_type_message_segment_and_key_not_the_raw_json(deployed: Deployed, tmp_path: Path) -> None:
    arn = start_run(deployed, "r1")
    end_run(arn, "FAILED", error="MigrationFailed", cause=REPORT_CAUSE)
    report = tmp_path / "status.json"

    result = deployed.invoke("status", "r1", "--json", str(report))

    assert result.exit_code == 1
    assert "FAILED: Migration run r1 (source -> target) failed: States.TaskFailed: TransformError: source" in (
        result.output
    )
    assert "copy segment 2: TransformError" in result.output
    assert f"item key: {KEY}" in result.output
    assert "Copy segments done: 3 of 4." in result.output
    assert "stackTrace" not in result.output
    assert "File " not in result.output, "the stack trace is for --debug"
    assert "ddb-migrate redrive r1 --terraform-dir" in result.output
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["status"] == "FAILED"
    assert document["cause"] == REPORT_CAUSE, "the raw cause stays, for scripts that read it"
    failure = document["failure"]
    assert failure["type"] == "TransformError"
    assert failure["segments"] == [
        {"phase": "copy", "segment": 2, "error": f"TransformError: source item {KEY}: division by zero"}
    ]
    assert failure["key"] == KEY
    assert isinstance(failure["stack"], list)
    assert failure["stack"][0].startswith('  File "/var/task/handler.py"')


def test_debug_shows_the_lambda_stack_trace(deployed: Deployed) -> None:
    end_run(start_run(deployed, "r1"), "FAILED", error="TransformError", cause=LAMBDA_CAUSE)

    plain = deployed.invoke("status", "r1")
    debug = CliRunner().invoke(main, ["--debug", "status", "r1", "--terraform-dir", str(deployed.terraform_dir)])

    assert plain.exit_code == debug.exit_code == 1
    assert f"FAILED: TransformError: source item {KEY}: division by zero" in plain.output
    assert "segment.py" not in plain.output
    assert 'File "/var/task/migration_core/segment.py", line 116' in debug.output


# ----------------------------------------------------------------------------------------------------------------
# Reading a failure
# ----------------------------------------------------------------------------------------------------------------


def test_a_lambda_error_cause_is_read_as_type_message_and_stack() -> None:
    failure = runner.parse_failure("TransformError", LAMBDA_CAUSE)

    assert failure.error_type == "TransformError"
    assert failure.message == f"source item {KEY}: division by zero"
    assert failure.key == KEY
    assert len(failure.stack) == 2


def test_a_lambda_error_cut_short_in_the_report_still_gives_type_and_message() -> None:
    cut = LAMBDA_CAUSE[: LAMBDA_CAUSE.index('"stackTrace"') + 30]
    failure = runner.parse_failure("MigrationFailed", f"Migration run r failed: States.TaskFailed: {cut}\nCounts: 1")

    assert failure.error_type == "TransformError"
    assert "States.TaskFailed: TransformError: source item" in failure.message
    assert "errorMessage" not in failure.message
    assert failure.details == ("Counts: 1",)


def test_a_plain_cause_is_kept_as_the_message() -> None:
    failure = runner.parse_failure("States.Timeout", "the execution timed out")

    assert failure.headline == "States.Timeout: the execution timed out"
    assert failure.stack == ()
    assert runner.parse_failure(None, None).headline == "error"


# ----------------------------------------------------------------------------------------------------------------
# run: the name before the start, --no-follow, Ctrl-C
# ----------------------------------------------------------------------------------------------------------------


def test_run_no_follow_prints_the_command_that_follows_it(deployed: Deployed) -> None:
    result = deployed.invoke("run", "--no-follow", "--name", "r-nofollow", "--json", "-")

    assert result.exit_code == 0, result.output
    assert "follow it with: ddb-migrate status r-nofollow --watch --terraform-dir" in result.stderr
    document = json.loads(result.stdout)
    assert document["name"] == "r-nofollow"
    assert document["status"] == "RUNNING"
    # Piped output is not wrapped: the ARN stays on one line.
    assert f"started r-nofollow: {document['execution_arn']}" in result.stderr.splitlines()


def test_ctrl_c_while_following_says_the_run_continues_and_how_to_follow_or_stop_it(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: Any, **__: Any) -> runner.ExecutionResult:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "follow", interrupted)

    result = deployed.invoke("run", "--name", "r-followed")

    assert result.exit_code == 130
    assert "the run r-followed continues in Step Functions" in result.output
    assert "ddb-migrate status r-followed --watch --terraform-dir" in result.output
    assert "ddb-migrate stop r-followed --terraform-dir" in result.output
    assert "Aborted" not in result.output


def test_ctrl_c_while_starting_names_the_run_that_may_have_started(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []

    def start_then_interrupt(deployment: Any, run_input: dict[str, Any], name: str) -> str:
        started.append(name)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "start_execution", start_then_interrupt)

    result = deployed.invoke("run")

    assert result.exit_code == 130
    [name] = started
    assert result.output.index(f"starting {name}") < result.output.index("interrupted while starting")
    assert f"ddb-migrate stop {name} --terraform-dir" in result.output
    assert f"ddb-migrate status {name} --terraform-dir" in result.output


def test_the_deprecated_json_output_flag_still_writes_the_result(deployed: Deployed, tmp_path: Path) -> None:
    path = tmp_path / "run.json"

    result = deployed.invoke("run", "--no-follow", "--name", "r-old", "--json-output", str(path))

    assert result.exit_code == 0, result.output
    assert json.loads(path.read_text(encoding="utf-8"))["name"] == "r-old"
    assert "--json-output is deprecated; use --json" in result.stderr
    assert "--json-output" not in CliRunner().invoke(main, ["run", "--help"]).output


def test_following_rides_out_transient_api_errors(deployed: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = start_run(deployed, "r-flaky")
    steps = iter(["throttle", "throttle", "running", "done"])

    def describe(execution_arn: str) -> runner.ExecutionResult:
        step = next(steps)
        if step == "throttle":
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "DescribeExecution")
        status = "RUNNING" if step == "running" else "SUCCEEDED"
        return runner.ExecutionResult(execution_arn, status, {}, None, None)

    monkeypatch.setattr(runner, "describe", describe)
    output = io.StringIO()

    result = runner.follow(
        load_deployment(None, deployed.terraform_dir), arn, Console(file=output), sleep=lambda _: None
    )

    assert result.status == "SUCCEEDED"
    assert output.getvalue().count("polling failed (ClientError); trying again") == 2


def test_following_gives_up_on_an_error_that_is_not_transient(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    def describe(execution_arn: str) -> runner.ExecutionResult:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeExecution")

    monkeypatch.setattr(runner, "describe", describe)

    with pytest.raises(ClientError):
        runner.follow(
            load_deployment(None, deployed.terraform_dir),
            start_run(deployed, "r-denied"),
            Console(file=io.StringIO()),
            sleep=lambda _: None,
        )


# ----------------------------------------------------------------------------------------------------------------
# stop
# ----------------------------------------------------------------------------------------------------------------

ORIGINAL = {
    "tables": [
        {
            "name": "source",
            "billing_mode": "PROVISIONED",
            "status": "ACTIVE",
            "resources": [
                {
                    "index": None,
                    "status": "ACTIVE",
                    "provisioned": {"read": 5, "write": 5},
                    "warm": {},
                    "warm_status": None,
                    "on_demand_max": {},
                    "auto_scaling": {},
                }
            ],
        }
    ]
}
RAISED = {
    "changes": [
        {"table": "source", "index": None, "setting": "provisioned", "dimension": "read", "before": 5, "after": 12000}
    ],
    "applied": ["provisioned:read:table/source"],
    "ready": True,
    "checks": 1,
}


def history(*documents: dict[str, Any]) -> dict[str, Any]:
    """GetExecutionHistory, newest first, whose states carried these documents (oldest first)."""
    events = [
        {
            "timestamp": datetime(2025, 1, 1, tzinfo=UTC).isoformat(),
            "type": "TaskStateEntered",
            "id": index + 2,
            "previousEventId": index + 1,
            "stateEnteredEventDetails": {"name": f"State{index}", "input": json.dumps(document)},
        }
        for index, document in enumerate(documents)
    ]
    return {"events": list(reversed(events))}


def test_stop_stops_a_running_run_and_says_when_there_is_nothing_to_restore(deployed: Deployed) -> None:
    start_run(deployed, "r-stop")

    result = deployed.invoke("stop", "r-stop", "--json", "-")

    assert result.exit_code == 0, result.output
    assert "stopped r-stop: ABORTED" in result.stderr
    assert "raised no capacity; nothing to restore" in result.stderr
    assert "ddb-migrate redrive r-stop --terraform-dir" in result.stderr
    document = json.loads(result.stdout)
    assert document["stopped"] is True
    assert document["status"] == "ABORTED"
    assert document["capacity_restore_needed"] is False
    assert deployed.invoke("runs", "--json", "-").stdout.count('"ABORTED"') == 1


def test_stop_no_reset_of_a_prewarmed_run_prints_the_commands_that_restore_the_capacity(deployed: Deployed) -> None:
    start_run(deployed, "r-warm")
    calls = answer(
        "GetExecutionHistory",
        lambda _: history(
            {"run": {}, "capacity": {"prewarmed": True, "original": ORIGINAL, "raise": None, "reset": None}},
            {"run": {}, "capacity": {"prewarmed": True, "original": ORIGINAL, "raise": RAISED, "reset": None}},
        ),
    )

    result = deployed.invoke("stop", "r-warm", "--no-reset")

    assert result.exit_code == 0, result.output
    assert calls[0]["reverseOrder"] is True
    assert "a stopped run runs no Catch" in result.output
    assert "source: provisioned read 5 -> 12000" in result.output
    assert (
        "aws dynamodb update-table --table-name source --provisioned-throughput "
        "ReadCapacityUnits=5,WriteCapacityUnits=5"
    ) in result.output


def test_stop_during_the_raise_lists_the_original_settings(deployed: Deployed) -> None:
    start_run(deployed, "r-raising")
    answer(
        "GetExecutionHistory",
        lambda _: history({"capacity": {"prewarmed": True, "original": ORIGINAL, "raise": None, "reset": None}}),
    )

    result = deployed.invoke("stop", "r-raising", "--json", "-")

    assert result.exit_code == 0, result.output
    assert "what it changed is not recorded" in result.stderr
    assert "source: provisioned read 5, write 5" in result.stderr
    assert json.loads(result.stdout)["capacity_restore_needed"] is True


def test_stop_accepts_an_execution_arn_without_deployment_flags(deployed: Deployed) -> None:
    arn = start_run(deployed, "r-arn")

    result = CliRunner().invoke(main, ["stop", arn])

    assert result.exit_code == 0, result.output
    assert "stopped r-arn: ABORTED" in result.output


def test_stop_of_a_finished_run_stops_nothing(deployed: Deployed) -> None:
    end_run(start_run(deployed, "r-done"), "SUCCEEDED")

    result = deployed.invoke("stop", "r-done")

    assert result.exit_code == 0
    assert "r-done is not running (SUCCEEDED); nothing stopped" in result.output


def test_stop_of_a_missing_run_exits_2(deployed: Deployed) -> None:
    result = deployed.invoke("stop", "ghost")

    assert result.exit_code == 2
    assert "no execution ghost" in result.output


# ----------------------------------------------------------------------------------------------------------------
# redrive
# ----------------------------------------------------------------------------------------------------------------


def test_redrive_resumes_a_failed_run_in_a_new_execution_with_its_input(deployed: Deployed) -> None:
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    original_input = {"total_segments": 4, "scan_page_size": 100}
    arn = stepfunctions.start_execution(
        stateMachineArn=deployed.output("state_machine_arn"), name="r-failed", input=json.dumps(original_input)
    )["executionArn"]
    end_run(arn, "FAILED", error="MigrationFailed", cause="segment 1 failed")

    result = deployed.invoke("redrive", "r-failed")

    assert result.exit_code == 0, result.output
    assert "resuming run r-failed (r-failed is FAILED)" in result.output
    (resumed,) = [
        execution
        for execution in stepfunctions.list_executions(stateMachineArn=deployed.output("state_machine_arn"))[
            "executions"
        ]
        if execution["name"].startswith("resume-")
    ]
    started = stepfunctions.describe_execution(executionArn=resumed["executionArn"])
    assert json.loads(started["input"]) == {**original_input, "resume_run_id": "r-failed"}
    assert f"ddb-migrate status {resumed['name']} --watch --terraform-dir" in result.output


def test_redrive_of_a_resumed_run_resumes_the_original_run(deployed: Deployed) -> None:
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    arn = stepfunctions.start_execution(
        stateMachineArn=deployed.output("state_machine_arn"),
        name="resume-1",
        input=json.dumps({"resume_run_id": "r-first"}),
    )["executionArn"]
    end_run(arn, "ABORTED")

    result = deployed.invoke("redrive", "resume-1")

    assert result.exit_code == 0, result.output
    assert "resuming run r-first (resume-1 is ABORTED)" in result.output


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED"])
def test_only_an_unsuccessful_run_can_be_redriven(deployed: Deployed, status: str) -> None:
    arn = start_run(deployed, "r-busy")
    if status != "RUNNING":
        end_run(arn, status)

    result = deployed.invoke("redrive", "r-busy")

    assert result.exit_code == 2
    assert f"r-busy is {status}" in result.output
