"""BatchWriteItem with bounded parallelism, our own retry budget, and no silently dropped items."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from botocore.exceptions import BotoCoreError, ClientError

from migration_core.errors import SAMPLE_KEY_LIMIT, WriteRetriesExhausted
from migration_core.items import KeySchema, key_of
from migration_core.retry import RetryPolicy, is_retryable, is_throttling
from migration_core.types import Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_WRITE_LIMIT = 25

WriteKind = Literal["put", "delete"]


@dataclass(frozen=True)
class WriteStats:
    written: int = 0
    deleted: int = 0
    # Requests for a key that a later request in the same call replaced (BatchWriteItem refuses duplicates).
    duplicates: int = 0
    retries: int = 0
    # Calls answered with a throttling error or with UnprocessedItems.
    throttled: int = 0
    consumed_wcu: float = 0.0

    def __add__(self, other: WriteStats) -> WriteStats:
        return WriteStats(
            written=self.written + other.written,
            deleted=self.deleted + other.deleted,
            duplicates=self.duplicates + other.duplicates,
            retries=self.retries + other.retries,
            throttled=self.throttled + other.throttled,
            consumed_wcu=self.consumed_wcu + other.consumed_wcu,
        )


@dataclass
class _ChunkOutcome:
    accepted: int = 0
    retries: int = 0
    throttled: int = 0
    consumed_wcu: float = 0.0
    refused: list[Any] = field(default_factory=list)
    last_error: BaseException | None = None


class ParallelBatchWriter:
    """Writes many items to one table with up to ``concurrency`` BatchWriteItem calls in flight.

    The client must have botocore's own retries turned off (``max_attempts=1``) so that the retry budget
    counted here is the only one. Each ``put_many``/``delete_many`` call returns only when every request
    was accepted, or raises: ``WriteRetriesExhausted`` when DynamoDB kept refusing some items, or the
    first non-retryable error. Either way all chunks of the call have finished by then.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        key_schema: KeySchema,
        concurrency: int,
        retry_policy: RetryPolicy,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._client = client
        self._table_name = table_name
        self._key_schema = key_schema
        self._retry = retry_policy
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="batch-write")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def put_many(self, items: Iterable[Item]) -> WriteStats:
        requests = ((key_of(item, self._key_schema), {"PutRequest": {"Item": item}}) for item in items)
        return self._write(requests, "put")

    def delete_many(self, keys: Iterable[Item]) -> WriteStats:
        requests = ((key_of(key, self._key_schema), {"DeleteRequest": {"Key": key}}) for key in keys)
        return self._write(requests, "delete")

    def _write(self, requests: Iterable[tuple[Item, dict[str, Any]]], kind: WriteKind) -> WriteStats:
        # Chunks run concurrently, so two requests for one key could land in either order; keeping only the
        # last one per key makes the outcome the one a sequential writer would have produced.
        latest: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
        total = 0
        for key, request in requests:
            total += 1
            identity = tuple(next(iter(value.items())) for value in key.values())
            latest[identity] = request
        unique = list(latest.values())
        chunks = [unique[i : i + BATCH_WRITE_LIMIT] for i in range(0, len(unique), BATCH_WRITE_LIMIT)]
        futures = [self._pool.submit(self._send_chunk, chunk) for chunk in chunks]
        concurrent.futures.wait(futures)

        outcomes: list[_ChunkOutcome] = []
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error
            outcomes.append(future.result())
        accepted = sum(outcome.accepted for outcome in outcomes)
        stats = WriteStats(
            written=accepted if kind == "put" else 0,
            deleted=accepted if kind == "delete" else 0,
            duplicates=total - len(unique),
            retries=sum(outcome.retries for outcome in outcomes),
            throttled=sum(outcome.throttled for outcome in outcomes),
            consumed_wcu=sum(outcome.consumed_wcu for outcome in outcomes),
        )
        refused = [request for outcome in outcomes for request in outcome.refused]
        if refused:
            last_error = next((o.last_error for o in outcomes if o.last_error is not None), None)
            samples = self._keys_of(refused[:SAMPLE_KEY_LIMIT])
            raise WriteRetriesExhausted(self._table_name, len(refused), samples) from last_error
        return stats

    def _send_chunk(self, chunk: Sequence[dict[str, Any]]) -> _ChunkOutcome:
        outcome = _ChunkOutcome()
        pending: list[Any] = list(chunk)
        calls_without_progress = 0
        while True:
            try:
                response = self._client.batch_write_item(
                    RequestItems={self._table_name: pending}, ReturnConsumedCapacity="TOTAL"
                )
            except (ClientError, BotoCoreError) as error:
                if not is_retryable(error):
                    raise
                outcome.throttled += is_throttling(error)
                outcome.last_error = error
                accepted = 0
            else:
                outcome.consumed_wcu += sum(
                    entry.get("CapacityUnits", 0.0) for entry in response.get("ConsumedCapacity", [])
                )
                unprocessed = list(response.get("UnprocessedItems", {}).get(self._table_name, []))
                accepted = len(pending) - len(unprocessed)
                outcome.accepted += accepted
                if not unprocessed:
                    return outcome
                outcome.throttled += 1
                pending = unprocessed
            calls_without_progress = 1 if accepted else calls_without_progress + 1
            if calls_without_progress >= self._retry.max_attempts:
                outcome.refused = pending
                return outcome
            self._retry.backoff(calls_without_progress - 1)
            outcome.retries += 1

    def _keys_of(self, requests: Sequence[dict[str, Any]]) -> list[Item]:
        keys = []
        for request in requests:
            if "PutRequest" in request:
                keys.append(key_of(request["PutRequest"]["Item"], self._key_schema))
            else:
                keys.append(request["DeleteRequest"]["Key"])
        return keys
