"""DynamoDB's JSON without botocore's shape walk: the same Python values as botocore's, byte for byte."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from devtools.datagen import generate_items
from migration_core.config import write_client_config
from migration_core.types import Item
from migration_core.wire import _Serializer, dumps, install, wired
from tests.support.items import every_type as shared_every_type
from tests.support.tables import REGION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.support.tables import CreateTable


def every_type(index: int) -> Item:
    """The shared item of every type, with the binary a page may hold that looks like the wire's own marks."""
    item = shared_every_type(f"item-{index}")
    item["s"] = {"S": 'héllo ✓ "quoted" \\ \u2028'}
    item["bs"] = {"BS": [b"\x00", b"\xff", b'"B'] if index % 2 else [b"\x01"]}
    item["l"] = {"L": [{"N": "1.50"}, {"M": {"k": {"BS": [b"x"]}}}, {"L": [{"B": b"\x00\x01"}]}]}
    item["m"] = {"M": {"deep": {"L": [{"B": b"\x01"}, {"NULL": True}]}, "B": {"S": "a map entry named B"}}}
    return item


def plain_client() -> DynamoDBClient:
    return boto3.client("dynamodb", region_name=REGION)


def write_client() -> DynamoDBClient:
    """As the worker's: no parameter validation (it validates every item itself), so the body is ours too."""
    return boto3.client("dynamodb", region_name=REGION, config=write_client_config(1))


def items_of(count: int) -> list[Item]:
    return [every_type(index) for index in range(count)] + list(generate_items(count, payload_bytes=300))


def test_scan_pages_read_through_the_wire_equal_botocores(dynamodb: DynamoDBClient, create_table: CreateTable) -> None:
    create_table("source", pk="S", sk="N")
    for item in items_of(40):
        dynamodb.put_item(TableName="source", Item=item)
    fast = wired(plain_client())

    def pages(client: Any) -> list[dict[str, Any]]:
        arguments: dict[str, Any] = {"TableName": "source", "Limit": 7, "ReturnConsumedCapacity": "TOTAL"}
        found = []
        while True:
            page = client.scan(**arguments)
            page.pop("ResponseMetadata")
            found.append(page)
            if "LastEvaluatedKey" not in page:
                return found
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    expected = pages(plain_client())
    assert len(expected) > 5
    assert pages(fast) == expected
    assert all(type(item["b"]["B"]) is bytes for page in expected for item in page["Items"] if "b" in item)


def test_batches_written_through_the_wire_arrive_byte_for_byte(
    dynamodb: DynamoDBClient, create_table: CreateTable
) -> None:
    create_table("target", pk="S", sk="N")
    items = items_of(20)
    fast = wired(write_client())
    assert isinstance(fast._serializer, _Serializer)  # type: ignore[attr-defined]
    for start in range(0, len(items), 25):
        response = fast.batch_write_item(
            RequestItems={"target": [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]},
            ReturnConsumedCapacity="TOTAL",
        )
        assert response["UnprocessedItems"] == {}
        assert response["ConsumedCapacity"][0]["TableName"] == "target"
    keys = [{"pk": item["pk"], "sk": item["sk"]} for item in items]
    stored = [dynamodb.get_item(TableName="target", Key=key, ConsistentRead=True)["Item"] for key in keys]
    assert stored == [normalized(dynamodb, item) for item in items]
    got = fast.batch_get_item(RequestItems={"target": {"Keys": keys[:10], "ConsistentRead": True}})["Responses"]
    assert sorted(got["target"], key=lambda item: item["pk"]["S"]) == sorted(stored[:10], key=lambda i: i["pk"]["S"])
    fast.batch_write_item(RequestItems={"target": [{"DeleteRequest": {"Key": key}} for key in keys[:5]]})
    assert dynamodb.scan(TableName="target", Select="COUNT")["Count"] == len(items) - 5


