"""The benchmark suite's quick mode, smallest cases: the JSON it writes and that nothing was lost.

No timing thresholds: the machine running the tests decides the numbers, not the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.bench import cpu, projection
from devtools.bench.__main__ import main
from devtools.bench.common import dataset
from devtools.bench.projection import ProjectionParameters
from devtools.bench.suite import SCHEMA


def test_quick_capacity_case_writes_the_results_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "results.json"

    exit_code = main(["--quick", "--cases", "b,e", "--output", str(output)])

    assert exit_code == 0
    document: dict[str, Any] = json.loads(output.read_text())
    assert document["schema"] == SCHEMA
    assert document["mode"] == "quick"
    assert {"platform", "python", "cpu_count"} <= document["machine"].keys()
    assert {"boto3", "botocore", "moto"} <= document["versions"].keys()
    assert set(document["cases"]) == {"b_capacity", "e_projection"}
    assert document["lost_items"] == 0

    capacity = document["cases"]["b_capacity"]
    runs = capacity["runs"]
    assert {run["variant"] for run in runs} == {"seed", "ours"}
    for run in runs:
        assert run["target_items"] == run["items"], run
        assert run["lost_items"] == run["different_items"] == 0, run
        assert 0 < run["utilization"] <= 1.05, run
        assert run["consumed_wcu"] == run["items"]  # 1 KB items: one WCU each, written once
    assert capacity["summary"]["ours_lost_items"] == 0

    projection = document["cases"]["e_projection"]
    assert {row["capacity_wcu"] for row in projection["rows"]} == {4_000, 40_000}
    assert all(row["hours"] > 0 for row in projection["rows"])
    assert projection["check_against_case_b"] == []  # case a did not run
    assert projection["drain"] is None  # case d did not run

    printed = capsys.readouterr().out
    assert "b. Share of the target's write capacity used" in printed
    assert "Items lost by our code: 0" in printed


def test_cpu_case_measures_every_variant_and_counts_every_item() -> None:
    data = dataset("tiny", 120, 0)
    result = cpu.measure_size_class(data, cpu.CpuParameters(runs=1))

    assert result["items"] == 120
    assert set(result["variants"]) >= {"ours", "floor", "floor_scan_only", "floor_botocore_default_config"}
    assert all(figures["cpu_us_per_item"] > 0 for figures in result["variants"].values())
    assert result["ratio_ours_to_floor"] > 0


def test_unknown_cases_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--quick", "--cases", "z"])
    assert "unknown case" in capsys.readouterr().err


def test_quick_replication_case_runs_both_variants_of_each_handler_on_each_workload(tmp_path: Path) -> None:
    output = tmp_path / "results.json"

    assert main(["--quick", "--cases", "d", "--output", str(output)]) == 0

    document: dict[str, Any] = json.loads(output.read_text())
    assert document["lost_items"] == 0
    replication = document["cases"]["d_replication"]
    throughput = replication["throughput"]
    assert throughput["lost_events"] == throughput["failed_events"] == 0
    comparison = throughput["consumer_comparison"]
    assert {(run["workload"], run["mode"]) for run in comparison["runs"]} == {
        (workload, mode) for workload in ("distinct", "hot") for mode in ("per_event", "batched")
    }
    for run in comparison["runs"]:
        assert run["missing"] == run["different"] == run["failed"] == 0, run
    events = replication["parameters"]["consumer_events"]
    batches = -(-events // 10)
    for workload in ("distinct", "hot"):
        data = comparison["workloads"][workload]
        assert data["events"] == events
        # The reference writes each event on its own; the batched consumer makes one call per batch of 10.
        assert data["per_event"]["write_requests"] == {"BatchWriteItem": 0, "PutItem": events, "DeleteItem": 0}
        batched = data["batched"]["write_requests"]
        assert batched["BatchWriteItem"] + batched["PutItem"] == batches
        assert data["ratio_batched_to_per_event"] is not None
    assert comparison["workloads"]["distinct"]["batched"]["write_requests"]["BatchWriteItem"] == batches
    forwarding = throughput["forwarder_comparison"]
    assert {(run["workload"], run["mode"]) for run in forwarding["runs"]} == {
        (workload, mode) for workload in ("mixed", "distinct") for mode in ("one_at_a_time", "deployed")
    }
    assert all(run["lost"] == run["failed"] == 0 for run in forwarding["runs"])
    assert {
        "consumer_distinct_ratio_batched_to_per_event",
        "consumer_hot_ratio_batched_to_per_event",
        "forwarder_distinct_ratio_deployed_to_one_at_a_time",
    } <= set(replication["summary"])


def test_the_drain_projection_shrinks_the_backlog_by_what_the_consumers_outpace_the_application() -> None:
    parameters = ProjectionParameters(application_writes_per_second=(1000.0,), consumer_concurrency=(2, 10))
    replication = {"summary": {"consumer_distinct_batched_events_per_second": 400.0}}
    result = projection.run(parameters, None, None, None, replication)
    drain = {(row["capacity_wcu"], row["consumer_concurrency"]): row for row in result["drain"]["rows"]}
    backfill = {row["capacity_wcu"]: row for row in result["rows"] if row["lambda_memory_mb"] == 1024}
    for capacity, row in backfill.items():
        backlog = 1000.0 * row["hours_with_segments_needed"] * 3600
        assert drain[(capacity, 10)]["backlog_events"] == round(backlog)
        # 10 consumers at 400 events/s against 1,000 new writes/s: the backlog shrinks by 3,000 events/s.
        assert drain[(capacity, 10)]["drain_hours"] == round(backlog / 3000 / 3600, 2)
        # 2 consumers apply 800 events/s, fewer than the application writes: the backlog never drains.
        assert drain[(capacity, 2)]["drain_hours"] is None
