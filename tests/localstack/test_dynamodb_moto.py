"""The ``dynamodb:moto`` and ``dynamodbstreams:moto`` providers (``devtools/localstack/plugins``): DynamoDB and its
stream served by moto inside LocalStack, and LocalStack's own event source mapping reading that stream."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tests.support.emulator import Aws, unique
from tests.support.localstack import deploy_active
from tests.support.waits import wait_until

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient


def all_records(streams: DynamoDBStreamsClient, stream_arn: str) -> list[dict[str, Any]]:
    """Every record of every shard, from its oldest (TRIM_HORIZON), in shard order."""
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator: str | None = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator)
            records.extend(dict(record) for record in page["Records"])
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return records


def test_table_with_a_stream_records_every_change_in_order_with_both_images(
    aws: Aws, streams: DynamoDBStreamsClient
) -> None:
    table = unique("streamed")
    stream_arn = aws.create_table(table, stream=True)
    assert stream_arn is not None
    big = "9" * 38

    aws.dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "n": {"N": big}, "b": {"B": b"\x00\xff"}})
    aws.dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET tags = :tags",
        ExpressionAttributeValues={":tags": {"SS": ["x", "y"]}},
    )
    aws.dynamodb.delete_item(TableName=table, Key={"pk": {"S": "a"}})

    description = aws.dynamodb.describe_table(TableName=table)["Table"]
    assert description["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert description["LatestStreamArn"] == stream_arn
    assert stream_arn in [stream["StreamArn"] for stream in streams.list_streams(TableName=table)["Streams"]]
    records = all_records(streams, stream_arn)
    assert [record["eventName"] for record in records] == ["INSERT", "MODIFY", "REMOVE"]
    inserted, modified, removed = (record["dynamodb"] for record in records)
    assert inserted["Keys"] == {"pk": {"S": "a"}}
    assert inserted["NewImage"] == {"pk": {"S": "a"}, "n": {"N": big}, "b": {"B": b"\x00\xff"}}
    assert "OldImage" not in inserted
    assert modified["OldImage"] == inserted["NewImage"]
    assert modified["NewImage"] == {**inserted["NewImage"], "tags": {"SS": ["x", "y"]}}
    assert removed["OldImage"] == modified["NewImage"]
    assert "NewImage" not in removed
    sequence_numbers = [int(record["dynamodb"]["SequenceNumber"]) for record in records]
    assert sequence_numbers == sorted(sequence_numbers)
    assert all(record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES" for record in records)


def test_lambda_event_source_mapping_delivers_the_stream_to_a_function(aws: Aws) -> None:
    """LocalStack's own stream poller, reading moto's stream, invoking a function through the local executor."""
    source, results = unique("source"), unique("results")
    stream_arn = aws.create_table(source, stream=True)
    assert stream_arn is not None
    aws.create_table(results, range_key=True)
    function = deploy_active(
        aws, ("stream_recorder.py",), "stream_recorder.handler", environment={"RESULT_TABLE": results, "TAG": "t"}
    )
    aws.dynamodb.put_item(TableName=source, Item={"pk": {"S": "before-mapping"}})
    mapping = aws.lambda_.create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=function, StartingPosition="TRIM_HORIZON", BatchSize=10
    )["UUID"]
    wait_until(
        lambda: aws.lambda_.get_event_source_mapping(UUID=mapping)["State"] == "Enabled",
        "the mapping to be enabled",
        timeout=60,
        interval=0.5,
    )
    aws.dynamodb.put_item(TableName=source, Item={"pk": {"S": "after-mapping"}, "n": {"N": "1"}})
    aws.dynamodb.delete_item(TableName=source, Key={"pk": {"S": "before-mapping"}})

    def delivered() -> list[dict[str, Any]] | None:
        recorded = [json.loads(item["record"]["S"]) for item in aws.query_all(results, "t")]
        return recorded if len(recorded) >= 3 else None

    recorded = wait_until(delivered, "three stream records delivered to the function", timeout=120, interval=0.5)
    assert [(record["eventName"], record["dynamodb"]["Keys"]["pk"]["S"]) for record in recorded] == [
        ("INSERT", "before-mapping"),
        ("INSERT", "after-mapping"),
        ("REMOVE", "before-mapping"),
    ]
    assert all(record["eventSourceARN"] == stream_arn for record in recorded)


def test_a_projection_of_items_with_binary_values_returns_the_projected_attributes(aws: Aws) -> None:
    table = unique("projected")
    aws.create_table(table)
    item: dict[str, Any] = {
        "pk": {"S": "a"},
        "b": {"B": b"\x00\xff"},
        "bs": {"BS": [b"\x01", b"\x02"]},
        "n": {"N": "9" * 38},
    }
    aws.dynamodb.put_item(TableName=table, Item=item)

    def projected(*names: str) -> list[dict[str, Any]]:
        aliases = {f"#a{index}": name for index, name in enumerate(names)}
        pages = aws.dynamodb.get_paginator("scan").paginate(
            TableName=table, ProjectionExpression=", ".join(aliases), ExpressionAttributeNames=aliases
        )
        return [dict(found) for page in pages for found in page["Items"]]

    assert projected("pk") == [{"pk": {"S": "a"}}]
    ((found,),) = [projected("b", "bs", "n")]
    assert found.keys() == {"b", "bs", "n"}
    assert (found["b"], found["n"]) == (item["b"], item["n"])
    assert sorted(found["bs"]["BS"]) == sorted(item["bs"]["BS"]), "a set: any order"
