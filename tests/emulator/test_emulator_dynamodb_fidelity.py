"""The emulator's DynamoDB answers like DynamoDB where our code depends on it: one stream record per change,
none for a write that changes nothing, atomic UpdateItem, and numbers stored and returned in DynamoDB's
canonical text (see ``devtools.emulator.dynamodb_numbers`` for the rules and their sources)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devtools.emulator import Emulator
from devtools.emulator.dynamodb_numbers import (
    NOT_A_NUMBER,
    NUMBER_SET_DUPLICATES,
    OVERFLOW,
    TOO_PRECISE,
    UNDERFLOW,
    NumberError,
    add,
    canonical_number,
    subtract,
)
from migration_core.transform import Transformer
from tests.support.emulator import Aws, unique
from tests.support.tables import REGION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SMALLEST = "0." + "0" * 129 + "1"
LARGEST = "9" * 38 + "0" * 88
DIGITS_38 = "12345678901234567890123456789012345678"


@pytest.fixture(scope="module")
def streams(emulator: Emulator) -> Any:
    return boto3.client(
        "dynamodbstreams",
        endpoint_url=emulator.endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def stream_records(streams: Any, stream_arn: str) -> list[dict[str, Any]]:
    """Every record of the stream, read through the DynamoDB Streams API from TRIM_HORIZON."""
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator)
            if not page["Records"]:
                break
            records.extend(page["Records"])
            iterator = page.get("NextShardIterator")
    return records


def streamed_table(aws: Aws) -> tuple[str, str]:
    """A new pk(S)/sk(N) table with a NEW_AND_OLD_IMAGES stream: (name, stream ARN)."""
    name = unique("fidelity")
    stream = aws.create_table(name, stream=True, range_key=True)
    assert stream is not None
    return name, stream


def key(pk: str, sk: str = "1") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"N": sk}}


def refused(call: Any, message: str) -> None:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert message in caught.value.response["Error"]["Message"]


# --------------------------------------------------------------------------------------------------
# Streams


def test_update_item_creating_an_item_streams_one_insert_with_the_whole_item(aws: Aws, streams: Any) -> None:
    table, stream = streamed_table(aws)
    aws.dynamodb.update_item(
        TableName=table,
        Key=key("new"),
        UpdateExpression="SET tenant = :tenant, amount = :amount",
        ExpressionAttributeValues={":tenant": {"S": "acme"}, ":amount": {"N": "1.50"}},
    )

    (record,) = stream_records(streams, stream)
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["Keys"] == key("new")
    assert record["dynamodb"]["NewImage"] == {**key("new"), "tenant": {"S": "acme"}, "amount": {"N": "1.5"}}
    assert "OldImage" not in record["dynamodb"]
    # What a replication consumer deriving the target key from a non-key attribute does with it.
    derive = Transformer.from_spec([{"op": "derive", "attribute": "id", "template": "{tenant}#{amount}"}], None)
    (target,) = derive.apply(record["dynamodb"]["NewImage"])
    assert target["id"] == {"S": "acme#1.5"}


def test_update_item_on_an_existing_item_streams_one_modify(aws: Aws, streams: Any) -> None:
    table, stream = streamed_table(aws)
    aws.dynamodb.put_item(TableName=table, Item={**key("k"), "v": {"S": "1"}})
    aws.dynamodb.update_item(
        TableName=table,
        Key=key("k"),
        UpdateExpression="SET v = :v ADD hits :one",
        ExpressionAttributeValues={":v": {"S": "2"}, ":one": {"N": "1"}},
    )

    insert, modify = stream_records(streams, stream)
    assert (insert["eventName"], modify["eventName"]) == ("INSERT", "MODIFY")
    assert modify["dynamodb"]["OldImage"] == {**key("k"), "v": {"S": "1"}}
    assert modify["dynamodb"]["NewImage"] == {**key("k"), "v": {"S": "2"}, "hits": {"N": "1"}}


def test_writes_that_change_nothing_stream_nothing(aws: Aws, streams: Any) -> None:
    table, stream = streamed_table(aws)
    item = {**key("same"), "n": {"N": "1.5"}, "set": {"NS": ["1", "2", "3"]}, "doc": {"M": {"x": {"L": [{"S": "a"}]}}}}
    aws.dynamodb.put_item(TableName=table, Item=item)

    aws.dynamodb.put_item(TableName=table, Item=item)
    # The same values written differently: numbers as DynamoDB does not store them, the set in another order.
    respelled = {**key("same", "1.0"), "n": {"N": "15E-1"}, "set": {"NS": ["3", "2.0", "01"]}, "doc": item["doc"]}
    aws.dynamodb.put_item(TableName=table, Item=respelled)
    aws.dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}}]})
    aws.dynamodb.update_item(
        TableName=table, Key=key("same"), UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "1.50"}}
    )
    aws.dynamodb.update_item(TableName=table, Key=key("same"), UpdateExpression="REMOVE never_set")
    aws.dynamodb.delete_item(TableName=table, Key=key("never-written"))

    assert [record["eventName"] for record in stream_records(streams, stream)] == ["INSERT"]


def test_a_failed_update_changes_nothing_and_streams_nothing(aws: Aws, streams: Any) -> None:
    table, stream = streamed_table(aws)
    aws.dynamodb.put_item(TableName=table, Item={**key("old"), "a": {"S": "before"}, "n": {"N": "1"}})
    too_big = {":a": {"S": "after"}, ":big": {"N": "1E+125"}, ":huge": {"N": "9.9E+125"}}

    for target in ("old", "new"):
        refused(
            lambda target=target: aws.dynamodb.update_item(
                TableName=table,
                Key=key(target),
                UpdateExpression="SET a = :a, n = :big + :huge",
                ExpressionAttributeValues=too_big,
            ),
            OVERFLOW,
        )

    assert aws.dynamodb.get_item(TableName=table, Key=key("old"))["Item"] == {
        **key("old"),
        "a": {"S": "before"},
        "n": {"N": "1"},
    }
    assert "Item" not in aws.dynamodb.get_item(TableName=table, Key=key("new"))
    assert [record["eventName"] for record in stream_records(streams, stream)] == ["INSERT"]


# --------------------------------------------------------------------------------------------------
# Numbers: the rules


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("1.50", "1.5"),
        ("1.0", "1"),
        ("007", "7"),
        ("-0", "0"),
        ("0.000", "0"),
        ("0e1000", "0"),
        ("+3", "3"),
        (".5", "0.5"),
        ("-.5e1", "-5"),
        ("5.", "5"),
        ("1.0e3", "1000"),
        ("1E+2", "100"),
        ("1.5E2", "150"),
        ("00042", "42"),
        ("1e100", "1" + "0" * 100),
        ("1.00000000000000007629769841092E+50", "100000000000000007629769841092" + "0" * 21),
        ("1E-130", SMALLEST),
        ("-1E-130", "-" + SMALLEST),
        ("9.9999999999999999999999999999999999999E+125", LARGEST),
        (DIGITS_38, DIGITS_38),
        ("-" + DIGITS_38 + "e-40", "-0.00" + DIGITS_38),
        ("123.4560", "123.456"),
    ],
)
def test_canonical_number(written: str, stored: str) -> None:
    assert canonical_number(written) == stored
    assert canonical_number(stored) == stored


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("NaN", NOT_A_NUMBER),
        ("Infinity", NOT_A_NUMBER),
        ("-Infinity", NOT_A_NUMBER),
        ("dog", NOT_A_NUMBER),
        (" 1", NOT_A_NUMBER),
        ("1 ", NOT_A_NUMBER),
        ("", NOT_A_NUMBER),
        (".", NOT_A_NUMBER),
        ("e5", NOT_A_NUMBER),
        ("1e", NOT_A_NUMBER),
        ("0x10", NOT_A_NUMBER),
        ("\u0661", NOT_A_NUMBER),  # an Arabic-Indic digit: Python's int() takes it, DynamoDB does not
        ("1e126", OVERFLOW),
        ("10E125", OVERFLOW),
        ("-1e126", OVERFLOW),
        ("1e99999999999", OVERFLOW),
        ("1e-131", UNDERFLOW),
        ("0.9e-130", UNDERFLOW),
        (DIGITS_38 + "9", TOO_PRECISE),
        ("3.14159265358979323846264338327950288419", TOO_PRECISE),
    ],
)
def test_numbers_dynamodb_refuses(written: str, message: str) -> None:
    with pytest.raises(NumberError, match="^" + message):
        canonical_number(written)


def test_arithmetic_is_exact_and_refuses_what_cannot_be_stored() -> None:
    assert add("1", "10000000000000000000000") == "10000000000000000000001"
    assert add(DIGITS_38[:-1] + "7", "1") == DIGITS_38
    assert subtract("1.5", "1.5") == "0"
    assert add("0.1", "0.2") == "0.3"
    assert add(LARGEST, "-" + LARGEST) == "0"
    for left, right in (("1" + "0" * 50, "1"), ("9E+125", "9E+125"), (SMALLEST, "-" + SMALLEST[:-1] + "05")):
        with pytest.raises(NumberError, match="^" + OVERFLOW):
            add(left, right)


# --------------------------------------------------------------------------------------------------
# Numbers: every path that stores and returns them


def all_reads(client: DynamoDBClient, table: str, item_key: dict[str, Any]) -> list[dict[str, Any]]:
    """The item as GetItem, BatchGetItem, Query, Scan and segmented Scan return it."""
    query = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": item_key["pk"]},
    )["Items"]
    return [
        client.get_item(TableName=table, Key=item_key, ConsistentRead=True)["Item"],
        client.batch_get_item(RequestItems={table: {"Keys": [item_key]}})["Responses"][table][0],
        *query,
        *[item for item in client.scan(TableName=table)["Items"] if item["pk"] == item_key["pk"]],
        *[
            item
            for item in client.scan(TableName=table, Segment=0, TotalSegments=1)["Items"]
            if item["pk"] == item_key["pk"]
        ],
    ]


def test_numbers_are_stored_and_returned_canonical_everywhere(aws: Aws, streams: Any) -> None:
    table, stream = streamed_table(aws)
    written = {
        **key("p", "1.0"),
        "n": {"N": "1.50"},
        "small": {"N": "1E-130"},
        "big": {"N": "1.0e3"},
        "zero": {"N": "-0"},
        "huge": {"N": "1e100"},
        "largest": {"N": "-9.9999999999999999999999999999999999999E+125"},
        "set": {"NS": ["007", "1E+2"]},
        "doc": {"M": {"inner": {"N": "0.10"}, "list": {"L": [{"N": "2.000"}, {"NS": ["-0.5"]}]}}},
    }
    stored = {
        **key("p", "1"),
        "n": {"N": "1.5"},
        "small": {"N": SMALLEST},
        "big": {"N": "1000"},
        "zero": {"N": "0"},
        "huge": {"N": "1" + "0" * 100},
        "largest": {"N": "-" + LARGEST},
        "set": {"NS": ["7", "100"]},
        "doc": {"M": {"inner": {"N": "0.1"}, "list": {"L": [{"N": "2"}, {"NS": ["-0.5"]}]}}},
    }
    old = aws.dynamodb.put_item(TableName=table, Item=written, ReturnValues="ALL_OLD")
    assert "Attributes" not in old

    for read in all_reads(aws.dynamodb, table, key("p", "1.00")):
        read["set"]["NS"].sort(key=float)
        assert read == stored
    # moto projects items through boto3's Decimal (de)serializer, which has its own idea of numbers.
    projection = {
        "ProjectionExpression": "pk, sk, small, huge, largest, #set, doc.list",
        "ExpressionAttributeNames": {"#set": "set"},
    }
    projected = [
        aws.dynamodb.get_item(TableName=table, Key=key("p", "1"), **projection)["Item"],
        *aws.dynamodb.scan(TableName=table, **projection)["Items"],
    ]
    for read in projected:
        read["set"]["NS"].sort(key=float)
        assert read == {
            **{name: stored[name] for name in ("pk", "sk", "small", "huge", "largest", "set")},
            "doc": {"M": {"list": stored["doc"]["M"]["list"]}},
        }
    (record,) = stream_records(streams, stream)
    assert record["dynamodb"]["Keys"] == key("p", "1")
    image = record["dynamodb"]["NewImage"]
    image["set"]["NS"].sort(key=float)
    assert image == stored


def test_one_number_key_written_two_ways_is_one_item(aws: Aws) -> None:
    table, _ = streamed_table(aws)
    client = aws.dynamodb
    client.put_item(TableName=table, Item={**key("k", "1.0"), "v": {"S": "first"}})
    replaced = client.put_item(TableName=table, Item={**key("k", "1"), "v": {"S": "second"}}, ReturnValues="ALL_OLD")
    assert replaced["Attributes"] == {**key("k", "1"), "v": {"S": "first"}}
    assert client.get_item(TableName=table, Key=key("k", "10E-1"))["Item"]["v"] == {"S": "second"}

    refused(
        lambda: client.batch_write_item(
            RequestItems={
                table: [{"PutRequest": {"Item": key("dup", "1")}}, {"PutRequest": {"Item": key("dup", "1.0")}}]
            }
        ),
        "Provided list of item keys contains duplicates",
    )
    with pytest.raises(ClientError) as caught:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": key("tx", "2")}},
                {"Put": {"TableName": table, "Item": key("tx", "2.0")}},
            ]
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"

    client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": key("page", sk)}} for sk in ("1", "2", "3")]})
    page = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "page"}},
        ExclusiveStartKey=key("page", "2.00"),
    )["Items"]
    assert page == [key("page", "3")]
    client.delete_item(TableName=table, Key=key("page", "3.0"))
    assert "Item" not in client.get_item(TableName=table, Key=key("page", "3"))


def test_batch_writes_and_transactions_store_canonical_numbers(aws: Aws) -> None:
    table, _ = streamed_table(aws)
    client = aws.dynamodb
    client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {**key("batch"), "n": {"N": "2.50"}}}}]})
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {**key("tx-put", "3.0"), "n": {"N": "0100"}}}},
            {
                "Update": {
                    "TableName": table,
                    "Key": key("tx-update", "4.0"),
                    "UpdateExpression": "SET n = :n",
                    "ExpressionAttributeValues": {":n": {"N": "-0.0"}},
                }
            },
        ]
    )

    items = {item["pk"]["S"]: item for item in client.scan(TableName=table)["Items"]}
    assert items["batch"] == {**key("batch"), "n": {"N": "2.5"}}
    assert items["tx-put"] == {**key("tx-put", "3"), "n": {"N": "100"}}
    assert items["tx-update"] == {**key("tx-update", "4"), "n": {"N": "0"}}


def test_update_arithmetic_is_exact_and_canonical(aws: Aws) -> None:
    table, _ = streamed_table(aws)
    client = aws.dynamodb

    def update(expression: str, **values: str) -> dict[str, Any]:
        attributes: dict[str, Any] = client.update_item(
            TableName=table,
            Key=key("math"),
            UpdateExpression=expression,
            ExpressionAttributeValues={f":{name}": {"N": value} for name, value in values.items()},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return attributes

    assert update("SET a = :x + :y", x="1.5", y="-1.50")["a"] == {"N": "0"}
    assert update("SET a = :x + :y", x=DIGITS_38[:-1] + "0", y="8")["a"] == {"N": DIGITS_38}
    assert update("SET a = a - :x", x="0.000")["a"] == {"N": DIGITS_38}
    assert update("ADD c :x", x="1.10")["c"] == {"N": "1.1"}
    assert update("ADD c :x", x="-0.1")["c"] == {"N": "1"}
    refused(lambda: update("SET a = a + :x", x="0.1"), OVERFLOW)  # 39 significant digits
    refused(lambda: update("SET b = :x - :y", x="1E+50", y="1"), OVERFLOW)
    assert client.get_item(TableName=table, Key=key("math"))["Item"]["a"] == {"N": DIGITS_38}

    legacy = client.update_item(
        TableName=table,
        Key=key("math"),
        AttributeUpdates={"c": {"Action": "ADD", "Value": {"N": DIGITS_38}}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert legacy["c"] == {"N": "12345678901234567890123456789012345679"}


def test_numbers_dynamodb_refuses_are_refused_wherever_they_are_written(aws: Aws) -> None:
    table, _ = streamed_table(aws)
    client = aws.dynamodb
    refused(lambda: client.put_item(TableName=table, Item={**key("bad"), "n": {"N": "NaN"}}), NOT_A_NUMBER)
    refused(lambda: client.put_item(TableName=table, Item=key("bad", "1e126")), OVERFLOW)
    refused(
        lambda: client.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": {**key("bad"), "doc": {"L": [{"N": "1e-131"}]}}}}]}
        ),
        UNDERFLOW,
    )
    refused(
        lambda: client.update_item(
            TableName=table,
            Key=key("bad"),
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": DIGITS_38 + "1"}},
        ),
        TOO_PRECISE,
    )
    refused(lambda: client.get_item(TableName=table, Key=key("bad", " 1")), NOT_A_NUMBER)
    refused(
        lambda: client.put_item(TableName=table, Item={**key("bad"), "set": {"NS": ["1", "1.0"]}}),
        NUMBER_SET_DUPLICATES,
    )
    refused(
        lambda: client.update_item(
            TableName=table,
            Key=key("bad"),
            UpdateExpression="ADD s :s",
            ExpressionAttributeValues={":s": {"NS": ["2", "02"]}},
        ),
        NUMBER_SET_DUPLICATES,
    )
    assert client.scan(TableName=table)["Items"] == []


# --------------------------------------------------------------------------------------------------
# BatchWriteItem limits


def test_batch_write_of_more_than_25_requests_is_refused(aws: Aws) -> None:
    table, _ = streamed_table(aws)
    puts: list[Any] = [{"PutRequest": {"Item": key(f"item-{index}")}} for index in range(26)]

    refused(
        lambda: aws.dynamodb.batch_write_item(RequestItems={table: puts}),
        "Too many items requested for the BatchWriteItem call",
    )
    aws.dynamodb.batch_write_item(RequestItems={table: puts[:25]})
    assert aws.dynamodb.scan(TableName=table, Select="COUNT")["Count"] == 25


def test_batch_write_with_two_requests_for_one_key_is_refused(aws: Aws) -> None:
    table, _ = streamed_table(aws)
    one = key("same", "1")
    differently_written = key("same", "1.0")
    cases: list[list[Any]] = [
        [{"PutRequest": {"Item": {**one, "v": {"S": "a"}}}}, {"PutRequest": {"Item": {**one, "v": {"S": "b"}}}}],
        [{"PutRequest": {"Item": one}}, {"DeleteRequest": {"Key": one}}],
        [{"PutRequest": {"Item": one}}, {"PutRequest": {"Item": {**differently_written, "v": {"S": "c"}}}}],
    ]
    for requests in cases:
        refused(
            lambda requests=requests: aws.dynamodb.batch_write_item(RequestItems={table: requests}),
            "Provided list of item keys contains duplicates",
        )
    assert aws.dynamodb.scan(TableName=table, Select="COUNT")["Count"] == 0
    aws.dynamodb.batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": one}}, {"PutRequest": {"Item": key("same", "2")}}]}
    )
    assert aws.dynamodb.scan(TableName=table, Select="COUNT")["Count"] == 2
