"""Capacity pre-warm end to end: terraform apply with prewarm enabled, then `ddb-migrate run --prewarm ...`.

The capacity is raised inside the state machine before the Maps and put back after them, on success and on
failure. What was raised is observed twice: by polling DescribeTable while the run is going, and in the
execution history (the RaiseCapacity state's output).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ddbmigrate.aws import client
from devtools.datagen import generate_items
from devtools.tables import load_items, scan_all
from tests.support import tables
from tests.support.live import cli, run_migration

GSI = "by-tenant"


def capacity_table(name: str, *, provisioned: tuple[int, int] | None, gsi: bool = True) -> str:
    """pk S + sk N, with a GSI on tenant; provisioned None makes the table on-demand."""
    dynamodb = client("dynamodb")
    tables.create_table(
        dynamodb, name, {"pk": "S", "sk": "N"}, units=provisioned, indexes={GSI: {"tenant": "S"}} if gsi else None
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return name


def capacity(table: str) -> dict[str, int]:
    """Provisioned units and warm throughput of the table and its GSI, flattened for comparisons."""
    description = client("dynamodb").describe_table(TableName=table)["Table"]
    values = {
        "read": description["ProvisionedThroughput"]["ReadCapacityUnits"],
        "write": description["ProvisionedThroughput"]["WriteCapacityUnits"],
        "warm_read": description.get("WarmThroughput", {}).get("ReadUnitsPerSecond", 0),
        "warm_write": description.get("WarmThroughput", {}).get("WriteUnitsPerSecond", 0),
    }
    for index in description.get("GlobalSecondaryIndexes", []):
        values["gsi_read"] = index["ProvisionedThroughput"]["ReadCapacityUnits"]
        values["gsi_write"] = index["ProvisionedThroughput"]["WriteCapacityUnits"]
        values["gsi_warm_write"] = index.get("WarmThroughput", {}).get("WriteUnitsPerSecond", 0)
    return values


@contextmanager
def highest_capacity(*tables: str) -> Iterator[dict[str, dict[str, int]]]:
    """Poll DescribeTable while the block runs; yields the highest value seen per table and setting."""
    seen: dict[str, dict[str, int]] = {table: {} for table in tables}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            for table in tables:
                for name, value in capacity(table).items():
                    seen[table][name] = max(seen[table].get(name, 0), value)
            stop.wait(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        yield seen
    finally:
        stop.set()
        poller.join(timeout=10)


def history(execution_arn: str) -> list[dict[str, Any]]:
    stepfunctions = client("stepfunctions")
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = stepfunctions.get_execution_history(
            executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            break
    return events


def state_outputs(execution_arn: str, state: str) -> list[dict[str, Any]]:
    """The outputs of every time the execution left ``state``, from its history."""
    return [
        json.loads(event["stateExitedEventDetails"]["output"])
        for event in history(execution_arn)
        if event.get("stateExitedEventDetails", {}).get("name") == state
    ]


def states_entered(execution_arn: str) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in history(execution_arn)
        if "stateEnteredEventDetails" in event
    ]


def deploy_with_prewarm(
    deploy: Callable[..., dict[str, Any]], name: str, source: str, target: str, **extra: Any
) -> dict[str, Any]:
    return deploy(
        {
            "name": name,
            "source_table_name": source,
            "target_table_name": target,
            "total_segments": 4,
            "prewarm": {"enabled": True, "by_default": False},
            **extra,
        }
    )


@pytest.fixture
def names(unique_name: Callable[[str], str]) -> Callable[[str], str]:
    return unique_name


def test_provisioned_tables_are_raised_for_the_run_and_restored_after(
    deploy: Callable[..., dict[str, Any]], names: Callable[[str], str], tmp_path: Path
) -> None:
    source = capacity_table(names("source"), provisioned=(5, 5))
    target = capacity_table(names("target"), provisioned=(7, 3))
    assert load_items(source, generate_items(600)) == 600
    before = {source: capacity(source), target: capacity(target)}
    outputs = deploy_with_prewarm(deploy, names("warm"), source, target)

    with highest_capacity(source, target) as seen:
        result = run_migration(
            outputs["_terraform_dir"],
            "--prewarm",
            "--prewarm-rcu",
            "3000",
            "--prewarm-wcu",
            "1000",
            json_path=tmp_path / "run.json",
        )

    assert result["_exit_code"] == 0, result["_stdout"]
    assert result["status"] == "SUCCEEDED"
    summary = result["output"]
    assert summary["written"] == 600
    assert len(scan_all(target)) == 600
    # During the run: source read, target write and the target's GSI write were raised; nothing else.
    assert seen[source]["read"] == 3_000
    assert seen[source]["write"] == 5
    assert seen[source]["gsi_write"] == 5, "the source's GSIs are not read by the scan"
    assert seen[target]["write"] == 1_000
    assert seen[target]["gsi_write"] == 1_000, "every write to the target also writes its GSI"
    assert seen[target]["read"] == 7
    # After the run: everything is back.
    assert {source: capacity(source), target: capacity(target)} == before
    report = summary["capacity"]
    assert report["reset"]["status"] == "restored"
    assert report["reset"]["operator_action_needed"] is False
    assert {
        (c["table"], c["index"], c["setting"], c["dimension"], c["before"], c["after"]) for c in report["planned"]
    } == {
        (source, None, "provisioned", "read", 5, 3_000),
        (target, None, "provisioned", "write", 3, 1_000),
        (target, GSI, "provisioned", "write", 3, 1_000),
    }
    [raised] = state_outputs(result["execution_arn"], "RaiseCapacity")
    assert raised["capacity"]["raise"]["ready"] is True
    assert len(raised["capacity"]["raise"]["applied"]) == 3
    assert raised["run"]["prewarm"] == {"read_units": 3_000, "write_units": 1_000, "warm_throughput_on_demand": False}
    assert set(raised["passes"]) == {"cleanup", "copy"}, "the capacity states keep $.run and each Map's segments"

    # The same deployment without --prewarm (its by_default is false) never touches capacity.
    with highest_capacity(source, target) as untouched:
        plain = run_migration(outputs["_terraform_dir"], json_path=tmp_path / "plain.json")
    assert plain["status"] == "SUCCEEDED", plain["_stdout"]
    assert "capacity" not in plain["output"]
    assert untouched[target]["write"] == 3
    assert untouched[source]["read"] == 5


def test_a_failing_run_still_restores_capacity_and_reports_it(
    deploy: Callable[..., dict[str, Any]], names: Callable[[str], str], tmp_path: Path
) -> None:
    source = capacity_table(names("source"), provisioned=(5, 5))
    target = capacity_table(names("target"), provisioned=(5, 5))
    # The items are scanned in the order they were written, so the plan's sample of 25 sees only good items.
    load_items(source, generate_items(300))
    poisoned = next(generate_items(1, start=300))
    poisoned["poison"] = {"BOOL": True}
    load_items(source, [poisoned])
    custom = tmp_path / "poison.py"
    custom.write_text(
        "def transform(item):\n"
        "    if 'poison' in item:\n"
        "        raise ValueError('this item cannot be migrated')\n"
        "    return item\n",
        encoding="utf-8",
    )
    before = {source: capacity(source), target: capacity(target)}
    outputs = deploy_with_prewarm(deploy, names("fail"), source, target, transform={"custom_file": str(custom)})

    with highest_capacity(source, target) as seen:
        result = run_migration(
            outputs["_terraform_dir"], "--prewarm", "--prewarm-wcu", "900", json_path=tmp_path / "run.json"
        )

    assert result["_exit_code"] != 0
    assert result["status"] == "FAILED"
    assert result["error"] == "MigrationFailed", "the run's own failure, not the reset's"
    assert seen[target]["write"] == 900
    assert seen[source]["read"] == 12_000, "the deployment's default read units"
    assert {source: capacity(source), target: capacity(target)} == before
    cause = result["cause"]
    assert "Capacity pre-warm: 3 setting(s) planned, 3 changed; reset: restored." in cause, cause
    resets = state_outputs(result["execution_arn"], "ResetCapacity")
    assert resets[-1]["capacity"]["reset"]["status"] == "restored"
    # The failed segment fails the Map (Catch -> ResetChoice), or, where the orchestrator lets a failed child
    # pass, Summarize refuses the incomplete run (Catch -> ReportFailure): the reset comes first either way.
    entered = states_entered(result["execution_arn"])
    assert entered.index("ResetCapacity") < entered.index("ReportFailure"), entered
    assert entered[-1] == "Failed"


def test_auto_scaled_target_has_its_scalable_target_raised_and_restored(
    deploy: Callable[..., dict[str, Any]], names: Callable[[str], str], tmp_path: Path
) -> None:
    source = capacity_table(names("source"), provisioned=(5, 5), gsi=False)
    target = capacity_table(names("target"), provisioned=(5, 5), gsi=False)
    autoscaling = client("application-autoscaling")
    autoscaling.register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId=f"table/{target}",
        ScalableDimension="dynamodb:table:WriteCapacityUnits",
        MinCapacity=5,
        MaxCapacity=100,
    )
    load_items(source, generate_items(200))
    outputs = deploy_with_prewarm(deploy, names("scaled"), source, target)

    result = run_migration(
        outputs["_terraform_dir"], "--prewarm", "--prewarm-wcu", "800", json_path=tmp_path / "run.json"
    )

    assert result["status"] == "SUCCEEDED", result["_stdout"]
    [raised] = state_outputs(result["execution_arn"], "RaiseCapacity")
    scaling = [c for c in raised["capacity"]["raise"]["changes"] if c["setting"] == "auto_scaling"]
    assert scaling == [
        {
            "table": target,
            "index": None,
            "setting": "auto_scaling",
            "dimension": "write",
            "before": 5,
            "after": 800,
            "max_before": 100,
            "max_after": 800,
        }
    ]
    [bounds] = autoscaling.describe_scalable_targets(ServiceNamespace="dynamodb", ResourceIds=[f"table/{target}"])[
        "ScalableTargets"
    ]
    assert (bounds["MinCapacity"], bounds["MaxCapacity"]) == (5, 100)
    assert capacity(target)["write"] == 5
    statuses = {
        (e["setting"], e["status"]) for e in result["output"]["capacity"]["reset"]["entries"] if e["table"] == target
    }
    assert statuses == {("auto_scaling", "restored"), ("provisioned", "restored")}


def test_on_demand_tables_are_left_alone_unless_warm_throughput_is_requested(
    deploy: Callable[..., dict[str, Any]], names: Callable[[str], str], tmp_path: Path
) -> None:
    source = capacity_table(names("source"), provisioned=None, gsi=False)
    target = capacity_table(names("target"), provisioned=None)
    load_items(source, generate_items(100))
    before = {source: capacity(source), target: capacity(target)}
    outputs = deploy_with_prewarm(deploy, names("ondemand"), source, target)

    plain = run_migration(outputs["_terraform_dir"], "--prewarm", json_path=tmp_path / "plain.json")

    assert plain["status"] == "SUCCEEDED", plain["_stdout"]
    assert plain["output"]["capacity"]["planned"] == []
    assert any("on-demand: left alone" in note for note in plain["output"]["capacity"]["notes"])
    assert {source: capacity(source), target: capacity(target)} == before

    warm = run_migration(
        outputs["_terraform_dir"],
        "--prewarm",
        "--prewarm-warm-throughput",
        "--prewarm-rcu",
        "15000",
        "--prewarm-wcu",
        "6000",
        json_path=tmp_path / "warm.json",
    )

    assert warm["status"] == "SUCCEEDED", warm["_stdout"]
    assert capacity(source)["warm_read"] == 15_000
    assert capacity(target)["warm_write"] == 6_000
    assert capacity(target)["gsi_warm_write"] == 6_000
    entries = warm["output"]["capacity"]["reset"]["entries"]
    assert {entry["status"] for entry in entries} == {"irreversible"}
    assert warm["output"]["capacity"]["reset"]["operator_action_needed"] is False


def test_a_deployment_without_prewarm_refuses_a_prewarm_run(
    deploy: Callable[..., dict[str, Any]], names: Callable[[str], str], tmp_path: Path
) -> None:
    source = capacity_table(names("source"), provisioned=(5, 5), gsi=False)
    target = capacity_table(names("target"), provisioned=(5, 5), gsi=False)
    outputs = deploy({"name": names("plain"), "source_table_name": source, "target_table_name": target})

    refused = cli("run", "--terraform-dir", outputs["_terraform_dir"], "--prewarm", check=False)

    # Refused before StartExecution, so no failed execution is left in the history.
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "prewarm is not enabled for this deployment" in refused.stdout + refused.stderr
    executions = client("stepfunctions").list_executions(stateMachineArn=outputs["state_machine_arn"])["executions"]
    assert executions == []
    assert capacity(target)["write"] == 5


def test_stop_resets_the_capacity_of_a_prewarmed_run(
    deploy: Callable[..., dict[str, Any]], names: Callable[[str], str]
) -> None:
    """A stopped execution runs no Catch, so the state machine's reset never runs: ddb-migrate stop does it."""
    import time

    from tests.support.live import state_records

    source = capacity_table(names("source"), provisioned=(5, 5))
    target = capacity_table(names("target"), provisioned=(7, 3))
    assert load_items(source, generate_items(2_000)) == 2_000
    before = {source: capacity(source), target: capacity(target)}
    outputs = deploy_with_prewarm(deploy, names("warm"), source, target)
    terraform_dir = outputs["_terraform_dir"]
    # One page of 20 items per invocation: the copy is far from done when the first segment has progressed.
    cli(
        "run", "--terraform-dir", terraform_dir, "--no-follow", "--name", "warm-stopped", "--prewarm",
        "--prewarm-rcu", "3000", "--prewarm-wcu", "1000", "--time-budget-seconds", "0.001", "--scan-page-size", "20",
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not any(r["sk"]["S"].startswith("seg#") for r in state_records(outputs["state_table_name"], "warm-stopped")):
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.2)
    assert capacity(source)["read"] == 3_000, "the copy runs on raised capacity"

    stopped = cli("stop", "warm-stopped", "--terraform-dir", terraform_dir, "--json", "-")

    result = json.loads(stopped.stdout)
    assert result["stopped"] is True
    assert result["capacity_restore_needed"] is False, result
    assert {source: capacity(source), target: capacity(target)} == before, stopped.stdout + stopped.stderr
