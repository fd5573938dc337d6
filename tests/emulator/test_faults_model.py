"""The DynamoDB model end to end: a real server in this process, botocore clients, moto behind it."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from werkzeug.test import Client

from devtools.datagen import generate_items
from devtools.faults import (
    ERROR_TYPE_PREFIX,
    Capacity,
    DynamoDBModel,
    ModelControl,
    ModelServer,
    ModelSettings,
    moto_app,
)
from migration_core.batch_writer import ParallelBatchWriter
from migration_core.config import write_client_config
from migration_core.retry import RetryPolicy, is_retryable, is_throttling
from migration_core.types import Item
from tests.support import tables
from tests.support.faults import model_client, model_table

MEMORY = "mem-"
KEY_SCHEMA = {"pk": "S", "sk": "N"}


def puts(items: list[Item]) -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": item}} for item in items]


def scan_model(server: ModelServer, table: str, **extra: Any) -> list[Item]:
    return cast("list[Item]", tables.scan_all(model_client(server), table, **extra))


def keys(items: list[Item]) -> set[tuple[str, str]]:
    return {(item["pk"]["S"], item["sk"]["N"]) for item in items}


# -- capacity --------------------------------------------------------------------------------------------------


def test_a_batch_over_capacity_comes_back_partly_unprocessed(server: ModelServer, model: DynamoDBModel) -> None:
    table = model_table(server, f"{MEMORY}partial")
    items = list(generate_items(25, payload_bytes=0))  # every item is under 1 KB: 1 WCU each
    model.configure(replace_capacity(model, {table: Capacity(10, burst_seconds=1.0)}))

    response = model_client(server).batch_write_item(RequestItems={table: puts(items)}, ReturnConsumedCapacity="TOTAL")

    unprocessed = response["UnprocessedItems"][table]
    assert len(unprocessed) == 15
    assert response["ConsumedCapacity"] == [{"TableName": table, "CapacityUnits": 10.0}]
    written = scan_model(server, table)
    assert keys(written) == keys(items[:10])
    assert keys([entry["PutRequest"]["Item"] for entry in unprocessed]) == keys(items[10:])
    assert model.table_stats(table).unprocessed_items == 15


def test_a_batch_with_nothing_that_fits_is_a_throughput_exception(server: ModelServer, model: DynamoDBModel) -> None:
    table = model_table(server, f"{MEMORY}none-fits")
    dynamodb = model_client(server)
    # An empty bucket refilling at 0.1 WCU/s cannot take a 1 WCU item for ten seconds.
    model.configure(replace_capacity(model, {table: Capacity(0.1, burst_seconds=10.0, initial_fill=0.0)}))

    with pytest.raises(dynamodb.exceptions.ProvisionedThroughputExceededException) as caught:
        dynamodb.batch_write_item(RequestItems={table: puts(list(generate_items(3)))})

    error = caught.value.response
    assert error["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert "provisioned throughput" in error["Error"]["Message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert is_throttling(caught.value)
    assert scan_model(server, table) == []


def test_single_writes_are_throttled_with_dynamodbs_error_body(model: DynamoDBModel) -> None:
    # Straight through the WSGI app: the exact bytes a client receives.
    app = Client(model)
    target = "DynamoDB_20120810."
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/dynamodb/aws4_request, Signature=x",
        "Content-Type": "application/x-amz-json-1.0",
    }
    table = f"{MEMORY}single"
    definition = {
        "TableName": table,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    assert (
        app.post(
            "/", data=json.dumps(definition), headers={**headers, "X-Amz-Target": target + "CreateTable"}
        ).status_code
        == 200
    )
    model.configure(replace_capacity(model, {table: Capacity(0.1, burst_seconds=10.0, initial_fill=0.0)}))

    response = app.post(
        "/",
        data=json.dumps({"TableName": table, "Item": {"pk": {"S": "a"}}}),
        headers={**headers, "X-Amz-Target": target + "PutItem"},
    )

    assert response.status_code == 400
    assert json.loads(response.get_data()) == {
        "__type": f"{ERROR_TYPE_PREFIX}ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    }
    assert response.headers["x-amz-crc32"]


def test_put_item_is_admitted_again_once_capacity_refills(server: ModelServer, model: DynamoDBModel) -> None:
    table = model_table(server, f"{MEMORY}refill")
    dynamodb = model_client(server)
    item = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    model.configure(replace_capacity(model, {table: Capacity(1, burst_seconds=1.0, initial_fill=0.0)}))
    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        dynamodb.put_item(TableName=table, Item=item)
    time.sleep(1.1)  # a full WCU refilled
    response = dynamodb.put_item(TableName=table, Item=item, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 1.0}


# -- latency and injected faults -----------------------------------------------------------------------------


def test_the_listening_socket_queues_a_burst_of_connections(server: ModelServer) -> None:
    """socketserver's backlog of 5 made the kernel drop the connections of a client that opens many at once
    (each then waits 1, 3, 7 ... s to retransmit); the model asks for what the kernel allows."""
    ss = shutil.which("ss")
    if ss is None:
        pytest.skip("needs ss (iproute2) to read the listening socket's backlog")
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    port = urlsplit(server.endpoint).port
    listing = subprocess.run(
        [ss, "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    # State, Recv-Q (connections waiting to be accepted), Send-Q (the backlog), local and peer address.
    assert listing[0] == "LISTEN", listing
    assert int(listing[2]) >= min(somaxconn, 128), listing


def test_every_request_waits_the_configured_latency() -> None:
    slept: list[float] = []
    model = DynamoDBModel(moto_app(), ModelSettings(latency_ms=(5, 10), seed=1), sleep=slept.append)
    app = Client(model)
    for _ in range(20):
        app.post("/", data=b"{}", headers={"X-Amz-Target": "DynamoDB_20120810.ListTables"})
    assert len(slept) == 20
    assert all(0.005 <= seconds <= 0.010 for seconds in slept)
    assert len(set(slept)) > 1


def test_latency_is_real_time_over_the_network(server: ModelServer, model: DynamoDBModel) -> None:
    table = model_table(server, f"{MEMORY}latency")
    dynamodb = model_client(server)
    dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})  # a warm connection
    model.configure(ModelSettings(memory_tables=(f"{MEMORY}*",), latency_ms=(60, 60)))
    started = time.perf_counter()
    dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert time.perf_counter() - started >= 0.06


def test_injected_server_errors_are_retryable_500s(server: ModelServer, model: DynamoDBModel) -> None:
    table = model_table(server, f"{MEMORY}errors")
    model.configure(ModelSettings(memory_tables=(f"{MEMORY}*",), server_error_rate=1.0))
    dynamodb = model_client(server)

    with pytest.raises(ClientError) as caught:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})

    assert caught.value.response["Error"]["Code"] == "InternalServerError"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert is_retryable(caught.value)
    assert model.table_stats(table).injected_server_errors == 1
    model.configure(ModelSettings(memory_tables=(f"{MEMORY}*",)))
    assert scan_model(server, table) == []  # refused before it was applied


def test_a_server_error_after_apply_leaves_the_write_done(server: ModelServer, model: DynamoDBModel) -> None:
    table = model_table(server, f"{MEMORY}applied")
    model.configure(
        ModelSettings(memory_tables=(f"{MEMORY}*",), server_error_rate=1.0, server_error_after_apply_share=1.0)
    )
    with pytest.raises(ClientError, match="InternalServerError"):
        model_client(server).put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    model.configure(ModelSettings(memory_tables=(f"{MEMORY}*",)))
    assert len(scan_model(server, table)) == 1


def test_injected_throttles_and_partial_batches(server: ModelServer, model: DynamoDBModel) -> None:
    table = model_table(server, f"{MEMORY}partial-fault")
    dynamodb = model_client(server)
    model.configure(ModelSettings(memory_tables=(f"{MEMORY}*",), throttle_rate=1.0))
    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})

    model.configure(ModelSettings(memory_tables=(f"{MEMORY}*",), partial_batch_rate=1.0, seed=4))
    items = list(generate_items(25))
    response = dynamodb.batch_write_item(RequestItems={table: puts(items)})
    unprocessed = response["UnprocessedItems"][table]
    assert 1 <= len(unprocessed) <= 24
    assert len(scan_model(server, table)) == 25 - len(unprocessed)


def test_faults_only_hit_the_tables_named(server: ModelServer, model: DynamoDBModel) -> None:
    spared = model_table(server, f"{MEMORY}spared")
    model.configure(
        ModelSettings(memory_tables=(f"{MEMORY}*",), server_error_rate=1.0, fault_tables=frozenset({"other"}))
    )
    model_client(server).put_item(TableName=spared, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert len(scan_model(server, spared)) == 1


def test_our_batch_writer_loses_nothing_through_every_fault(server: ModelServer, model: DynamoDBModel) -> None:
    table = model_table(server, f"{MEMORY}writer")
    model.configure(
        ModelSettings(
            memory_tables=(f"{MEMORY}*",),
            write_capacity={table: Capacity(2000, burst_seconds=0.1)},
            server_error_rate=0.2,
            server_error_after_apply_share=0.5,
            throttle_rate=0.1,
            partial_batch_rate=0.3,
            seed=7,
        )
    )
    items = list(generate_items(500))
    policy = RetryPolicy(max_attempts=12, base_seconds=0.005, cap_seconds=0.05)
    write_client = model_client(server, config=write_client_config(8))
    with ParallelBatchWriter(write_client, table, KEY_SCHEMA, 8, policy) as writer:
        stats = writer.put_many(items)

    assert stats.written == 500
    assert stats.retries > 0
    model.configure(ModelSettings(memory_tables=(f"{MEMORY}*",)))
    stored = {(item["pk"]["S"], item["sk"]["N"]): item for item in scan_model(server, table)}
    assert stored == {(item["pk"]["S"], item["sk"]["N"]): item for item in items}


# -- the in-memory store ----------------------------------------------------------------------------------------


def test_segments_partition_the_table_and_pages_stop_at_1_mb(server: ModelServer) -> None:
    table = model_table(server, f"{MEMORY}scan")
    items = list(generate_items(3000, payload_bytes=400))  # about 2 MB
    dynamodb = model_client(server)
    for start in range(0, len(items), 25):
        dynamodb.batch_write_item(RequestItems={table: puts(items[start : start + 25])})

    first_page = dynamodb.scan(TableName=table)
    assert 0 < first_page["Count"] < 3000
    assert "LastEvaluatedKey" in first_page
    by_segment = [scan_model(server, table, Segment=s, TotalSegments=7) for s in range(7)]
    seen = [key for part in by_segment for key in keys(part)]
    assert len(seen) == len(set(seen)) == 3000
    assert all(part for part in by_segment)
    assert len(scan_model(server, table, Limit=100)) == 3000
    assert dynamodb.scan(TableName=table, Select="COUNT")["Count"] > 0
    assert dynamodb.describe_table(TableName=table)["Table"]["ItemCount"] == 3000


def test_projection_get_item_and_refusals(server: ModelServer) -> None:
    table = model_table(server, f"{MEMORY}misc")
    dynamodb = model_client(server)
    (item,) = generate_items(1)
    dynamodb.put_item(TableName=table, Item=item)

    key = {"pk": item["pk"], "sk": item["sk"]}
    assert dynamodb.get_item(TableName=table, Key=key)["Item"] == item
    projected = dynamodb.scan(TableName=table, ProjectionExpression="#p, sk", ExpressionAttributeNames={"#p": "pk"})
    assert projected["Items"] == [key]
    with pytest.raises(ClientError, match="not supported"):
        dynamodb.query(TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": item["pk"]})
    with pytest.raises(ClientError, match="duplicates"):
        dynamodb.batch_write_item(RequestItems={table: puts([item, item])})
    with pytest.raises(ClientError, match="Missing the key sk"):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "x"}})
    dynamodb.delete_item(TableName=table, Key=key)
    assert "Item" not in dynamodb.get_item(TableName=table, Key=key)


def test_control_endpoints_compare_tables_and_report_stats(server: ModelServer) -> None:
    source, target = model_table(server, f"{MEMORY}left"), model_table(server, f"{MEMORY}right")
    items = list(generate_items(5))
    dynamodb = model_client(server)
    dynamodb.batch_write_item(RequestItems={source: puts(items)})
    dynamodb.batch_write_item(RequestItems={target: puts([*items[:3], {**items[3], "extra": {"S": "x"}}])})
    control = ModelControl(server.endpoint)

    comparison = control.compare(source, target)

    assert (comparison["missing"], comparison["different"], comparison["extra"]) == (1, 1, 0)
    stats = control.stats()
    assert stats["tables"][target]["writes_applied"] == 4
    assert stats["requests"]["BatchWriteItem"] >= 2


def test_sqs_sends_to_a_sink_queue_are_recorded_in_order(server: ModelServer, model: DynamoDBModel) -> None:
    model.configure(ModelSettings(memory_tables=(f"{MEMORY}*",), sqs_sink_queues=("sink-*",)))
    sqs = model_client(server, "sqs")
    url = f"{server.endpoint}/123456789012/sink-test.fifo"
    entries = [
        {"Id": str(i), "MessageBody": f"m{i}", "MessageGroupId": "g", "MessageDeduplicationId": f"d{i}"}
        for i in range(3)
    ]
    response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    sqs.send_message_batch(QueueUrl=url, Entries=entries[:1])  # a duplicate: acknowledged, not stored

    assert [entry["Id"] for entry in response["Successful"]] == ["0", "1", "2"]
    recorded = ModelControl(server.endpoint).sink("sink-test.fifo", clear=True)
    assert [message["Body"] for message in recorded] == ["m0", "m1", "m2"]
    assert ModelControl(server.endpoint).sink("sink-test.fifo") == []


def replace_capacity(model: DynamoDBModel, capacity: dict[str, Capacity]) -> ModelSettings:
    settings = model.settings
    return ModelSettings(
        latency_ms=settings.latency_ms,
        write_capacity=capacity,
        memory_tables=settings.memory_tables,
        sqs_sink_queues=settings.sqs_sink_queues,
    )
