"""The AWS side of ``replication status|pause|resume|redrive|dlq`` and ``cutover-check``.

Every resource comes from the replication module's Terraform outputs (names in docs/ARCHITECTURE.md); a null
output is a feature that is not deployed. Clients are passed in so tests run against moto.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ddbmigrate.cutover import CutoverSnapshot, QueueDepth
from ddbmigrate.deployment import Deployment, DeploymentNotFoundError
from migration_core.attribute_values import format_key
from migration_core.replication import (
    SQS_MAX_MESSAGE_BYTES,
    ReplicationMessageError,
    decode_message,
    make_resync_message,
)
from migration_core.state import StateStore

REPLICATION_OUTPUTS = (
    "replication_queue_url",
    "replication_dlq_url",
    "stream_failure_queue_url",
    "consumer_event_source_mapping_uuid",
    "forwarder_event_source_mapping_uuid",
    "forwarder_function_name",
    "consumer_function_name",
    "replication_cutoff_timestamp",
)
METRIC_WINDOW = timedelta(minutes=5)
# DynamoDB Streams keeps records this long; a failed batch older than that cannot be read again.
STREAM_RETENTION = timedelta(hours=24)
SQS_BATCH = 10
# Long enough to work through a DLQ without a received message becoming visible (and received) again.
HOLD_SECONDS = 300
# DLQ messages cutover-check looks at to tell whether `replication redrive` can empty the DLQ.
CUTOVER_DLQ_SAMPLE = 10


class MappingStateTimeoutError(RuntimeError):
    """An event source mapping did not reach the wanted state in time."""


@dataclass(frozen=True)
class ReplicationResources:
    queue_url: str | None
    dlq_url: str | None
    stream_failure_queue_url: str | None
    consumer_mapping_uuid: str | None
    forwarder_mapping_uuid: str | None
    forwarder_function: str | None
    consumer_function: str | None
    cutoff: str | None

    @classmethod
    def from_deployment(cls, deployment: Deployment) -> ReplicationResources:
        outputs = deployment.outputs
        if not any(name in outputs for name in REPLICATION_OUTPUTS):
            raise DeploymentNotFoundError(
                deployment.missing_outputs_message("replication (outputs replication_queue_url, ...)")
            )

        def output(name: str) -> str | None:
            value = outputs.get(name)
            return None if value in (None, "") else str(value)

        return cls(
            queue_url=output("replication_queue_url"),
            dlq_url=output("replication_dlq_url"),
            stream_failure_queue_url=output("stream_failure_queue_url"),
            consumer_mapping_uuid=output("consumer_event_source_mapping_uuid"),
            forwarder_mapping_uuid=output("forwarder_event_source_mapping_uuid"),
            forwarder_function=output("forwarder_function_name"),
            consumer_function=output("consumer_function_name"),
            cutoff=output("replication_cutoff_timestamp"),
        )


@dataclass(frozen=True)
class ReplicationStatus:
    queue: QueueDepth | None
    oldest_message_age_seconds: float | None
    dlq: QueueDepth | None
    stream_failures: QueueDepth | None
    consumer_mapping_state: str | None
    forwarder_mapping_state: str | None
    iterator_age_seconds: float | None
    cutoff: str | None

    def to_json(self) -> dict[str, Any]:
        def depth(value: QueueDepth | None) -> dict[str, int] | None:
            if value is None:
                return None
            return {"visible": value.visible, "in_flight": value.in_flight, "delayed": value.delayed}

        return {
            "queue": depth(self.queue),
            "oldest_message_age_seconds": self.oldest_message_age_seconds,
            "dlq": depth(self.dlq),
            "stream_failures": depth(self.stream_failures),
            "consumer_mapping_state": self.consumer_mapping_state,
            "forwarder_mapping_state": self.forwarder_mapping_state,
            "iterator_age_seconds": self.iterator_age_seconds,
            "cutoff": self.cutoff,
        }


@dataclass(frozen=True)
class Clients:
    sqs: Any
    lambda_: Any
    cloudwatch: Any
    dynamodb: Any


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------


def queue_depth(sqs: Any, url: str) -> QueueDepth:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return QueueDepth(
        visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    )


def metric_datapoints(
    cloudwatch: Any, namespace: str, metric: str, dimension: tuple[str, str], now: datetime
) -> list[dict[str, Any]]:
    """One-minute Maximum datapoints of the last five minutes, oldest first."""
    response = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": dimension[0], "Value": dimension[1]}],
        StartTime=now - METRIC_WINDOW,
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )
    return sorted(response.get("Datapoints", []), key=lambda point: point["Timestamp"])


def oldest_message_age(cloudwatch: Any, queue_url: str, now: datetime) -> float | None:
    """The latest ApproximateAgeOfOldestMessage (seconds), or None when CloudWatch has none."""
    points = metric_datapoints(
        cloudwatch, "AWS/SQS", "ApproximateAgeOfOldestMessage", ("QueueName", _name(queue_url)), now
    )
    return float(points[-1]["Maximum"]) if points else None


def iterator_age(cloudwatch: Any, function_name: str, now: datetime) -> float | None:
    """The forwarder's IteratorAge (seconds), the maximum over the last five minutes, or None without data."""
    points = metric_datapoints(cloudwatch, "AWS/Lambda", "IteratorAge", ("FunctionName", function_name), now)
    return max(float(point["Maximum"]) for point in points) / 1000 if points else None


