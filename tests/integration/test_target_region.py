"""A target in another region (variable target_region), end to end: the source in the provider's region, the
target of the same name in eu-west-1. Replication starts paused, the application writes, the backfill copies,
the consumer drains, and verify and cutover-check read the target in its region. Every Lambda reaches eu-west-1
through clients of that region and IAM that names the table's ARN there (the emulator's IAM gate holds them to
it), and the source of the same name in us-east-1 is never written.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ddbmigrate.aws import client
from devtools.tables import create_table, create_table_request, load_items, scan_all, scan_items
from tests.support.live import cli, queue_depth, run_migration
from tests.support.tables import Item, by_key, differences
from tests.support.waits import wait_until_settled

TARGET_REGION = "eu-west-1"
KEY = {"pk": "S", "sk": "N"}
STEPS = [{"op": "set", "attribute": "migrated", "value": json.dumps({"BOOL": True})}]
ITEMS = 400


def item(index: int) -> Item:
    return {
        "pk": {"S": f"p{index % 37}"},
        "sk": {"N": str(index)},
        "n": {"N": "9" * 38},
        "b": {"B": bytes([index % 256])},
    }


def expected_target(source: Item) -> Item:
    """STEPS written out by hand."""
    return {**source, "migrated": {"BOOL": True}}


def test_a_target_in_another_region_is_migrated_verified_and_ready(
    deploy: Callable[..., dict[str, Any]], unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    table = unique_name("region")
    create_table(table, KEY, stream=True)
    assert load_items(table, (item(index) for index in range(ITEMS))) == ITEMS
    there = client("dynamodb", TARGET_REGION)
    there.create_table(**create_table_request(table, KEY))
    there.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    # The backfill copies what was loaded: its INSERT events must be older than the cutoff, or the consumer replays
    # them after the backfill. ApproximateCreationDateTime is whole seconds; two seconds on, no earlier event can
    # reach the cutoff.
    cutoff_epoch = math.floor(time.time()) + 2
    outputs = deploy(
        {
            "name": unique_name("rgn"),
            "source_table_name": table,
            "target_table_name": table,
            "target_region": TARGET_REGION,
            "transform": {"steps": STEPS},
            "replication": {
                "enabled": True,
                "consumer_enabled": False,
                "cutoff_timestamp": datetime.fromtimestamp(cutoff_epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        }
    )
    terraform_dir = outputs["_terraform_dir"]
    account = client("sts").get_caller_identity()["Account"]
    assert outputs["target_table_arn"] == f"arn:aws:dynamodb:{TARGET_REGION}:{account}:table/{table}"
    assert not outputs["in_place"]

    assert time.time() >= cutoff_epoch, "the application's changes below must happen after the cutoff"
    # The application writes while the consumer is paused: an insert, an update and a delete are queued.
    here = client("dynamodb")
    here.put_item(TableName=table, Item={"pk": {"S": "late"}, "sk": {"N": "1"}, "n": {"N": "1"}})
    here.put_item(TableName=table, Item={**item(5), "n": {"N": "-5"}})
    here.delete_item(TableName=table, Key={"pk": item(6)["pk"], "sk": item(6)["sk"]})

    plan = cli("plan", "--terraform-dir", terraform_dir, "--json", "-")
    planned = json.loads(plan.stdout)
    assert json.dumps(planned).count(table) > 0, planned

    result = run_migration(terraform_dir, json_path=tmp_path / "run.json")
    assert result["_exit_code"] == 0, result["_stdout"]
    assert result["output"]["written"] >= ITEMS - 1

    cli("replication", "resume", "--terraform-dir", terraform_dir)
    source = scan_all(table)
    expected = by_key(map(expected_target, source), "pk", "sk")

    queue_url = outputs["replication_queue_url"]

    def copied() -> str | None:
        # Equal and drained: a group still queued may hold a change the target has yet to go through.
        problem = differences(expected, by_key(scan_items(there, table, ConsistentRead=True), "pk", "sk"))
        if problem is None and queue_depth(queue_url):
            problem = f"{queue_depth(queue_url)} message(s) still in the queue"
        return problem

    wait_until_settled(copied, f"the {TARGET_REGION} table equal to transform(source)", timeout=180)
    assert not any("migrated" in value for value in source), "the source of the same name must never be written"

    verify = cli("verify", "--terraform-dir", terraform_dir, "--json", "-")
    report = json.loads(verify.stdout)
    assert (report["matching"], report["missing"], report["different"], report["extra"]) == (len(source), 0, 0, 0)
    ready = cli("cutover-check", "--terraform-dir", terraform_dir, check=False)
    assert ready.returncode == 0, ready.stdout + ready.stderr
