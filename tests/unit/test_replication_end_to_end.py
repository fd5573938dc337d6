"""Stream event -> forwarder -> SQS FIFO (moto) -> consumer -> target table (moto), through both handlers."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from replication_consumer import handler as consumer
from stream_forwarder import handler as forwarder
from tests.support.lambda_context import FakeLambdaContext
from tests.support.lambda_events import load_event
from tests.support.replication import (
    aws_sandbox,  # noqa: F401 - the fixture `aws` here: the handlers' moto sandbox, not the conftest's
    client_dynamodb,
    client_sqs,
    drain_queue,
    records_of,
    sqs_event,
)
from tests.support.tables import create_table, scan_all


def setup_tables(
    monkeypatch: pytest.MonkeyPatch, source: str, target: str, key_schema: dict[str, dict[str, str]]
) -> None:
    create_table(client_dynamodb(), source, key_schema[source])
    create_table(client_dynamodb(), target, key_schema[target])
    monkeypatch.setenv("SOURCE_TABLE", source)
    monkeypatch.setenv("TARGET_TABLE", target)


def replicate(stream_event: dict[str, Any], context: FakeLambdaContext, queue_url: str) -> list[dict[str, Any]]:
    """Run the stream event through both Lambdas; return the queue messages the consumer got."""
    assert forwarder.lambda_handler(stream_event, context) == {"batchItemFailures": []}
    messages = drain_queue(client_sqs(), queue_url)
    for start in range(0, len(messages), 10):  # the FIFO mapping delivers at most 10 per invocation
        assert consumer.lambda_handler(sqs_event(messages[start : start + 10]), context) == {"batchItemFailures": []}
    return messages


def from_stream_json(value: Any) -> Any:
    """Test oracle, written independently of the code under test: stream JSON -> boto3 shape."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()
        if kind == "B":
            return {"B": base64.b64decode(inner)}
        if kind == "BS":
            return {"BS": [base64.b64decode(v) for v in inner]}
        if kind == "M":
            return {"M": {k: from_stream_json(v) for k, v in inner.items()}}
        if kind == "L":
            return {"L": [from_stream_json(v) for v in inner]}
        return {kind: inner}
    raise AssertionError(f"not an AttributeValue: {value!r}")


def image(stream_image: dict[str, Any]) -> dict[str, Any]:
    return {name: from_stream_json(value) for name, value in stream_image.items()}


# --------------------------------------------------------------------------------------------------------------


