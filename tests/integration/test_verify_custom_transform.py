"""``ddb-migrate verify`` (local) on a deployment with a custom transform module.

The CLI rebuilds the worker's transform to compare transform(source) with the target; a custom module only
exists inside the worker's zip, so the CLI downloads it from GetFunction's ``Code.Location``, as it must from
Lambda's presigned S3 URL. After a backfill with that transform the tables must match.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.datagen import generate_items
from devtools.tables import create_table, load_items, scan_all
from tests.support.live import cli

KEY_SCHEMA = {"pk": "S", "sk": "N"}
ITEM_COUNT = 500
EXAMPLE_TRANSFORM = Path(__file__).resolve().parents[1] / "terraform" / "fixtures" / "example_transform.py"


def test_local_verify_downloads_the_deployed_custom_transform_and_reports_a_match(
    deploy: Callable[..., dict[str, Any]], unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    source_table, target_table = unique_name("source"), unique_name("target")
    create_table(source_table, KEY_SCHEMA)
    create_table(target_table, KEY_SCHEMA)
    assert load_items(source_table, generate_items(ITEM_COUNT)) == ITEM_COUNT
    outputs = deploy(
        {
            "name": unique_name("custom"),
            "source_table_name": source_table,
            "target_table_name": target_table,
            "total_segments": 2,
            "transform": {"custom_file": str(EXAMPLE_TRANSFORM)},
        }
    )
    terraform_dir = outputs["_terraform_dir"]
    cli("run", "--terraform-dir", terraform_dir)
    target = scan_all(target_table)
    assert len(target) == ITEM_COUNT
    assert all(item["touched"] == {"BOOL": True} for item in target), "the backfill ran the custom transform"

    json_path = tmp_path / "verify.json"
    completed = cli("verify", "--terraform-dir", terraform_dir, "--json", str(json_path), check=False)

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "MATCH" in completed.stdout
    summary = json.loads(json_path.read_text())
    assert summary["clean"] is True
    assert (summary["source_items"], summary["checked"], summary["matching"]) == (ITEM_COUNT,) * 3
    assert (summary["missing"], summary["different"], summary["extra"]) == (0, 0, 0)
    assert summary["recorded"] is True