def mapping_state(lambda_client: Any, mapping_uuid: str) -> str:
    try:
        return str(lambda_client.get_event_source_mapping(UUID=mapping_uuid).get("State", "Unknown"))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return "NotFound"
        raise


def read_status(resources: ReplicationResources, clients: Clients, now: datetime) -> ReplicationStatus:
    queue = None if resources.queue_url is None else queue_depth(clients.sqs, resources.queue_url)
    return ReplicationStatus(
        queue=queue,
        oldest_message_age_seconds=(
            None if resources.queue_url is None else oldest_message_age(clients.cloudwatch, resources.queue_url, now)
        ),
        dlq=None if resources.dlq_url is None else queue_depth(clients.sqs, resources.dlq_url),
        stream_failures=(
            None
            if resources.stream_failure_queue_url is None
            else queue_depth(clients.sqs, resources.stream_failure_queue_url)
        ),
        consumer_mapping_state=(
            None
            if resources.consumer_mapping_uuid is None
            else mapping_state(clients.lambda_, resources.consumer_mapping_uuid)
        ),
        forwarder_mapping_state=(
            None
            if resources.forwarder_mapping_uuid is None
            else mapping_state(clients.lambda_, resources.forwarder_mapping_uuid)
        ),
        iterator_age_seconds=(
            None
            if resources.forwarder_function is None
            else iterator_age(clients.cloudwatch, resources.forwarder_function, now)
        ),
        cutoff=resources.cutoff,
    )


def cutover_snapshot(deployment: Deployment, clients: Clients, now: datetime) -> CutoverSnapshot:
    resources = ReplicationResources.from_deployment(deployment)
    status = read_status(resources, clients, now)
    refused: int | None = None
    sampled = 0
    if resources.dlq_url is not None and status.dlq is not None and status.dlq.total > 0:
        # Which command can empty the DLQ depends on what is in it; a short hold keeps the look harmless.
        letters = peek_dlq(clients.sqs, resources.dlq_url, max_messages=CUTOVER_DLQ_SAMPLE, hold_seconds=30)
        sampled = len(letters)
        refused = sum(1 for letter in letters if letter.redrive_refusal is not None) if letters else None
    return CutoverSnapshot(
        taken_at=now,
        source_table=deployment.source_table,
        target_table=deployment.target_table,
        queue=status.queue,
        oldest_message_age_seconds=status.oldest_message_age_seconds,
        dlq=status.dlq,
        stream_failures=status.stream_failures,
        consumer_mapping_state=status.consumer_mapping_state,
        forwarder_mapping_state=status.forwarder_mapping_state,
        iterator_age_seconds=status.iterator_age_seconds,
        last_verify=StateStore(clients.dynamodb, deployment.state_table).last_verify(),
        dlq_refused=refused,
        dlq_sampled=sampled,
    )


