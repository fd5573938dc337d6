"""Replication consumer against moto's DynamoDB: apply, cutoff, key changes, duplicates, poison, retries."""

from __future__ import annotations

import base64
import copy
import json
import sys
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from migration_core.errors import ConfigurationError
from replication_consumer import handler
from tests.support.aws import client_error
from tests.support.lambda_context import FakeLambdaContext, emitted_metrics
from tests.support.lambda_events import load_event
from tests.support.replication import (
    aws_sandbox,  # noqa: F401 - the fixture `aws` here: the handlers' moto sandbox, not the conftest's
    client_dynamodb,
    patch_boto3_client,
    queue_messages,
    records_of,
    sqs_event,
)
from tests.support.tables import create_table, scan_all

DERIVE_TENANT_KEY = json.dumps([{"op": "derive", "attribute": "pk", "template": "{tenant}#{id}"}])


@pytest.fixture
def orders(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Source `orders` and target `orders-v2`, both pk S + sk N, identity transform."""
    create_table(client_dynamodb(), "orders", {"pk": "S", "sk": "N"})
    create_table(client_dynamodb(), "orders-v2", {"pk": "S", "sk": "N"})
    monkeypatch.setenv("SOURCE_TABLE", "orders")
    monkeypatch.setenv("TARGET_TABLE", "orders-v2")


@pytest.fixture
def users(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Source `users` keyed by id; target `users-v2` keyed by pk = "{tenant}#{id}"."""
    create_table(client_dynamodb(), "users", {"id": "S"})
    create_table(client_dynamodb(), "users-v2", {"pk": "S"})
    monkeypatch.setenv("SOURCE_TABLE", "users")
    monkeypatch.setenv("TARGET_TABLE", "users-v2")
    monkeypatch.setenv("TRANSFORM_STEPS", DERIVE_TENANT_KEY)


def capture_logs() -> None:
    """Point the Logger at this test's captured stdout (it keeps the stream it was created with)."""
    handler.logger.registered_handler.stream = sys.stdout  # type: ignore[attr-defined]


def target(table: str) -> dict[str, dict[str, Any]]:
    """Target items by a readable key."""
    return {
        "/".join(str(next(iter(v.values()))) for k, v in sorted(i.items()) if k in {"pk", "sk"}): i
        for i in scan_all(client_dynamodb(), table)
    }


def orders_state() -> dict[str, str]:
    return {key: item["v"]["N"] for key, item in target("orders-v2").items()}


class ThrottlingDynamoDB:
    """A real (moto) client whose writes (PutItem, BatchWriteItem) are throttled the first ``failures`` times."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real = real
        self.failures = failures

    def put_item(self, **kwargs: Any) -> Any:
        self._throttle("PutItem")
        return self.real.put_item(**kwargs)

    def batch_write_item(self, **kwargs: Any) -> Any:
        self._throttle("BatchWriteItem")
        return self.real.batch_write_item(**kwargs)

    def _throttle(self, operation: str) -> None:
        if self.failures:
            self.failures -= 1
            raise client_error("ProvisionedThroughputExceededException", operation=operation)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class UnprocessingDynamoDB:
    """A real (moto) client whose BatchWriteItem leaves the requests for the keys ``refused`` ("pk/sk")
    unprocessed, ``times`` times each (moto itself processes everything), and records each call's request count."""

    def __init__(self, real: Any, refused: set[str], times: int) -> None:
        self.real = real
        self.left = dict.fromkeys(refused, times)
        self.calls: list[int] = []

    def batch_write_item(self, **kwargs: Any) -> Any:
        ((table, requests),) = kwargs["RequestItems"].items()
        self.calls.append(len(requests))
        processed, unprocessed = [], []
        for request in requests:
            body = request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"]
            key = f"{body['pk']['S']}/{body['sk']['N']}"
            if self.left.get(key, 0) > 0:
                self.left[key] -= 1
                unprocessed.append(request)
            else:
                processed.append(request)
        if processed:
            self.real.batch_write_item(RequestItems={table: processed})
        return {"UnprocessedItems": {table: unprocessed} if unprocessed else {}}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def use_dynamodb(monkeypatch: pytest.MonkeyPatch, client: Any) -> None:
    patch_boto3_client(monkeypatch, "dynamodb", client)


def log_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{") and '"level"' in line]


# --------------------------------------------------------------------------------------------------------------


def test_insert_modify_remove_reach_the_target(
    orders: None, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    event = sqs_event(queue_messages(load_event("replication/stream_orders_batch.json")))

    assert handler.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    assert orders_state() == {"a/1": "3", "b/1": "1"}  # a/2 was inserted, then removed
    assert emitted_metrics(capsys.readouterr().out)["EventsApplied"] == 6


def test_duplicate_deliveries_leave_the_same_result(orders: None, lambda_context: FakeLambdaContext) -> None:
    messages = queue_messages(load_event("replication/stream_orders_batch.json"))
    # FIFO redelivers a message only before the next one of its group: duplicates sit next to their original.
    doubled = [
        copy for message in messages for copy in (message, {**message, "MessageId": message["MessageId"] + "-again"})
    ]

    handler.lambda_handler(sqs_event(doubled[:10]), lambda_context)
    handler.lambda_handler(sqs_event(doubled[10:]), lambda_context)
    handler.lambda_handler(sqs_event(messages), lambda_context)  # and a whole stream retry on top

    assert orders_state() == {"a/1": "3", "b/1": "1"}


def test_a_redelivered_remove_stays_removed(orders: None, lambda_context: FakeLambdaContext) -> None:
    insert, remove = queue_messages(records_of(load_event("replication/stream_orders_batch.json"), 1, 3))

    handler.lambda_handler(sqs_event([insert, insert, remove]), lambda_context)
    handler.lambda_handler(sqs_event([remove]), lambda_context)

    assert orders_state() == {}


def test_ttl_delete_is_replicated(orders: None, lambda_context: FakeLambdaContext) -> None:
    client_dynamodb().put_item(TableName="orders-v2", Item={"pk": {"S": "ttl"}, "sk": {"N": "1"}, "v": {"N": "0"}})

    handler.lambda_handler(sqs_event(queue_messages(load_event("replication/stream_ttl_remove.json"))), lambda_context)

    assert orders_state() == {}


def test_modify_that_moves_the_derived_key_deletes_the_old_target_item(
    users: None, lambda_context: FakeLambdaContext
) -> None:
    messages = queue_messages(load_event("replication/stream_key_change.json"))

    handler.lambda_handler(sqs_event(messages[:1]), lambda_context)
    assert list(target("users-v2")) == ["t1#u1"]

    handler.lambda_handler(sqs_event(messages[1:3]), lambda_context)
    state = target("users-v2")
    assert list(state) == ["t2#u1"]
    assert state["t2#u1"]["name"] == {"S": "Ann B."}
    assert state["t2#u1"]["id"] == {"S": "u1"}

    handler.lambda_handler(sqs_event(messages[3:]), lambda_context)  # REMOVE maps through transform(OldImage)
    assert target("users-v2") == {}


def test_cutoff_drops_earlier_events_and_keeps_the_whole_cutoff_second(
    orders: None, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Records 0-1 happened in second ...800, 2-3 in ...801, 4-5 in ...802. The cutoff is 12:00:01.5 (...801.5):
    # an event at 12:00:01.7 is stamped ...801, so that whole second must be applied.
    monkeypatch.setenv("CUTOFF_TIMESTAMP", "2026-01-01T12:00:01.500Z")
    client_dynamodb().put_item(TableName="orders-v2", Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"N": "1"}})

    response = handler.lambda_handler(
        sqs_event(queue_messages(load_event("replication/stream_orders_batch.json"))), lambda_context
    )

    assert response == {"batchItemFailures": []}
    # a/2's INSERT (before the cutoff) is dropped, its REMOVE (after) applied; a/1 gets MODIFY v2 then v3.
    assert orders_state() == {"a/1": "3", "b/1": "1"}
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["EventsDroppedBeforeCutoff"] == 2
    assert metrics["EventsApplied"] == 4


def test_a_poison_message_stops_only_its_own_group(
    orders: None, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRANSFORM_STEPS", json.dumps([{"op": "derive", "attribute": "label", "template": "v={v}"}]))
    stream_event = load_event("replication/stream_orders_batch.json")
    del stream_event["Records"][1]["dynamodb"]["NewImage"]["v"]  # a/2's INSERT cannot be transformed
    messages = queue_messages(stream_event)
    messages.append({"MessageId": "m6", "Body": "not a replication message", "Attributes": {"MessageGroupId": "other"}})
    capture_logs()

    response = handler.lambda_handler(sqs_event(messages), lambda_context)

    # m1 fails; m3 (a/2's REMOVE) is held back behind it in order; m6 is its own poison group.
    assert response == {
        "batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}, {"itemIdentifier": "m6"}]
    }
    assert orders_state() == {"a/1": "3", "b/1": "1"}
    assert target("orders-v2")["a/1"]["label"] == {"S": "v=3"}
    output = capsys.readouterr().out
    failure = next(line for line in log_lines(output) if line.get("message_id") == "m1" and line["level"] == "ERROR")
    assert failure["message_group_id"] == messages[1]["Attributes"]["MessageGroupId"]
    assert failure["source_key"] == '{"pk":{"S":"a"},"sk":{"N":"2"}}'
    assert failure["reason"].startswith("TransformError")
    assert failure["receive_count"] == "1"
    assert emitted_metrics(output)["Failures"] == 2


def test_throttled_writes_are_retried(
    orders: None, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_dynamodb(monkeypatch, ThrottlingDynamoDB(client_dynamodb(), failures=2))

    response = handler.lambda_handler(
        sqs_event(queue_messages(load_event("replication/stream_orders_batch.json"))), lambda_context
    )

    assert response == {"batchItemFailures": []}
    assert orders_state() == {"a/1": "3", "b/1": "1"}
    assert emitted_metrics(capsys.readouterr().out)["Retries"] == 2


def test_a_throttled_lone_write_that_stays_throttled_fails_its_message_for_a_later_delivery(
    orders: None, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAX_WRITE_ATTEMPTS", "3")
    use_dynamodb(monkeypatch, ThrottlingDynamoDB(client_dynamodb(), failures=3))
    # a/1's INSERT and MODIFY: one write, the MODIFY's, as a PutItem.
    messages = queue_messages(records_of(load_event("replication/stream_orders_batch.json"), 0, 2))
    capture_logs()

    response = handler.lambda_handler(sqs_event(messages), lambda_context)

    # The INSERT's write was superseded, not failed: the MODIFY is retried and brings a/1 to its final state.
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert orders_state() == {}
    failure = next(line for line in log_lines(capsys.readouterr().out) if line["level"] == "ERROR")
    assert failure["reason"].startswith("ReplicationRetriesExhausted")
    assert "PutItem" in failure["reason"]


def test_writes_left_unprocessed_fail_exactly_their_messages_and_the_rest_of_their_groups(
    orders: None, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAX_WRITE_ATTEMPTS", "3")
    # Every write of b/1 stays unprocessed; the others go through.
    dynamodb = UnprocessingDynamoDB(client_dynamodb(), refused={"b/1"}, times=1_000)
    use_dynamodb(monkeypatch, dynamodb)
    stream_event = load_event("replication/stream_orders_batch.json")
    later_b = copy.deepcopy(stream_event["Records"][5])
    later_b["eventName"] = "MODIFY"
    later_b["dynamodb"]["OldImage"] = later_b["dynamodb"]["NewImage"]
    later_b["dynamodb"]["NewImage"] = {**later_b["dynamodb"]["NewImage"], "v": {"N": "2"}}
    later_b["dynamodb"]["SequenceNumber"] = "999"
    stream_event["Records"].append(later_b)
    messages = queue_messages(stream_event)
    capture_logs()

    response = handler.lambda_handler(sqs_event(messages), lambda_context)

    # b/1's last write (m6's) is refused: m6 fails; m5, whose write m6 superseded, is no failed write.
    assert response == {"batchItemFailures": [{"itemIdentifier": "m6"}]}
    assert orders_state() == {"a/1": "3"}
    # One call for the three keys, then two more for the one left: the budget of 3 calls without progress.
    assert dynamodb.calls == [3, 1, 1]
    output = capsys.readouterr().out
    failure = next(line for line in log_lines(output) if line["level"] == "ERROR")
    assert failure["message_id"] == "m6"
    assert failure["reason"].startswith("ReplicationRetriesExhausted")
    assert '{"pk":{"S":"b"},"sk":{"N":"1"}}' in failure["reason"]
    assert emitted_metrics(output)["Retries"] == 2


def test_unprocessed_writes_are_retried_until_accepted(
    orders: None, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb = UnprocessingDynamoDB(client_dynamodb(), refused={"a/1", "a/2", "b/1"}, times=2)
    use_dynamodb(monkeypatch, dynamodb)

    response = handler.lambda_handler(
        sqs_event(queue_messages(load_event("replication/stream_orders_batch.json"))), lambda_context
    )

    assert response == {"batchItemFailures": []}
    assert orders_state() == {"a/1": "3", "b/1": "1"}
    # a/1 put, a/2 delete, b/1 put: one call, each request left behind twice, then accepted.
    assert dynamodb.calls == [3, 3, 3]
    assert emitted_metrics(capsys.readouterr().out)["Retries"] == 2


def test_messages_from_another_table_are_refused(orders: None, lambda_context: FakeLambdaContext) -> None:
    messages = queue_messages(load_event("replication/stream_key_change.json"))  # users, not orders

    with pytest.raises(BatchProcessingError):
        handler.lambda_handler(sqs_event(messages), lambda_context)
    assert target("orders-v2") == {}


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_messages_are_deferred_when_the_lambda_is_about_to_time_out(
    orders: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = FakeLambdaContext(remaining_ms=1_000)

    with pytest.raises(BatchProcessingError):
        handler.lambda_handler(sqs_event(queue_messages(load_event("replication/stream_orders_batch.json"))), context)
    assert orders_state() == {}


def test_oversize_message_applies_the_current_source_item(orders: None, lambda_context: FakeLambdaContext) -> None:
    blob = bytes(range(256)) * 1_400  # 358,400 bytes: the item is near DynamoDB's limit
    stream_event = records_of(load_event("replication/stream_orders_batch.json"), 5)
    stream_event["Records"][0]["dynamodb"]["NewImage"]["blob"] = {"B": base64.b64encode(blob).decode()}
    current: dict[str, Any] = {"pk": {"S": "b"}, "sk": {"N": "1"}, "v": {"N": "2"}, "blob": {"B": blob}}
    client_dynamodb().put_item(TableName="orders", Item=current)
    messages = queue_messages(stream_event)
    assert json.loads(messages[0]["Body"])["omitted"] == ["NewImage"]

    assert handler.lambda_handler(sqs_event(messages), lambda_context) == {"batchItemFailures": []}

    assert target("orders-v2") == {"b/1": current}


def test_oversize_message_for_an_item_deleted_since_puts_nothing(
    orders: None, lambda_context: FakeLambdaContext
) -> None:
    stream_event = records_of(load_event("replication/stream_orders_batch.json"), 5)
    stream_event["Records"][0]["dynamodb"]["NewImage"]["blob"] = {"B": base64.b64encode(bytes(300_000)).decode()}

    assert handler.lambda_handler(sqs_event(queue_messages(stream_event)), lambda_context) == {"batchItemFailures": []}

    assert target("orders-v2") == {}  # the REMOVE that follows in the stream will say the same


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_missing_configuration_fails_the_invocation_before_any_message(
    aws: None, lambda_context: FakeLambdaContext
) -> None:
    with pytest.raises(ConfigurationError, match="TARGET_TABLE"):
        handler.lambda_handler(
            sqs_event(queue_messages(load_event("replication/stream_orders_batch.json"))), lambda_context
        )