def test_every_attribute_type_arrives_exactly(
    queue_url: str, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_tables(
        monkeypatch, "orders", "orders-v2", {"orders": {"pk": "S", "sk": "N"}, "orders-v2": {"pk": "S", "sk": "N"}}
    )
    stream_event = load_event("replication/stream_all_types.json")

    replicate(stream_event, lambda_context, queue_url)

    (item,) = scan_all(client_dynamodb(), "orders-v2")
    assert item == image(stream_event["Records"][1]["dynamodb"]["NewImage"])
    assert item["n38"] == {"N": "-98765432109876543210987654321098765432"}
    assert item["n_exp"] == {"N": "9.9999999999999999999999999999999999999E+125"}
    assert item["b"] == {"B": bytes(range(256))}
    assert item["bs"]["BS"][2] == bytes(range(256))[::-1]
    assert item["s"]["S"].endswith("\uffff end")


def test_large_items_end_with_the_exact_source_state_never_truncated(
    queue_url: str, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_tables(
        monkeypatch, "orders", "orders-v2", {"orders": {"pk": "S", "sk": "N"}, "orders-v2": {"pk": "S", "sk": "N"}}
    )
    template = load_event("replication/stream_orders_batch.json")
    huge_1, huge_2 = bytes(range(256)) * 1_500, bytes(reversed(range(256))) * 1_500  # 384,000 bytes each
    medium_old, medium_new = b"\x01" * 120_000, b"\x02" * 120_000  # one image fits, both do not

    def with_blob(record: dict[str, Any], new: bytes | None, old: bytes | None) -> dict[str, Any]:
        record = copy.deepcopy(record)
        if new is not None:
            record["dynamodb"]["NewImage"]["blob"] = {"B": base64.b64encode(new).decode()}
        if old is not None:
            record["dynamodb"]["OldImage"]["blob"] = {"B": base64.b64encode(old).decode()}
        return record

    records = template["Records"]
    stream_event = {
        "Records": [
            with_blob(records[0], huge_1, None),  # INSERT a/1, huge
            with_blob(records[1], medium_old, None),  # INSERT a/2
            with_blob(records[2], huge_2, huge_1),  # MODIFY a/1, both images huge
            with_blob(records[3], None, medium_old),  # REMOVE a/2
            with_blob(records[5], medium_new, None),  # INSERT b/1
        ]
    }
    final_a1 = image(stream_event["Records"][2]["dynamodb"]["NewImage"])
    final_b1 = image(stream_event["Records"][4]["dynamodb"]["NewImage"])
    for current in (final_a1, final_b1):  # the source as it is when the consumer re-reads it
        client_dynamodb().put_item(TableName="orders", Item=current)

    messages = replicate(stream_event, lambda_context, queue_url)

    assert [json.loads(m["Body"])["omitted"] for m in messages if json.loads(m["Body"])["oversize"]] != []
    assert all(len(m["Body"].encode()) <= 262_144 for m in messages)
    by_key = {(i["pk"]["S"], i["sk"]["N"]): i for i in scan_all(client_dynamodb(), "orders-v2")}
    assert by_key == {("a", "1"): final_a1, ("b", "1"): final_b1}
    assert by_key[("a", "1")]["blob"]["B"] == huge_2


def test_oversize_key_change_deletes_the_old_derived_item(
    queue_url: str, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_tables(monkeypatch, "users", "users-v2", {"users": {"id": "S"}, "users-v2": {"pk": "S"}})
    monkeypatch.setenv(
        "TRANSFORM_STEPS", json.dumps([{"op": "derive", "attribute": "pk", "template": "{tenant}#{id}"}])
    )
    stream_event = records_of(load_event("replication/stream_key_change.json"), 1)  # MODIFY u1: tenant t1 -> t2
    stream = stream_event["Records"][0]["dynamodb"]
    blob = bytes(range(256)) * 1_000
    stream["NewImage"]["blob"] = {"B": base64.b64encode(blob).decode()}
    stream["OldImage"]["blob"] = {"B": base64.b64encode(blob).decode()}
    backfilled = {**image(stream["OldImage"]), "pk": {"S": "t1#u1"}}
    client_dynamodb().put_item(TableName="users-v2", Item=backfilled)
    current = image(stream["NewImage"])
    client_dynamodb().put_item(TableName="users", Item=current)

    (message,) = replicate(stream_event, lambda_context, queue_url)

    assert json.loads(message["Body"])["oldTargetKeys"] == [{"pk": {"S": "t1#u1"}}]
    assert scan_all(client_dynamodb(), "users-v2") == [{**current, "pk": {"S": "t2#u1"}}]


def test_a_retried_stream_batch_changes_nothing(
    queue_url: str, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_tables(
        monkeypatch, "orders", "orders-v2", {"orders": {"pk": "S", "sk": "N"}, "orders-v2": {"pk": "S", "sk": "N"}}
    )
    stream_event = load_event("replication/stream_orders_batch.json")

    first = replicate(stream_event, lambda_context, queue_url)
    state = scan_all(client_dynamodb(), "orders-v2")
    replicate(stream_event, lambda_context, queue_url)

    assert len(first) == 6
    assert scan_all(client_dynamodb(), "orders-v2") == state
    assert {i["pk"]["S"] + "/" + i["sk"]["N"]: i["v"]["N"] for i in state} == {"a/1": "3", "b/1": "1"}
