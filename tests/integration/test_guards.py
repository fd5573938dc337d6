"""The guards against unsafe runs (issue 14, part 3), through the real CLI on deployed Lambdas and state machine.

For each guard: the run is refused with a message naming the fix, and the fix (or the override) lets the run
through. A refusal the CLI can make before StartExecution exits 2 and leaves no execution in the state machine's
history, and nothing in the tables changes.

Applying the module takes about a minute, so the tests share two deployments (module-scoped): a copy with
replication (its consumer deployed paused, as a backfill needs it) and target cleanup allowed, and an in-place
run. Every test puts the shared deployment back as it found it: consumer paused, run lock free.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ddbmigrate.aws import client
from ddbmigrate.cli_support import EXIT_CANNOT_RUN
from devtools.datagen import generate_items
from devtools.tables import create_table, load_items, scan_all
from migration_core.guards import LOCK_PARTITION_KEY, LOCK_SORT_KEY
from tests.support.emulator import unique
from tests.support.live import cli, run_migration
from tests.support.tables import Item, by_key, enable_pitr
from tests.support.waits import wait_until

SOURCE_KEY = {"pk": "S", "sk": "N"}
ITEM_COUNT = 300
SEGMENTS = 2
# How long the deployed pipeline may take to get somewhere on a busy machine: a deadline, never a measurement.
DEADLINE_SECONDS = 300.0


@dataclass(frozen=True)
class Deployed:
    outputs: dict[str, Any]
    source: str
    target: str

    @property
    def terraform_dir(self) -> str:
        return str(self.outputs["_terraform_dir"])

    @property
    def state_machine(self) -> str:
        return str(self.outputs["state_machine_arn"])

    def execution_arn(self, name: str) -> str:
        return f"{self.state_machine.replace(':stateMachine:', ':execution:')}:{name}"


@pytest.fixture(scope="module")
def guarded(deploy_for_module: Callable[..., dict[str, Any]]) -> Deployed:
    """A copy source -> target with replication (consumer paused) and target cleanup allowed, pre-warm off."""
    source, target = unique("gsource"), unique("gtarget")
    create_table(source, SOURCE_KEY, stream=True)
    create_table(target, SOURCE_KEY)
    assert load_items(source, generate_items(ITEM_COUNT, seed=14)) == ITEM_COUNT
    outputs = deploy_for_module(
        {
            "name": unique("guards"),
            "source_table_name": source,
            "target_table_name": target,
            "total_segments": SEGMENTS,
            "allow_target_cleanup": True,
            "replication": {"enabled": True, "consumer_enabled": False},
        }
    )
    return Deployed(outputs, source, target)


@pytest.fixture(scope="module")
def in_place(deploy_for_module: Callable[..., dict[str, Any]]) -> Deployed:
    """An in-place run that adds an attribute to every item of its one table."""
    table = unique("ginplace")
    create_table(table, SOURCE_KEY)
    assert load_items(table, generate_items(ITEM_COUNT, seed=15)) == ITEM_COUNT
    outputs = deploy_for_module(
        {
            "name": unique("inplace"),
            "source_table_name": table,
            "target_table_name": table,
            "total_segments": SEGMENTS,
            "transform": {"steps": [{"op": "set", "attribute": "schema_version", "value": json.dumps({"N": "2"})}]},
        }
    )
    return Deployed(outputs, table, table)


def execution_names(deployed: Deployed) -> set[str]:
    pages = client("stepfunctions").get_paginator("list_executions").paginate(stateMachineArn=deployed.state_machine)
    return {execution["name"] for page in pages for execution in page["executions"]}


def contents(table: str) -> dict[tuple[Any, ...], Any]:
    return by_key(scan_all(table), "pk", "sk")


def refused(deployed: Deployed, *args: str) -> str:
    """``ddb-migrate run`` with these flags, which the CLI must refuse before StartExecution: exit 2 and no new
    execution in the state machine's history. Returns the refusal (stderr) on one line."""
    before = execution_names(deployed)
    result = cli("run", "--terraform-dir", deployed.terraform_dir, *args, check=False)
    assert result.returncode == EXIT_CANNOT_RUN, result.stdout + result.stderr
    assert execution_names(deployed) == before, "a refused run must not start an execution"
    assert "starting " not in result.stdout, result.stdout
    return " ".join(result.stderr.split())


def succeeded(deployed: Deployed, *args: str, json_path: Path) -> dict[str, Any]:
    """``ddb-migrate run`` with these flags, followed to its end: it must have SUCCEEDED; returns its summary."""
    result = run_migration(deployed.terraform_dir, *args, json_path=json_path)
    assert result["_exit_code"] == 0, result["_stdout"]
    assert result["status"] == "SUCCEEDED", result["_stdout"]
    summary: dict[str, Any] = result["output"]
    return summary


def lock_record(deployed: Deployed) -> Item:
    response = client("dynamodb").get_item(
        TableName=deployed.outputs["state_table_name"],
        Key={"pk": {"S": LOCK_PARTITION_KEY}, "sk": {"S": LOCK_SORT_KEY}},
        ConsistentRead=True,
    )
    item: Item = response.get("Item", {})
    return item