def normalized(dynamodb: DynamoDBClient, item: Item) -> Item:
    """The item as DynamoDB stores it (numbers canonical, sets in its order), written through botocore's path."""
    probe: dict[str, Any] = dict(item)
    probe["pk"] = {"S": "probe"}
    dynamodb.put_item(TableName="target", Item=probe)
    stored = dynamodb.get_item(TableName="target", Key={"pk": {"S": "probe"}, "sk": item["sk"]}, ConsistentRead=True)
    dynamodb.delete_item(TableName="target", Key={"pk": {"S": "probe"}, "sk": item["sk"]})
    found: dict[str, Any] = dict(stored["Item"])
    found["pk"] = item["pk"]
    return found


def canned(body: dict[str, Any], status: int = 200) -> Any:
    """A client whose every call is answered with ``body``, parsed by the client as it would parse DynamoDB's."""
    client = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url="http://canned.invalid",
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )

    class Raw:
        def __init__(self, data: bytes) -> None:
            self._data = data

        def stream(self, **_: Any) -> Any:
            yield self._data

    def answer(request: Any, **_: Any) -> AWSResponse:
        data = json.dumps(body).encode()
        return AWSResponse(request.url, status, {"x-amzn-requestid": "req-1"}, Raw(data))  # type: ignore[arg-type]

    handler: Any = answer  # botocore skips the request when a before-send handler returns a response
    client.meta.events.register("before-send.dynamodb", handler)
    return client


def test_unprocessed_items_come_back_as_botocore_gives_them() -> None:
    put = every_type(1)
    delete_key = {"pk": {"S": "k"}, "sk": {"B": "AAE="}}
    response = {
        "UnprocessedItems": {
            "target": [
                {"PutRequest": {"Item": json.loads(dumps(put))}},
                {"DeleteRequest": {"Key": delete_key}},
            ]
        },
        "ConsumedCapacity": [{"TableName": "target", "CapacityUnits": 3.5}],
    }
    request = {"RequestItems": {"target": [{"PutRequest": {"Item": put}}]}}
    plain, fast = canned(response), wired(canned(response))
    expected = plain.batch_write_item(**request)
    got = fast.batch_write_item(**request)
    assert got == expected
    assert got["UnprocessedItems"]["target"][0]["PutRequest"]["Item"] == put
    assert got["UnprocessedItems"]["target"][1]["DeleteRequest"]["Key"]["sk"] == {"B": b"\x00\x01"}
    assert got["ResponseMetadata"]["RequestId"] == "req-1"


def test_errors_are_still_botocores(dynamodb: DynamoDBClient) -> None:
    with pytest.raises(ClientError) as raised:
        wired(plain_client()).scan(TableName="missing")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    throttled = wired(
        canned({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow down"}, 400)
    )
    with pytest.raises(ClientError) as raised:
        throttled.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": every_type(0)}}]})
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"


def test_a_value_dynamodb_has_no_wire_form_for_fails_loudly() -> None:
    with pytest.raises(TypeError, match="not a DynamoDB wire value: set"):
        dumps({"RequestItems": {"t": [{"PutRequest": {"Item": {"ss": {"SS": {"a", "b"}}}}}]}})


def test_installing_twice_wraps_once_and_a_client_without_botocores_internals_is_left_as_it_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    validating = plain_client()
    assert install(validating)
    assert not isinstance(validating._serializer, _Serializer)  # type: ignore[attr-defined]
    client = write_client()
    assert install(client)
    factory, serializer = client._endpoint._response_parser_factory, client._serializer  # type: ignore[attr-defined]
    assert install(client)
    assert client._endpoint._response_parser_factory is factory  # type: ignore[attr-defined]
    assert client._serializer is serializer  # type: ignore[attr-defined]

    class Other:
        pass

    with caplog.at_level(logging.WARNING):
        assert not install(Other())
    assert "botocore's own apply" in caplog.text
