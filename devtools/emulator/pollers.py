"""Event source mapping pollers: the emulator's replacement for Lambda's SQS and DynamoDB Streams pollers.

One thread per mapping. Every poll re-reads the mapping, so UpdateEventSourceMapping (Enabled,
BatchSize, retry settings, destination) takes effect at run time; a deleted mapping stops its thread.

SQS: ReceiveMessage (moto holds back a FIFO group while one of its messages is in flight, and moves a
message to the queue's dead-letter queue on the receive that finds it over maxReceiveCount), invoke
with Lambda's SQS event, delete what succeeded. Failed messages are left alone: they come back after
the visibility timeout, exactly as with Lambda.

DynamoDB Streams: per shard, strictly in order and one batch at a time, from StartingPosition; on a
function error the batch is retried (MaximumRetryAttempts, -1 = until the record is too old),
optionally bisected, records past MaximumRecordAgeInSeconds are dropped, ReportBatchItemFailures
checkpoints before the lowest failed sequence number, and a discarded batch is described to the
OnFailure destination with Lambda's invocation record.

Like Lambda's pollers they act with the function's execution role (``identity``, see :mod:`.iam_gate`): SQS
ReceiveMessage / DeleteMessage / GetQueueAttributes and the on-failure SendMessage are signed with its session,
and the stream reads, which go straight to moto's shard (see ``moto_access.read_stream_records``), are
checked for DescribeStream, GetShardIterator, GetRecords and ListStreams first. A refused mapping makes no
progress and reports why (``PollerManager.problems``), as Lambda shows a mapping's last processing result.
The queue URL lookup and the idle checks are the emulator's own bookkeeping and use no role.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import moto_access
from .executor import InvocationResult
from .moto_access import MappingView
from .role_credentials import RoleCredentials

LOGGER = logging.getLogger("devtools.emulator.pollers")

DEFAULT_POLL_INTERVAL = 0.05
SQS_DEFAULT_CONCURRENCY = 3
STREAM_RETENTION_SECONDS = 24 * 3600
SQS_EVENT_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
)

InvokeFn = Callable[[MappingView, bytes], InvocationResult | None]
"""Invoke the mapping's function; None when it could not be invoked at all (e.g. it does not exist)."""
STREAM_READ_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords")


class MappingIdentity(Protocol):
    """The mapped function's execution role, as the pollers act with it."""

    def credentials(self, view: MappingView) -> RoleCredentials | None: ...

    def denial(self, view: MappingView, action: str, resource: str) -> str | None:
        """Why the role may not do ``action`` on ``resource``; None when it may."""


def _iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AwsClients:
    """boto3 clients against the emulator, one per (service, region, account, credentials)."""

    def __init__(self, endpoint: str) -> None:
        self._endpoint = endpoint
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str, str, str], Any] = {}
        # The emulator accepts any credentials; fixed dummy ones keep the developer's profile out of it.
        self._session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - dummy credentials for the local emulator
        )

    def get(self, service: str, region: str, account_id: str, credentials: RoleCredentials | None = None) -> Any:
        """A client of ``account_id``; signed with ``credentials`` (a role session) or the dummy ones."""
        key = (service, region, account_id, credentials.access_key_id if credentials else "")
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                signing: dict[str, str] = {}
                if credentials is not None:
                    signing = {
                        "aws_access_key_id": credentials.access_key_id,
                        "aws_secret_access_key": credentials.secret_access_key,
                        "aws_session_token": credentials.session_token,
                    }
                client = self._session.client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    endpoint_url=self._endpoint,
                    config=Config(retries={"max_attempts": 3, "mode": "standard"}),
                    **signing,
                )

                def add_account(request: Any, **_: Any) -> None:
                    # moto picks the account from this header (before the credentials): the mapping's source
                    # account serves the request, as it does on AWS for a resource named by its ARN.
                    request.headers["x-moto-account-id"] = account_id

                client.meta.events.register("before-sign", add_account)
                self._clients[key] = client
            return client


