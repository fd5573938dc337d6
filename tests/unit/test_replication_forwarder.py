"""Stream forwarder against moto's FIFO SQS: order per key, dedup ids, batching, retries, partial failures."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from migration_core.replication import message_group_id
from migration_core.replication_io import FifoForwarder
from migration_core.retry import RetryPolicy
from stream_forwarder import handler
from tests.support.aws import client_error
from tests.support.lambda_context import FakeLambdaContext, emitted_metrics
from tests.support.lambda_events import load_event
from tests.support.replication import (
    aws_sandbox,  # noqa: F401 - the fixture `aws` here: the handlers' moto sandbox, not the conftest's
    client_dynamodb,
    client_sqs,
    drain_queue,
    patch_boto3_client,
    records_of,
    sequence_numbers,
)
from tests.support.tables import create_table

FAST_RETRIES = RetryPolicy(max_attempts=4, base_seconds=0.001, cap_seconds=0.002)


class FlakySqs:
    """A real (moto) SQS client whose SendMessageBatch fails the way SQS can: per entry, or the whole call."""

    def __init__(
        self,
        real: Any,
        *,
        failing_groups: Mapping[str, int] | None = None,
        sender_fault_groups: frozenset[str] = frozenset(),
        throttled_calls: int = 0,
        error_code: str = "RequestThrottled",
    ) -> None:
        self.real = real
        # group -> how many more sends of it fail (-1: all of them)
        self.failing_groups = dict(failing_groups or {})
        self.sender_fault_groups = sender_fault_groups
        self.throttled_calls = throttled_calls
        self.error_code = error_code
        self.calls: list[list[dict[str, Any]]] = []

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append(list(Entries))
        if self.throttled_calls:
            self.throttled_calls -= 1
            raise client_error(self.error_code, operation="SendMessageBatch")
        failed, passing = [], []
        for entry in Entries:
            group = entry["MessageGroupId"]
            if group in self.sender_fault_groups:
                failed.append(
                    {"Id": entry["Id"], "SenderFault": True, "Code": "InvalidMessageContents", "Message": "no"}
                )
            elif self.failing_groups.get(group, 0) != 0:
                self.failing_groups[group] -= 1
                failed.append({"Id": entry["Id"], "SenderFault": False, "Code": "InternalError", "Message": "oops"})
            else:
                passing.append(entry)
        response: dict[str, Any] = {"Successful": [], "Failed": failed}
        if passing:
            response["Successful"] = self.real.send_message_batch(QueueUrl=QueueUrl, Entries=passing)["Successful"]
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def group_of(event: Mapping[str, Any], index: int) -> str:
    return message_group_id(event["Records"][index]["dynamodb"]["Keys"])


def event_ids_by_group(messages: list[dict[str, Any]]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for message in messages:
        groups.setdefault(message["Attributes"]["MessageGroupId"], []).append(json.loads(message["Body"])["eventID"])
    return groups


def use_sqs(monkeypatch: pytest.MonkeyPatch, sqs: Any) -> None:
    patch_boto3_client(monkeypatch, "sqs", sqs)


# --------------------------------------------------------------------------------------------------------------


def test_every_record_reaches_the_queue_in_key_order_with_event_ids_for_dedup(
    queue_url: str, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    event = load_event("replication/stream_orders_batch.json")

    response = handler.lambda_handler(event, lambda_context)

    assert response == {"batchItemFailures": []}
    messages = drain_queue(client_sqs(), queue_url)
    ids = [r["eventID"] for r in event["Records"]]
    assert event_ids_by_group(messages) == {
        group_of(event, 0): [ids[0], ids[2], ids[4]],  # a/1
        group_of(event, 1): [ids[1], ids[3]],  # a/2: same partition key, its own group
        group_of(event, 5): [ids[5]],  # b/1
    }
    for message in messages:
        assert message["Attributes"]["MessageDeduplicationId"] == json.loads(message["Body"])["eventID"]
    assert emitted_metrics(capsys.readouterr().out)["MessagesForwarded"] == 6


def test_a_resent_batch_is_deduplicated_by_event_id(queue_url: str, lambda_context: FakeLambdaContext) -> None:
    event = load_event("replication/stream_orders_batch.json")

    handler.lambda_handler(event, lambda_context)
    handler.lambda_handler(event, lambda_context)  # Lambda's retry after, say, a timeout

    assert len(drain_queue(client_sqs(), queue_url)) == len(event["Records"])


def test_one_call_never_carries_two_records_of_a_key_nor_more_than_ten(queue_url: str) -> None:
    template = load_event("replication/stream_orders_batch.json")["Records"][0]
    records = []
    for index in range(40):
        record = json.loads(json.dumps(template))
        record["eventID"] = f"event-{index:03d}"
        record["dynamodb"]["SequenceNumber"] = str(5000 + index)
        key = {"pk": {"S": "hot" if index % 3 == 0 else f"k{index}"}, "sk": {"N": "1"}}
        record["dynamodb"]["Keys"] = key
        record["dynamodb"]["NewImage"] = {**key, "n": {"N": str(index)}}
        records.append(record)
    sqs = FlakySqs(client_sqs())

    result = FifoForwarder(cast(Any, sqs), queue_url, retry_policy=FAST_RETRIES).forward(records)

    assert result.failures == {}
    assert result.sent == 40
    for call in sqs.calls:
        assert len(call) <= 10
        assert len({entry["MessageGroupId"] for entry in call}) == len(call)
    hot = [m for m in drain_queue(client_sqs(), queue_url) if '"hot"' in m["Body"]]
    assert [json.loads(m["Body"])["eventID"] for m in hot] == [f"event-{i:03d}" for i in range(0, 40, 3)]


def test_call_payload_stays_under_the_message_limit(queue_url: str) -> None:
    template = load_event("replication/stream_orders_batch.json")["Records"][0]
    records = []
    for index in range(6):
        record = json.loads(json.dumps(template))
        record["eventID"] = f"big-{index}"
        record["dynamodb"]["SequenceNumber"] = str(9000 + index)
        key = {"pk": {"S": f"big{index}"}, "sk": {"N": "1"}}
        record["dynamodb"]["Keys"] = key
        record["dynamodb"]["NewImage"] = {**key, "b": {"B": base64.b64encode(bytes(90_000)).decode()}}
        records.append(record)
    sqs = FlakySqs(client_sqs())

    FifoForwarder(cast(Any, sqs), queue_url, retry_policy=FAST_RETRIES).forward(records)

    assert [len(call) for call in sqs.calls] == [2, 2, 2]
    for call in sqs.calls:
        assert sum(len(entry["MessageBody"].encode()) for entry in call) <= 262_144


def test_failed_entries_and_throttling_are_retried_until_accepted(queue_url: str) -> None:
    event = load_event("replication/stream_orders_batch.json")
    sqs = FlakySqs(client_sqs(), failing_groups={group_of(event, 1): 2}, throttled_calls=1)

    result = FifoForwarder(cast(Any, sqs), queue_url, retry_policy=FAST_RETRIES).forward(event["Records"])

    assert result.failures == {}
    assert result.sent == 6
    assert result.retries == 3
    assert result.throttled == 1
    ids = [r["eventID"] for r in event["Records"]]
    assert event_ids_by_group(drain_queue(client_sqs(), queue_url))[group_of(event, 1)] == [ids[1], ids[3]]


def test_a_record_that_keeps_failing_stops_the_batch_and_the_retry_completes_it_in_order(
    queue_url: str, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = load_event("replication/stream_orders_batch.json")
    seqs = sequence_numbers(event)
    healthy = client_sqs()
    # a/1 (records 0, 2, 4) cannot be sent; record 1 (a/2) shares the first call and is accepted.
    use_sqs(monkeypatch, FlakySqs(healthy, failing_groups={group_of(event, 0): -1}))
    monkeypatch.setenv("MAX_WRITE_ATTEMPTS", "3")

    response = handler.lambda_handler(event, lambda_context)

    # Record 0 failed; everything after it is reported too, since Lambda resumes the shard at record 0 anyway.
    assert response == {"batchItemFailures": [{"itemIdentifier": seq} for seq in [seqs[0], *seqs[2:]]]}
    queued = healthy.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert queued["Attributes"]["ApproximateNumberOfMessages"] == "1"  # record 1

    # Lambda's retry starts at the lowest failed sequence number, i.e. with the whole batch here.
    handler._runtime.cache_clear()
    use_sqs(monkeypatch, healthy)
    assert handler.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    ids = [r["eventID"] for r in event["Records"]]
    assert event_ids_by_group(drain_queue(client_sqs(), queue_url)) == {
        group_of(event, 0): [ids[0], ids[2], ids[4]],
        group_of(event, 1): [ids[1], ids[3]],  # the resend of record 1 was deduplicated
        group_of(event, 5): [ids[5]],
    }


def test_a_later_failure_reports_from_that_record_on(
    queue_url: str, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = load_event("replication/stream_orders_batch.json")
    seqs = sequence_numbers(event)
    use_sqs(monkeypatch, FlakySqs(client_sqs(), failing_groups={group_of(event, 5): -1}))

    response = handler.lambda_handler(event, lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": seqs[5]}]}
    assert len(drain_queue(client_sqs(), queue_url)) == 5


def test_a_message_sqs_refuses_is_not_retried(queue_url: str) -> None:
    event = load_event("replication/stream_orders_batch.json")
    sqs = FlakySqs(client_sqs(), sender_fault_groups=frozenset({group_of(event, 0)}))

    result = FifoForwarder(cast(Any, sqs), queue_url, retry_policy=FAST_RETRIES).forward(
        records_of(event, 0)["Records"]
    )

    assert len(sqs.calls) == 1
    assert list(result.failures) == [event["Records"][0]["dynamodb"]["SequenceNumber"]]
    assert "InvalidMessageContents" in (result.first_failure or "")


def test_when_every_record_fails_the_whole_batch_fails(
    queue_url: str, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_sqs(monkeypatch, FlakySqs(client_sqs(), throttled_calls=1000))
    monkeypatch.setenv("MAX_WRITE_ATTEMPTS", "2")

    with pytest.raises(BatchProcessingError):
        handler.lambda_handler(load_event("replication/stream_orders_batch.json"), lambda_context)


def test_a_missing_queue_is_not_retried(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    sqs = FlakySqs(client_sqs())
    missing = "https://sqs.us-east-1.amazonaws.com/123456789012/missing.fifo"

    result = FifoForwarder(cast(Any, sqs), missing, retry_policy=FAST_RETRIES).forward(
        load_event("replication/stream_orders_batch.json")["Records"]
    )

    assert len(sqs.calls) == 1
    assert len(result.failures) == 6
    assert result.sent == 0


def test_forwarding_stops_before_the_lambda_times_out(queue_url: str) -> None:
    event = load_event("replication/stream_orders_batch.json")
    seqs = sequence_numbers(event)
    calls = iter([False, True])

    result = FifoForwarder(client_sqs(), queue_url, retry_policy=FAST_RETRIES).forward(
        event["Records"], should_stop=lambda: next(calls, True)
    )

    # The first call carried records 0 and 1 (record 2 is a/1 again); the rest waits for the retry.
    assert result.sent == 2
    assert list(result.failures) == seqs[2:]
    assert "time out" in (result.first_failure or "")


def test_an_unencodable_record_stops_the_batch_at_that_record(queue_url: str) -> None:
    event = load_event("replication/stream_orders_batch.json")
    event["Records"][3]["dynamodb"]["StreamViewType"] = "KEYS_ONLY"
    seqs = sequence_numbers(event)

    result = FifoForwarder(client_sqs(), queue_url, retry_policy=FAST_RETRIES).forward(event["Records"])

    assert result.sent == 3
    assert list(result.failures) == seqs[3:]
    assert "NEW_AND_OLD_IMAGES" in (result.first_failure or "")


def test_oversize_record_with_a_key_deriving_transform_ships_the_old_target_keys(
    queue_url: str, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_table(client_dynamodb(), "users-v2", {"pk": "S"})
    monkeypatch.setenv("TARGET_TABLE", "users-v2")
    monkeypatch.setenv(
        "TRANSFORM_STEPS", json.dumps([{"op": "derive", "attribute": "pk", "template": "{tenant}#{id}"}])
    )
    event = records_of(load_event("replication/stream_key_change.json"), 1)
    stream = event["Records"][0]["dynamodb"]
    stream["NewImage"]["blob"] = {"B": base64.b64encode(bytes(200_000)).decode()}
    stream["OldImage"]["blob"] = {"B": base64.b64encode(bytes(200_000)).decode()}

    assert handler.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    (message,) = drain_queue(client_sqs(), queue_url)
    body = json.loads(message["Body"])
    assert len(message["Body"].encode()) <= 262_144
    assert body["omitted"] == ["NewImage", "OldImage"]
    assert body["oldTargetKeys"] == [{"pk": {"S": "t1#u1"}}]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_missing_configuration_fails_loudly(aws: None, lambda_context: FakeLambdaContext) -> None:
    with pytest.raises(ValueError, match="QUEUE_URL"):
        handler.lambda_handler(load_event("replication/stream_orders_batch.json"), lambda_context)


def keyed_records(keys: list[str]) -> list[dict[str, Any]]:
    """A stream record per key in ``keys`` (repeats are later changes of the same item), in stream order."""
    template = load_event("replication/stream_orders_batch.json")["Records"][0]
    records = []
    for index, name in enumerate(keys):
        record = json.loads(json.dumps(template))
        record["eventID"] = f"event-{index:03d}"
        record["dynamodb"]["SequenceNumber"] = str(7000 + index)
        key = {"pk": {"S": name}, "sk": {"N": "1"}}
        record["dynamodb"]["Keys"] = key
        record["dynamodb"]["NewImage"] = {**key, "n": {"N": str(index)}}
        records.append(record)
    return records


class MeetingSqs(FlakySqs):
    """Its first two SendMessageBatch calls each wait until the other has started: only calls in flight at the same
    time get through (a forwarder sending one call after the other breaks the barrier)."""

    def __init__(self, real: Any) -> None:
        super().__init__(real)
        self.barrier = threading.Barrier(2, timeout=60)
        self.met = 0

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        if self.met < 2:
            self.met += 1
            self.barrier.wait()
        return super().send_message_batch(QueueUrl=QueueUrl, Entries=Entries)


def test_calls_go_out_together_and_each_key_keeps_its_order(queue_url: str) -> None:
    keys = [f"k{index}" if index % 25 else "hot" for index in range(70)]
    records = keyed_records(keys)
    sqs = MeetingSqs(client_sqs())

    result = FifoForwarder(cast(Any, sqs), queue_url, retry_policy=FAST_RETRIES, concurrency=4).forward(records)

    assert result.failures == {}
    assert result.sent == 70
    for call in sqs.calls:
        assert len(call) <= 10
        assert len({entry["MessageGroupId"] for entry in call}) == len(call)
    queued = drain_queue(client_sqs(), queue_url)
    assert len(queued) == 70
    hot = [json.loads(m["Body"])["eventID"] for m in queued if '"hot"' in m["Body"]]
    assert hot == [f"event-{i:03d}" for i in range(0, 70, 25)]


def test_a_failure_stops_later_windows_and_the_retry_completes_every_key_in_order(queue_url: str) -> None:
    keys = [f"k{index % 25}" for index in range(50)]  # every item changed twice, 25 records apart
    records = keyed_records(keys)
    failing = message_group_id(records[12]["dynamodb"]["Keys"])
    sqs = FlakySqs(client_sqs(), failing_groups={failing: -1})

    result = FifoForwarder(cast(Any, sqs), queue_url, retry_policy=FAST_RETRIES, concurrency=4).forward(records)

    seqs = [record["dynamodb"]["SequenceNumber"] for record in records]
    assert seqs[12] in result.failures
    assert min(result.failures, key=seqs.index) == seqs[12]
    # Nothing before the failure is reported, nothing is lost without being reported.
    sent = [
        json.loads(entry["MessageBody"])["eventID"]
        for call in sqs.calls
        for entry in call
        if entry["MessageGroupId"] != failing
    ]
    assert {f"event-{i:03d}" for i in range(12)} <= set(sent)
    assert len(sent) == result.sent
    assert {records[i]["eventID"] for i, seq in enumerate(seqs) if seq not in result.failures} == set(sent)
    # Later windows never went out: no item has both of its records sent.
    assert not [i for i in range(25) if f"event-{i:03d}" in sent and f"event-{i + 25:03d}" in sent]

    # Lambda's retry re-reads the shard from the failed record.
    retry = FifoForwarder(client_sqs(), queue_url, retry_policy=FAST_RETRIES, concurrency=4).forward(records[12:])
    assert retry.failures == {}
    by_group = event_ids_by_group(drain_queue(client_sqs(), queue_url))
    for index in range(25):
        group = message_group_id(records[index]["dynamodb"]["Keys"])
        assert by_group[group] == [f"event-{index:03d}", f"event-{index + 25:03d}"]
