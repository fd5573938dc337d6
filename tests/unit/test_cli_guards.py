"""``ddb-migrate run``/``plan``/``redrive`` on moto: every unsafe or invalid run is refused before StartExecution
(exit 2, one line naming the fix, no execution), and the plan with its estimate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import Result

from ddbmigrate.aws import client
from migration_core.guards import RunLock, stepfunctions_execution_status
from tests.support.deployment import SOURCE, STATE, TARGET, Deployed, deploy, end_run, start_run
from tests.support.tables import REGION, enable_pitr

pytestmark = pytest.mark.usefixtures("aws")


def executions(deployed: Deployed) -> list[str]:
    found = boto3.client("stepfunctions", region_name=REGION).list_executions(
        stateMachineArn=deployed.output("state_machine_arn")
    )["executions"]
    return sorted(execution["name"] for execution in found)


def set_worker_environment(**variables: str) -> None:
    lambda_client = boto3.client("lambda", region_name=REGION)
    current = lambda_client.get_function_configuration(FunctionName="worker")["Environment"]["Variables"]
    lambda_client.update_function_configuration(
        FunctionName="worker", Environment={"Variables": {**current, **variables}}
    )


def refused(result: Result, *fragments: str) -> str:
    """Exit 2 with a single line holding every fragment."""
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    for fragment in fragments:
        assert fragment in line, line
    return line


# ----------------------------------------------------------------------------------------------------------------
# What the plan step would refuse, refused before StartExecution
# ----------------------------------------------------------------------------------------------------------------


REFUSED_INPUT: list[tuple[list[str], list[str]]] = [
    (["--source-table", "orders"], ["source_table 'orders' is not the table this deployment migrates"]),
    (["--target-table", "orders-v2"], ["target_table 'orders-v2' is not the table", "deploy the module"]),
    (
        ["--confirm-cleanup", TARGET],
        ["--confirm-cleanup only confirms --cleanup-destination-table", "add --cleanup-destination-table"],
    ),
    (["--cleanup-destination-table"], [f"confirm with --confirm-cleanup {TARGET}"]),
    (
        ["--cleanup-destination-table", "--confirm-cleanup", SOURCE],
        [f"--confirm-cleanup '{SOURCE}' is not the target table '{TARGET}'", f"--confirm-cleanup {TARGET}"],
    ),
    (
        ["--cleanup-destination-table", "--confirm-cleanup", TARGET],
        ["not enabled for this deployment: set allow_target_cleanup = true"],
    ),
]
PREWARM_REFUSED = [
    (["--prewarm"], ["prewarm is not enabled for this deployment: set prewarm = { enabled = true }"]),
    (["--prewarm-rcu", "100"], ["--prewarm-rcu only apply when the run pre-warms", "add --prewarm"]),
    (
        ["--no-prewarm", "--prewarm-wcu", "100"],
        ["--prewarm-wcu only apply when the run pre-warms, and --no-prewarm turns it off", "drop one or the other"],
    ),
]


@pytest.mark.parametrize(
    ("command", "arguments", "fragments"),
    [("run", *case) for case in PREWARM_REFUSED]
    + [(command, *case) for command in ("run", "plan") for case in REFUSED_INPUT],
)
def test_input_the_plan_step_would_refuse_never_starts_a_run(
    deployed: Deployed, command: str, arguments: list[str], fragments: list[str]
) -> None:
    result = deployed.invoke(command, *arguments)

    refused(result, *fragments)
    assert executions(deployed) == []


# ----------------------------------------------------------------------------------------------------------------
# The run lock
# ----------------------------------------------------------------------------------------------------------------


def hold_lock(deployed: Deployed, name: str) -> str:
    arn = start_run(deployed, name)
    status = stepfunctions_execution_status(boto3.client("stepfunctions", region_name=REGION))
    RunLock(boto3.client("dynamodb", region_name=REGION), STATE).acquire(name, arn, status)
    return arn


def test_a_run_is_refused_while_another_holds_the_lock_and_runs(deployed: Deployed) -> None:
    hold_lock(deployed, "first")

    result = deployed.invoke("run", "--no-follow", "--name", "second")

    refused(
        result,
        "run first (execution first, since ",
        "is still running on this deployment",
        "ddb-migrate status first --watch --terraform-dir",
        "ddb-migrate stop first --terraform-dir",
    )
    assert executions(deployed) == ["first"]


def test_a_lock_left_by_an_ended_execution_does_not_block(deployed: Deployed) -> None:
    end_run(hold_lock(deployed, "first"), "ABORTED")

    result = deployed.invoke("run", "--no-follow", "--name", "second")

    assert result.exit_code == 0, result.output
    assert executions(deployed) == ["first", "second"]


def test_redrive_is_refused_while_another_run_holds_the_lock(deployed: Deployed) -> None:
    end_run(start_run(deployed, "failed-one"), "FAILED", error="MigrationFailed", cause="boom")
    hold_lock(deployed, "other")

    result = deployed.invoke("redrive", "failed-one")

    refused(result, "run other (execution other", "ddb-migrate stop other")
    assert executions(deployed) == ["failed-one", "other"]


# ----------------------------------------------------------------------------------------------------------------
# Point-in-time recovery before an in-place run or a cleanup
# ----------------------------------------------------------------------------------------------------------------


def test_a_cleanup_is_refused_without_pitr_on_the_target_until_enabled_or_overridden(deployed: Deployed) -> None:
    set_worker_environment(CLEANUP_ALLOWED="true")
    cleanup = ["--cleanup-destination-table", "--confirm-cleanup", TARGET]

    without = deployed.invoke("run", "--no-follow", "--name", "r1", *cleanup)
    overridden = deployed.invoke("run", "--no-follow", "--name", "r2", *cleanup, "--allow-without-pitr")

    refused(
        without,
        f"point-in-time recovery is not enabled on '{TARGET}', and a cleanup deletes every item of it",
        f"aws dynamodb update-continuous-backups --table-name {TARGET}",
        "--allow-without-pitr",
    )
    assert overridden.exit_code == 0, overridden.output
    started = boto3.client("stepfunctions", region_name=REGION).describe_execution(
        executionArn=deployed.output("state_machine_arn").replace(":stateMachine:", ":execution:") + ":r2"
    )
    assert json.loads(started["input"])["allow_without_pitr"] is True, "the plan step sees the override too"
    end_run(started["executionArn"], "SUCCEEDED")
    enable_pitr(boto3.client("dynamodb", region_name=REGION), TARGET)
    assert deployed.invoke("run", "--no-follow", "--name", "r3", *cleanup).exit_code == 0
    assert executions(deployed) == ["r2", "r3"]


def test_an_in_place_run_is_refused_without_pitr_on_the_table(deployed: Deployed) -> None:
    set_worker_environment(TARGET_TABLE=SOURCE)

    result = deployed.invoke("run", "--no-follow")

    refused(result, f"not enabled on '{SOURCE}', and an in-place run rewrites every item of it")
    assert executions(deployed) == []


# ----------------------------------------------------------------------------------------------------------------
# The replication consumer
# ----------------------------------------------------------------------------------------------------------------


def test_a_backfill_is_refused_while_the_consumer_is_enabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True, mappings_enabled=True)

    result = deployed.invoke("run", "--no-follow", "--name", "r1")
    allowed = deployed.invoke("run", "--no-follow", "--name", "r2", "--allow-consumer-running")

    refused(
        result,
        "the replication consumer is Enabled: a backfill must run with it paused",
        "ddb-migrate replication pause --terraform-dir",
        "--allow-consumer-running",
    )
    assert allowed.exit_code == 0, allowed.output
    assert executions(deployed) == ["r2"]


def test_a_paused_consumer_lets_the_backfill_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = deploy(tmp_path, monkeypatch, replication=True, mappings_enabled=False)

    result = deployed.invoke("run", "--no-follow", "--name", "r1")

    assert result.exit_code == 0, result.output
    assert executions(deployed) == ["r1"]


# ----------------------------------------------------------------------------------------------------------------
# The plan
# ----------------------------------------------------------------------------------------------------------------


def reported_size(table: str, items: int, size_bytes: int) -> None:
    """What DescribeTable reports for the table (DynamoDB's six-hourly figures; moto keeps no sizes)."""

    def adjust(parsed: dict[str, Any], **_: Any) -> None:
        description = parsed.get("Table", {})
        if description.get("TableName") == table:
            description["ItemCount"] = items
            description["TableSizeBytes"] = size_bytes

    client("dynamodb").meta.events.register("after-call.dynamodb.DescribeTable", adjust)


def test_plan_prints_tables_estimate_and_cost_and_starts_nothing(deployed: Deployed) -> None:
    reported_size(SOURCE, 40, 40 * 1500)

    result = deployed.invoke("plan", "--json", "-")

    assert result.exit_code == 0, result.output
    assert executions(deployed) == []
    text = result.stderr
    assert f"plan: {SOURCE} -> {TARGET}, 4 segments" in text
    assert f"source {SOURCE}: 40 items," in text
    assert "on demand, no maximum throughput set" in text
    assert "copy: 40 items; reads " in text
    assert "writes 80 WCU on target" in text, "about 1.5 KB per item: 2 WCU each"
    assert "DynamoDB updates item counts and table sizes about every six hours" in text
    assert "prices us-east-1, 2024-11-01" in text
    document = json.loads(result.stdout)
    assert document["tables"]["source"]["item_count"] == 40
    assert document["estimate"]["phases"][0]["write_units"] == 80
    assert document["estimate"]["prices"]["on_demand_write_per_million"] == 0.625
    assert document["input"]["total_segments"] == 4


def test_price_flags_override_the_documented_prices(deployed: Deployed) -> None:
    reported_size(SOURCE, 10, 10 * 1500)

    default = json.loads(deployed.invoke("plan", "--json", "-").stdout)["estimate"]
    doubled = json.loads(
        deployed.invoke(
            "plan", "--price-write-per-million", "1.25", "--price-read-per-million", "0.25", "--json", "-"
        ).stdout
    )["estimate"]

    assert doubled["prices"]["region"] == "given by flags"
    assert doubled["phases"][0]["cost_usd"] == pytest.approx(2 * default["phases"][0]["cost_usd"])


def test_run_dry_run_prints_the_plan_and_starts_nothing(deployed: Deployed) -> None:
    result = deployed.invoke("run", "--dry-run", "--json", "-")

    assert result.exit_code == 0, result.output
    assert "dry run: nothing started" in result.stderr
    assert json.loads(result.stdout)["dry_run"] is True
    assert executions(deployed) == []


def test_run_prints_the_plan_before_it_starts(deployed: Deployed) -> None:
    result = deployed.invoke("run", "--no-follow", "--name", "r1")

    assert result.exit_code == 0, result.output
    assert result.output.index("plan: source -> target") < result.output.index("starting r1")
    assert executions(deployed) == ["r1"]


# ----------------------------------------------------------------------------------------------------------------
# The capacity budget in the plan
# ----------------------------------------------------------------------------------------------------------------


def test_plan_resolves_the_budget_and_takes_it_as_the_rate(deployed: Deployed) -> None:
    reported_size(SOURCE, 4000, 4000 * 1000)

    result = deployed.invoke("plan", "--max-write-rate", "10", "--max-read-rate", "50%", "--json", "-")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["input"]["max_write_rate"] == "10"
    # The source is on demand with no maximum: a share is of its warm throughput as moto reports it, else of
    # the on-demand table quota.
    assert document["run"]["write_budget"] == {TARGET: 10.0}
    assert set(document["run"]["read_budget"]) == {SOURCE}
    assert "budget (max_read_rate 50%, max_write_rate 10): at most reads" in result.stderr
    # 4,000 items of 1 KB: 4,000 WCU at 10 WCU/s.
    assert document["estimate"]["phases"][0]["duration_seconds"] == pytest.approx(400)
    assert f"limited by the write budget on {TARGET} (10 WCU/s, GSIs included)" in result.stderr
    assert executions(deployed) == []


def test_a_run_longer_than_max_hours_is_warned_about(deployed: Deployed) -> None:
    reported_size(SOURCE, 72_000, 72_000 * 1000)

    result = deployed.invoke("plan", "--max-write-rate", "10", "--max-hours", "1")

    assert result.exit_code == 0, result.output
    assert "warning: the run takes about 2.0 h, longer than --max-hours 1" in result.output


@pytest.mark.parametrize("command", ["run", "plan"])
def test_a_malformed_budget_is_refused_before_starting(deployed: Deployed, command: str) -> None:
    refused(deployed.invoke(command, "--max-write-rate", "fast"), "max_write_rate must be capacity units per second")
    refused(deployed.invoke(command, "--max-read-rate", "150%"), "max_read_rate as a share must be")
    assert executions(deployed) == []


def test_verify_takes_a_read_budget_only_when_distributed(deployed: Deployed) -> None:
    result = deployed.invoke("verify", "--max-read-rate", "100")

    assert result.exit_code == 2, result.output
    assert "--max-read-rate applies to --distributed only" in result.output


def test_verify_refuses_a_malformed_read_budget_before_starting(deployed: Deployed) -> None:
    result = deployed.invoke("verify", "--distributed", "--max-read-rate", "fast")

    assert result.exit_code == 2, result.output
    assert "--max-read-rate must be capacity units per second" in result.output
    assert executions(deployed) == []