def _parse_arn(arn: str) -> tuple[str, str, str, str]:
    """(service, region, account, resource)."""
    _, _, service, region, account, resource = arn.split(":", 5)
    return service, region, account, resource


def _batch_item_failures(payload: bytes, valid_ids: Sequence[str]) -> list[str] | None:
    """Failed item identifiers from a ReportBatchItemFailures response; None = the whole batch failed.

    Lambda treats null / empty responses and empty lists as complete success, and any malformed entry
    (missing, null or empty identifier, or one that is not in the batch) as complete failure.
    """
    try:
        document = json.loads(payload) if payload else None
    except ValueError:
        return None
    if not isinstance(document, dict):
        return []
    failures = document.get("batchItemFailures")
    if not failures:
        return []
    if not isinstance(failures, list):
        return None
    identifiers = []
    for entry in failures:
        identifier = entry.get("itemIdentifier") if isinstance(entry, dict) else None
        if not isinstance(identifier, str) or not identifier or identifier not in valid_ids:
            return None
        identifiers.append(identifier)
    return identifiers


class _MappingPoller:
    def __init__(self, manager: PollerManager, view: MappingView) -> None:
        self.manager = manager
        self.uuid = view.uuid
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"esm-{view.uuid[:8]}", daemon=True)
        self.problem: str | None = None

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def current(self) -> MappingView | None:
        return self.manager.view(self.uuid)

    def sleep(self, seconds: float | None = None) -> None:
        self.stopping.wait(self.manager.poll_interval if seconds is None else seconds)

    def report(self, problem: str | None) -> None:
        """Record why the mapping cannot make progress (None: it can); logged once per new problem."""
        if problem is not None and problem != self.problem:
            LOGGER.warning("event source mapping %s: %s", self.uuid, problem)
        self.problem = problem

    def _run(self) -> None:
        while not self.stopping.is_set():
            view = self.current()
            if view is None:
                return
            try:
                worked = self.poll_once(view) if view.enabled else False
            except Exception:
                LOGGER.exception("event source mapping %s: poll failed", self.uuid)
                worked = False
            if not worked:
                self.sleep()

    def poll_once(self, view: MappingView) -> bool:
        raise NotImplementedError

    def is_idle(self, view: MappingView) -> bool:
        raise NotImplementedError


