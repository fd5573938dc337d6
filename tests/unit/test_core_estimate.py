"""migration_core.estimate: consumption, duration and cost of a run from DescribeTable figures."""

from __future__ import annotations

import math

import pytest

from migration_core.estimate import (
    ON_DEMAND_TABLE_QUOTA,
    SIX_HOURS_NOTE,
    Prices,
    TableFacts,
    estimate_run,
    scan_read_units,
)
from tests.support.descriptions import on_demand, provisioned

MB = 1024 * 1024


def test_facts_read_the_capacity_mode_and_limits() -> None:
    table = TableFacts.from_description(provisioned("t", 10, 5000, rcu=100, wcu=50, gsis=2))
    demand = TableFacts.from_description(
        on_demand(
            "d",
            0,
            0,
            OnDemandThroughput={"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": 2000},
            WarmThroughput={"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000},
        )
    )

    assert (table.on_demand, table.read_units, table.write_units, len(table.indexes)) == (False, 100, 50, 2)
    assert table.average_item_bytes == 500
    assert (demand.on_demand, demand.read_units, demand.write_units) == (True, None, 2000)
    assert (demand.read_rate(), demand.write_rate()) == (12000, 2000), "no maximum: warm throughput"
    bare = TableFacts.from_description(on_demand("b", 0, 0))
    assert bare.read_rate() == ON_DEMAND_TABLE_QUOTA
    assert bare.to_json()["capacity_mode"] == "on-demand"


def test_a_scan_costs_half_an_rcu_per_4_kb_read() -> None:
    table = TableFacts.from_description(provisioned("t", 1000, 40 * MB, 1, 1))

    assert scan_read_units(table) == 40 * MB / 4096 / 2


@pytest.mark.parametrize(("average_bytes", "units_per_item"), [(1, 1), (1024, 1), (1025, 2), (3000, 3), (0, 1)])
def test_writes_cost_one_wcu_per_started_kb_of_the_average_item(average_bytes: int, units_per_item: int) -> None:
    items = 0 if average_bytes == 0 else 100
    table = TableFacts.from_description(provisioned("t", items, items * average_bytes, 1, 1))

    assert table.write_units_per_item == units_per_item


def test_a_copy_into_a_target_with_gsis_writes_each_item_again_in_every_gsi() -> None:
    source = TableFacts.from_description(provisioned("src", 10_000, 10_000 * 1500, rcu=1000, wcu=10))
    target = TableFacts.from_description(provisioned("dst", 0, 0, rcu=10, wcu=500, gsis=2))

    estimate = estimate_run(source, target, cleanup=False)

    [copy] = estimate.phases
    assert copy.read_units == pytest.approx(10_000 * 1500 / 4096 / 2)
    assert copy.write_units == 20_000, "1,500 bytes: 2 WCU per item"
    assert copy.index_write_units == 40_000
    assert estimate.write_units == 60_000
    # Writes at 500 WCU/s (table and each GSI) take 40 s; reads at 1,000 RCU/s about 1.8 s.
    assert copy.duration_seconds == pytest.approx(40)
    assert copy.bottleneck.startswith("writes on dst")
    assert "projected into all 2 GSI(s) of dst" in " ".join(estimate.notes)


def test_cost_on_demand_is_per_million_request_units_and_provisioned_per_unit_hour() -> None:
    prices = Prices(
        on_demand_read_per_million=0.25,
        on_demand_write_per_million=1.25,
        provisioned_read_unit_hour=0.0002,
        provisioned_write_unit_hour=0.001,
    )
    size = 2_000_000 * 4096  # 2,000,000 x 4 KB: 1,000,000 RCU, 4 WCU per item
    demand = TableFacts.from_description(on_demand("src", 2_000_000, size))
    fixed = TableFacts.from_description(provisioned("dst", 0, 0, rcu=1, wcu=1))

    to_fixed = estimate_run(demand, fixed, cleanup=False, prices=prices)
    to_demand = estimate_run(demand, TableFacts.from_description(on_demand("dst", 0, 0)), cleanup=False, prices=prices)

    reads = 1_000_000 / 1_000_000 * 0.25
    assert to_fixed.cost_usd == pytest.approx(reads + 8_000_000 / 3600 * 0.001)
    assert to_demand.cost_usd == pytest.approx(reads + 8 * 1.25)


def test_a_cleanup_scans_and_deletes_the_targets_items_first() -> None:
    source = TableFacts.from_description(on_demand("src", 100, 100 * 500))
    target = TableFacts.from_description(on_demand("dst", 300, 300 * 2048))

    estimate = estimate_run(source, target, cleanup=True)

    cleanup, copy = estimate.phases
    assert (cleanup.phase, cleanup.read_table, cleanup.write_table, cleanup.items) == ("cleanup", "dst", "dst", 300)
    assert cleanup.write_units == 600
    assert copy.write_units == 100
    assert estimate.duration_seconds == pytest.approx(cleanup.duration_seconds + copy.duration_seconds)
    assert SIX_HOURS_NOTE in estimate.notes
    assert any("without a maximum" in note for note in estimate.notes)


def test_an_empty_source_takes_no_time_and_costs_nothing() -> None:
    empty = TableFacts.from_description(provisioned("src", 0, 0, 5, 5))

    estimate = estimate_run(empty, empty, cleanup=False)

    assert (estimate.read_units, estimate.write_units, estimate.duration_seconds, estimate.cost_usd) == (0, 0, 0, 0)
    document = estimate.to_json()
    assert document["prices"]["region"] == "us-east-1"
    assert not math.isinf(document["duration_seconds"])