# --------------------------------------------------------------------------------------------------------------
# Pause and resume
# --------------------------------------------------------------------------------------------------------------


def set_mapping_enabled(
    lambda_client: Any,
    mapping_uuid: str,
    enabled: bool,
    *,
    on_state: Callable[[str], None],
    timeout_seconds: float = 120.0,
    poll_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> str:
    """Enable or disable a mapping and wait until its state settles (Enabling → Enabled, Disabling → Disabled)."""
    wanted = "Enabled" if enabled else "Disabled"
    deadline = monotonic() + timeout_seconds
    while True:
        try:
            lambda_client.update_event_source_mapping(UUID=mapping_uuid, Enabled=enabled)
            break
        except ClientError as error:
            # A mapping in the middle of another change (Updating, Enabling...) refuses updates until it settles.
            if error.response.get("Error", {}).get("Code") != "ResourceInUseException" or monotonic() >= deadline:
                raise
            on_state(mapping_state(lambda_client, mapping_uuid))
            sleep(poll_seconds)
    last: str | None = None
    while True:
        state = mapping_state(lambda_client, mapping_uuid)
        if state != last:
            on_state(state)
            last = state
        if state == wanted:
            return state
        if monotonic() >= deadline:
            raise MappingStateTimeoutError(
                f"event source mapping {mapping_uuid} is still {state} after {timeout_seconds:g} s (wanted {wanted})"
            )
        sleep(poll_seconds)


# --------------------------------------------------------------------------------------------------------------
# Redrive
# --------------------------------------------------------------------------------------------------------------


@dataclass
class RedriveReport:
    dry_run: bool
    moved: int = 0
    would_move: int = 0
    # (message id, why it stays in the DLQ)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "moved": self.moved,
            "would_move": self.would_move,
            "refused": [{"message_id": message_id, "reason": reason} for message_id, reason in self.refused],
        }


def redrive_dlq(
    sqs: Any,
    *,
    dlq_url: str,
    queue_url: str,
    dry_run: bool,
    max_messages: int | None = None,
    wait_seconds: int = 1,
    nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
) -> RedriveReport:
    """Send every DLQ message back to the replication queue as a "re-read the source" message.

    Never verbatim: the dead-lettered image may be older than changes applied since, and replaying it would
    overwrite them. Each resync keeps the message group (so it queues behind the key's newer events) and gets a
    fresh deduplication id from a random nonce: a message that failed again after an earlier redrive keeps its
    MessageId, and reusing an id inside SQS's five-minute window would make SQS drop the send silently while
    this loop deleted the original. The original is deleted only after its resync was accepted. Messages that
    are not replication messages stay in the DLQ and are reported.
    """
    report = RedriveReport(dry_run=dry_run)
    # Receipt handles of messages left in the DLQ; kept invisible until the end so the loop does not see them
    # again, then made visible at once.
    held: list[str] = []
    seen: set[str] = set()
    try:
        while max_messages is None or len(seen) < max_messages:
            batch = SQS_BATCH if max_messages is None else min(SQS_BATCH, max_messages - len(seen))
            messages = sqs.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=batch,
                WaitTimeSeconds=wait_seconds,
                VisibilityTimeout=HOLD_SECONDS,
                MessageSystemAttributeNames=["MessageGroupId"],
            ).get("Messages", [])
            if not messages or all(message["MessageId"] in seen for message in messages):
                held.extend(message["ReceiptHandle"] for message in messages)
                break
            for message in messages:
                if message["MessageId"] in seen:
                    held.append(message["ReceiptHandle"])
                    continue
                seen.add(message["MessageId"])
                _redrive_one(sqs, message, dlq_url, queue_url, dry_run, nonce, report, held)
    finally:
        _release(sqs, dlq_url, held)
    return report


