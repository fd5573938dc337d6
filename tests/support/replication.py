"""The replication Lambdas (stream forwarder, queue consumer) on moto: environment, queues, events.

The handlers read their environment on the first invocation and cache what they build; `reset_handlers`
clears those caches so each test gets clients created inside its own `mock_aws`.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from tests.support.tables import REGION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient


def base_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "ddb-migrate-test",
        "POWERTOOLS_METRICS_NAMESPACE": "ddb-migrate-test",
        "MAX_MESSAGE_BYTES": "262144",
        "MAX_WRITE_ATTEMPTS": "8",
        "TIME_SAFETY_MARGIN_SECONDS": "10",
        # Keep the retry tests fast; the policy's shape is what is tested, not its wall-clock length.
        "BACKOFF_BASE_MS": "1",
        "BACKOFF_CAP_MS": "2",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "CUTOFF_TIMESTAMP", "TRANSFORM_STEPS", "TRANSFORM_MODULE"):
        monkeypatch.delenv(name, raising=False)


def reset_handlers() -> None:
    from replication_consumer import handler as consumer
    from stream_forwarder import handler as forwarder

    consumer._runtime.cache_clear()
    forwarder._runtime.cache_clear()


@pytest.fixture(name="aws")
def aws_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ``aws`` fixture of the replication test modules, which import it in place of the unit conftest's:
    the handlers' environment with fake credentials, fresh handler caches, moto."""
    base_environment(monkeypatch)
    reset_handlers()
    with mock_aws():
        yield
    reset_handlers()


def create_fifo_queue(sqs: SQSClient, name: str = "replication") -> str:
    return sqs.create_queue(
        QueueName=f"{name}.fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "60"},
    )["QueueUrl"]


def drain_queue(sqs: SQSClient, queue_url: str, *, delete: bool = True) -> list[dict[str, Any]]:
    """Every message now in the queue, in delivery order (FIFO order within each group)."""
    messages: list[dict[str, Any]] = []
    while True:
        batch: list[Any] = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
        if delete:
            for message in batch:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_name: str = "replication.fifo") -> dict[str, Any]:
    """A Lambda SQS event as the FIFO event source mapping delivers it."""
    records = []
    for message in messages:
        attributes = dict(message.get("Attributes", {}))
        attributes.setdefault("ApproximateReceiveCount", "1")
        attributes.setdefault("SentTimestamp", str(int(time.time() * 1000)))
        records.append(
            {
                "messageId": message.get("MessageId", str(uuid.uuid4())),
                "receiptHandle": message.get("ReceiptHandle", "handle"),
                "body": message["Body"],
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:{queue_name}",
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def records_of(event: Mapping[str, Any], *indexes: int) -> dict[str, Any]:
    return {"Records": [copy.deepcopy(event["Records"][index]) for index in indexes]}


def sequence_numbers(event: Mapping[str, Any]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]


def client_dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", region_name=REGION)


def client_sqs() -> SQSClient:
    return boto3.client("sqs", region_name=REGION)


def patch_boto3_client(monkeypatch: pytest.MonkeyPatch, service: str, client: Any) -> None:
    """Hand the handlers our client for one service (boto3 is patched, never our code)."""
    real_client: Any = boto3.client

    def factory(name: str, *args: Any, **kwargs: Any) -> Any:
        return client if name == service else real_client(name, *args, **kwargs)

    monkeypatch.setattr(boto3, "client", factory)


def queue_messages(stream_event: Mapping[str, Any], **encode_options: Any) -> list[dict[str, Any]]:
    """The queue messages the forwarder produces for a stream event, with ids m0, m1, ... for exact asserts."""
    from migration_core.replication import encode_stream_record

    messages = []
    for index, record in enumerate(stream_event["Records"]):
        message = encode_stream_record(record, **encode_options)
        messages.append(
            {
                "MessageId": f"m{index}",
                "Body": message.body,
                "Attributes": {
                    "MessageGroupId": message.group_id,
                    "MessageDeduplicationId": message.deduplication_id,
                    "SequenceNumber": str(10_000 + index),
                },
            }
        )
    return messages
