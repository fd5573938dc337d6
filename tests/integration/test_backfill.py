"""Bulk backfill end to end: terraform apply of the root module, then migrations through the real CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ddbmigrate.aws import client
from devtools.datagen import generate_items
from devtools.tables import create_table, load_items, scan_all
from tests.support.live import cli, run_migration, state_records
from tests.support.tables import Item, by_key, enable_pitr, normalize

SOURCE_KEY = {"pk": "S", "sk": "N"}
ITEM_COUNT = 10_000
SEGMENTS = 8
KEY_CHANGING_STEPS = [
    {"op": "derive", "attribute": "target_pk", "template": "{tenant}/{id}/{sk}"},
    {"op": "rename", "attribute": "amount", "to": "total"},
    {"op": "remove", "attribute": "nothing"},
    {"op": "set", "attribute": "migrated", "value": json.dumps({"BOOL": True})},
    {"op": "timestamp", "attribute": "updatedAt", "format": "iso8601"},
]


def expected_key_changing(item: Item) -> Item:
    """What KEY_CHANGING_STEPS must produce, written out by hand rather than through our transform code."""
    result = dict(item)
    result["target_pk"] = {"S": f"{item['tenant']['S']}/{item['id']['N']}/{item['sk']['N']}"}
    result["total"] = result.pop("amount")
    result.pop("nothing")
    result["migrated"] = {"BOOL": True}
    return result


@pytest.fixture
def source_table(unique_name: Callable[[str], str]) -> str:
    name = unique_name("source")
    create_table(name, SOURCE_KEY)
    return name


def test_key_changing_backfill_with_continuations(
    deploy: Callable[..., dict[str, Any]], source_table: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    target_table = unique_name("target")
    create_table(target_table, {"target_pk": "S"})
    assert load_items(source_table, generate_items(ITEM_COUNT)) == ITEM_COUNT
    outputs = deploy(
        {
            "name": unique_name("mig"),
            "source_table_name": source_table,
            "target_table_name": target_table,
            "total_segments": SEGMENTS,
            "transform": {"steps": KEY_CHANGING_STEPS},
            # A child hands its segment to the Map's next pass after two invocations: with one page per
            # invocation, every segment needs several passes.
            "worker": {"invocations_per_child": 2},
        }
    )
    started = datetime.now(UTC)

    result = run_migration(
        outputs["_terraform_dir"],
        # Shorter than any page: each invocation writes exactly one page and continues in the next one.
        "--time-budget-seconds",
        "0.001",
        "--scan-page-size",
        "200",
        json_path=tmp_path / "run.json",
    )

    assert result["_exit_code"] == 0, result["_stdout"]
    assert result["status"] == "SUCCEEDED"
    summary = result["output"]
    assert summary["scanned"] == ITEM_COUNT
    assert summary["written"] == ITEM_COUNT
    assert summary["segments_done"] == SEGMENTS

    source = by_key(scan_all(source_table), "pk", "sk")
    target = scan_all(target_table)
    assert len(target) == ITEM_COUNT
    for item in target:
        stamp = datetime.fromisoformat(item.pop("updatedAt")["S"])
        assert started - timedelta(seconds=5) <= stamp <= datetime.now(UTC)
    target_by_key = by_key(target, "target_pk")
    for (pk, sk), item in source.items():
        tenant, _, index = pk.partition("#")
        expected = normalize(expected_key_changing(item))
        assert target_by_key[(f"{tenant}/{int(index)}/{sk}",)] == expected

    run_id = result["execution_arn"].rsplit(":", 1)[-1]
    segment_records = [r for r in state_records(outputs["state_table_name"], run_id) if r["sk"]["S"].startswith("seg#")]
    invocations = [int(r["invocations"]["N"]) for r in segment_records]
    # One page per invocation and at most two invocations per child: a segment of more than 400 items (the
    # average is 1,250) was finished by a child of a later pass.
    assert max(invocations) > 2, invocations
    assert sum(invocations) >= ITEM_COUNT // 200, invocations


def test_in_place_adds_attribute_and_keeps_keys(
    deploy: Callable[..., dict[str, Any]], source_table: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    load_items(source_table, generate_items(1_500, seed=11))
    before = by_key(scan_all(source_table), "pk", "sk")
    outputs = deploy(
        {
            "name": unique_name("inplace"),
            "source_table_name": source_table,
            "target_table_name": source_table,
            "total_segments": 4,
            "transform": {"steps": [{"op": "set", "attribute": "schema_version", "value": json.dumps({"N": "2"})}]},
        }
    )

    refused = cli("run", "--terraform-dir", outputs["_terraform_dir"], check=False)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "point-in-time recovery is not enabled" in refused.stderr
    # The rewrite is refused without a backup; the worker's plan step checks it again (DescribeContinuousBackups).
    enable_pitr(client("dynamodb"), source_table)

    result = run_migration(outputs["_terraform_dir"], json_path=tmp_path / "run.json")

    assert result["status"] == "SUCCEEDED", result["_stdout"]
    after = by_key(scan_all(source_table), "pk", "sk")
    assert after.keys() == before.keys()
    for key, item in before.items():
        assert after[key] == {**item, "schema_version": {"N": "2"}}


def test_cleanup_destination_table_requires_confirmation_then_replaces_target(
    deploy: Callable[..., dict[str, Any]], source_table: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    target_table = unique_name("target")
    create_table(target_table, SOURCE_KEY)
    load_items(source_table, generate_items(800, seed=3))
    stale = [{"pk": {"S": f"stale#{index}"}, "sk": {"N": "0"}, "junk": {"S": "x"}} for index in range(300)]
    load_items(target_table, stale)
    outputs = deploy(
        {
            "name": unique_name("cleanup"),
            "source_table_name": source_table,
            "target_table_name": target_table,
            "allow_target_cleanup": True,
        }
    )

    # Refused by the CLI before StartExecution: no execution, no FAILED run in the history.
    unconfirmed = cli("run", "--terraform-dir", outputs["_terraform_dir"], "--cleanup-destination-table", check=False)
    assert unconfirmed.returncode == 2, unconfirmed.stdout + unconfirmed.stderr
    assert f"--confirm-cleanup {target_table}" in unconfirmed.stderr
    executions = client("stepfunctions").list_executions(stateMachineArn=outputs["state_machine_arn"])["executions"]
    assert executions == []
    assert len(scan_all(target_table)) == 300, "a refused run must not touch the target"
    enable_pitr(client("dynamodb"), target_table)

    confirmed = run_migration(
        outputs["_terraform_dir"],
        "--cleanup-destination-table",
        "--confirm-cleanup",
        target_table,
        json_path=tmp_path / "confirmed.json",
    )
    assert confirmed["status"] == "SUCCEEDED", confirmed["_stdout"]
    assert by_key(scan_all(target_table), "pk", "sk") == by_key(scan_all(source_table), "pk", "sk")


def test_bad_payload_to_state_machine_fails_clearly_and_writes_nothing(
    deploy: Callable[..., dict[str, Any]], source_table: str, unique_name: Callable[[str], str]
) -> None:
    target_table = unique_name("target")
    create_table(target_table, SOURCE_KEY)
    load_items(source_table, generate_items(50))
    outputs = deploy(
        {"name": unique_name("badinput"), "source_table_name": source_table, "target_table_name": target_table}
    )
    stepfunctions = client("stepfunctions")
    cases = {
        "total_segments": {"total_segments": 20_000},
        "unknown field": {"segmnets": 4},
        "other table": {"source_table": "not-managed-by-this-module"},
    }
    for expected_text, payload in cases.items():
        execution = stepfunctions.start_execution(
            stateMachineArn=outputs["state_machine_arn"], input=json.dumps(payload)
        )
        description = wait_for_execution(execution["executionArn"])
        assert description["status"] == "FAILED"
        assert description["error"] == "InvalidInput"
        assert expected_text in description["cause"], description["cause"]
    assert scan_all(target_table) == []


def test_transform_output_without_target_key_fails_and_writes_nothing(
    deploy: Callable[..., dict[str, Any]], source_table: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    target_table = unique_name("target")
    create_table(target_table, {"target_pk": "S"})
    load_items(source_table, generate_items(200))
    outputs = deploy(
        {
            "name": unique_name("nokey"),
            "source_table_name": source_table,
            "target_table_name": target_table,
            "total_segments": 2,
            "transform": {"steps": [{"op": "rename", "attribute": "pk", "to": "renamed_pk"}]},
        }
    )

    result = run_migration(outputs["_terraform_dir"], json_path=tmp_path / "run.json")

    assert result["_exit_code"] != 0
    assert result["status"] == "FAILED"
    assert "target_pk" in result["cause"]
    assert scan_all(target_table) == []


def test_item_over_400kb_after_custom_transform_fails_and_writes_nothing(
    deploy: Callable[..., dict[str, Any]], source_table: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    target_table = unique_name("target")
    create_table(target_table, SOURCE_KEY)
    load_items(source_table, generate_items(20))
    custom = tmp_path / "pad.py"
    custom.write_text(
        "def transform(item):\n"
        "    padded = dict(item)\n"
        "    padded['padding'] = {'S': 'x' * 420_000}\n"
        "    return padded\n",
        encoding="utf-8",
    )
    outputs = deploy(
        {
            "name": unique_name("toolarge"),
            "source_table_name": source_table,
            "target_table_name": target_table,
            "total_segments": 1,
            "transform": {"custom_file": str(custom)},
        }
    )

    result = run_migration(outputs["_terraform_dir"], json_path=tmp_path / "run.json")

    assert result["status"] == "FAILED"
    assert "400 KB" in result["cause"]
    assert scan_all(target_table) == []


def test_missing_table_fails_at_plan_with_its_name(
    aws_endpoint: str | None, source_table: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    from devtools.stack import Stack

    missing = unique_name("missing")
    stack = Stack(
        tmp_path / "stack",
        {"name": unique_name("missing"), "source_table_name": source_table, "target_table_name": missing},
    )
    result = stack.plan()
    assert result.returncode != 0
    assert missing in result.stderr


def wait_for_execution(execution_arn: str, timeout_seconds: float = 120) -> dict[str, Any]:
    import time

    stepfunctions = client("stepfunctions")
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        description: dict[str, Any] = stepfunctions.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING":
            return description
        time.sleep(0.5)
    raise AssertionError(f"{execution_arn} still running after {timeout_seconds}s")


def test_a_stopped_run_is_continued_by_redrive_from_its_checkpoints(
    deploy: Callable[..., dict[str, Any]], source_table: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    import time

    target_table = unique_name("target")
    create_table(target_table, {"target_pk": "S"})
    assert load_items(source_table, generate_items(ITEM_COUNT)) == ITEM_COUNT
    outputs = deploy(
        {
            "name": unique_name("mig"),
            "source_table_name": source_table,
            "target_table_name": target_table,
            "total_segments": SEGMENTS,
            "transform": {"steps": KEY_CHANGING_STEPS},
        }
    )
    terraform_dir = outputs["_terraform_dir"]
    # One page of 50 items per invocation: 25 invocations a segment, so the run is far from done when stopped.
    started = cli(
        "run", "--terraform-dir", terraform_dir, "--no-follow", "--name", "stopped-run",
        "--time-budget-seconds", "0.001", "--scan-page-size", "50",
    )  # fmt: skip
    assert "started stopped-run" in started.stdout
    deadline = time.monotonic() + 300
    while not any(r["sk"]["S"].startswith("seg#") for r in state_records(outputs["state_table_name"], "stopped-run")):
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.2)
    stopped = cli("stop", "stopped-run", "--terraform-dir", terraform_dir, "--json", "-")
    assert json.loads(stopped.stdout)["stopped"] is True

    resumed = cli(
        "redrive", "stopped-run", "--terraform-dir", terraform_dir, "--follow", "--json", str(tmp_path / "resumed.json"),
        check=False,
    )  # fmt: skip

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    result = json.loads((tmp_path / "resumed.json").read_text())
    assert result["status"] == "SUCCEEDED"
    summary = result["output"]
    assert summary["run_id"] == "stopped-run"
    # Every page is counted once, by whichever execution checkpointed it.
    assert (summary["scanned"], summary["written"], summary["segments_done"]) == (ITEM_COUNT, ITEM_COUNT, SEGMENTS)
    assert len(scan_all(target_table)) == ITEM_COUNT


def test_a_throttled_worker_is_retried_until_lambda_has_room(
    deploy: Callable[..., dict[str, Any]], source_table: str, unique_name: Callable[[str], str]
) -> None:
    """With no concurrency left for the worker (reserved at 0, as when the account's is used up), every invoke is
    refused with Lambda.TooManyRequestsException; the state machine's throttling retrier keeps the run alive until
    there is room again, and the run then completes."""
    import time

    target_table = unique_name("target")
    create_table(target_table, {"target_pk": "S"})
    assert load_items(source_table, generate_items(200)) == 200
    outputs = deploy(
        {
            "name": unique_name("mig"),
            "source_table_name": source_table,
            "target_table_name": target_table,
            "total_segments": 2,
            "transform": {"steps": KEY_CHANGING_STEPS},
        }
    )
    lambda_client = client("lambda")
    worker = outputs["worker_function_name"]
    lambda_client.put_function_concurrency(FunctionName=worker, ReservedConcurrentExecutions=0)
    terraform_dir = outputs["_terraform_dir"]
    cli("run", "--terraform-dir", terraform_dir, "--no-follow", "--name", "throttled-run")
    execution_arn = f"{outputs['state_machine_arn'].replace(':stateMachine:', ':execution:')}:throttled-run"
    stepfunctions = client("stepfunctions")
    deadline = time.monotonic() + 120
    while "Lambda.TooManyRequestsException" not in json.dumps(
        stepfunctions.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"], default=str
    ):
        assert time.monotonic() < deadline, "the worker was never throttled"
        time.sleep(0.5)
    assert stepfunctions.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"

    lambda_client.delete_function_concurrency(FunctionName=worker)

    ended = wait_for_execution(execution_arn, timeout_seconds=600)
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    assert json.loads(ended["output"])["written"] == 200