class SqsPoller(_MappingPoller):
    def __init__(self, manager: PollerManager, view: MappingView) -> None:
        super().__init__(manager, view)
        self._queue_url: str | None = None
        self._attributes_read = False
        self._inflight = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(SQS_DEFAULT_CONCURRENCY, thread_name_prefix=f"esm-sqs-{view.uuid[:8]}")

    def stop(self) -> None:
        super().stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _sqs(self, view: MappingView) -> Any:
        """A client acting as the function's execution role."""
        _, region, account, _ = _parse_arn(view.event_source_arn)
        return self.manager.clients.get("sqs", region, account, self.manager.credentials(view))

    def _own_sqs(self, view: MappingView) -> Any:
        """A client for the emulator's bookkeeping, which Lambda does not do with the role."""
        _, region, account, _ = _parse_arn(view.event_source_arn)
        return self.manager.clients.get("sqs", region, account)

    def _url(self, view: MappingView) -> str | None:
        if self._queue_url is None:
            _, _, account, name = _parse_arn(view.event_source_arn)
            try:
                self._queue_url = self._own_sqs(view).get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
                    "QueueUrl"
                ]
            except Exception:
                return None
        return self._queue_url

    def _readable(self, view: MappingView, url: str) -> bool:
        """Lambda reads the queue's attributes with the role before it polls; a refusal stops the mapping."""
        if self._attributes_read:
            return True
        try:
            self._sqs(view).get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
        except ClientError as exc:
            self.report(f"GetQueueAttributes failed: {exc}")
            return False
        self._attributes_read = True
        return True

    def _concurrency(self, view: MappingView) -> int:
        return min(view.maximum_concurrency or SQS_DEFAULT_CONCURRENCY, SQS_DEFAULT_CONCURRENCY)

    def poll_once(self, view: MappingView) -> bool:
        url = self._url(view)
        if url is None:
            return False
        with self._lock:
            if self._inflight >= self._concurrency(view):
                return False
        messages = self._receive_as_role(view, url)
        if not messages:
            return False
        with self._lock:
            self._inflight += 1
        try:
            self._pool.submit(self._process, view, url, messages)
        except RuntimeError:
            with self._lock:
                self._inflight -= 1
            return False
        return True

    def _receive_as_role(self, view: MappingView, url: str) -> list[dict[str, Any]]:
        if not self._readable(view, url):
            return []
        try:
            messages = self._receive(view, url)
        except ClientError as exc:
            # Read the attributes again before the next attempt, as Lambda re-validates a failing mapping.
            self._attributes_read = False
            self.report(f"ReceiveMessage failed: {exc}")
            return []
        self.report(None)
        return messages

    def _receive(self, view: MappingView, url: str) -> list[dict[str, Any]]:
        sqs = self._sqs(view)
        batch: list[dict[str, Any]] = []
        window_ends = time.monotonic() + view.maximum_batching_window_seconds
        while len(batch) < view.batch_size and not self.stopping.is_set():
            response = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, view.batch_size - len(batch)),
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            batch.extend(received)
            if time.monotonic() >= window_ends:
                break
            if not received:
                self.sleep()
        return batch

    def _record(self, view: MappingView, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": {name: attributes[name] for name in SQS_EVENT_ATTRIBUTES if name in attributes},
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": (
                        base64.b64encode(value["BinaryValue"]).decode("ascii") if "BinaryValue" in value else None
                    ),
                    "stringListValues": value.get("StringListValues", []),
                    "binaryListValues": value.get("BinaryListValues", []),
                    "dataType": value.get("DataType"),
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": view.event_source_arn,
            "awsRegion": view.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        for value in record["messageAttributes"].values():
            for key in ("stringValue", "binaryValue"):
                if value[key] is None:
                    del value[key]
        return record

    def _process(self, view: MappingView, url: str, messages: list[dict[str, Any]]) -> None:
        try:
            event = {"Records": [self._record(view, message) for message in messages]}
            result = self.manager.invoke(view, json.dumps(event).encode("utf-8"))
            if result is None:
                return
            if result.function_error:
                LOGGER.info(
                    "mapping %s: function error %s, %d message(s) return after the visibility timeout",
                    view.uuid[:8],
                    result.error_type,
                    len(messages),
                )
                return
            done = messages
            if view.report_batch_item_failures:
                failed = _batch_item_failures(result.payload, [m["MessageId"] for m in messages])
                if failed is None:
                    LOGGER.info("mapping %s: invalid batchItemFailures, the whole batch failed", view.uuid[:8])
                    return
                done = [m for m in messages if m["MessageId"] not in set(failed)]
            self._delete(view, url, done)
        except ClientError as exc:
            self.report(f"DeleteMessageBatch failed: {exc}")
        except Exception:
            LOGGER.exception("mapping %s: processing a batch failed", view.uuid[:8])
        finally:
            with self._lock:
                self._inflight -= 1

    def _delete(self, view: MappingView, url: str, messages: list[dict[str, Any]]) -> None:
        sqs = self._sqs(view)
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            response = sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in response.get("Failed", []):
                LOGGER.warning("mapping %s: delete failed: %s", view.uuid[:8], failure)

    def is_idle(self, view: MappingView) -> bool:
        with self._lock:
            if self._inflight:
                return False
        url = self._url(view)
        if url is None:
            return True
        try:
            attributes = self._own_sqs(view).get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
        except Exception:
            return True
        return all(int(value) == 0 for value in attributes.values())