def _redrive_one(
    sqs: Any,
    message: dict[str, Any],
    dlq_url: str,
    queue_url: str,
    dry_run: bool,
    nonce: Callable[[], str],
    report: RedriveReport,
    held: list[str],
) -> None:
    try:
        resync = make_resync_message(message["Body"], nonce=nonce(), max_bytes=SQS_MAX_MESSAGE_BYTES)
    except ReplicationMessageError as exc:
        report.refused.append((message["MessageId"], str(exc)))
        held.append(message["ReceiptHandle"])
        return
    if dry_run:
        report.would_move += 1
        held.append(message["ReceiptHandle"])
        return
    group = message.get("Attributes", {}).get("MessageGroupId") or resync.group_id
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=resync.body,
        MessageGroupId=group,
        MessageDeduplicationId=resync.deduplication_id,
    )
    sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    report.moved += 1


def _release(sqs: Any, url: str, receipt_handles: list[str]) -> None:
    for start in range(0, len(receipt_handles), SQS_BATCH):
        chunk = receipt_handles[start : start + SQS_BATCH]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for index, handle in enumerate(chunk)
            ],
        )


# --------------------------------------------------------------------------------------------------------------
# Looking into the DLQ, and discarding from it
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    group_id: str | None
    receive_count: int | None
    sent_at: str | None
    summary: str
    # Why `replication redrive` would leave it in the DLQ; None when redrive would resend it.
    redrive_refusal: str | None

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _dead_letter(message: dict[str, Any]) -> DeadLetter:
    attributes = message.get("Attributes", {})
    body = str(message.get("Body", ""))
    try:
        event = decode_message(body)
        summary = f"{event.event_name} of {format_key(event.keys)}" + (
            f" in {event.source_table}" if event.source_table else ""
        )
        if event.reread:
            summary += " (a resync: re-reads the source)"
        make_resync_message(body, nonce="peek", max_bytes=SQS_MAX_MESSAGE_BYTES)
        refusal = None
    except (ReplicationMessageError, ValueError, TypeError, KeyError) as error:
        refusal = str(error)
        summary = f"not a replication message: {body[:120]!r}" + ("..." if len(body) > 120 else "")
    sent = attributes.get("SentTimestamp")
    return DeadLetter(
        message_id=message["MessageId"],
        group_id=attributes.get("MessageGroupId"),
        receive_count=int(attributes["ApproximateReceiveCount"]) if "ApproximateReceiveCount" in attributes else None,
        sent_at=None if sent is None else datetime.fromtimestamp(int(sent) / 1000, UTC).isoformat(),
        summary=summary,
        redrive_refusal=refusal,
    )


def _walk_queue(
    sqs: Any,
    url: str,
    *,
    visit: Callable[[dict[str, Any]], bool],
    max_messages: int | None,
    wait_seconds: int,
    hold_seconds: int,
) -> None:
    """Receive every message once; ``visit`` returns True to delete it, else it is visible again at the end.

    Held messages stay invisible until the end so the loop does not receive them twice. In a FIFO queue SQS
    hands out a group's later messages only once the earlier ones are gone, so a walk that deletes nothing sees
    at most the first batch of each group."""
    held: list[str] = []
    seen: set[str] = set()
    try:
        while max_messages is None or len(seen) < max_messages:
            batch = SQS_BATCH if max_messages is None else min(SQS_BATCH, max_messages - len(seen))
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=batch,
                WaitTimeSeconds=wait_seconds,
                VisibilityTimeout=hold_seconds,
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [message for message in messages if message["MessageId"] not in seen]
            held.extend(message["ReceiptHandle"] for message in messages if message["MessageId"] in seen)
            if not fresh:
                break
            for message in fresh:
                seen.add(message["MessageId"])
                if visit(message):
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                else:
                    held.append(message["ReceiptHandle"])
    finally:
        _release(sqs, url, held)


