"""Pre-warm planning without AWS: what each kind of table gets, what is never lowered, how it is reported."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from migration_core.capacity import (
    Change,
    ResetEntry,
    ScalingRange,
    TableCapacity,
    TableDemand,
    capacity_cause_lines,
    capacity_report,
    demand_for,
    plan_raise,
    reset_report,
    restore_commands,
    table_capacity,
)
from migration_core.errors import InvalidInput
from migration_core.models import ExportSpec, PrewarmSpec, RunSpec

PREWARM = PrewarmSpec(read_units=12_000, write_units=4_000)


def describe(
    name: str,
    *,
    billing_mode: str = "PROVISIONED",
    read: int = 5,
    write: int = 5,
    gsis: dict[str, tuple[int, int]] | None = None,
    warm: tuple[int, int] | None = None,
    on_demand_max: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """A DescribeTable ``Table`` as DynamoDB returns it (on-demand tables report 0 provisioned units)."""
    provisioned = billing_mode == "PROVISIONED"
    table: dict[str, Any] = {
        "TableName": name,
        "TableStatus": "ACTIVE",
        "BillingModeSummary": {"BillingMode": billing_mode},
        "ProvisionedThroughput": {
            "ReadCapacityUnits": read if provisioned else 0,
            "WriteCapacityUnits": write if provisioned else 0,
            "NumberOfDecreasesToday": 0,
        },
    }
    if warm is not None:
        table["WarmThroughput"] = {"ReadUnitsPerSecond": warm[0], "WriteUnitsPerSecond": warm[1], "Status": "ACTIVE"}
    if on_demand_max is not None:
        table["OnDemandThroughput"] = {
            "MaxReadRequestUnits": on_demand_max[0],
            "MaxWriteRequestUnits": on_demand_max[1],
        }
    table["GlobalSecondaryIndexes"] = [
        {
            "IndexName": index,
            "IndexStatus": "ACTIVE",
            "ProvisionedThroughput": {
                "ReadCapacityUnits": units[0] if provisioned else 0,
                "WriteCapacityUnits": units[1] if provisioned else 0,
            },
            **(
                {}
                if warm is None
                else {
                    "WarmThroughput": {
                        "ReadUnitsPerSecond": warm[0],
                        "WriteUnitsPerSecond": warm[1],
                        "Status": "ACTIVE",
                    }
                }
            ),
        }
        for index, units in (gsis or {}).items()
    ]
    return table


def run(source: str = "source", target: str = "target", **overrides: Any) -> RunSpec:
    settings: dict[str, Any] = {"total_segments": 4, "prewarm": PREWARM, **overrides}
    return RunSpec("run-1", source, target, **settings)


def changes_of(tables: list[TableCapacity], spec: RunSpec) -> list[tuple[str, str | None, str, str, int, int]]:
    assert spec.prewarm is not None
    plan = plan_raise(tables, demand_for(spec), warm_throughput_on_demand=spec.prewarm.warm_throughput_on_demand)
    return [(c.table, c.index, c.kind, c.dimension, c.before, c.after) for c in plan.changes]


def test_description_is_read_per_table_and_index() -> None:
    scaling = {
        ("table/orders", "dynamodb:table:WriteCapacityUnits"): ScalingRange(5, 100),
        ("table/orders/index/by-user", "dynamodb:index:ReadCapacityUnits"): ScalingRange(2, 20),
    }
    table = table_capacity(
        describe("orders", read=10, write=5, gsis={"by-user": (2, 3)}, on_demand_max=(-1, 500)), scaling
    )

    assert table.billing_mode == "PROVISIONED"
    base, index = table.resources
    assert (base.index, base.provisioned, dict(base.auto_scaling)) == (
        None,
        {"read": 10, "write": 5},
        {"write": ScalingRange(5, 100)},
    )
    assert base.resource_id == "table/orders"
    assert base.on_demand_max == {"write": 500}, "-1 means no maximum"
    assert (index.index, index.provisioned, dict(index.auto_scaling)) == (
        "by-user",
        {"read": 2, "write": 3},
        {"read": ScalingRange(2, 20)},
    )
    assert index.resource_id == "table/orders/index/by-user"
    assert TableCapacity.from_json(table.to_json()) == table


def test_table_without_billing_mode_summary_is_provisioned() -> None:
    description = describe("legacy")
    del description["BillingModeSummary"]
    assert table_capacity(description).billing_mode == "PROVISIONED"


def test_on_demand_table_has_no_provisioned_units() -> None:
    table = table_capacity(describe("od", billing_mode="PAY_PER_REQUEST", warm=(12_000, 4_000)))
    assert table.resources[0].provisioned is None
    assert table.resources[0].warm == {"read": 12_000, "write": 4_000}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {"source": TableDemand(read=12_000), "target": TableDemand(write=4_000)}),
        ({"target": "source", "in_place": True}, {"source": TableDemand(read=12_000, write=4_000)}),
        ({"cleanup": True}, {"source": TableDemand(read=12_000), "target": TableDemand(read=12_000, write=4_000)}),
        ({"mode": "verify"}, {"source": TableDemand(read=12_000), "target": TableDemand(read=12_000)}),
    ],
)
def test_demand_follows_what_the_run_reads_and_writes(overrides: dict[str, Any], expected: dict[str, Any]) -> None:
    target = overrides.pop("target", "target")
    assert demand_for(run(target=target, **overrides)) == expected


def test_a_copy_of_an_export_raises_only_the_target() -> None:
    spec = dataclasses.replace(run(), source="export", export=ExportSpec(bucket="b", prefix="p"))

    assert demand_for(spec) == {"target": TableDemand(write=4_000)}, "the export's files are read from S3"


def test_demand_of_a_run_without_prewarm_is_refused() -> None:
    with pytest.raises(InvalidInput, match="does not pre-warm"):
        demand_for(RunSpec("run-1", "source", "target", 4))


def test_provisioned_source_read_and_target_write_including_every_gsi() -> None:
    tables = [
        table_capacity(describe("source", gsis={"by-user": (5, 5)})),
        table_capacity(describe("target", gsis={"by-user": (1, 1), "by-date": (2, 2)})),
    ]

    assert changes_of(tables, run()) == [
        ("source", None, "provisioned", "read", 5, 12_000),
        ("target", None, "provisioned", "write", 5, 4_000),
        ("target", "by-user", "provisioned", "write", 1, 4_000),
        ("target", "by-date", "provisioned", "write", 2, 4_000),
    ]


def test_values_already_higher_are_never_lowered() -> None:
    tables = [
        table_capacity(describe("source", read=20_000, gsis={})),
        table_capacity(describe("target", write=4_000, gsis={"hot": (10, 9_000), "cold": (1, 1)})),
    ]
    spec = run()
    plan = plan_raise(tables, demand_for(spec), warm_throughput_on_demand=False)

    assert [(c.table, c.index, c.after) for c in plan.changes] == [("target", "cold", 4_000)]
    assert any("20,000 is already at least 12,000" in note for note in plan.notes)
    assert any("index hot of target" in note and "9,000" in note for note in plan.notes)


def test_auto_scaled_table_gets_its_minimum_raised_and_the_maximum_when_below() -> None:
    scaling = {
        ("table/target", "dynamodb:table:WriteCapacityUnits"): ScalingRange(5, 100),
        ("table/target/index/gsi", "dynamodb:index:WriteCapacityUnits"): ScalingRange(10, 50_000),
    }
    tables = [table_capacity(describe("target", write=7, gsis={"gsi": (5, 12)}), scaling)]
    plan = plan_raise(tables, {"target": TableDemand(write=4_000)}, warm_throughput_on_demand=False)

    by_key = {(c.index, c.kind): c for c in plan.changes}
    assert by_key[(None, "auto_scaling")] == Change(
        "target", None, "auto_scaling", "write", before=5, after=4_000, max_before=100, max_after=4_000
    )
    assert by_key[("gsi", "auto_scaling")] == Change(
        "target", "gsi", "auto_scaling", "write", before=10, after=4_000, max_before=50_000, max_after=50_000
    )
    # The provisioned value goes straight to the new minimum (the scaler would do the same).
    assert by_key[(None, "provisioned")].after == 4_000
    assert by_key[("gsi", "provisioned")].after == 4_000


def test_auto_scaled_minimum_already_high_enough_is_left_alone() -> None:
    scaling = {("table/target", "dynamodb:table:WriteCapacityUnits"): ScalingRange(5_000, 10_000)}
    tables = [table_capacity(describe("target", write=6_000), scaling)]
    plan = plan_raise(tables, {"target": TableDemand(write=4_000)}, warm_throughput_on_demand=False)
    assert plan.changes == ()
    assert any("auto scaling minimum write 5,000 is already at least 4,000" in note for note in plan.notes)


def test_on_demand_tables_are_left_alone_unless_warm_throughput_is_requested() -> None:
    tables = [
        table_capacity(describe("source", billing_mode="PAY_PER_REQUEST", warm=(12_000, 4_000))),
        table_capacity(describe("target", billing_mode="PAY_PER_REQUEST", warm=(12_000, 4_000), gsis={"gsi": (0, 0)})),
    ]
    plan = plan_raise(tables, demand_for(run()), warm_throughput_on_demand=False)
    assert plan.changes == ()
    assert [note for note in plan.notes if "left alone" in note] == [
        "table source is on-demand: left alone (warm throughput was not requested; it is billed and cannot be "
        "lowered again)",
        "table target is on-demand: left alone (warm throughput was not requested; it is billed and cannot be "
        "lowered again)",
    ]


def test_warm_throughput_raises_on_demand_tables_and_their_gsis_only_when_requested() -> None:
    tables = [
        table_capacity(describe("source", billing_mode="PAY_PER_REQUEST", warm=(12_000, 4_000))),
        table_capacity(describe("target", billing_mode="PAY_PER_REQUEST", warm=(1_000, 1_000), gsis={"gsi": (0, 0)})),
    ]
    spec = run(prewarm=PrewarmSpec(read_units=15_000, write_units=6_000, warm_throughput_on_demand=True))

    assert changes_of(tables, spec) == [
        ("source", None, "warm_throughput", "read", 12_000, 15_000),
        ("target", None, "warm_throughput", "write", 1_000, 6_000),
        ("target", "gsi", "warm_throughput", "write", 1_000, 6_000),
    ]


def test_on_demand_maximum_is_never_changed_but_reported_and_caps_warm_throughput() -> None:
    tables = [
        table_capacity(describe("target", billing_mode="PAY_PER_REQUEST", warm=(100, 100), on_demand_max=(-1, 2_500)))
    ]
    plan = plan_raise(tables, {"target": TableDemand(write=4_000)}, warm_throughput_on_demand=True)

    assert [(c.kind, c.after) for c in plan.changes] == [("warm_throughput", 2_500)]
    assert any("on-demand maximum of 2,500 write request units" in note for note in plan.notes)
    assert all(c.kind != "provisioned" for c in plan.changes)


def test_in_place_run_raises_read_and_write_of_its_one_table() -> None:
    tables = [table_capacity(describe("orders", gsis={"gsi": (5, 5)}))]
    spec = run(source="orders", target="orders", in_place=True)
    assert changes_of(tables, spec) == [
        ("orders", None, "provisioned", "read", 5, 12_000),
        ("orders", None, "provisioned", "write", 5, 4_000),
        ("orders", "gsi", "provisioned", "write", 5, 4_000),
    ]


def test_restore_commands_carry_the_original_values() -> None:
    tables = [table_capacity(describe("target", read=7, write=5, gsis={"gsi": (3, 2)}))]
    entries = [
        ResetEntry(Change("target", None, "provisioned", "write", 5, 4_000), "refused", "LimitExceededException"),
        ResetEntry(Change("target", "gsi", "provisioned", "write", 2, 4_000), "failed", "AccessDenied"),
        ResetEntry(
            Change("target", None, "auto_scaling", "write", 5, 4_000, max_before=100, max_after=4_000), "not_reset"
        ),
        ResetEntry(Change("target", None, "provisioned", "read", 7, 12_000), "restored"),
    ]

    assert restore_commands(entries, tables) == [
        "aws dynamodb update-table --table-name target --provisioned-throughput "
        "ReadCapacityUnits=7,WriteCapacityUnits=5",
        "aws dynamodb update-table --table-name target --global-secondary-index-updates "
        '\'[{"Update":{"IndexName":"gsi","ProvisionedThroughput":{"ReadCapacityUnits":3,"WriteCapacityUnits":2}}}]\'',
        "aws application-autoscaling register-scalable-target --service-namespace dynamodb --resource-id "
        "table/target --scalable-dimension dynamodb:table:WriteCapacityUnits --min-capacity 5 --max-capacity 100",
    ]


def test_reset_report_status() -> None:
    change = Change("target", None, "provisioned", "write", 5, 4_000)
    tables = [table_capacity(describe("target"))]
    assert reset_report([], tables, 1)["status"] == "nothing_to_reset"
    assert reset_report([ResetEntry(change, "restored")], tables, 1)["status"] == "restored"
    assert reset_report([ResetEntry(change, "pending")], tables, 1)["pending"] is True
    changed = reset_report([ResetEntry(change, "changed_during_run")], tables, 1)
    assert (changed["status"], changed["operator_action_needed"]) == ("changed_during_run", False)
    refused = reset_report([ResetEntry(change, "refused", "limit")], tables, 2)
    assert (refused["status"], refused["operator_action_needed"], refused["attempts"]) == (
        "operator_action_needed",
        True,
        2,
    )
    assert refused["manual_commands"] == [
        "aws dynamodb update-table --table-name target --provisioned-throughput ReadCapacityUnits=5,WriteCapacityUnits=5"
    ]


def test_report_of_a_run_that_was_not_prewarmed_is_empty() -> None:
    assert capacity_report({"prewarmed": False, "original": None, "raise": None, "reset": None}) is None
    assert capacity_report(None) is None
    assert capacity_cause_lines({"prewarmed": False}) == []


def test_a_failed_reset_is_reported_with_every_original_value() -> None:
    original = table_capacity(describe("target", read=7, write=5))
    change = Change("target", None, "provisioned", "write", 5, 4_000)
    capacity = {
        "prewarmed": True,
        "original": {"tables": [original.to_json()]},
        "raise": {"changes": [change.to_json()], "applied": [change.describe()], "notes": []},
        "reset": None,
        "reset_error": {"Error": "Lambda.Unknown", "Cause": "the worker crashed"},
    }

    report = capacity_report(capacity)

    assert report is not None
    assert report["reset"]["status"] == "failed"
    assert report["reset"]["operator_action_needed"] is True
    assert report["reset"]["error"] == "Lambda.Unknown: the worker crashed"
    assert report["reset"]["original"] == {"tables": [original.to_json()]}
    assert report["reset"]["manual_commands"] == [
        "aws dynamodb update-table --table-name target --provisioned-throughput ReadCapacityUnits=7,WriteCapacityUnits=5"
    ]
    lines = capacity_cause_lines(capacity)
    assert lines[0] == "Capacity pre-warm: 1 setting(s) planned, 1 changed; reset: failed."
    assert "The reset itself failed: Lambda.Unknown: the worker crashed" in lines[1]
    assert lines[-1].strip().startswith("aws dynamodb update-table --table-name target")