class StreamPoller(_MappingPoller):
    def __init__(self, manager: PollerManager, view: MappingView) -> None:
        super().__init__(manager, view)
        self._shard_token: int | None = None
        self._next_sequence = 0
        self._processing = False
        self._first_seen: float | None = None

    def _position(self, view: MappingView) -> moto_access.ShardSnapshot | None:
        snapshot = moto_access.shard_snapshot(view.event_source_arn)
        if snapshot is None:
            return None
        if snapshot.shard_token != self._shard_token:
            self._shard_token = snapshot.shard_token
            latest = view.starting_position == "LATEST"
            self._next_sequence = snapshot.end_sequence_number if latest else snapshot.starting_sequence_number
            self._first_seen = None
        return snapshot

    def poll_once(self, view: MappingView) -> bool:
        snapshot = self._position(view)
        if snapshot is None or self._next_sequence >= snapshot.end_sequence_number:
            self._first_seen = None
            return False
        problem = self.manager.stream_access_problem(view)
        if problem is not None:
            self.report(problem)
            return False
        records = moto_access.read_stream_records(
            view.event_source_arn, snapshot.shard_token, self._next_sequence, view.batch_size
        )
        if not records:
            return False
        if len(records) < view.batch_size and view.maximum_batching_window_seconds > 0:
            now = time.monotonic()
            self._first_seen = self._first_seen or now
            if now - self._first_seen < view.maximum_batching_window_seconds:
                return False
        self._first_seen = None
        self._processing = True
        try:
            self._process(view, snapshot, records)
        finally:
            self._processing = False
        return True

    def is_idle(self, view: MappingView) -> bool:
        if self._processing:
            return False
        snapshot = moto_access.shard_snapshot(view.event_source_arn)
        if snapshot is None:
            return True
        if snapshot.shard_token != self._shard_token:
            # Not picked up yet: only LATEST has nothing to do.
            return view.starting_position == "LATEST" or snapshot.end_sequence_number == (
                snapshot.starting_sequence_number
            )
        return self._next_sequence >= snapshot.end_sequence_number

    @staticmethod
    def _sequence(record: dict[str, Any]) -> int:
        return int(record["dynamodb"]["SequenceNumber"])

    def _checkpoint(self, record: dict[str, Any]) -> None:
        self._next_sequence = self._sequence(record) + 1

    def _process(self, view: MappingView, snapshot: moto_access.ShardSnapshot, records: list[dict[str, Any]]) -> None:
        self.report(None)
        pending: list[list[dict[str, Any]]] = [records]
        while pending:
            batch = pending.pop(0)
            attempts = 0
            invocations = 0
            while batch:
                current = self.current()
                if self.stopping.is_set() or current is None or not current.enabled:
                    return  # resume from the checkpoint when the mapping is enabled again
                view = current
                batch, expired = self._split_expired(view, batch)
                if expired:
                    self._discard(view, snapshot, expired, "RecordAgeExceeded", invocations, None)
                    self._checkpoint(expired[-1])
                    continue
                result = self.manager.invoke(view, self._event(view, batch))
                if result is None:
                    self.sleep(self._backoff(attempts))  # not invoked: retried until the records expire
                    continue
                invocations += 1
                remaining = self._unfinished(view, batch, result)
                if not remaining:
                    self._checkpoint(batch[-1])
                    break
                if remaining[0] is not batch[0]:
                    self._checkpoint(batch[batch.index(remaining[0]) - 1])
                batch = remaining
                if view.bisect_batch_on_function_error and len(batch) > 1:
                    middle = len(batch) // 2
                    pending[:0] = [batch[:middle], batch[middle:]]
                    break  # splitting does not count as a retry
                attempts += 1
                if 0 <= view.maximum_retry_attempts < attempts:
                    self._discard(view, snapshot, batch, "RetryAttemptsExhausted", invocations, result)
                    self._checkpoint(batch[-1])
                    break
                self.sleep(self._backoff(attempts))

    @staticmethod
    def _backoff(attempts: int) -> float:
        return float(min(0.05 * 2 ** min(attempts, 5), 1.0))

    @staticmethod
    def _split_expired(
        view: MappingView, batch: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        max_age = view.maximum_record_age_seconds
        limit = STREAM_RETENTION_SECONDS if max_age < 0 else max_age
        now = time.time()
        expired = []
        for record in batch:
            if now - float(record["dynamodb"].get("ApproximateCreationDateTime", now)) <= limit:
                break
            expired.append(record)
        return batch[len(expired) :], expired

    @staticmethod
    def _event(view: MappingView, batch: list[dict[str, Any]]) -> bytes:
        records = [{**record, "eventSourceARN": view.event_source_arn} for record in batch]
        return json.dumps({"Records": records}).encode("utf-8")

    def _unfinished(
        self, view: MappingView, batch: list[dict[str, Any]], result: InvocationResult
    ) -> list[dict[str, Any]]:
        if result.function_error:
            LOGGER.info("mapping %s: function error %s on %d record(s)", view.uuid[:8], result.error_type, len(batch))
            return batch
        if not view.report_batch_item_failures:
            return []
        identifiers = [str(record["dynamodb"]["SequenceNumber"]) for record in batch]
        failed = _batch_item_failures(result.payload, identifiers)
        if failed is None:
            return batch
        if not failed:
            return []
        lowest = min(int(identifier) for identifier in failed)
        return [record for record in batch if self._sequence(record) >= lowest]

    def _discard(
        self,
        view: MappingView,
        snapshot: moto_access.ShardSnapshot,
        batch: list[dict[str, Any]],
        condition: str,
        invocations: int,
        result: InvocationResult | None,
    ) -> None:
        LOGGER.warning(
            "mapping %s: discarding %d record(s) (%s, sequence %s..%s)",
            view.uuid[:8],
            len(batch),
            condition,
            batch[0]["dynamodb"]["SequenceNumber"],
            batch[-1]["dynamodb"]["SequenceNumber"],
        )
        if not view.on_failure_destination:
            return

        def arrival(record: dict[str, Any]) -> str:
            seconds = float(record["dynamodb"].get("ApproximateCreationDateTime", time.time()))
            return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        document: dict[str, Any] = {
            "requestContext": {
                "requestId": result.request_id if result else str(uuid.uuid4()),
                "functionArn": view.function_arn,
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            "responseContext": {
                "statusCode": 200 if result else 0,
                "executedVersion": result.executed_version if result else "",
                "functionError": result.function_error or "" if result else "",
            },
            "version": "1.0",
            "timestamp": _iso_now(),
            "DDBStreamBatchInfo": {
                "shardId": snapshot.shard_id,
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrival(batch[0]),
                "approximateArrivalOfLastRecord": arrival(batch[-1]),
                "batchSize": len(batch),
                "streamArn": view.event_source_arn,
            },
        }
        problem = self.manager.send_to_destination(view, view.on_failure_destination, document)
        if problem is not None:
            self.report(problem)


class PollerManager:
    """Keeps one poller thread per event source mapping, in step with moto's mappings."""

    def __init__(
        self,
        endpoint: str,
        invoke: InvokeFn,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        identity: MappingIdentity | None = None,
    ) -> None:
        """``identity`` gives the pollers the function's role; without it they act unrestricted."""
        self.invoke = invoke
        self.poll_interval = poll_interval
        self.clients = AwsClients(endpoint)
        self._identity = identity
        self._views: dict[str, MappingView] = {}
        self._pollers: dict[str, _MappingPoller] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="esm-manager", daemon=True)
        self._housekeeping: list[Callable[[], None]] = []

    def add_housekeeping(self, task: Callable[[], None]) -> None:
        self._housekeeping.append(task)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        with self._lock:
            pollers = list(self._pollers.values())
            self._pollers.clear()
        for poller in pollers:
            poller.stop()
        deadline = time.monotonic() + timeout
        for poller in pollers:
            poller.join(max(0.0, deadline - time.monotonic()))
        self._thread.join(max(0.0, deadline - time.monotonic()))

    def view(self, mapping_uuid: str) -> MappingView | None:
        with self._lock:
            return self._views.get(mapping_uuid)

    def credentials(self, view: MappingView) -> RoleCredentials | None:
        return self._identity.credentials(view) if self._identity is not None else None

    def stream_access_problem(self, view: MappingView) -> str | None:
        """Why the function's role may not read the mapping's stream (as Lambda's poller does), or None."""
        if self._identity is None:
            return None
        checks = [(action, view.event_source_arn) for action in STREAM_READ_ACTIONS]
        checks.append(("dynamodb:ListStreams", "*"))
        for action, resource in checks:
            denial = self._identity.denial(view, action, resource)
            if denial is not None:
                return denial
        return None

    def problems(self) -> dict[str, str]:
        """Mappings that cannot make progress, by UUID, with the reason (an AccessDenied message, ...)."""
        with self._lock:
            pollers = list(self._pollers.items())
        return {mapping_uuid: poller.problem for mapping_uuid, poller in pollers if poller.problem is not None}

    def sync(self) -> None:
        views = {view.uuid: view for view in moto_access.list_mappings()}
        started, stopped = [], []
        with self._lock:
            if self._stopping.is_set():
                return
            self._views = views
            for mapping_uuid in list(self._pollers):
                if mapping_uuid not in views:
                    stopped.append(self._pollers.pop(mapping_uuid))
            for mapping_uuid, view in views.items():
                if mapping_uuid in self._pollers:
                    continue
                poller: _MappingPoller
                if view.source_service == "sqs":
                    poller = SqsPoller(self, view)
                elif view.source_service == "dynamodb":
                    poller = StreamPoller(self, view)
                else:
                    continue
                self._pollers[mapping_uuid] = poller
                started.append(poller)
        for poller in stopped:
            poller.stop()
        for poller in started:
            poller.start()

    def _run(self) -> None:
        last_housekeeping = 0.0
        while not self._stopping.is_set():
            try:
                self.sync()
                if time.monotonic() - last_housekeeping > 1.0:
                    last_housekeeping = time.monotonic()
                    for task in self._housekeeping:
                        task()
            except Exception:
                LOGGER.exception("event source mapping manager failed")
            self._stopping.wait(self.poll_interval)

    def busy_mappings(self) -> list[str]:
        """Enabled mappings that still have work: records to process or messages in their queue."""
        self.sync()
        with self._lock:
            items = [(self._pollers.get(uuid), view) for uuid, view in self._views.items()]
        busy = []
        for poller, view in items:
            if poller is None or not view.enabled:
                continue
            with contextlib.suppress(Exception):
                if not poller.is_idle(view):
                    busy.append(f"{view.uuid} ({view.event_source_arn})")
        return busy

    def send_to_destination(self, view: MappingView, destination: str, document: dict[str, Any]) -> str | None:
        """Send with the function's role, as Lambda does; returns why it failed, or None."""
        service, region, account, resource = _parse_arn(destination)
        body = json.dumps(document)
        credentials = self.credentials(view)
        try:
            if service == "sqs":
                own = self.clients.get("sqs", region, account)
                url = own.get_queue_url(QueueName=resource, QueueOwnerAWSAccountId=account)["QueueUrl"]
                self.clients.get("sqs", region, account, credentials).send_message(QueueUrl=url, MessageBody=body)
            elif service == "sns":
                self.clients.get("sns", region, account, credentials).publish(TopicArn=destination, Message=body)
            else:
                LOGGER.warning("unsupported OnFailure destination %s", destination)
        except ClientError as exc:
            return f"could not send the invocation record to {destination}: {exc}"
        except Exception:
            LOGGER.exception("could not send the invocation record to %s", destination)
        return None