def peek_dlq(
    sqs: Any,
    url: str,
    *,
    max_messages: int | None = None,
    wait_seconds: int = 1,
    hold_seconds: int = HOLD_SECONDS,
) -> list[DeadLetter]:
    """The DLQ's messages, left in the queue (each receive counts in its ApproximateReceiveCount)."""
    letters: list[DeadLetter] = []

    def keep(message: dict[str, Any]) -> bool:
        letters.append(_dead_letter(message))
        return False

    _walk_queue(sqs, url, visit=keep, max_messages=max_messages, wait_seconds=wait_seconds, hold_seconds=hold_seconds)
    return letters


def discard_dlq(sqs: Any, url: str, *, message_ids: Collection[str] | None, wait_seconds: int = 1) -> list[DeadLetter]:
    """Delete the DLQ messages with these ids (every message when None); returns what was deleted."""
    deleted: list[DeadLetter] = []

    def delete(message: dict[str, Any]) -> bool:
        if message_ids is not None and message["MessageId"] not in message_ids:
            return False
        deleted.append(_dead_letter(message))
        return True

    _walk_queue(sqs, url, visit=delete, max_messages=None, wait_seconds=wait_seconds, hold_seconds=HOLD_SECONDS)
    return deleted


# --------------------------------------------------------------------------------------------------------------
# Stream failures
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamFailure:
    """One Lambda invocation record from the forwarder mapping's on-failure destination.

    It names a shard and a range of sequence numbers whose stream records were never forwarded; it holds no
    item data.
    """

    message_id: str
    shard_id: str | None
    start_sequence_number: str | None
    end_sequence_number: str | None
    first_arrival: str | None
    last_arrival: str | None
    batch_size: int | None
    condition: str | None
    timestamp: str | None
    stream_arn: str | None
    # None when the record carries no arrival time to tell.
    expired: bool | None
    unparsed: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def read_stream_failures(
    sqs: Any, url: str, *, acknowledge: bool, now: datetime, wait_seconds: int = 1
) -> list[StreamFailure]:
    """Every record in the stream failure queue; deleted only with ``acknowledge``, else left in the queue."""
    failures: list[StreamFailure] = []
    held: list[str] = []
    seen: set[str] = set()
    try:
        while True:
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=SQS_BATCH,
                WaitTimeSeconds=wait_seconds,
                VisibilityTimeout=HOLD_SECONDS,
            ).get("Messages", [])
            fresh = [message for message in messages if message["MessageId"] not in seen]
            held.extend(message["ReceiptHandle"] for message in messages if message["MessageId"] in seen)
            if not fresh:
                break
            for message in fresh:
                seen.add(message["MessageId"])
                failures.append(_stream_failure(message, now))
                if acknowledge:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                else:
                    held.append(message["ReceiptHandle"])
    finally:
        _release(sqs, url, held)
    return failures


def _stream_failure(message: dict[str, Any], now: datetime) -> StreamFailure:
    try:
        document = json.loads(message["Body"])
        info = document["DDBStreamBatchInfo"]
        context = document.get("requestContext", {})
    except (json.JSONDecodeError, KeyError, TypeError):
        return StreamFailure(
            message["MessageId"], None, None, None, None, None, None, None, None, None, None, message["Body"][:2000]
        )
    last_arrival = info.get("approximateArrivalOfLastRecord")
    return StreamFailure(
        message_id=message["MessageId"],
        shard_id=info.get("shardId"),
        start_sequence_number=info.get("startSequenceNumber"),
        end_sequence_number=info.get("endSequenceNumber"),
        first_arrival=info.get("approximateArrivalOfFirstRecord"),
        last_arrival=last_arrival,
        batch_size=info.get("batchSize"),
        condition=context.get("condition"),
        timestamp=document.get("timestamp"),
        stream_arn=info.get("streamArn"),
        expired=_expired(last_arrival, now),
    )


def _expired(arrival: Any, now: datetime) -> bool | None:
    if not isinstance(arrival, str):
        return None
    try:
        moment = datetime.fromisoformat(arrival.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return now - moment > STREAM_RETENTION


def _name(queue_url: str) -> str:
    return queue_url.rstrip("/").rsplit("/", 1)[-1]
