"""ParallelBatchWriter against a fake DynamoDB client that throttles and refuses on cue."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from migration_core.batch_writer import ParallelBatchWriter
from migration_core.errors import WriteRetriesExhausted
from migration_core.retry import RetryPolicy
from migration_core.types import Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "target"
KEY_SCHEMA = {"pk": "S"}

# Decides what happens to one BatchWriteItem call: gets the call number and its requests, returns the requests
# to leave unprocessed, or raises.
Script = Callable[[int, list[dict[str, Any]]], list[dict[str, Any]]]


def accept_all(call: int, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return []


def client_error(code: str, status: int = 400) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "BatchWriteItem")


def key_text(request: dict[str, Any]) -> str:
    if "PutRequest" in request:
        return str(request["PutRequest"]["Item"]["pk"]["S"])
    return str(request["DeleteRequest"]["Key"]["pk"]["S"])


class FakeDynamoDB:
    """Just enough of BatchWriteItem: its request rules, UnprocessedItems, errors, and a stored table."""

    def __init__(self, script: Script = accept_all, latency_seconds: float = 0.0) -> None:
        self.script = script
        self.latency_seconds = latency_seconds
        self.calls: list[list[dict[str, Any]]] = []
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
    fake: FakeDynamoDB, *, concurrency: int = 4, max_attempts: int = 5, sleeps: list[float] | None = None
) -> ParallelBatchWriter:
    policy = RetryPolicy(
        max_attempts=max_attempts,
        base_seconds=0.01,
        cap_seconds=0.08,
        rng=random.Random(1234),
        sleep=(sleeps if sleeps is not None else []).append,
    )
    return ParallelBatchWriter(cast("DynamoDBClient", fake), TABLE, KEY_SCHEMA, concurrency, policy)


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
    sleeps: list[float] = []
    with writer(fake, concurrency=1, sleeps=sleeps) as batch_writer:
        stats = batch_writer.put_many(items(50))

    assert len(fake.stored) == 50
    assert stats.written == 50
    assert stats.retries == 4
    assert stats.throttled == 4
    assert len(sleeps) == 4
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

    sleeps: list[float] = []
    refusing = writer(FakeDynamoDB(refuse_everything), concurrency=1, max_attempts=8, sleeps=sleeps)
    with refusing as batch_writer, pytest.raises(WriteRetriesExhausted):
        batch_writer.put_many(items(1))

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
