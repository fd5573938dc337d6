"""The AWS side of live replication: sending stream records to the FIFO queue, applying events to the target.

Plain typed classes around injected boto3 clients (no Powertools), so the handlers stay thin and the logic is
tested against moto. The pure parts (message format, group ids, cutoff, apply plans) live in
`migration_core.replication`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

from botocore.exceptions import ClientError

from migration_core.attribute_values import format_key
from migration_core.config import ConsumerSettings as ConsumerSettings  # noqa: PLC0414 - re-exported: old import path
from migration_core.config import ForwarderSettings as ForwarderSettings  # noqa: PLC0414 - re-exported: old import path
from migration_core.errors import ConfigurationError, MigrationError
from migration_core.errors import (
    ReplicationRetriesExhausted as ReplicationRetriesExhausted,  # noqa: PLC0414 - re-exported: its old import path
)
from migration_core.items import KeySchema, key_of, key_schema_from_description
from migration_core.replication import (
    DEFAULT_MAX_MESSAGE_BYTES,
    ApplyPlan,
    OutgoingMessage,
    ReplicationEvent,
    derive_target_keys,
    encode_stream_record,
    plan_apply,
)
from migration_core.retry import RetryPolicy, is_retryable
from migration_core.transform import Transformer
from migration_core.types import Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
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
    """

    def __init__(
        self,
        sqs: SQSClient,
        queue_url: str,
        *,
        retry_policy: RetryPolicy,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        old_target_keys: Callable[[Item], Sequence[Item]] | None = None,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._policy = retry_policy
        self._max_bytes = max_message_bytes
        self._old_target_keys = old_target_keys

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
        for chunk in self._chunks(messages):
            if should_stop():
                stop_reason = "the Lambda is about to time out; the rest is left for the retry"
                break
            refused = self._send_chunk(chunk, result, should_stop)
            handled += len(chunk)
            for message in chunk:
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

    def _chunks(self, messages: Sequence[OutgoingMessage]) -> list[list[OutgoingMessage]]:
        chunks: list[list[OutgoingMessage]] = []
        current: list[OutgoingMessage] = []
        groups: set[str] = set()
        size = 0
        for message in messages:
            if current and (
                len(current) == SQS_BATCH_LIMIT or size + message.size > self._max_bytes or message.group_id in groups
            ):
                chunks.append(current)
                current, groups, size = [], set(), 0
            current.append(message)
            groups.add(message.group_id)
            size += message.size
        if current:
            chunks.append(current)
        return chunks

    def _send_chunk(
        self, chunk: Sequence[OutgoingMessage], result: ForwardResult, should_stop: Callable[[], bool]
    ) -> dict[OutgoingMessage, str]:
        """Send until every entry is accepted; return the entries that were not, with the reason."""
        pending = {str(index): message for index, message in enumerate(chunk)}
        final: dict[OutgoingMessage, str] = {}
        attempt = 0
        while pending:
            if attempt > 0:
                if should_stop():
                    final |= dict.fromkeys(pending.values(), "the Lambda is about to time out")
                    break
                result.retries += 1
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
                result.throttled += _is_throttling_sqs(exc)
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
        return {m: final[m] for m in chunk if m in final}


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


class TargetApplier:
    """Applies decoded events to the target table with PutItem/DeleteItem (and a consistent source read).

    Single-item calls, not BatchWriteItem: a message is one event of one item, the FIFO group serialises the
    events of that item, and a batch would hide which write of the plan failed.
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

    def apply(self, event: ReplicationEvent) -> ApplyOutcome:
        self._check_source(event)
        retries = 0

        def call(operation: Callable[[], _T], what: str) -> _T:
            nonlocal retries
            value, used = self._with_retries(operation, what)
            retries += used
            return value

        def read_source(key: Item) -> Item | None:
            response = call(
                partial(self._source_dynamodb.get_item, TableName=self._source_table, Key=key, ConsistentRead=True),
                f"GetItem {format_key(key)} from {self._source_table}",
            )
            item = response.get("Item")
            return cast(Item, item) if item is not None else None

        plan = plan_apply(event, transformer=self._transformer, key_schema=self._key_schema, read_source=read_source)
        for item in plan.puts:
            call(
                partial(self._dynamodb.put_item, TableName=self._target_table, Item=item),
                f"PutItem {format_key(key_of(item, self._key_schema))} into {self._target_table}",
            )
        for key in plan.deletes:
            call(
                partial(self._dynamodb.delete_item, TableName=self._target_table, Key=key),
                f"DeleteItem {format_key(key)} from {self._target_table}",
            )
        return ApplyOutcome(plan=plan, retries=retries)

    def _check_source(self, event: ReplicationEvent) -> None:
        # A queue wired to the wrong table would apply another table's items; refuse instead.
        configured = self._source_table
        expected = event.source_table_arn if configured.startswith("arn:") else event.source_table
        if expected and expected != configured:
            raise ConfigurationError(
                f"message {event.event_id} comes from table {expected!r}, but SOURCE_TABLE is {configured!r}"
            )

    def _with_retries(self, operation: Callable[[], _T], what: str) -> tuple[_T, int]:
        attempt = 0
        while True:
            try:
                return operation(), attempt
            except Exception as exc:
                if not is_retryable(exc):
                    raise
                attempt += 1
                if attempt >= self._policy.max_attempts:
                    raise ReplicationRetriesExhausted(
                        f"{what} failed {attempt} times with retryable errors; last: {exc}"
                    ) from exc
                logger.debug("retrying %s after %s", what, exc)
                self._policy.backoff(attempt - 1)


def monotonic_deadline(seconds: float) -> Callable[[], bool]:
    """A should_stop callable for code that has no Lambda context (CLI, tests)."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() >= end
