"""BatchWriteItem with bounded parallelism, our own retry budget, and no silently dropped items."""

from __future__ import annotations

import concurrent.futures
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from botocore.exceptions import BotoCoreError, ClientError

from migration_core.budget import BudgetedCalls, charged
from migration_core.errors import SAMPLE_KEY_LIMIT, WriteRetriesExhausted
from migration_core.items import KeySchema, key_of
from migration_core.retry import RetryPolicy, is_retryable, is_throttling
from migration_core.types import Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_WRITE_LIMIT = 25
# When the table pushes back, the writer's rate drops to this share of the rate the table accepted from it
# over the last RATE_WINDOW_SECONDS: below 1, so that the table's bucket refills a little before the next
# probe; not far below, so that little capacity goes unused while the rate climbs back (in one run of the
# benchmark's case b, 0.7 resent about a tenth less but used about a point less of 2,000 WCU).
RATE_CUT = 0.8
RATE_WINDOW_SECONDS = 1.0
# Between push-backs the rate doubles every this many seconds: fast enough that a writer left alone on the
# table (the other segments done) takes it over within a second; doubling every second left a tenth or more
# of case b's capacity unused with 8 segments.
RATE_DOUBLING_SECONDS = 0.25
# Far above what one writer can send (8 threads x 25 items per millisecond-long call): pacing is off again.
UNPACED_RATE = 1_000_000.0

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


