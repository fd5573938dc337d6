"""The capacity budget: its settings, the limiter, the shares of the segments running at once, and the plan."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from migration_core.budget import (
    BURST_SECONDS,
    LEASE_RENEWALS,
    PAGE_SECONDS,
    PROBE_PAGE_ITEMS,
    BudgetedCalls,
    CapacityLimiter,
    RateSetting,
    SegmentBudget,
    page_limit,
    prewarmed,
    resolve_budget,
)
from migration_core.config import WorkerConfig
from migration_core.errors import ConfigurationError, InvalidInput
from migration_core.estimate import Budget, TableFacts, budget_warnings, estimate_run
from migration_core.models import PrewarmSpec, RunSpec
from migration_core.plan import parse_execution_input
from migration_core.tables import with_auto_scaling
from tests.support.backfill import WORKER_ENVIRONMENT, worker_config
from tests.support.descriptions import on_demand, provisioned

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.tables import CreateTable


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def run_spec(**overrides: Any) -> RunSpec:
    values: dict[str, Any] = {
        "run_id": "run-1",
        "source_table": "source",
        "target_table": "target",
        "total_segments": 8,
    }
    return RunSpec(**(values | overrides))


# ---------------------------------------------------------------------------------------------------------------
# Settings


@pytest.mark.parametrize(
    ("given", "units", "percent", "normal"),
    [
        ("500", 500.0, None, "500"),
        (500, 500.0, None, "500"),
        (12.5, 12.5, None, "12.5"),
        ("25%", None, 25.0, "25%"),
        (" 100% ", None, 100.0, "100%"),
    ],
)
def test_a_rate_is_units_per_second_or_a_share(
    given: Any, units: float | None, percent: float | None, normal: str
) -> None:
    setting = RateSetting.parse(given, "max_read_rate")
    assert setting == RateSetting(units=units, percent=percent)
    assert str(setting) == normal


@pytest.mark.parametrize("given", [None, ""])
def test_no_rate_is_no_budget(given: Any) -> None:
    assert RateSetting.parse(given, "max_read_rate") is None


@pytest.mark.parametrize("given", ["0", "0%", "101%", "-5", "fast", "5 units", True, [500], "1e3"])
def test_a_bad_rate_is_refused_naming_the_field(given: Any) -> None:
    with pytest.raises(InvalidInput, match="max_write_rate"):
        RateSetting.parse(given, "max_write_rate")


def test_a_run_event_keeps_its_budget_and_leaves_it_out_without_one() -> None:
    budgeted = run_spec(max_read_rate="25%", read_budget={"source": 250.0}, write_budget={"target": 100.0})
    assert RunSpec.from_event(budgeted.to_event()) == budgeted
    assert not {"max_read_rate", "read_budget", "write_budget"} & run_spec().to_event().keys()
    with pytest.raises(InvalidInput, match=r"run\.write_budget"):
        RunSpec.from_event({**budgeted.to_event(), "write_budget": {"target": 0}})


# ---------------------------------------------------------------------------------------------------------------
# Resolving a share against the tables


def facts(description: dict[str, Any]) -> TableFacts:
    return TableFacts.from_description(description)


def test_a_share_is_of_provisioned_capacity_and_units_are_taken_as_given() -> None:
    tables = {
        "source": facts(provisioned("source", 1000, 1_000_000, rcu=400, wcu=100)),
        "target": facts(provisioned("target", 0, 0, rcu=50, wcu=200)),
    }
    run = resolve_budget(run_spec(max_read_rate="25%", max_write_rate="150"), tables)
    assert run.read_budget == {"source": 100.0}
    assert run.write_budget == {"target": 150.0}


def test_a_share_of_a_table_under_auto_scaling_is_of_its_maximum_and_the_plan_says_when_it_must_scale() -> None:
    with mock_aws():
        autoscaling = boto3.client("application-autoscaling", region_name="us-east-1")
        autoscaling.register_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId="table/source",
            ScalableDimension="dynamodb:table:ReadCapacityUnits",
            MinCapacity=5,
            MaxCapacity=2000,
        )
        autoscaling.register_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId="table/source",
            ScalableDimension="dynamodb:table:WriteCapacityUnits",
            MinCapacity=5,
            MaxCapacity=800,
        )
        source, note = with_auto_scaling(facts(provisioned("source", 10, 1000, rcu=400, wcu=100)), autoscaling)
        target, _ = with_auto_scaling(facts(provisioned("target", 0, 0, rcu=50, wcu=200)), autoscaling)
    assert note is None
    assert (source.scaling_max_read_units, source.scaling_max_write_units) == (2000.0, 800.0)
    assert (target.scaling_max_read_units, target.scaling_max_write_units) == (None, None)
    run = resolve_budget(run_spec(max_read_rate="25%", max_write_rate="50%"), {"source": source, "target": target})
    assert run.read_budget == {"source": 500.0}
    assert run.write_budget == {"target": 100.0}
    warnings = budget_warnings(Budget(read=run.read_budget), {"source": source})
    assert len(warnings) == 1
    assert "exceeds its provisioned 400 units/s: auto-scaling raises that toward its maximum of 2,000" in warnings[0]
    assert "--prewarm" in warnings[0]
    assert budget_warnings(Budget(read={"source": 300.0}), {"source": source}) == []


def test_without_leave_to_read_auto_scaling_a_share_stays_of_the_provisioned_capacity_and_the_plan_says_so() -> None:
    autoscaling = boto3.client(
        "application-autoscaling", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    with Stubber(autoscaling) as stub:
        stub.add_client_error("describe_scalable_targets", "AccessDeniedException", "not authorized")
        source, note = with_auto_scaling(facts(provisioned("source", 10, 1000, rcu=400, wcu=100)), autoscaling)
    assert source.scaling_max_read_units is None
    assert note is not None
    assert "AccessDeniedException" in note
    assert "application-autoscaling:DescribeScalableTargets" in note
    assert resolve_budget(run_spec(max_read_rate="25%"), {"source": source, "target": source}).read_budget == {
        "source": 100.0
    }


def test_a_share_of_an_on_demand_table_is_of_its_maximum_else_its_warm_throughput() -> None:
    limited = on_demand("source", 10, 1000, OnDemandThroughput={"MaxReadRequestUnits": 800})
    warm = on_demand("target", 10, 1000, WarmThroughput={"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000})
    run = resolve_budget(
        run_spec(max_read_rate="50%", max_write_rate="10%", mode="verify"),
        {"source": facts(limited), "target": facts(warm)},
    )
    assert run.read_budget == {"source": 400.0, "target": 6000.0}
    assert run.write_budget == {}


def test_a_cleanup_reads_the_target_too_and_pre_warm_raises_the_capacity_a_share_is_of() -> None:
    tables = {
        "source": facts(provisioned("source", 1, 1, rcu=100, wcu=100)),
        "target": facts(provisioned("target", 1, 1, rcu=100, wcu=100)),
    }
    run = resolve_budget(
        run_spec(
            cleanup=True,
            max_read_rate="10%",
            max_write_rate="10%",
            prewarm=PrewarmSpec(read_units=2000, write_units=1000),
        ),
        tables,
    )
    assert run.read_budget == {"source": 200.0, "target": 200.0}
    assert run.write_budget == {"target": 100.0}


def test_the_plan_is_of_the_tables_as_pre_warm_leaves_them() -> None:
    run = run_spec(max_read_rate="50%", max_write_rate="50%", prewarm=PrewarmSpec(read_units=4000, write_units=4000))
    tables = prewarmed(
        run,
        {
            "source": facts(provisioned("source", 100_000, 400_000_000, rcu=100, wcu=100)),
            "target": facts(provisioned("target", 0, 0, rcu=100, wcu=100, gsis=1)),
        },
    )
    source, target = tables["source"], tables["target"]
    assert (source.read_units, source.write_units) == (4000.0, 100.0)
    assert (target.read_units, target.write_units, target.indexes[0].write_units) == (100.0, 4000.0, 4000.0)
    resolved = resolve_budget(run, tables)
    assert (resolved.read_budget, resolved.write_budget) == ({"source": 2000.0}, {"target": 2000.0})
    estimate = estimate_run(
        source, target, cleanup=False, budget=Budget(read=resolved.read_budget, write=resolved.write_budget)
    )
    # The budget it derived from the pre-warmed capacity is not "more than the table delivers".
    assert not any("exceeds" in note for note in estimate.notes)
    # 100,000 items of 4 KB: 400,000 WCU and as many in the GSI, at the write budget of 2,000 WCU/s.
    assert estimate.duration_seconds == pytest.approx(800_000 / 2000)


def test_a_share_of_a_table_without_capacity_is_refused_with_the_fix() -> None:
    tables = {
        "source": facts(provisioned("source", 1, 1, rcu=0, wcu=0)),
        "target": facts(provisioned("target", 1, 1, 5, 5)),
    }
    with pytest.raises(InvalidInput, match="give the budget in units per second"):
        resolve_budget(run_spec(max_read_rate="10%"), tables)


def test_the_plan_takes_the_budget_as_the_rate_and_warns_when_the_table_cannot_deliver_it() -> None:
    source = facts(provisioned("source", 100_000, 100_000 * 4096, rcu=10_000, wcu=10))
    target = facts(provisioned("target", 0, 0, rcu=10, wcu=1000))
    unbudgeted = estimate_run(source, target, cleanup=False)
    budgeted = estimate_run(
        source, target, cleanup=False, budget=Budget(read={"source": 50_000}, write={"target": 100})
    )
    # 100,000 items of 4 KB: 400,000 WCU; 400 s at the target's 1,000 WCU/s, 4,000 s at the budget's 100.
    assert unbudgeted.duration_seconds == pytest.approx(400)
    assert budgeted.duration_seconds == pytest.approx(4000)
    assert "the write budget on target" in budgeted.phases[0].bottleneck
    assert any("read budget of 50,000 units/s on source exceeds" in note for note in budgeted.notes)
    assert not any("exceeds" in note for note in unbudgeted.notes)


# ---------------------------------------------------------------------------------------------------------------
# The limiter


def test_the_limiter_spends_at_most_its_rate_however_large_the_calls() -> None:
    clock = FakeTime()
    limiter = CapacityLimiter(100.0, monotonic=clock.monotonic, sleep=clock.sleep)
    started = clock.now
    spent = 0.0
    for units in [30.0, 250.0, 5.0, 128.0, 40.0] * 20:
        limiter.take()
        limiter.charge(units)
        spent += units
    # Every call waited until the ones before it were paid for: the last one is the only one not yet paid.
    assert spent - 40.0 <= 100.0 * (clock.now - started) + 1e-6
    assert clock.now - started == pytest.approx((spent - 40.0) / 100.0, rel=0.01)


def test_a_call_goes_out_only_once_it_is_paid_for_so_no_moment_is_over_budget() -> None:
    clock = FakeTime()
    limiter = CapacityLimiter(100.0, monotonic=clock.monotonic, sleep=clock.sleep)
    clock.now += 60
    started = clock.now
    spent = 0.0
    for units in [30.0, 250.0, 5.0, 128.0, 40.0] * 20:
        limiter.take(units)
        spent += units
        # What has gone out, this call included, is within the rate since the start plus the saved burst.
        assert spent <= 100.0 * (clock.now - started) + 100.0 * BURST_SECONDS + 1e-6
    assert clock.now - started == pytest.approx((spent - 100.0 * BURST_SECONDS) / 100.0)


def test_estimates_are_charged_up_front_and_corrected_by_what_dynamodb_reported() -> None:
    clock = FakeTime()
    calls = BudgetedCalls(CapacityLimiter(10.0, monotonic=clock.monotonic, sleep=clock.sleep), units_per_request=1.0)
    with calls.call(25) as consumed:
        consumed(50.0)
    assert calls.limiter.spent == pytest.approx(50.0)
    # The next call of 25 requests is estimated at 2 units each: it goes out once the rate has paid for the first
    # call's 50 units and its own 50.
    with calls.call(25) as consumed:
        assert clock.slept == pytest.approx(10.0)
        consumed(10.0)
    assert calls.limiter.spent == pytest.approx(60.0)
    with pytest.raises(RuntimeError), calls.call(25):
        raise RuntimeError("throttled")
    assert calls.limiter.spent == pytest.approx(60.0)


def test_a_scan_page_is_estimated_at_what_its_items_cost_with_half_a_unit_per_call_at_least() -> None:
    clock = FakeTime()
    started = clock.now
    calls = BudgetedCalls(CapacityLimiter(100.0, monotonic=clock.monotonic, sleep=clock.sleep), units_per_request=0.0)
    # The first page, of unknown cost, is estimated at the half unit every call costs at least, and paid for after.
    with calls.call(1000) as consumed:
        assert calls.limiter.spent == pytest.approx(0.5)
        consumed(62.5)
    # 1,000 small items read at 1/16 unit each: the next page of 1,000 is estimated at 62.5 units, not at a
    # half-unit floor per item (500 units, 5 s of waiting for 0.6 s worth of reads).
    with calls.call(1000) as consumed:
        assert calls.limiter.spent == pytest.approx(125.0)
        consumed(62.5)
    assert clock.now - started == pytest.approx(125.0 / 100.0)
    with calls.call(1) as consumed:
        assert calls.limiter.spent == pytest.approx(125.5)
        consumed(0.5)


def test_an_idle_limiter_saves_at_most_a_fifth_of_a_second_of_its_rate() -> None:
    clock = FakeTime()
    limiter = CapacityLimiter(10.0, monotonic=clock.monotonic, sleep=clock.sleep)
    clock.now += 3600
    limiter.take()
    limiter.charge(15.0)
    limiter.take()
    assert clock.slept == pytest.approx(1.3)


def test_threads_share_one_limiter() -> None:
    clock_lock = threading.Lock()
    clock = FakeTime()

    def sleep(seconds: float) -> None:
        with clock_lock:
            clock.sleep(seconds)

    limiter = CapacityLimiter(50.0, monotonic=clock.monotonic, sleep=sleep)

    def spend() -> None:
        for _ in range(50):
            limiter.take(1.0)

    threads = [threading.Thread(target=spend) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert limiter.spent == pytest.approx(200.0)
    assert clock.now - 1000.0 >= (200.0 - 4) / 50.0 - 1e-6


def test_pages_are_sized_to_a_quarter_of_a_second_of_the_share() -> None:
    assert PAGE_SECONDS == 0.25
    budget = SegmentBudget.__new__(SegmentBudget)
    budget._limiters = {
        ("read", "source"): CapacityLimiter(40.0),
        ("write", "target"): CapacityLimiter(160.0),
    }
    # Before the costs are known: a unit per item of the smaller share, at most PROBE_PAGE_ITEMS.
    assert page_limit(budget, "source", "target", (0.0, 0.0)) == 10
    assert page_limit(budget, "source", None, (0.0, 0.0)) == 10
    budget._limiters[("read", "source")] = CapacityLimiter(4000.0)
    assert page_limit(budget, "source", None, (0.0, 0.0)) == PROBE_PAGE_ITEMS
    # 0.5 RCU and 4 WCU per item: the read share allows 8,000 items/s, the write share 40; a quarter second's worth.
    assert page_limit(budget, "source", "target", (0.5, 4.0)) == 10
    assert page_limit(budget, "other", None, (0.5, 2.0)) is None


# ---------------------------------------------------------------------------------------------------------------
# Shares of the segments running at once (leases in the state table, moto)


@pytest.fixture
def state_table(create_table: CreateTable) -> str:
    return create_table("migration-state", pk="S", sk="S")


def segment_budget(
    client: DynamoDBClient, run: RunSpec, segment: int, wall: list[float], *, concurrency: int = 4
) -> SegmentBudget:
    return SegmentBudget(
        client=client,
        state_table="migration-state",
        run=run,
        phase="copy",
        segment=segment,
        planned_segments=run.total_segments,
        max_concurrency=concurrency,
        wall_clock=lambda: wall[0],
    )


def test_each_segment_takes_its_share_of_the_maps_concurrency_from_the_start(
    dynamodb: DynamoDBClient, state_table: str
) -> None:
    run = run_spec(read_budget={"source": 400.0}, write_budget={"target": 120.0})
    wall = [5000.0]
    # The first segment to start does not take the whole budget: three more may start any moment.
    with segment_budget(dynamodb, run, 0, wall) as first:
        assert first.share("read", "source") == 100.0
        assert first.share("write", "target") == 30.0
        assert first.reads("target") is None
        assert first.writes("source") is None


def test_shares_grow_only_as_segments_finish(dynamodb: DynamoDBClient, state_table: str) -> None:
    run = run_spec(total_segments=3, write_budget={"target": 120.0})
    wall = [5000.0]
    with segment_budget(dynamodb, run, 0, wall) as first:
        assert first.share("write", "target") == 40.0
        with segment_budget(dynamodb, run, 1, wall) as second:
            second.segment_done = False
        # Segment 1 ended its invocation without finishing (it continues in the next one): it keeps its place.
        first.renew()
        assert first.share("write", "target") == 40.0
        for segment in (1, 2):
            with segment_budget(dynamodb, run, segment, wall) as other:
                other.segment_done = True
        first.renew()
        assert first.share("write", "target") == 120.0


def test_more_live_leases_than_expected_share_too(dynamodb: DynamoDBClient, state_table: str) -> None:
    run = run_spec(read_budget={"source": 300.0})
    wall = [5000.0]
    for segment in (1, 2, 3):
        segment_budget(dynamodb, run, segment, wall, concurrency=1).renew()
    with segment_budget(dynamodb, run, 0, wall, concurrency=1) as budget:
        assert budget.share("read", "source") == 75.0
        # Leases not renewed stop counting: a crashed invocation does not hold its share forever.
        wall[0] += LEASE_RENEWALS * 2.0 + 1
        budget.renew()
        assert budget.share("read", "source") == 300.0


def test_leases_of_another_run_do_not_count(dynamodb: DynamoDBClient, state_table: str) -> None:
    wall = [5000.0]
    for segment in range(4):
        segment_budget(dynamodb, run_spec(run_id="other", read_budget={"source": 10.0}), segment, wall).renew()
    with segment_budget(dynamodb, run_spec(read_budget={"source": 200.0}), 0, wall, concurrency=1) as budget:
        assert budget.share("read", "source") == 200.0


def test_a_run_without_a_budget_takes_no_lease(dynamodb: DynamoDBClient, state_table: str) -> None:
    with segment_budget(dynamodb, run_spec(), 0, [5000.0]) as budget:
        assert not budget.active
        assert budget.reads("source") is None
    assert dynamodb.scan(TableName=state_table)["Count"] == 0


# ---------------------------------------------------------------------------------------------------------------
# The execution input


def test_the_deployments_budget_applies_unless_the_run_gives_its_own_or_turns_it_off() -> None:
    config = worker_config(default_max_read_rate="25%", default_max_write_rate="100")
    assert parse_execution_input({}, run_id="r", config=config).max_write_rate == "100"
    given = parse_execution_input({"max_read_rate": 50, "max_write_rate": "10%"}, run_id="r", config=config)
    assert (given.max_read_rate, given.max_write_rate) == ("50", "10%")
    off = parse_execution_input({"max_read_rate": "", "max_write_rate": None}, run_id="r", config=config)
    assert (off.max_read_rate, off.max_write_rate) == (None, None)
    # A verify only reads: the deployment's write budget does not apply, and one given is refused.
    verify = parse_execution_input({"mode": "verify"}, run_id="r", config=config)
    assert (verify.max_read_rate, verify.max_write_rate) == ("25%", None)
    with pytest.raises(InvalidInput, match="max_write_rate does not apply to mode verify"):
        parse_execution_input({"mode": "verify", "max_write_rate": "5"}, run_id="r", config=config)
    with pytest.raises(InvalidInput, match="max_read_rate must be capacity units"):
        parse_execution_input({"max_read_rate": "lots"}, run_id="r", config=config)


def test_the_worker_reads_its_budget_from_terraforms_environment() -> None:
    environment = dict(WORKER_ENVIRONMENT, DEFAULT_MAX_READ_RATE="25%", DEFAULT_MAX_WRITE_RATE="", MAX_CONCURRENCY="9")
    config = WorkerConfig.from_environment(environment)
    assert (config.default_max_read_rate, config.default_max_write_rate, config.max_concurrency) == ("25%", None, 9)
    with pytest.raises(ConfigurationError, match="DEFAULT_MAX_WRITE_RATE is required"):
        WorkerConfig.from_environment({k: v for k, v in environment.items() if k != "DEFAULT_MAX_WRITE_RATE"})
    with pytest.raises(ConfigurationError, match="environment variable DEFAULT_MAX_READ_RATE must be"):
        WorkerConfig.from_environment(dict(environment, DEFAULT_MAX_READ_RATE="0"))


def test_a_finished_segment_stays_done_when_it_runs_again(dynamodb: DynamoDBClient, state_table: str) -> None:
    run = run_spec(total_segments=2, read_budget={"source": 100.0})
    wall = [5000.0]
    with segment_budget(dynamodb, run, 1, wall) as finished:
        finished.segment_done = True
    # A retried or resumed invocation of the finished segment renews its lease without un-finishing it.
    with segment_budget(dynamodb, run, 1, wall):
        pass
    with segment_budget(dynamodb, run, 0, wall) as budget:
        assert budget.share("read", "source") == 100.0