def consumer_state(deployed: Deployed) -> str:
    mapping = deployed.outputs["consumer_event_source_mapping_uuid"]
    return str(client("lambda").get_event_source_mapping(UUID=mapping)["State"])


# ----------------------------------------------------------------------------------------------------------------
# Everything the CLI can check before StartExecution
# ----------------------------------------------------------------------------------------------------------------

Flags = Callable[[Deployed], list[str]]

PRE_START_REFUSALS: dict[str, tuple[Flags, Flags]] = {
    # case: (run flags, texts the refusal must contain)
    "source table of another deployment": (
        lambda d: ["--source-table", "not-this-deployments-table"],
        lambda d: [
            f"source_table 'not-this-deployments-table' is not the table this deployment migrates ('{d.source}')",
            "deploy the module for another table",
        ],
    ),
    "target table of another deployment": (
        lambda d: ["--target-table", "not-this-deployments-table"],
        lambda d: [
            f"target_table 'not-this-deployments-table' is not the table this deployment migrates ('{d.target}')",
            "deploy the module for another table",
        ],
    ),
    "cleanup without confirmation": (
        lambda d: ["--cleanup-destination-table"],
        lambda d: [f"deletes every item of '{d.target}'", f"confirm with --confirm-cleanup {d.target}"],
    ),
    "cleanup confirmed with another table's name": (
        lambda d: ["--cleanup-destination-table", "--confirm-cleanup", d.source],
        lambda d: [f"is not the target table '{d.target}'", f"confirm with --confirm-cleanup {d.target}"],
    ),
    "confirmation without cleanup": (
        lambda d: ["--confirm-cleanup", d.target],
        lambda d: ["--confirm-cleanup only confirms --cleanup-destination-table, which was not given"],
    ),
    "pre-warm on a deployment without it": (
        lambda d: ["--prewarm"],
        lambda d: ["prewarm is not enabled for this deployment", "set prewarm = { enabled = true }"],
    ),
    "pre-warm units without pre-warm": (
        lambda d: ["--prewarm-rcu", "100"],
        lambda d: ["--prewarm-rcu only apply when the run pre-warms", "add --prewarm"],
    ),
}


@pytest.mark.parametrize("case", list(PRE_START_REFUSALS))
def test_a_run_the_plan_step_would_refuse_is_refused_before_start_execution(guarded: Deployed, case: str) -> None:
    flags, expected = PRE_START_REFUSALS[case]
    source, target = contents(guarded.source), contents(guarded.target)

    message = refused(guarded, *flags(guarded))

    for text in expected(guarded):
        assert text in message, message
    assert contents(guarded.source) == source
    assert contents(guarded.target) == target


def test_a_dry_run_passes_the_checks_prints_the_plan_and_starts_nothing(guarded: Deployed) -> None:
    before = execution_names(guarded)

    result = cli("run", "--terraform-dir", guarded.terraform_dir, "--dry-run")

    assert f"plan: {guarded.source} -> {guarded.target}, {SEGMENTS} segments" in result.stdout, result.stdout
    assert "dry run: nothing started" in result.stdout
    assert execution_names(guarded) == before


# ----------------------------------------------------------------------------------------------------------------
# One run at a time
# ----------------------------------------------------------------------------------------------------------------


def test_a_second_run_is_refused_while_one_runs_and_proceeds_once_that_one_is_stopped(
    guarded: Deployed, tmp_path: Path
) -> None:
    first, second = unique("holder"), unique("second")
    first_arn = guarded.execution_arn(first)
    worker = guarded.outputs["worker_function_name"]
    lambda_client = client("lambda")
    # Pages of 10 items, one per invocation: dozens of invocations to go when the plan step has taken the lock.
    cli(
        "run", "--terraform-dir", guarded.terraform_dir, "--no-follow", "--name", first,
        "--time-budget-seconds", "0.001", "--scan-page-size", "10",
    )  # fmt: skip
    wait_until(
        lambda: lock_record(guarded).get("execution_arn", {}).get("S") == first_arn,
        f"{first}'s plan step taking the run lock",
        timeout=DEADLINE_SECONDS,
    )
    # From here no worker invocation starts: the first run stays RUNNING (its segments retry the throttling)
    # however fast this machine is, until it is stopped.
    lambda_client.put_function_concurrency(FunctionName=worker, ReservedConcurrentExecutions=0)
    try:
        assert client("stepfunctions").describe_execution(executionArn=first_arn)["status"] == "RUNNING"

        message = refused(guarded, "--name", second)

        assert f"run {first} (execution {first}, since " in message, message
        assert "is still running on this deployment, and only one run at a time may write" in message
        assert f"ddb-migrate stop {first} --terraform-dir {guarded.terraform_dir}" in message

        stopped = cli("stop", first, "--terraform-dir", guarded.terraform_dir, "--json", "-")
        assert json.loads(stopped.stdout)["stopped"] is True
        # A stopped execution runs neither summarize nor report_failure: its lock is left behind, stale.
        assert lock_record(guarded)["execution_arn"]["S"] == first_arn
    finally:
        lambda_client.delete_function_concurrency(FunctionName=worker)

    # The refused name was never used, so the run can have it.
    summary = succeeded(guarded, "--name", second, json_path=tmp_path / "second.json")

    assert summary["written"] == ITEM_COUNT
    assert contents(guarded.target) == contents(guarded.source)
    lock = lock_record(guarded)
    # The second run's plan step took the stale lock over, and the run released it when it succeeded.
    assert lock["run_id"]["S"] == second, lock
    assert "execution_arn" not in lock, lock
    assert "released_at" in lock, lock


