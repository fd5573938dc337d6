"""The AWS side of live replication: sending stream records to the FIFO queue, applying events to the target.

Plain typed classes around injected boto3 clients (no Powertools), so the handlers stay thin and the logic is
tested against moto. The pure parts (message format, group ids, cutoff, apply plans) live in
`migration_core.replication`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from botocore.exceptions import ClientError

from migration_core.attribute_values import format_key
from migration_core.config import ConsumerSettings as ConsumerSettings  # noqa: PLC0414 - re-exported: old import path
from migration_core.config import ForwarderSettings as ForwarderSettings  # noqa: PLC0414 - re-exported: old import path
from migration_core.errors import ConfigurationError, DeferredForTime, MigrationError, WriteWithheld
from migration_core.errors import (
    ReplicationRetriesExhausted as ReplicationRetriesExhausted,  # noqa: PLC0414 - re-exported: its old import path
)
from migration_core.items import KeySchema, key_of, key_schema_from_description
from migration_core.replication import (
    DEFAULT_MAX_MESSAGE_BYTES,
    ApplyPlan,
    Cutoff,
    OutgoingMessage,
    ReplicationEvent,
    decode_message,
    derive_target_keys,
    encode_stream_record,
    plan_apply,
)
from migration_core.replication_batch import GroupGate, TargetWrite, chunks, key_identity, net_writes
from migration_core.retry import RetryPolicy, is_retryable
from migration_core.transform import Transformer
from migration_core.types import Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

logger = logging.getLogger(__name__)

SQS_BATCH_LIMIT = 10
# SQS answers throttling with its own codes; is_retryable knows DynamoDB's.
SQS_RETRYABLE_CODES = frozenset(
    {
        "RequestThrottled",
        "AWS.SimpleQueueService.RequestThrottled",
        "ThrottlingException",
        "KmsThrottled",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
    }
)

_T = TypeVar("_T")


def is_retryable_sqs(error: BaseException) -> bool:
    if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in SQS_RETRYABLE_CODES:
        return True
    return is_retryable(error)


# --------------------------------------------------------------------------------------------------------------
# Settings (parsed in migration_core.config, re-exported here for their old import path)
# --------------------------------------------------------------------------------------------------------------


def read_key_schema(dynamodb: DynamoDBClient, table: str) -> dict[str, str]:
    return key_schema_from_description(dynamodb.describe_table(TableName=table)["Table"])


# --------------------------------------------------------------------------------------------------------------
# Forwarder
# --------------------------------------------------------------------------------------------------------------


class OldTargetKeyDeriver:
    """Target keys of an OldImage through the migration's transform, for messages that cannot carry the image.

    Built on first use: only records whose OldImage alone exceeds the message limit need it, so a forwarder
    without a key-changing transform never pays for the DescribeTable or the transform import.
    """

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        target_table: str | None,
        environ: Mapping[str, str],
    ) -> None:
        self._dynamodb = dynamodb
        self._target_table = target_table
        self._environ = environ
        self._ready: tuple[Transformer, KeySchema] | None = None
        self.warnings: list[str] = []

    def __call__(self, old_image: Item) -> list[Item]:
        if self._ready is None:
            if not self._target_table:
                raise ConfigurationError(
                    "TARGET_TABLE must be set on the forwarder: an OldImage exceeds the message size and its "
                    "target keys must be derived through the transform"
                )
            self._ready = (
                Transformer.from_environment(self._environ),
                read_key_schema(self._dynamodb, self._target_table),
            )
        transformer, key_schema = self._ready
        keys, why_none = derive_target_keys(old_image, transformer, key_schema)
        if why_none:
            self.warnings.append(why_none)
        return keys


@dataclass
class ForwardResult:
    """Outcome of one stream batch. ``failures`` maps SequenceNumber -> reason for every record not sent."""

    sent: int = 0
    oversize: int = 0
    retries: int = 0
    throttled: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    # The reason of the earliest failed record in stream order: where Lambda will resume the shard.
    first_failure: str | None = None


class FifoForwarder:
    """Sends one shard's stream records to the FIFO queue without ever reordering a key.

    Ordering rules, and why:

    - records go out in stream order, in SendMessageBatch calls of at most 10 entries and at most
      ``max_message_bytes`` in total, and a call never holds two records of one key: if the first failed and
      the second succeeded inside one call, the queue would hold them swapped;
    - with ``concurrency`` > 1, up to that many calls are in flight at once. The records are cut into *windows*:
      consecutive runs of the stream that hold no key twice and fill at most ``concurrency`` calls. A window's
      calls go out together, and the next window only once they are done. A window holds each key at most once,
      as one call did, so one key's records still go out one after the other, and everything below holds with
      "window" for "call";
    - failed entries (SQS's ``Failed`` list with ``SenderFault`` false, throttling, 5xx, connection errors) are
      retried with capped exponential backoff and full jitter before the next call goes out;
    - at the first record that still fails (or cannot be encoded, or when the Lambda is about to time out)
      forwarding *stops for every key*, and that record and every later one not yet accepted are reported as
      batch item failures. Lambda re-reads the shard from the lowest failed sequence number anyway; sending
      later records of *other* keys now would put copies of them in the queue that the retry sends again, and
      if SQS's 5 minute deduplication window closes between two such copies of one key, an older copy could
      land after a newer one. Stopping keeps every record sent after the failure point a first-of-its-key, so
      a resend always precedes (or is deduplicated before) the key's next record. The time check exists for
      the same reason: a timeout is a whole-batch retry. What remains is a hard crash (out of memory) mid-batch
      whose retry lands exactly as the 5 minute window closes; the convergence check before cutover covers it.
      With concurrency, the window's other calls finish (they hold each key once, before or after the failure
      point, exactly like the rest of a call), and no later window goes out.
    """

    def __init__(
        self,
        sqs: SQSClient,
        queue_url: str,
        *,
        retry_policy: RetryPolicy,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        old_target_keys: Callable[[Item], Sequence[Item]] | None = None,
        concurrency: int = 1,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._sqs = sqs
        self._queue_url = queue_url
        self._policy = retry_policy
        self._max_bytes = max_message_bytes
        self._old_target_keys = old_target_keys
        self._concurrency = concurrency
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="forward") if concurrency > 1 else None

    def forward(
        self, records: Sequence[Mapping[str, Any]], *, should_stop: Callable[[], bool] = lambda: False
    ) -> ForwardResult:
        result = ForwardResult()
        messages: list[OutgoingMessage] = []
        stop_reason: str | None = None
        for record in records:
            try:
                message = encode_stream_record(record, max_bytes=self._max_bytes, old_target_keys=self._old_target_keys)
            except (ValueError, MigrationError) as exc:
                stop_reason = f"cannot encode the record: {exc}"
                break
            messages.append(message)

        handled = 0  # records whose fate is decided: accepted by SQS or failed with their own reason
        for window in self._windows(messages):
            if should_stop():
                stop_reason = "the Lambda is about to time out; the rest is left for the retry"
                break
            refused: dict[OutgoingMessage, str] = {}
            for outcome in self._send_window(window, should_stop):
                refused |= outcome.refused
                result.retries += outcome.retries
                result.throttled += outcome.throttled
            for message in (message for chunk in window for message in chunk):
                handled += 1
                if message in refused:
                    result.failures[message.sequence_number] = refused[message]
                else:
                    result.sent += 1
                    result.oversize += message.oversize
            if refused:
                stop_reason = "not sent: an earlier record of this batch failed, and order is kept by stopping there"
                break

        if stop_reason:
            for record in records[handled:]:
                result.failures.setdefault(_sequence_number(record), stop_reason)
        result.first_failure = next(
            (result.failures[seq] for seq in map(_sequence_number, records) if seq in result.failures), None
        )
        return result

    def _windows(self, messages: Sequence[OutgoingMessage]) -> list[list[list[OutgoingMessage]]]:
        """Consecutive runs of the stream without a key twice, each split into at most ``concurrency`` calls."""
        windows: list[list[list[OutgoingMessage]]] = []
        calls: list[list[OutgoingMessage]] = []
        groups: set[str] = set()
        size = 0
        for message in messages:
            full = not calls or len(calls[-1]) == SQS_BATCH_LIMIT or size + message.size > self._max_bytes
            if message.group_id in groups or (full and len(calls) == self._concurrency):
                windows.append(calls)
                calls, groups, full = [], set(), True
            if full:
                calls.append([])
                size = 0
            calls[-1].append(message)
            groups.add(message.group_id)
            size += message.size
        if calls:
            windows.append(calls)
        return windows

    def _send_window(
        self, window: Sequence[Sequence[OutgoingMessage]], should_stop: Callable[[], bool]
    ) -> list[_ChunkOutcome]:
        if self._pool is None or len(window) == 1:
            return [self._send_chunk(chunk, should_stop) for chunk in window]
        return list(self._pool.map(lambda chunk: self._send_chunk(chunk, should_stop), window))

    def _send_chunk(self, chunk: Sequence[OutgoingMessage], should_stop: Callable[[], bool]) -> _ChunkOutcome:
        """Send until every entry is accepted; the entries that were not, with the reason."""
        outcome = _ChunkOutcome()
        pending = {str(index): message for index, message in enumerate(chunk)}
        final: dict[OutgoingMessage, str] = {}
        attempt = 0
        while pending:
            if attempt > 0:
                if should_stop():
                    final |= dict.fromkeys(pending.values(), "the Lambda is about to time out")
                    break
                outcome.retries += 1
                self._policy.backoff(attempt - 1)
            attempt += 1
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {
                    "Id": entry_id,
                    "MessageBody": message.body,
                    "MessageGroupId": message.group_id,
                    "MessageDeduplicationId": message.deduplication_id,
                }
                for entry_id, message in pending.items()
            ]
            try:
                response = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except Exception as exc:
                if not is_retryable_sqs(exc):
                    final |= dict.fromkeys(pending.values(), f"SendMessageBatch failed: {exc}")
                    break
                outcome.throttled += _is_throttling_sqs(exc)
                if attempt >= self._policy.max_attempts:
                    final |= dict.fromkeys(pending.values(), f"SendMessageBatch kept failing: {exc}")
                    break
                continue
            progressed = bool(response.get("Successful"))
            for accepted in response.get("Successful", []):
                pending.pop(accepted["Id"], None)
            for refusal in response.get("Failed", []):
                # SenderFault: the request itself is wrong (size, characters); repeating it cannot help.
                if refusal.get("SenderFault", False):
                    message = pending.pop(refusal["Id"])
                    final[message] = f"SQS refused the message: {refusal.get('Code')}: {refusal.get('Message', '')}"
            if progressed:
                attempt = 1  # a call that moved the chunk forward starts a fresh streak, as the batch writer does
            elif pending and attempt >= self._policy.max_attempts:
                final |= dict.fromkeys(pending.values(), "SQS kept failing the entry after the whole retry budget")
                break
        # Report in chunk order so the first failure reads as the one that stopped the batch.
        outcome.refused = {m: final[m] for m in chunk if m in final}
        return outcome


@dataclass
class _ChunkOutcome:
    refused: dict[OutgoingMessage, str] = field(default_factory=dict)
    retries: int = 0
    throttled: int = 0


def _sequence_number(record: Mapping[str, Any]) -> str:
    stream = record.get("dynamodb")
    return str(stream.get("SequenceNumber", "")) if isinstance(stream, Mapping) else ""


def _is_throttling_sqs(error: BaseException) -> bool:
    code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
    return "Throttl" in code


# --------------------------------------------------------------------------------------------------------------
# Consumer
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyOutcome:
    plan: ApplyPlan
    retries: int


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """What the applier needs of an SQS record: its FIFO group and its body."""

    group_id: str | None
    body: str


MessageStatus = Literal["applied", "dropped", "failed", "held_back"]


@dataclass(frozen=True, slots=True)
class MessageResult:
    """What became of one message: applied (its ``plan``), dropped before the cutoff, failed (``error``; its group
    stops there), or held back behind an earlier failed message of its group."""

    status: MessageStatus
    event: ReplicationEvent | None = None
    plan: ApplyPlan | None = None
    error: Exception | None = None


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    results: tuple[MessageResult, ...]
    retries: int
    writes: int
    superseded: int


@dataclass
class _Pending:
    group_id: str | None
    event: ReplicationEvent | None = None
    error: Exception | None = None
    dropped: bool = False
    plan: ApplyPlan | None = None


def _result(index: int, entry: _Pending, gate: GroupGate, errors: Mapping[int, Exception]) -> MessageResult:
    if gate.held_back(index):
        return MessageResult("held_back", entry.event)
    if gate.failed(index):
        return MessageResult("failed", entry.event, error=errors[index])
    if entry.dropped:
        return MessageResult("dropped", entry.event)
    return MessageResult("applied", entry.event, plan=entry.plan)


_LATER = "a write of a later event of this item failed, and without it the item would be at neither key"


def _never() -> bool:
    return False


class TargetApplier:
    """Applies decoded events to the target table, a whole SQS batch at a time (`replication_batch`).

    The writes of a batch, each key's last one, go out in BatchWriteItem calls of up to 25; a lone write goes as
    PutItem or DeleteItem, whose answer is exact (no partial result to retry) and costs the same call. Unprocessed
    requests are retried with capped exponential backoff and full jitter; ``max_attempts`` counts the calls since
    the last that got any request accepted, as the backfill's writer does. A call refused outright for a reason
    retrying cannot fix (one invalid item fails a whole BatchWriteItem) is split into single-item calls, so that
    only the messages whose own writes DynamoDB refuses fail.
    """

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        *,
        target_table: str,
        source_table: str,
        key_schema: KeySchema,
        transformer: Transformer,
        retry_policy: RetryPolicy,
        source_dynamodb: DynamoDBClient | None = None,
    ) -> None:
        # ``dynamodb`` reaches the target, ``source_dynamodb`` the source when the target lives in another account.
        self._dynamodb = dynamodb
        self._source_dynamodb = source_dynamodb or dynamodb
        self._target_table = target_table
        self._source_table = source_table
        self._key_schema = key_schema
        self._transformer = transformer
        self._policy = retry_policy
        self._retries = 0

    def apply(self, event: ReplicationEvent) -> ApplyOutcome:
        """One event on its own, no cutoff; raises what made it fail."""
        outcome = self._apply([_Pending(group_id=None, event=event)], cutoff=None, should_stop=_never)
        (result,) = outcome.results
        if result.error is not None:
            raise result.error
        assert result.plan is not None  # noqa: S101 - an applied message always has its plan
        return ApplyOutcome(plan=result.plan, retries=outcome.retries)

    def apply_batch(
        self,
        messages: Sequence[QueueMessage],
        *,
        cutoff: Cutoff | None,
        should_stop: Callable[[], bool] = _never,
    ) -> BatchOutcome:
        """Apply an SQS batch in queue order; one result per message, in the same order.

        ``should_stop`` (the Lambda is about to time out) defers the messages not yet planned and the writes not
        yet accepted: their messages fail with `DeferredForTime` and come back in order.
        """
        pending = []
        for message in messages:
            entry = _Pending(group_id=message.group_id)
            try:
                entry.event = decode_message(message.body)
            except Exception as exc:  # a broken body fails its own message, never the batch
                entry.error = exc
            pending.append(entry)
        return self._apply(pending, cutoff=cutoff, should_stop=should_stop)

    def _apply(
        self, pending: Sequence[_Pending], *, cutoff: Cutoff | None, should_stop: Callable[[], bool]
    ) -> BatchOutcome:
        self._retries = 0
        gate = GroupGate([entry.group_id for entry in pending])
        errors: dict[int, Exception] = {}

        def fail(index: int, error: Exception) -> None:
            errors.setdefault(index, error)
            gate.fail(index)

        for index, entry in enumerate(pending):
            if gate.open(index):
                error = entry.error or self._plan(entry, cutoff, should_stop)
                if error is not None:
                    fail(index, error)

        writes = net_writes(
            ((index, entry.plan) for index, entry in enumerate(pending) if entry.plan is not None), self._key_schema
        )
        for index, error in self._send(writes.first_wave, should_stop).items():
            fail(index, error)
        # A key move's old key goes only once the item's newer state is in: never neither (replication_batch).
        moves = []
        for write in writes.after_puts:
            if gate.open(write.owner) and gate.group_failed(write.owner):
                fail(write.owner, WriteWithheld(f"the delete of the old key {format_key(write.key)} waits: {_LATER}"))
            elif gate.open(write.owner):
                moves.append(write)
        for index, error in self._send(moves, should_stop).items():
            fail(index, error)

        return BatchOutcome(
            results=tuple(_result(index, entry, gate, errors) for index, entry in enumerate(pending)),
            retries=self._retries,
            writes=len(writes.first_wave) + len(moves),
            superseded=writes.superseded,
        )

    def _plan(self, entry: _Pending, cutoff: Cutoff | None, should_stop: Callable[[], bool]) -> Exception | None:
        if should_stop():
            return DeferredForTime("the Lambda is about to time out")
        event = entry.event
        assert event is not None  # noqa: S101 - decoded, or the entry carries its error
        try:
            self._check_source(event)
            if cutoff is not None and not cutoff.admits(event):
                entry.dropped = True
            else:
                entry.plan = plan_apply(
                    event, transformer=self._transformer, key_schema=self._key_schema, read_source=self._read_source
                )
        except Exception as exc:  # reported per message; its group stops here
            return exc
        return None

    def _check_source(self, event: ReplicationEvent) -> None:
        # A queue wired to the wrong table would apply another table's items; refuse instead.
        configured = self._source_table
        expected = event.source_table_arn if configured.startswith("arn:") else event.source_table
        if expected and expected != configured:
            raise ConfigurationError(
                f"message {event.event_id} comes from table {expected!r}, but SOURCE_TABLE is {configured!r}"
            )

    def _read_source(self, key: Item) -> Item | None:
        response = self._with_retries(
            partial(self._source_dynamodb.get_item, TableName=self._source_table, Key=key, ConsistentRead=True),
            f"GetItem {format_key(key)} from {self._source_table}",
        )
        item = response.get("Item")
        return cast(Item, item) if item is not None else None

    def _send(self, writes: Sequence[TargetWrite], should_stop: Callable[[], bool]) -> dict[int, Exception]:
        """Write each of ``writes``; the first error of every owner whose write was not accepted."""
        failures: dict[int, Exception] = {}
        for chunk in chunks(writes):
            if len(chunk) == 1:
                outcomes = [(chunk[0], self._write_one(chunk[0]))]
            else:
                outcomes = self._write_chunk(chunk, should_stop)
            for write, error in outcomes:
                if error is not None:
                    failures.setdefault(write.owner, error)
        return failures

    def _write_one(self, write: TargetWrite) -> Exception | None:
        try:
            if write.item is None:
                self._with_retries(
                    partial(self._dynamodb.delete_item, TableName=self._target_table, Key=write.key),
                    f"DeleteItem {format_key(write.key)} from {self._target_table}",
                )
            else:
                self._with_retries(
                    partial(self._dynamodb.put_item, TableName=self._target_table, Item=write.item),
                    f"PutItem {format_key(write.key)} into {self._target_table}",
                )
        except Exception as exc:  # fails the write's owner, not the batch
            return exc
        return None

    def _write_chunk(
        self, chunk: Sequence[TargetWrite], should_stop: Callable[[], bool]
    ) -> list[tuple[TargetWrite, Exception | None]]:
        pending = {key_identity(write.key): write for write in chunk}
        calls_without_progress = 0
        last_error: Exception | None = None
        while True:
            try:
                response = self._dynamodb.batch_write_item(
                    RequestItems={
                        self._target_table: cast("list[WriteRequestTypeDef]", [w.request for w in pending.values()])
                    }
                )
            except Exception as exc:
                if not is_retryable(exc):
                    logger.warning("BatchWriteItem refused (%s); writing its %d items one by one", exc, len(pending))
                    return [(write, self._write_one(write)) for write in pending.values()]
                last_error, accepted = exc, False
            else:
                unprocessed = response.get("UnprocessedItems", {}).get(self._target_table, [])
                left = {key_identity(self._request_key(request)) for request in unprocessed}
                accepted = len(left) < len(pending)
                pending = {identity: write for identity, write in pending.items() if identity in left}
                last_error = None
            if not pending:
                return []
            calls_without_progress = 1 if accepted else calls_without_progress + 1
            if calls_without_progress >= self._policy.max_attempts:
                why = f"last: {last_error}" if last_error is not None else "left unprocessed every time"
                return [
                    (
                        write,
                        ReplicationRetriesExhausted(
                            f"BatchWriteItem of {format_key(write.key)} into {self._target_table}: "
                            f"{calls_without_progress} calls without progress; {why}"
                        ),
                    )
                    for write in pending.values()
                ]
            if should_stop():
                deferred = DeferredForTime("the Lambda is about to time out; unprocessed writes left for the retry")
                return [(write, deferred) for write in pending.values()]
            self._retries += 1
            logger.debug("retrying %d unprocessed writes after %s", len(pending), last_error or "UnprocessedItems")
            self._policy.backoff(calls_without_progress - 1)

    def _request_key(self, request: Mapping[str, Any]) -> Item:
        if "PutRequest" in request:
            return key_of(request["PutRequest"]["Item"], self._key_schema)
        return cast(Item, request["DeleteRequest"]["Key"])

    def _with_retries(self, operation: Callable[[], _T], what: str) -> _T:
        attempt = 0
        while True:
            try:
                return operation()
            except Exception as exc:
                if not is_retryable(exc):
                    raise
                attempt += 1
                if attempt >= self._policy.max_attempts:
                    raise ReplicationRetriesExhausted(
                        f"{what} failed {attempt} times with retryable errors; last: {exc}"
                    ) from exc
                self._retries += 1
                logger.debug("retrying %s after %s", what, exc)
                self._policy.backoff(attempt - 1)


def monotonic_deadline(seconds: float) -> Callable[[], bool]:
    """A should_stop callable for code that has no Lambda context (CLI, tests)."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() >= end
