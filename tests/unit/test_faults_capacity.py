"""Capacity accounting of the DynamoDB model: unit sizes and the token bucket, on a fake clock."""

from __future__ import annotations

import pytest

from devtools.datagen import generate_items
from devtools.faults import Capacity, ModelSettings, TokenBucket, read_units, wire_item_size, write_units
from migration_core.attribute_values import item_size, item_to_json


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_write_units_are_one_per_started_kilobyte() -> None:
    assert write_units(0) == 1
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert write_units(400 * 1024) == 400


def test_read_units_are_per_4_kb_and_halved_when_eventually_consistent() -> None:
    assert read_units(4096, consistent=True) == 1.0
    assert read_units(4097, consistent=True) == 2.0
    assert read_units(4097, consistent=False) == 1.0
    assert read_units(0, consistent=False) == 0.5


def test_wire_item_size_is_item_size_of_the_decoded_item() -> None:
    for item in generate_items(20):
        assert wire_item_size(item_to_json(item)) == item_size(item)


def test_a_batch_takes_what_fits_in_order() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Capacity(10, burst_seconds=1.0), clock)
    assert bucket.take_each([4, 4, 4, 1]) == [True, True, False, True]
    assert bucket.tokens == pytest.approx(1.0)


def test_the_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Capacity(10, burst_seconds=2.0, initial_fill=0.0), clock)
    assert not bucket.try_take(1)
    clock.now += 0.5
    assert bucket.tokens == pytest.approx(5.0)
    clock.now += 60
    assert bucket.tokens == pytest.approx(20.0)  # 2 s of burst, not 60 s worth


def test_a_request_bigger_than_the_bucket_passes_only_when_the_bucket_is_full() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Capacity(10, burst_seconds=1.0), clock)
    assert bucket.try_take(400)  # full bucket: admitted, now in debt
    clock.now += 1.0
    assert not bucket.try_take(400)
    assert bucket.tokens == pytest.approx(-380.0)


def test_reads_are_charged_after_the_fact_and_may_go_into_debt() -> None:
    clock = FakeClock()
    bucket = TokenBucket(Capacity(10, burst_seconds=1.0), clock)
    bucket.charge(25)
    assert bucket.tokens == pytest.approx(-15.0)
    bucket.give_back(100)
    assert bucket.tokens == pytest.approx(10.0)  # never above the burst


def test_settings_round_trip_through_json() -> None:
    settings = ModelSettings(
        latency_ms=(5, 10),
        write_capacity={"t": Capacity(500, 1.0, 0.0)},
        read_capacity={"t": Capacity(1000)},
        server_error_rate=0.1,
        server_error_after_apply_share=0.5,
        throttle_rate=0.2,
        partial_batch_rate=0.3,
        fault_tables=frozenset({"t"}),
        memory_tables=("bench-*",),
        sqs_sink_queues=("sink-*",),
        seed=3,
    )
    assert ModelSettings.from_json(settings.to_json()) == settings


@pytest.mark.parametrize(
    "arguments",
    [{"latency_ms": (10, 5)}, {"server_error_rate": 1.5}, {"throttle_rate": -0.1}],
)
def test_settings_refuse_impossible_values(arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        ModelSettings(**arguments)  # type: ignore[arg-type]


def test_capacity_refuses_impossible_values() -> None:
    with pytest.raises(ValueError, match="positive"):
        Capacity(0)
    with pytest.raises(ValueError, match="initial_fill"):
        Capacity(10, initial_fill=2)