class SendPacer:
    """One send rate for all the threads of a writer, adapted to what the table accepts.

    Unpaced until the table first pushes back (a throttling error, or ``UnprocessedItems``). From then on the
    calls are spaced so that items go out at :attr:`rate` per second. A push-back cuts the rate to ``RATE_CUT``
    times the rate the table accepted from this writer over the last ``RATE_WINDOW_SECONDS`` (never above the
    current rate; to the floor below when nothing was accepted); without push-backs it doubles every
    ``RATE_DOUBLING_SECONDS``, until it is so high that pacing is off again. Cutting to a measured rate rather
    than to a share of the current one keeps a run of refusals from compounding into a collapse, and brings a
    writer whose rate ran far ahead of what the table takes back in one step instead of one per call. Only a
    call that went out after the latest cut can cut again: the answers to calls already in flight describe
    the old rate. The rate never drops below one full batch per ``cap_seconds`` (the longest backoff), so a
    writer always keeps probing.
    """

    def __init__(
        self,
        cap_seconds: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sleep = sleep
        self._clock = monotonic
        self._lock = threading.Lock()
        # Held by the thread whose call goes out next while it waits: the others queue behind it, and each
        # gap is worked out at the rate of the moment the call gets to the front, not when it was queued.
        self._turn = threading.Lock()
        self._min_rate = BATCH_WRITE_LIMIT / cap_seconds
        self._cut_rate: float | None = None
        self._cut_at = float("-inf")
        self._last_start = float("-inf")
        self._last_items = 0
        self._first_send: float | None = None
        # (time, items sent, items accepted) of the answers within the last RATE_WINDOW_SECONDS, and sums.
        self._answers: deque[tuple[float, int, int]] = deque()
        self._sent_sum = 0
        self._accepted_sum = 0

    @property
    def rate(self) -> float | None:
        """Items per second the writer may send now; None while it is unpaced."""
        with self._lock:
            return self._rate_at(self._clock())

    def acquire(self, items: int) -> float:
        """Wait until a call of ``items`` requests may go out; returns the time it goes out (this clock)."""
        with self._turn:
            with self._lock:
                now = self._clock()
                wait = self._next_start(now) - now
            if wait > 0:
                self._sleep(wait)
            with self._lock:
                now = self._clock()
                if self._first_send is None:
                    self._first_send = now
                self._last_start, self._last_items = now, items
                return now

    def record(self, started: float, sent: int, accepted: int, *, pushed_back: bool) -> None:
        """The answer to a call of ``sent`` requests that went out at ``started``: how many were written, and
        whether the table pushed back."""
        with self._lock:
            now = self._clock()
            self._answers.append((now, sent, accepted))
            self._sent_sum += sent
            self._accepted_sum += accepted
            while self._answers[0][0] < now - RATE_WINDOW_SECONDS:
                _, old_sent, old_accepted = self._answers.popleft()
                self._sent_sum -= old_sent
                self._accepted_sum -= old_accepted
            if not pushed_back or started < self._cut_at:
                return
            current = self._rate_at(now)
            since = now - (now if self._first_send is None else self._first_send)
            window = min(RATE_WINDOW_SECONDS, since)
            accepted_rate = self._accepted_sum / window if window > 0 else 0.0
            if accepted_rate > 0:
                cut = RATE_CUT * accepted_rate if current is None else min(current, RATE_CUT * accepted_rate)
            elif current is None:
                # Nothing accepted yet and never paced: the rate that was sent is all there is to go by.
                cut = RATE_CUT * self._sent_sum / window if window > 0 else 0.0
            else:
                # Paced, and the table took nothing for a whole window: start again from the floor.
                cut = 0.0
            self._cut_rate = max(self._min_rate, cut)
            self._cut_at = now

    def _next_start(self, now: float) -> float:
        """When the rate since the previous call went out (or since the latest cut) has paid for its items.

        The rate grows while a thread waits, so the wait integrates it: a call queued just after a deep cut
        goes out once the grown rate allows, not after the long gap the rate of the cut alone would ask for.
        """
        if self._rate_at(now) is None or self._cut_rate is None:
            return now
        since = max(self._last_start, self._cut_at)
        paid = 2 ** ((since - self._cut_at) / RATE_DOUBLING_SECONDS)
        owed = self._last_items * math.log(2) / (self._cut_rate * RATE_DOUBLING_SECONDS)
        return self._cut_at + RATE_DOUBLING_SECONDS * math.log2(paid + owed)

    def _rate_at(self, now: float) -> float | None:
        """The rate at ``now``; turns pacing off once it has grown past ``UNPACED_RATE``."""
        if self._cut_rate is None:
            return None
        doublings = (now - self._cut_at) / RATE_DOUBLING_SECONDS
        if doublings >= math.log2(UNPACED_RATE / self._cut_rate):
            self._cut_rate = None
            return None
        return float(self._cut_rate * 2**doublings)


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

    With ``retry_policy.adaptive_rate`` every call, first sends and retries alike, takes its turn from one
    :class:`SendPacer`, for the writer's whole life: a chunk's own backoff restarts whenever a call makes
    progress, so against a table with no capacity left the chunks in flight would otherwise keep resending at
    the shortest backoff. A retry first waits its own jittered backoff, then its turn.

    With a ``budget`` every call also waits until the run's capacity budget allows it, and is charged the
    units DynamoDB says it consumed (see :mod:`migration_core.budget`).
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        key_schema: KeySchema,
        concurrency: int,
        retry_policy: RetryPolicy,
        *,
        budget: BudgetedCalls | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._client = client
        self._table_name = table_name
        self._key_schema = key_schema
        self._retry = retry_policy
        self._budget = budget
        self.pacer = (
            SendPacer(retry_policy.cap_seconds, sleep=retry_policy.sleep, monotonic=monotonic)
            if retry_policy.adaptive_rate
            else None
        )
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
        backoff = 0.0
        pacer = self.pacer
        while True:
            if backoff > 0:
                self._retry.sleep(backoff)
            started = pacer.acquire(len(pending)) if pacer is not None else 0.0
            try:
                with charged(self._budget, len(pending)) as consumed:
                    response = self._client.batch_write_item(
                        RequestItems={self._table_name: pending}, ReturnConsumedCapacity="TOTAL"
                    )
                    units = sum(entry.get("CapacityUnits", 0.0) for entry in response.get("ConsumedCapacity", []))
                    consumed(units)
            except (ClientError, BotoCoreError) as error:
                if not is_retryable(error):
                    raise
                throttled = is_throttling(error)
                outcome.throttled += throttled
                outcome.last_error = error
                accepted = 0
                unprocessed = pending
            else:
                outcome.consumed_wcu += units
                unprocessed = list(response.get("UnprocessedItems", {}).get(self._table_name, []))
                accepted = len(pending) - len(unprocessed)
                outcome.accepted += accepted
                throttled = bool(unprocessed)
                outcome.throttled += throttled
            if pacer is not None:
                pacer.record(started, len(pending), accepted, pushed_back=throttled)
            if not unprocessed:
                return outcome
            pending = unprocessed
            calls_without_progress = 1 if accepted else calls_without_progress + 1
            if calls_without_progress >= self._retry.max_attempts:
                outcome.refused = pending
                return outcome
            backoff = self._retry.delay(calls_without_progress - 1)
            outcome.retries += 1

    def _keys_of(self, requests: Sequence[dict[str, Any]]) -> list[Item]:
        keys = []
        for request in requests:
            if "PutRequest" in request:
                keys.append(key_of(request["PutRequest"]["Item"], self._key_schema))
            else:
                keys.append(request["DeleteRequest"]["Key"])
        return keys
