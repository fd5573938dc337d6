"""The capacity budget end to end: the module's default and the run's flags, measured from ConsumedCapacity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ddbmigrate.aws import client
from devtools.datagen import generate_items
from devtools.faults.capacity import write_units
from devtools.tables import create_table, load_items, scan_all
from migration_core.attribute_values import item_size
from tests.support.live import cli, run_migration, state_records
from tests.support.tables import by_key

KEY = {"pk": "S", "sk": "N"}
ITEMS = 400
SEGMENTS = 4
WRITE_BUDGET = 60.0
# The read budget is a share of the source's auto-scaling maximum: 25% of 40 RCU (its provisioned 5 would be 1.25).
READ_SHARE = "25%"
SOURCE_RCU, SOURCE_RCU_MAXIMUM = 5, 40
READ_BUDGET = 10.0
# BatchWriteItem's most: the one call per segment that may be in flight beyond what the budget paid for.
BATCH = 25


@pytest.mark.not_on_localstack(
    reason="checks ConsumedCapacity exactly; the dynamodb:moto stand-in answers moto's constant, not by item size"
)
def test_a_budgeted_run_writes_no_faster_than_its_budget(
    deploy: Callable[..., dict[str, Any]], unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    source, target = unique_name("source"), unique_name("target")
    create_table(source, KEY, provisioned=(SOURCE_RCU, 100))
    client("application-autoscaling").register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId=f"table/{source}",
        ScalableDimension="dynamodb:table:ReadCapacityUnits",
        MinCapacity=SOURCE_RCU,
        MaxCapacity=SOURCE_RCU_MAXIMUM,
    )
    create_table(target, KEY)
    items = list(generate_items(ITEMS, seed=5, payload_bytes=2200))
    load_items(source, items)
    # An independent count of what DynamoDB charges for writing them (the transform keeps the items as they are).
    costs = [write_units(item_size(item)) for item in items]
    outputs = deploy(
        {
            "name": unique_name("budget"),
            "source_table_name": source,
            "target_table_name": target,
            "total_segments": SEGMENTS,
            "capacity_budget": {"max_write_rate": f"{WRITE_BUDGET:g}"},
        }
    )

    result = run_migration(outputs["_terraform_dir"], "--max-read-rate", READ_SHARE, json_path=tmp_path / "run.json")

    assert result["status"] == "SUCCEEDED", result["_stdout"]
    assert f"budget (max_read_rate {READ_SHARE}, max_write_rate {WRITE_BUDGET:g})" in result["_stdout"]
    assert f"auto-scaling up to {SOURCE_RCU_MAXIMUM} RCU" in result["_stdout"]
    summary = result["output"]
    assert summary["written"] == ITEMS
    assert summary["consumed_wcu"] == sum(costs)
    assert summary["budget"]["write_units_per_second"] == {target: WRITE_BUDGET}
    # Resolved by the worker's plan step, with its own role's leave to read the source's auto-scaling.
    assert summary["budget"]["read_units_per_second"] == {source: READ_BUDGET}
    # The budget is an upper bound, so the check is a lower bound on time, which a slower machine only helps:
    # everything but one call per segment was paid for at WRITE_BUDGET units per second.
    in_flight = SEGMENTS * BATCH * max(costs)
    assert summary["duration_seconds"] >= (summary["consumed_wcu"] - in_flight) / WRITE_BUDGET
    assert by_key(scan_all(target), "pk", "sk") == by_key(scan_all(source), "pk", "sk")

    run_id = result["execution_arn"].rsplit(":", 1)[-1]
    leases = [r for r in state_records(outputs["state_table_name"], run_id) if r["sk"]["S"].startswith("lease#")]
    # Every segment held a lease, and marked it done when it finished: the others' shares grew.
    assert len({r["sk"]["S"] for r in leases}) == SEGMENTS
    assert all(r["segment_done"]["BOOL"] for r in leases)

    verify = cli(
        "verify", "--terraform-dir", outputs["_terraform_dir"], "--distributed", "--max-read-rate", "200", check=False
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
