"""``ddb-migrate verify --distributed`` end to end: the state machine's verify mode over a real backfill.

The module is applied, a backfill with a transform runs through the CLI, and the distributed verify must then
count every item as matching (and a sampled look must say how much it checked). After the target is damaged
behind the migration's back (an item deleted, an attribute changed, a number written with lost digits, as a
float-based tool would), it must exit non-zero and report exactly those items, by key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from ddbmigrate.aws import client
from devtools.datagen import generate_item, generate_items
from devtools.tables import create_table, load_items
from migration_core.state import StateStore
from tests.support.live import cli

KEY_SCHEMA = {"pk": "S", "sk": "N"}
ITEM_COUNT = 3_000
SEGMENTS = 4
STEPS = [
    {"op": "set", "attribute": "schema_version", "value": json.dumps({"N": "2"})},
    # Verify must compare a per-run timestamp by presence and type, not by value.
    {"op": "timestamp", "attribute": "migratedAt", "format": "epoch_millis"},
]


def verify_distributed(terraform_dir: str, json_path: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    completed = cli(
        "verify", "--distributed", "--terraform-dir", terraform_dir, "--json", str(json_path), *args, check=False
    )
    output = completed.stdout + completed.stderr
    assert json_path.exists(), f"verify wrote no JSON (exit {completed.returncode}):\n{output}"
    summary: dict[str, Any] = json.loads(json_path.read_text())
    return completed.returncode, output, summary


def key_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"pk": item["pk"], "sk": item["sk"]}


def first_index_with_long_amount() -> int:
    """An item whose amount has more significant digits than a float keeps."""
    for index in range(ITEM_COUNT):
        amount = generate_item(index)["amount"]["N"]
        if len(Decimal(amount).normalize().as_tuple().digits) > 20:
            return index
    raise AssertionError("the generated data has no long number to truncate")


def test_distributed_verify_counts_matches_then_reports_each_damaged_item(
    deploy: Callable[..., dict[str, Any]], unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    source_table, target_table = unique_name("source"), unique_name("target")
    create_table(source_table, KEY_SCHEMA)
    create_table(target_table, KEY_SCHEMA)
    assert load_items(source_table, generate_items(ITEM_COUNT)) == ITEM_COUNT
    outputs = deploy(
        {
            "name": unique_name("verify"),
            "source_table_name": source_table,
            "target_table_name": target_table,
            "total_segments": SEGMENTS,
            "transform": {"steps": STEPS},
        }
    )
    terraform_dir = outputs["_terraform_dir"]
    cli("run", "--terraform-dir", terraform_dir)

    code, output, clean = verify_distributed(terraform_dir, tmp_path / "clean.json")

    assert code == 0, output
    assert clean["distributed"] is True
    assert (clean["source_items"], clean["checked"], clean["matching"]) == (ITEM_COUNT, ITEM_COUNT, ITEM_COUNT)
    assert (clean["missing"], clean["different"], clean["skipped"]) == (0, 0, 0)
    assert clean["clean"] is True
    assert clean["extra_checked"] is False
    assert (clean["segments"], clean["segments_checked"]) == (SEGMENTS, SEGMENTS)
    assert clean["sample"] == []
    assert clean["recorded"] is True

    code, output, sampled = verify_distributed(terraform_dir, tmp_path / "sampled.json", "--sample", "0.1")

    assert code == 0, output
    # Whole segments are sampled: one of four, whatever smaller share was asked for.
    assert (sampled["sampled"], sampled["sample_fraction"], sampled["segments_checked"]) == (True, 0.25, 1)
    assert 0 < sampled["source_items"] < ITEM_COUNT
    assert sampled["matching"] == sampled["checked"] == sampled["source_items"]
    assert sampled["recorded"] is False
    assert "sampled: about 25.0% of the source" in output

    long_index = first_index_with_long_amount()
    deleted_index, changed_index = [index for index in range(3) if index != long_index][:2]
    deleted, changed, truncated = (generate_item(index) for index in (deleted_index, changed_index, long_index))
    dynamodb = client("dynamodb")
    dynamodb.delete_item(TableName=target_table, Key=key_of(deleted))
    dynamodb.update_item(
        TableName=target_table,
        Key=key_of(changed),
        UpdateExpression="SET payload = :tampered",
        ExpressionAttributeValues={":tampered": {"S": "tampered"}},
    )
    amount = truncated["amount"]["N"]
    lost_digits = repr(float(amount))
    assert Decimal(lost_digits) != Decimal(amount)
    dynamodb.update_item(
        TableName=target_table,
        Key=key_of(truncated),
        UpdateExpression="SET amount = :lost",
        ExpressionAttributeValues={":lost": {"N": lost_digits}},
    )

    code, output, damaged = verify_distributed(terraform_dir, tmp_path / "damaged.json", "--settle-seconds", "1")

    assert code == 1, output
    assert damaged["clean"] is False
    assert (damaged["source_items"], damaged["checked"]) == (ITEM_COUNT, ITEM_COUNT)
    assert (damaged["matching"], damaged["missing"], damaged["different"]) == (ITEM_COUNT - 3, 1, 2)
    reported = {
        entry["key"]["pk"]["S"]: (entry["kind"], [(d["path"], d["kind"]) for d in entry["differences"]])
        for entry in damaged["sample"]
    }
    assert reported == {
        deleted["pk"]["S"]: ("missing", []),
        changed["pk"]["S"]: ("different", [("payload", "changed")]),
        truncated["pk"]["S"]: ("different", [("amount", "changed")]),
    }
    [lost] = [entry for entry in damaged["sample"] if entry["key"]["pk"]["S"] == truncated["pk"]["S"]]
    assert lost["key"]["sk"] == truncated["sk"]
    assert Decimal(lost["differences"][0]["expected"]["N"]) == Decimal(amount)
    assert Decimal(lost["differences"][0]["actual"]["N"]) == Decimal(lost_digits)
    for item in (deleted, changed, truncated):
        assert item["pk"]["S"] in output
    last = StateStore(dynamodb, outputs["state_table_name"]).last_verify()
    assert last is not None
    assert last.clean is False
    assert last.summary["run_id"] == damaged["run_id"]
