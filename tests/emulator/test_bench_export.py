"""The benchmark's case g (a backfill from an export vs a Scan, on the emulator): the document it writes, the
check that finds a lost or changed item, and the cost projection.

No timing or rate is asserted: the machine running the tests decides those. What the code decides is asserted:
every item copied, and an export run reading nothing through the source table's capacity.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.bench.__main__ import main
from devtools.bench.export_backfill import TARGET_KEY, compare, cost_projection
from devtools.bench.suite import CASE_KEYS, FULL, QUICK, lost_items
from migration_core.estimate import EXPORT_PRICE_PER_GB, Prices


def test_quick_export_case_copies_every_item_both_ways_and_the_export_reads_nothing_from_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "results.json"

    assert main(["--quick", "--cases", "g", "--output", str(output)]) == 0

    document: dict[str, Any] = json.loads(output.read_text())
    assert document["lost_items"] == 0
    result = document["cases"][CASE_KEYS["g"]]
    items = QUICK.export.items
    assert items < FULL.export.items
    assert result["items"] == items
    runs = {run["variant"]: run for run in result["runs"]}
    assert set(runs) == {"scan", "export"}
    for run in runs.values():
        assert run["expected_items"] == run["target_items"] == run["written"] == items, run
        assert run["missing"] == run["different"] == run["extra"] == run["lost_items"] == 0, run
    scan, export = runs["scan"], runs["export"]
    assert scan["segments"] == QUICK.export.segments
    assert scan["source_rcu_cloudwatch"] > 0
    assert scan["source_rcu_counted"] > 0
    # The emulator was told to cut the export into as many files as the Scan has segments: the same concurrency.
    assert export["files"] == export["segments"] == QUICK.export.segments
    assert export["export_item_count"] == items
    assert export["source_rcu_cloudwatch"] == export["source_rcu_counted"] == 0
    assert {"plan_seconds", "export_wait_seconds", "export_files_seconds", "copy_seconds"} <= set(export)
    assert result["summary"]["lost_items"] == 0
    assert [row["table_gb"] for row in result["cost"]["rows"]] == list(QUICK.export.cost_table_gb)

    printed = capsys.readouterr().out
    assert "g. Backfill from a point-in-time export vs a Scan" in printed
    assert "fixed" in printed  # the caption says the emulator's export time is a setting, not a measurement


def _item(key: str, value: str) -> dict[str, Any]:
    return {TARGET_KEY: {"S": key}, "value": {"S": value}, "tags": {"SS": ["b", "a"]}, "n": {"N": "1.50"}}


def test_the_comparison_finds_missing_different_and_extra_items() -> None:
    expected = [_item("a", "1"), _item("b", "2"), _item("c", "3")]
    # Set order and a number's spelling are not differences; DynamoDB keeps neither.
    same = {**_item("a", "1"), "tags": {"SS": ["a", "b"]}, "n": {"N": "1.5"}}
    target = [same, _item("b", "changed"), _item("d", "4")]

    check = compare(expected, target)

    assert (check["missing"], check["different"], check["extra"]) == (1, 1, 1)
    assert check["sample_missing"] == ["c"]
    assert check["sample_different"] == ["b"]
    assert compare(expected, expected)["missing"] == compare(expected, expected)["different"] == 0


def test_lost_items_of_case_g_count_in_the_suite() -> None:
    document = {"cases": {CASE_KEYS["g"]: {"summary": {"lost_items": 2}}}}

    assert lost_items(document) == 2


def test_the_cost_projection_prices_the_scan_reads_against_the_export_per_gb() -> None:
    prices = Prices()
    (row,) = cost_projection(1024.0, (100.0,), prices)

    size = 100 * 1024**3
    read_units = size / 4096 / 2  # eventually consistent Scan: 4 KB units, halved
    assert row["items"] == size // 1024
    assert row["export_cost_usd"] == pytest.approx(100 * EXPORT_PRICE_PER_GB)
    on_demand = row["on_demand"]
    assert on_demand["scan_read_units"] == read_units
    assert on_demand["scan_read_cost_usd"] == pytest.approx(
        read_units / 1e6 * prices.on_demand_read_per_million, abs=0.01
    )
    # The same writes either way: the runs differ by the Scan's reads and the export's price.
    assert on_demand["export_run_cost_usd"] - on_demand["scan_run_cost_usd"] == pytest.approx(
        row["export_cost_usd"] - on_demand["scan_read_cost_usd"], abs=0.02
    )
    provisioned = row["provisioned"]
    assert provisioned["scan_read_cost_usd"] == pytest.approx(
        read_units / 3600 * prices.provisioned_read_unit_hour, abs=0.01
    )
