"""DynamoDB Streams event source mappings on the emulator: order, retries, bisect, partial failures, OnFailure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.emulator import Emulator
from tests.support.emulator import Aws, unique


@pytest.fixture(scope="module")
def results(aws: Aws) -> str:
    table = unique("stream-results")
    aws.create_table(table, range_key=True)
    return table


def recorded(aws: Aws, results: str, tag: str) -> list[dict[str, Any]]:
    return [json.loads(item["record"]["S"]) for item in aws.query_all(results, tag)]


def put(aws: Aws, table: str, key: str, **attributes: str) -> None:
    item = {"pk": {"S": key}, **{name: {"S": value} for name, value in attributes.items()}}
    aws.dynamodb.put_item(TableName=table, Item=item)


def test_insert_modify_remove_arrive_in_order_from_trim_horizon(aws: Aws, emulator: Emulator, results: str) -> None:
    table = unique("source")
    stream = aws.create_table(table, stream=True)
    assert stream
    put(aws, table, "k1", v="1")
    aws.dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": "k1"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"S": "2"}},
    )
    aws.dynamodb.delete_item(TableName=table, Key={"pk": {"S": "k1"}})
    put(aws, table, "k2", v="3")
    tag = unique("order")
    function = aws.deploy(("stream_recorder.py",), "stream_recorder.handler", {"RESULT_TABLE": results, "TAG": tag})

    aws.lambda_.create_event_source_mapping(
        EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON", BatchSize=2
    )
    emulator.wait_for_idle(timeout=15)

    records = recorded(aws, results, tag)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records] == [
        ("INSERT", "k1"),
        ("MODIFY", "k1"),
        ("REMOVE", "k1"),
        ("INSERT", "k2"),
    ]
    sequence_numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence_numbers == sorted(sequence_numbers)
    modify, remove = records[1]["dynamodb"], records[2]["dynamodb"]
    assert modify["OldImage"]["v"] == {"S": "1"}
    assert modify["NewImage"]["v"] == {"S": "2"}
    assert "NewImage" not in remove
    assert remove["OldImage"]["v"] == {"S": "2"}
    assert modify["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(modify["ApproximateCreationDateTime"], int)
    assert all(r["eventSourceARN"] == stream and r["eventSource"] == "aws:dynamodb" for r in records)

    put(aws, table, "k3", v="live")  # records written after the mapping caught up flow too
    emulator.wait_for_idle(timeout=10)
    assert recorded(aws, results, tag)[-1]["dynamodb"]["Keys"]["pk"]["S"] == "k3"


def test_poison_record_is_bisected_retried_and_reported_to_the_on_failure_queue(
    aws: Aws, emulator: Emulator, results: str
) -> None:
    table = unique("source")
    stream = aws.create_table(table, stream=True)
    for key in ("ok1", "bad", "ok2"):
        if key == "bad":
            put(aws, table, key, poison="yes")
        else:
            put(aws, table, key)
    failures_url, failures_arn = aws.create_queue(unique("on-failure"))
    tag = unique("bisect")
    function = aws.deploy(("stream_recorder.py",), "stream_recorder.handler", {"RESULT_TABLE": results, "TAG": tag})

    aws.lambda_.create_event_source_mapping(
        EventSourceArn=str(stream),
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        MaximumRetryAttempts=1,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    emulator.wait_for_idle(timeout=15)

    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in recorded(aws, results, tag)] == ["ok1", "ok2"]
    (message,) = aws.drain_queue(failures_url, 1)
    document = json.loads(message["Body"])
    info = document["DDBStreamBatchInfo"]
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert document["requestContext"]["approximateInvokeCount"] == 2
    assert document["requestContext"]["functionArn"] == function
    assert document["responseContext"]["functionError"] == "Unhandled"
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"] == stream
    assert info["shardId"].startswith("shardId-")


def test_report_batch_item_failures_checkpoints_at_the_lowest_failed_record(
    aws: Aws, emulator: Emulator, results: str
) -> None:
    table = unique("source")
    stream = aws.create_table(table, stream=True)
    put(aws, table, "ok1")
    put(aws, table, "bad", poison="yes")
    put(aws, table, "ok2")
    failures_url, failures_arn = aws.create_queue(unique("on-failure"))
    tag = unique("partial")
    function = aws.deploy(
        ("stream_recorder.py",),
        "stream_recorder.handler",
        {"RESULT_TABLE": results, "TAG": tag, "REPORT_FAILURES": "1"},
    )

    aws.lambda_.create_event_source_mapping(
        EventSourceArn=str(stream),
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        MaximumRetryAttempts=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    emulator.wait_for_idle(timeout=15)

    batches = [
        (r["dynamodb"]["Keys"]["pk"]["S"], int(item["batch_size"]["N"]))
        for r, item in zip(recorded(aws, results, tag), aws.query_all(results, tag), strict=True)
    ]
    # The whole batch (a partial failure counts as the first failed attempt), then the one retry from the
    # failed record on; then the remainder is discarded.
    assert batches == [("ok1", 3), ("ok2", 3), ("ok2", 2)]
    (message,) = aws.drain_queue(failures_url, 1)
    info = json.loads(message["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2


def test_disabled_stream_mapping_resumes_from_its_checkpoint(aws: Aws, emulator: Emulator, results: str) -> None:
    table = unique("source")
    stream = aws.create_table(table, stream=True)
    tag = unique("pause")
    function = aws.deploy(("stream_recorder.py",), "stream_recorder.handler", {"RESULT_TABLE": results, "TAG": tag})
    mapping = aws.lambda_.create_event_source_mapping(
        EventSourceArn=str(stream), FunctionName=function, StartingPosition="TRIM_HORIZON"
    )["UUID"]
    put(aws, table, "before")
    emulator.wait_for_idle(timeout=10)

    aws.lambda_.update_event_source_mapping(UUID=mapping, Enabled=False)
    emulator.wait_for_idle(timeout=10)  # a disabled mapping counts as idle
    put(aws, table, "while-disabled")
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in recorded(aws, results, tag)] == ["before"]

    aws.lambda_.update_event_source_mapping(UUID=mapping, Enabled=True)
    emulator.wait_for_idle(timeout=10)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in recorded(aws, results, tag)] == ["before", "while-disabled"]
