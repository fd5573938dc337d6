"""The benchmark's case f (the run's capacity budget): how it measures, and the document it writes.

Structure only: which runs, which figures, nothing lost. No rate or timing is asserted, since the machine running
the tests, not the code, decides those.
"""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import pytest
from rich.console import Console

from devtools.bench.budget import BudgetParameters, Consumption
from devtools.bench.report import render
from devtools.bench.suite import CASE_KEYS, QUICK, run_suite


def _steady(per_second: float, seconds: float, step: float = 0.1, lump: float = 0.0) -> list[tuple[float, float]]:
    """Cumulative samples (from 5 units) of a table that consumes 1 unit (a probe) by t=1, ``lump`` units more
    by the next sample, then ``per_second`` for ``seconds``; idle samples before and after."""
    count = round(seconds / step)
    active = [
        (1.0 + index * step, 6.0 + (lump if index else 0.0) + per_second * index * step) for index in range(count + 1)
    ]
    return [(0.0, 5.0), (0.5, 5.0), *active, (active[-1][0] + 0.5, active[-1][1])]


def test_consumption_measures_the_active_span_of_the_samples() -> None:
    consumption = Consumption.from_samples(_steady(100.0, 4.0), window_seconds=1.0)

    assert consumption.units == pytest.approx(401.0)
    assert consumption.active_seconds == pytest.approx(4.0)
    assert consumption.per_second == pytest.approx(100.0)
    assert consumption.sustained_per_second == pytest.approx(100.0)
    assert consumption.peak_per_second == pytest.approx(100.0)


def test_a_lump_at_the_start_counts_in_the_run_rate_but_not_in_the_sustained_one() -> None:
    consumption = Consumption.from_samples(_steady(100.0, 4.0, lump=200.0), window_seconds=1.0)

    assert consumption.units == pytest.approx(601.0)
    assert consumption.per_second == pytest.approx(150.0)
    assert consumption.sustained_per_second == pytest.approx(100.0, rel=0.2)
    assert consumption.peak_per_second == pytest.approx(300.0)

    figures = consumption.to_json(budget=100.0)
    assert figures["ratio"] == pytest.approx(1.5)
    assert figures["peak_ratio"] == pytest.approx(3.0)
    assert set(figures) >= {"sustained_ratio", "active_seconds", "budget"}


def test_no_consumption_has_no_rate() -> None:
    idle = Consumption.from_samples([(0.0, 3.0), (1.0, 3.0), (2.0, 3.0)], window_seconds=1.0)
    single = Consumption.from_samples([(0.0, 3.0)], window_seconds=1.0)

    assert idle.units == single.units == 0.0
    assert idle.per_second is idle.sustained_per_second is idle.peak_per_second is None
    assert single.per_second is None


def test_budget_case_runs_both_parts_and_loses_nothing() -> None:
    parameters = BudgetParameters(
        segments=(2,),
        budgets=((32.0, 2000.0), (125.0, 500.0)),
        seconds_of_work=0.5,
        application_segments=1,
        source_read_capacity=40.0,
        target_write_capacity=300.0,
        application_seconds_of_work=1.0,
    )

    document = run_suite(replace(QUICK, budget=parameters), ["f"])

    assert document["lost_items"] == 0
    result: dict[str, Any] = document["cases"][CASE_KEYS["f"]]
    runs = result["runs"]
    assert [(run["read_budget_rcu"], run["write_budget_wcu"], run["segments"]) for run in runs] == [
        (32.0, 2000.0, 2),
        (125.0, 500.0, 2),
    ]
    assert [run["binding"] for run in runs] == ["read", "write"]
    for run in runs:
        assert run["target_items"] == run["items"], run
        assert run["lost_items"] == 0, run
        assert run["verdict"] in {"within", "over", "below", "no data"}
        assert isinstance(run["cpu_bound"], bool)
        assert run["reads"]["budget"] == run["read_budget_rcu"]
        assert run["writes"]["budget"] == run["write_budget_wcu"]
        assert run["reads"]["units"] > 0
        # flat items of under 1 KB: one WCU each, written once
        assert run["writes"]["units"] == run["items"]

    application = result["application"]
    assert [run["variant"] for run in application["runs"]] == ["no budget", "budget"]
    unbudgeted, budgeted = application["runs"]
    assert unbudgeted["read_budget_rcu"] is None
    assert budgeted["read_budget_rcu"] == pytest.approx(
        0.9 * (40.0 - application["application_rcu_per_second"]), abs=0.1
    )
    assert budgeted["write_budget_wcu"] == pytest.approx(
        0.9 * (300.0 - application["application_wcu_per_second"]), abs=0.1
    )
    for run in application["runs"]:
        assert run["target_items"] == application["items"], run
        assert run["lost_items"] == 0, run
        for calls in (run["application_get_item"], run["application_put_item"]):
            assert calls["requests"] > 0
            assert 0 <= calls["throttled"] <= calls["requests"]
            assert calls["errors"] == 0
    assert {"runs_within_tolerance", "median_binding_ratio", "application_throttled_budget"} <= set(result["summary"])

    output = io.StringIO()
    render(document, Console(file=output, width=200))
    printed = output.getvalue()
    assert "f. Capacity budget held" in printed
    assert "f. An application beside a backfill" in printed
    assert "Items lost by our code: 0" in printed
