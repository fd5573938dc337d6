"""ParallelBatchWriter and its SendPacer against a fake DynamoDB client that throttles and refuses on cue.

Time is fake too (it passes only when the writer sleeps), so backoff and pacing are exact numbers.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from migration_core.batch_writer import (
    BATCH_WRITE_LIMIT,
    RATE_CUT,
    RATE_DOUBLING_SECONDS,
    RATE_WINDOW_SECONDS,
    ParallelBatchWriter,
    SendPacer,
)
from migration_core.errors import WriteRetriesExhausted
from migration_core.retry import RetryPolicy
from migration_core.types import Item
from tests.support.aws import client_error

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "target"
KEY_SCHEMA = {"pk": "S"}

# Decides what happens to one BatchWriteItem call: gets the call number and its requests, returns the requests
# to leave unprocessed, or raises.
Script = Callable[[int, list[dict[str, Any]]], list[dict[str, Any]]]


def accept_all(call: int, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return []


def key_text(request: dict[str, Any]) -> str:
    if "PutRequest" in request:
        return str(request["PutRequest"]["Item"]["pk"]["S"])
    return str(request["DeleteRequest"]["Key"]["pk"]["S"])


class FakeTime:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


class FakeDynamoDB:
    """Just enough of BatchWriteItem: its request rules, UnprocessedItems, errors, and a stored table."""

    def __init__(
        self, script: Script = accept_all, latency_seconds: float = 0.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.script = script
        self.latency_seconds = latency_seconds
        self.clock = clock
        self.calls: list[list[dict[str, Any]]] = []
        self.call_times: list[float] = []
        self.stored: dict[str, Item] = {}
        self.deleted: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def batch_write_item(self, *, RequestItems: dict[str, list[dict[str, Any]]], ReturnConsumedCapacity: str) -> Any:  # noqa: N803 - boto3's names
        requests = RequestItems[TABLE]
        assert set(RequestItems) == {TABLE}
        assert ReturnConsumedCapacity == "TOTAL"
        if len(requests) > 25:
            raise client_error("ValidationException")
        keys = [key_text(request) for request in requests]
        if len(set(keys)) != len(keys):
            raise client_error("ValidationException")
        with self._lock:
            call = len(self.calls)
            self.calls.append(requests)
            self.call_times.append(self.clock())
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.latency_seconds)
            unprocessed = self.script(call, requests)
            with self._lock:
                for request in requests:
                    if request in unprocessed:
                        continue
                    if "PutRequest" in request:
                        self.stored[key_text(request)] = request["PutRequest"]["Item"]
                    else:
                        self.stored.pop(key_text(request), None)
                        self.deleted.append(key_text(request))
            accepted = len(requests) - len(unprocessed)
            return {
                "UnprocessedItems": {TABLE: unprocessed} if unprocessed else {},
                "ConsumedCapacity": [{"TableName": TABLE, "CapacityUnits": float(accepted)}],
            }
        finally:
            with self._lock:
                self.in_flight -= 1


def items(count: int, prefix: str = "k") -> list[Item]:
    return [{"pk": {"S": f"{prefix}{index:04d}"}, "n": {"N": str(index)}} for index in range(count)]


def writer(
    fake: FakeDynamoDB,
    *,
    concurrency: int = 4,
    max_attempts: int = 5,
    clock: FakeTime | None = None,
    adaptive_rate: bool = True,
) -> ParallelBatchWriter:
    clock = clock or FakeTime()
    policy = RetryPolicy(
        max_attempts=max_attempts,
        base_seconds=0.01,
        cap_seconds=0.08,
        rng=random.Random(1234),
        sleep=clock.sleep,
        adaptive_rate=adaptive_rate,
    )
    return ParallelBatchWriter(cast("DynamoDBClient", fake), TABLE, KEY_SCHEMA, concurrency, policy, monotonic=clock)


def test_writes_every_item_in_chunks_of_at_most_25() -> None:
    fake = FakeDynamoDB()
    with writer(fake) as batch_writer:
        stats = batch_writer.put_many(items(60))

    assert sorted(len(call) for call in fake.calls) == [10, 25, 25]
    assert len(fake.stored) == 60
    assert (stats.written, stats.deleted, stats.retries, stats.throttled, stats.duplicates) == (60, 0, 0, 0, 0)
    assert stats.consumed_wcu == 60.0


def test_duplicate_keys_keep_the_last_write_and_are_counted() -> None:
    fake = FakeDynamoDB()
    batch = [*items(30), {"pk": {"S": "k0003"}, "n": {"N": "last"}}, {"pk": {"S": "k0029"}, "n": {"N": "last"}}]
    with writer(fake) as batch_writer:
        stats = batch_writer.put_many(batch)

    assert stats.written == 30
    assert stats.duplicates == 2
    assert fake.stored["k0003"]["n"] == {"N": "last"}
    assert fake.stored["k0029"]["n"] == {"N": "last"}


def test_unprocessed_items_are_retried_until_written() -> None:
    def leave_half_unprocessed_at_first(call: int, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return requests[: len(requests) // 2] if call < 4 else []

    fake = FakeDynamoDB(leave_half_unprocessed_at_first)
    clock = FakeTime()
    # The chunk's own backoff alone: with the adaptive rate, pacing waits would join these sleeps.
    with writer(fake, concurrency=1, clock=clock, adaptive_rate=False) as batch_writer:
        stats = batch_writer.put_many(items(50))

    assert len(fake.stored) == 50
    assert stats.written == 50
    assert stats.retries == 4
    assert stats.throttled == 4
    assert len(clock.sleeps) == 4
    assert stats.consumed_wcu == 50.0


def test_throttling_and_connection_errors_are_retried() -> None:
    errors: list[Exception] = [
        client_error("ProvisionedThroughputExceededException"),
        client_error("ThrottlingException"),
        client_error("InternalServerError", 500),
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ]

    def fail_first_calls(call: int, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if call < len(errors):
            raise errors[call]
        return []

    fake = FakeDynamoDB(fail_first_calls)
    with writer(fake, concurrency=1) as batch_writer:
        stats = batch_writer.put_many(items(10))

    assert len(fake.stored) == 10
    assert stats.retries == 4
    assert stats.throttled == 2
    assert len(fake.calls) == 5


def test_backoff_grows_exponentially_below_the_cap() -> None:
    def refuse_everything(call: int, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return requests

    clock = FakeTime()
    # The chunk's own backoff alone, as above.
    refusing = writer(FakeDynamoDB(refuse_everything), concurrency=1, max_attempts=8, clock=clock, adaptive_rate=False)
    with refusing as batch_writer, pytest.raises(WriteRetriesExhausted):
        batch_writer.put_many(items(1))

    sleeps = clock.sleeps
    assert len(sleeps) == 7
    for attempt, slept in enumerate(sleeps):
        assert 0 <= slept <= min(0.08, 0.01 * 2**attempt)
    assert len(set(sleeps)) == len(sleeps), "full jitter draws a fresh random delay every time"


def test_exhausted_retries_raise_with_the_count_and_sample_keys_and_never_drop_silently() -> None:
    def refuse_poison(call: int, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [request for request in requests if key_text(request).startswith("poison")]

    fake = FakeDynamoDB(refuse_poison)
    batch = [*items(40), *items(3, prefix="poison")]
    with writer(fake, max_attempts=4) as batch_writer, pytest.raises(WriteRetriesExhausted) as raised:
        batch_writer.put_many(batch)

    error = raised.value
    assert error.count == 3
    assert error.table == TABLE
    assert [key["pk"]["S"] for key in error.sample_keys] == ["poison0000", "poison0001", "poison0002"]
    assert "3 item(s) could not be written to table 'target'" in str(error)
    assert '{"pk":{"S":"poison0001"}}' in str(error)
    assert len(fake.stored) == 40, "the chunks that could be written were written"
    chunk_with_poison = [call for call in fake.calls if any(key_text(r).startswith("poison") for r in call)]
    assert len(chunk_with_poison) == 4, "max_attempts calls for the chunk that never progresses"


def test_progress_restarts_the_retry_budget() -> None:
    # One item accepted per call: a chunk of 6 needs 6 calls, more than max_attempts, and still succeeds.
    def accept_one(call: int, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return requests[1:]

    fake = FakeDynamoDB(accept_one)
    with writer(fake, concurrency=1, max_attempts=2) as batch_writer:
        stats = batch_writer.put_many(items(6))

    assert len(fake.stored) == 6
    assert stats.retries == 5


def test_non_retryable_errors_fail_at_once() -> None:
    def invalid(call: int, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise client_error("ValidationException")

    fake = FakeDynamoDB(invalid)
    with writer(fake, concurrency=1) as batch_writer, pytest.raises(ClientError, match="ValidationException"):
        batch_writer.put_many(items(30))
    assert len(fake.calls) == 2, "each chunk tried once, no retries"


def test_bounded_number_of_calls_in_flight() -> None:
    fake = FakeDynamoDB(latency_seconds=0.05)
    with writer(fake, concurrency=3) as batch_writer:
        batch_writer.put_many(items(250))

    assert fake.max_in_flight == 3
    assert len(fake.stored) == 250


def test_delete_many_sends_delete_requests_by_key() -> None:
    fake = FakeDynamoDB()
    with writer(fake) as batch_writer:
        batch_writer.put_many(items(30))
        stats = batch_writer.delete_many([{"pk": {"S": f"k{index:04d}"}} for index in range(0, 30, 2)])

    assert stats.deleted == 15
    assert stats.written == 0
    assert len(fake.stored) == 15
    assert all("DeleteRequest" in request for call in fake.calls[-1:] for request in call)


def test_an_empty_batch_makes_no_call() -> None:
    fake = FakeDynamoDB()
    with writer(fake) as batch_writer:
        stats = batch_writer.put_many([])
    assert fake.calls == []
    assert stats.written == 0


# -- the shared send rate ----------------------------------------------------------------------------------------


def test_the_writer_is_unpaced_while_the_table_takes_everything() -> None:
    fake = FakeDynamoDB()
    clock = FakeTime()
    with writer(fake, clock=clock) as batch_writer:
        batch_writer.put_many(items(200))
        assert batch_writer.pacer is not None
        assert batch_writer.pacer.rate is None
    assert clock.sleeps == []


def test_after_a_push_back_every_call_waits_its_turn_first_sends_included() -> None:
    def push_back_once(call: int, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return requests[:5] if call == 0 else []

    clock = FakeTime()
    fake = FakeDynamoDB(push_back_once, clock=clock)
    with writer(fake, concurrency=1, clock=clock) as batch_writer:
        stats = batch_writer.put_many(items(100))
        assert batch_writer.pacer is not None
        assert batch_writer.pacer.rate is not None

    assert len(fake.stored) == 100
    assert stats.retries == 1
    # Call 1 is the retry of chunk 0; calls 2-4 are the first sends of chunks 1-3, paced all the same.
    gaps = [later - earlier for earlier, later in itertools.pairwise(fake.call_times)]
    assert len(gaps) == 4
    assert all(gap > 0 for gap in gaps)


def pacer(cap_seconds: float = 20.0) -> tuple[SendPacer, FakeTime]:
    clock = FakeTime()
    return SendPacer(cap_seconds, sleep=clock.sleep, monotonic=clock), clock


def test_a_push_back_cuts_the_rate_to_a_share_of_what_the_table_accepted() -> None:
    send_pacer, clock = pacer()
    first = send_pacer.acquire(25)
    clock.now = 0.5
    send_pacer.record(first, 25, 25, pushed_back=False)
    clock.now = 1.0
    second = send_pacer.acquire(25)
    assert clock.sleeps == [], "unpaced until the first push-back"

    send_pacer.record(second, 25, 5, pushed_back=True)

    # 30 items accepted over the last second.
    assert send_pacer.rate == pytest.approx(RATE_CUT * 30 / RATE_WINDOW_SECONDS)


def test_calls_are_spaced_by_the_rate_which_grows_while_they_wait() -> None:
    send_pacer, clock = pacer()
    clock.now = 1.0
    started = send_pacer.acquire(25)
    send_pacer.record(started, 25, 0, pushed_back=True)
    send_pacer.record(started, 25, 0, pushed_back=True)  # already cut for this call: no second cut
    rate = send_pacer.rate
    assert rate is not None

    send_pacer.acquire(25)

    (waited,) = clock.sleeps
    # The rate doubling every RATE_DOUBLING_SECONDS has let exactly 25 items through in that wait...
    let_through = rate * RATE_DOUBLING_SECONDS / math.log(2) * (2 ** (waited / RATE_DOUBLING_SECONDS) - 1)
    assert let_through == pytest.approx(25)
    # ... which is sooner than the rate of the cut alone would have allowed.
    assert waited < 25 / rate


def test_only_answers_to_calls_sent_after_the_latest_cut_cut_again() -> None:
    send_pacer, clock = pacer()
    in_flight = [send_pacer.acquire(25) for _ in range(8)]
    clock.now = 0.01
    send_pacer.record(in_flight[0], 25, 3, pushed_back=True)
    rate = send_pacer.rate

    for started in in_flight[1:]:
        send_pacer.record(started, 25, 0, pushed_back=True)

    assert send_pacer.rate == rate, "the other calls in flight went out at the old rate"
    later = send_pacer.acquire(25)
    send_pacer.record(later, 25, 0, pushed_back=True)
    assert rate is not None
    assert send_pacer.rate is not None
    assert send_pacer.rate < rate


def test_a_cut_never_raises_the_rate() -> None:
    send_pacer, clock = pacer()
    started = send_pacer.acquire(25)
    clock.now = 0.1
    send_pacer.record(started, 25, 1, pushed_back=True)
    before = send_pacer.rate
    # Many items accepted since (calls sent before the cut), then a push-back: the rate stays where it was.
    for _ in range(20):
        send_pacer.record(started, 25, 25, pushed_back=False)

    send_pacer.record(send_pacer.acquire(25), 25, 0, pushed_back=True)

    assert before is not None
    assert send_pacer.rate == pytest.approx(before * 2 ** ((clock.now - 0.1) / RATE_DOUBLING_SECONDS))


def test_a_table_that_takes_nothing_for_a_window_drops_the_rate_to_one_batch_per_backoff_cap() -> None:
    send_pacer, clock = pacer(cap_seconds=2.0)
    started = send_pacer.acquire(25)
    clock.now = RATE_WINDOW_SECONDS
    send_pacer.record(started, 25, 20, pushed_back=True)
    assert send_pacer.rate == pytest.approx(RATE_CUT * 20 / RATE_WINDOW_SECONDS)
    clock.now += RATE_WINDOW_SECONDS + 0.1

    send_pacer.record(send_pacer.acquire(25), 25, 0, pushed_back=True)

    assert send_pacer.rate == pytest.approx(BATCH_WRITE_LIMIT / 2.0)


def test_without_push_backs_the_rate_doubles_until_pacing_is_off_again() -> None:
    send_pacer, clock = pacer()
    clock.now = 1.0
    send_pacer.record(send_pacer.acquire(25), 25, 10, pushed_back=True)
    rate = send_pacer.rate
    assert rate is not None

    clock.now += 3 * RATE_DOUBLING_SECONDS
    assert send_pacer.rate == pytest.approx(8 * rate)

    clock.now += 60
    assert send_pacer.rate is None
    send_pacer.acquire(25)
    assert clock.sleeps == []