# ----------------------------------------------------------------------------------------------------------------
# Point-in-time recovery before a run rewrites or deletes a table's items
# ----------------------------------------------------------------------------------------------------------------


def test_an_in_place_run_without_pitr_is_refused_and_runs_with_the_override_or_pitr(
    in_place: Deployed, tmp_path: Path
) -> None:
    table = in_place.source
    before = contents(table)

    message = refused(in_place)

    assert f"point-in-time recovery is not enabled on '{table}', and an in-place run rewrites every item" in message
    assert (
        f"aws dynamodb update-continuous-backups --table-name {table} "
        "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true" in message
    ), message
    assert "--allow-without-pitr" in message
    assert contents(table) == before

    # The override reaches the plan step too, which checks point-in-time recovery again.
    overridden = succeeded(in_place, "--allow-without-pitr", json_path=tmp_path / "overridden.json")
    assert overridden["written"] == ITEM_COUNT
    expected = {key: {**item, "schema_version": {"N": "2"}} for key, item in before.items()}
    assert contents(table) == expected

    enable_pitr(client("dynamodb"), table)
    with_pitr = succeeded(in_place, json_path=tmp_path / "with-pitr.json")
    assert with_pitr["written"] == ITEM_COUNT
    assert contents(table) == expected


def test_a_cleanup_of_a_target_without_pitr_is_refused_and_runs_once_pitr_is_on(
    guarded: Deployed, tmp_path: Path
) -> None:
    stale = [{"pk": {"S": f"stale#{index}"}, "sk": {"N": "0"}, "junk": {"S": "x"}} for index in range(50)]
    assert load_items(guarded.target, stale) == len(stale)
    before = contents(guarded.target)
    cleanup = ["--cleanup-destination-table", "--confirm-cleanup", guarded.target]

    message = refused(guarded, *cleanup)

    assert f"point-in-time recovery is not enabled on '{guarded.target}', and a cleanup deletes every item" in message
    assert f"aws dynamodb update-continuous-backups --table-name {guarded.target} " in message, message
    assert "--allow-without-pitr" in message
    assert contents(guarded.target) == before

    enable_pitr(client("dynamodb"), guarded.target)
    summary = succeeded(guarded, *cleanup, json_path=tmp_path / "cleanup.json")

    assert summary["written"] == ITEM_COUNT
    assert contents(guarded.target) == contents(guarded.source), "the cleanup must have deleted the stale items"


# ----------------------------------------------------------------------------------------------------------------
# The replication consumer paused during a backfill
# ----------------------------------------------------------------------------------------------------------------


@pytest.fixture
def consumer_paused_afterwards(guarded: Deployed) -> Iterator[None]:
    """Whatever the test did with the consumer, the other tests of the deployment find it paused."""
    yield
    if consumer_state(guarded) != "Disabled":
        cli("replication", "pause", "--terraform-dir", guarded.terraform_dir)


@pytest.mark.usefixtures("consumer_paused_afterwards")
def test_a_backfill_is_refused_while_the_consumer_runs_and_proceeds_once_it_is_paused(
    guarded: Deployed, tmp_path: Path
) -> None:
    resumed = cli("replication", "resume", "--terraform-dir", guarded.terraform_dir, "--json", "-")
    assert json.loads(resumed.stdout)["state"] == "Enabled"

    message = refused(guarded)

    assert "the replication consumer is Enabled: a backfill must run with it paused" in message, message
    assert f"ddb-migrate replication pause --terraform-dir {guarded.terraform_dir}" in message
    assert "--allow-consumer-running" in message
    # The override lets the run past the guard (shown without starting it: the plan step does not check the
    # consumer, so a dry run is where the override acts).
    before = execution_names(guarded)
    overridden = cli("run", "--terraform-dir", guarded.terraform_dir, "--dry-run", "--allow-consumer-running")
    assert "dry run: nothing started" in overridden.stdout, overridden.stdout + overridden.stderr
    assert execution_names(guarded) == before

    paused = cli("replication", "pause", "--terraform-dir", guarded.terraform_dir, "--json", "-")
    assert json.loads(paused.stdout)["state"] == "Disabled"
    summary = succeeded(guarded, json_path=tmp_path / "run.json")

    assert summary["written"] == ITEM_COUNT
    assert contents(guarded.target) == contents(guarded.source)
