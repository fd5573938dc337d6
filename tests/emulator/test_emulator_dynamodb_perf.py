"""The emulator's DynamoDB speed-ups change nothing a client can see, only how long moto takes.

Every check compares moto with the speed-ups against moto without them (same requests, byte-identical
responses), or against what DynamoDB semantics require where moto alone cannot run (binary partition
keys in segmented Scans) or where timing matters (concurrent writers during paginated segmented Scans).
"""

from __future__ import annotations

import base64
import functools
import gc
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.awslambda.responses import LambdaResponse
from moto.core.model import OperationModel
from moto.core.parse import PROTOCOL_PARSERS, JSONParser
from moto.core.serialize import SERVICE_SPECIFIC_SERIALIZERS, JSONSerializer, XFormedAttributePicker
from moto.core.utils import get_service_model
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.models import DynamoDBBackend, dynamo_type
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.models.utilities import dynamo_to_dict
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from devtools.datagen import generate_items
from devtools.emulator import dynamodb_speedups, moto_patches
from devtools.emulator.executor import InvocationResult
from tests.support import tables

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REGION = "us-east-1"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})

EVERY_TYPE: dict[str, Any] = {
    "pk": {"S": "special#1"},
    "sk": {"N": "0"},
    "text": {"S": 'plain ünïcödé \u2028 🚀 "quoted" \\ back'},
    "text_empty": {"S": ""},
    "n_38_digits": {"N": "12345678901234567890123456789012345678"},
    "n_38_negative": {"N": "-12345678901234567890123456789012345678"},
    "n_largest": {"N": "9.9999999999999999999999999999999999999E+125"},
    "n_smallest": {"N": "1E-130"},
    "n_tiny_negative": {"N": "-0.000000000000000000000000000000000001"},
    "n_lower_e": {"N": "1.5e3"},
    "n_trailing_zero": {"N": "1.50"},
    "n_zero": {"N": "0"},
    "binary_every_byte": {"B": bytes(range(256))},
    "binary_empty": {"B": b""},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "nothing": {"NULL": True},
    "strings": {"SS": ["a", "ü", "🚀"]},
    "numbers": {
        "NS": ["1", "12345678901234567890123456789012345678", "1E-130", "-9.9999999999999999999999999999999999999E+125"]
    },
    "binaries": {"BS": [bytes([value]) for value in (*range(0, 256, 9), 255)]},
    "a_list": {
        "L": [
            {"S": "x"},
            {"S": ""},
            {"N": "-1"},
            {"B": b"\x00"},
            {"B": b""},
            {"BOOL": False},
            {"NULL": True},
            {"L": []},
            {"M": {}},
            {"SS": ["z"]},
            {"NS": ["2"]},
            {"BS": [b"\xff"]},
        ]
    },
    "a_map": {
        "M": {
            "nested": {
                "M": {
                    "deeper": {
                        "M": {
                            "bytes": {"B": bytes(range(255, -1, -1))},
                            "list": {"L": [{"M": {"n": {"N": "-1"}, "s": {"S": ""}}}]},
                        }
                    }
                }
            },
            "empty_map": {"M": {}},
            "empty_list": {"L": []},
            "empty_text": {"S": ""},
            "empty_binary": {"B": b""},
            "flag": {"BOOL": False},
        }
    },
}


# --------------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def speedups() -> Iterator[None]:
    moto_patches.install_dynamodb_speedups()
    try:
        yield
    finally:
        moto_patches.uninstall_dynamodb_speedups()


def client() -> DynamoDBClient:
    return boto3.client("dynamodb", region_name=REGION, config=NO_RETRIES)


def typed_table(
    dynamodb: DynamoDBClient,
    name: str,
    hash_type: str = "S",
    range_type: str | None = "N",
    *,
    by_tenant: bool = False,
    stream: bool = False,
) -> None:
    """An on-demand table keyed by pk [+ sk]; ``by_tenant`` adds a GSI on tenant (S) + id (N) projecting all."""
    key_schema = {"pk": hash_type} | ({"sk": range_type} if range_type else {})
    indexes = {"by_tenant": {"tenant": "S", "id": "N"}} if by_tenant else None
    tables.create_table(dynamodb, name, key_schema, indexes=indexes, projection="ALL", stream=stream)


def batch_put(dynamodb: DynamoDBClient, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={table: requests})  # type: ignore[dict-item]


MAX_PAGES = 1000
"""More pages than any of these tables can fill: a start key that does not advance fails instead of hanging."""


def scan_pages(dynamodb: DynamoDBClient, **arguments: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        page = dynamodb.scan(**arguments)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    raise AssertionError(f"pagination does not end: {arguments}")


def key_of(item: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(next(iter(item[name].values())) for name in ("pk", "sk") if name in item)


def segment_of(partition_key: bytes, total_segments: int) -> int:
    """The segment moto assigns: the first byte of the MD5 of the partition key's value."""
    return hashlib.md5(partition_key, usedforsecurity=False).digest()[0] % total_segments


# --------------------------------------------------------------------------------------------------
# Recording a scenario, with and without the speed-ups


@dataclass
class Call:
    operation: str
    arguments: dict[str, Any]
    status: int | None
    body: bytes | None
    outcome: Any


@dataclass
class Recorder:
    dynamodb: DynamoDBClient
    calls: list[Call] = field(default_factory=list)
    _last: tuple[int, bytes] | None = None

    def __post_init__(self) -> None:
        self.dynamodb.meta.events.register("before-parse.dynamodb", self._capture)

    def _capture(self, response_dict: dict[str, Any], **_: Any) -> None:
        self._last = (response_dict["status_code"], response_dict["body"])

    def __call__(self, operation: str, **arguments: Any) -> Any:
        self._last = None
        outcome: Any
        try:
            response = getattr(self.dynamodb, operation)(**arguments)
            response.pop("ResponseMetadata", None)
            outcome = response
        except ClientError as error:
            outcome = {key: value for key, value in error.response.items() if key != "ResponseMetadata"}
        except Exception as error:  # a moto crash surfaces as the exception itself under mock_aws
            outcome = ("crash", type(error).__name__, str(error))
        status, body = self._last or (None, None)
        self.calls.append(Call(operation, arguments, status, body, outcome))
        return outcome

    def scan_all(self, **arguments: Any) -> None:
        self._all_pages("scan", arguments)

    def query_all(self, **arguments: Any) -> None:
        self._all_pages("query", arguments)

    def _all_pages(self, operation: str, arguments: dict[str, Any]) -> None:
        for _ in range(MAX_PAGES):
            page = self(operation, **arguments)
            if not isinstance(page, dict) or "LastEvaluatedKey" not in page:
                return
            arguments = {**arguments, "ExclusiveStartKey": page["LastEvaluatedKey"]}
        raise AssertionError(f"{operation} pagination does not end: {arguments}")


def scenario(call: Recorder) -> None:
    dynamodb = call.dynamodb
    typed_table(dynamodb, "mixed", by_tenant=True, stream=True)
    typed_table(dynamodb, "numbers", hash_type="N", range_type=None)
    typed_table(dynamodb, "binary", hash_type="B", range_type="B")

    generated = list(generate_items(45, payload_bytes=40))
    for start in (0, 25):
        call(
            "batch_write_item",
            RequestItems={"mixed": [{"PutRequest": {"Item": item}} for item in generated[start : start + 25]]},
        )
    call("put_item", TableName="mixed", Item=EVERY_TYPE, ReturnValues="ALL_OLD")
    call("put_item", TableName="mixed", Item=EVERY_TYPE, ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")
    special_key = {"pk": EVERY_TYPE["pk"], "sk": EVERY_TYPE["sk"]}

    # Scans of the base table: whole, paged, segmented, filtered, projected, counted, legacy filters.
    call.scan_all(TableName="mixed")
    call.scan_all(TableName="mixed", Limit=20, ReturnConsumedCapacity="INDEXES")
    for segment in range(4):
        call.scan_all(TableName="mixed", Segment=segment, TotalSegments=4, Limit=6)
    call.scan_all(TableName="mixed", Segment=2, TotalSegments=3)
    call.scan_all(
        TableName="mixed", Limit=9, FilterExpression="active = :yes", ExpressionAttributeValues={":yes": {"BOOL": True}}
    )
    call.scan_all(
        TableName="mixed",
        Limit=11,
        ProjectionExpression="pk, sk, #p.child, history[1], binary_every_byte, a_map.nested.deeper, a_list[3]",
        ExpressionAttributeNames={"#p": "profile"},
    )
    call.scan_all(TableName="mixed", Select="COUNT", Segment=1, TotalSegments=2, Limit=13)
    call.scan_all(
        TableName="mixed", ScanFilter={"tenant": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "acme"}]}}
    )
    call.scan_all(TableName="mixed", IndexName="by_tenant", Limit=8)
    first_page = call("scan", TableName="mixed", Limit=10)
    start_key = first_page["LastEvaluatedKey"]

    # Queries, GetItem, BatchGetItem, TransactGetItems, PartiQL.
    call.query_all(
        TableName="mixed", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": generated[7]["pk"]}
    )
    call.query_all(
        TableName="mixed",
        KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
        ExpressionAttributeValues={":pk": generated[8]["pk"], ":low": {"N": "0"}, ":high": {"N": "9"}},
        ScanIndexForward=False,
        Limit=1,
    )
    call.query_all(
        TableName="mixed", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "absent"}}
    )
    call.query_all(
        TableName="mixed",
        IndexName="by_tenant",
        KeyConditionExpression="tenant = :t AND id > :id",
        ExpressionAttributeValues={":t": {"S": "acme"}, ":id": {"N": "5"}},
        Limit=3,
    )
    call.query_all(
        TableName="mixed",
        KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [generated[9]["pk"]]}},
        QueryFilter={"active": {"ComparisonOperator": "EQ", "AttributeValueList": [{"BOOL": True}]}},
    )
    call("get_item", TableName="mixed", Key=special_key)
    call("get_item", TableName="mixed", Key=special_key, ConsistentRead=True, ReturnConsumedCapacity="INDEXES")
    call(
        "get_item",
        TableName="mixed",
        Key=special_key,
        ProjectionExpression="binaries, a_list[2], a_map.nested, numbers",
    )
    call("get_item", TableName="mixed", Key={"pk": {"S": "absent"}, "sk": {"N": "1"}})
    keys = [{"pk": item["pk"], "sk": item["sk"]} for item in generated[:30]] + [
        special_key,
        {"pk": {"S": "absent"}, "sk": {"N": "2"}},
    ]
    call("batch_get_item", RequestItems={"mixed": {"Keys": keys}}, ReturnConsumedCapacity="TOTAL")
    call(
        "batch_get_item",
        RequestItems={
            "mixed": {
                "Keys": keys[:5],
                "ProjectionExpression": "pk, #b, chunks",
                "ExpressionAttributeNames": {"#b": "blob"},
            }
        },
    )
    call(
        "transact_get_items",
        TransactItems=[{"Get": {"TableName": "mixed", "Key": key}} for key in [*keys[:3], special_key]],
    )
    call("execute_statement", Statement="SELECT * FROM mixed WHERE pk = 'special#1'")

    # Writes that return values, conditional failures carrying the item, transactions.
    call(
        "update_item",
        TableName="mixed",
        Key=special_key,
        UpdateExpression="SET added = :v",
        ExpressionAttributeValues={":v": {"B": b"\x01\x02"}},
        ReturnValues="ALL_NEW",
    )
    call(
        "update_item",
        TableName="mixed",
        Key=special_key,
        UpdateExpression="SET n_zero = n_zero + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_OLD",
    )
    call(
        "update_item",
        TableName="mixed",
        Key=special_key,
        UpdateExpression="SET a_map.nested.extra = :l",
        ExpressionAttributeValues={":l": {"L": [{"BS": [b"a"]}]}},
        ReturnValues="UPDATED_NEW",
    )
    call(
        "update_item", TableName="mixed", Key=special_key, UpdateExpression="REMOVE text_empty", ReturnValues="ALL_OLD"
    )
    call(
        "update_item",
        TableName="mixed",
        Key={"pk": {"S": "created#by-update"}, "sk": {"N": "3"}},
        UpdateExpression="SET b = :b",
        ExpressionAttributeValues={":b": {"B": bytes(range(10))}},
        ReturnValues="ALL_NEW",
    )
    call(
        "update_item",
        TableName="mixed",
        Key=dict(keys[3]),
        AttributeUpdates={"legacy": {"Value": {"S": "v"}, "Action": "PUT"}},
        ReturnValues="ALL_NEW",
    )
    call(
        "put_item",
        TableName="mixed",
        Item=EVERY_TYPE,
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    call("delete_item", TableName="mixed", Key=keys[4], ReturnValues="ALL_OLD")
    call("delete_item", TableName="mixed", Key=keys[4], ReturnValues="ALL_OLD")
    call(
        "delete_item",
        TableName="mixed",
        Key=special_key,
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    call(
        "transact_write_items",
        TransactItems=[
            {"Put": {"TableName": "mixed", "Item": {**generated[10], "pk": {"S": "tx#new"}}}},
            {
                "Update": {
                    "TableName": "mixed",
                    "Key": keys[5],
                    "UpdateExpression": "SET tx = :t",
                    "ExpressionAttributeValues": {":t": {"N": "1"}},
                }
            },
            {"Delete": {"TableName": "mixed", "Key": keys[6]}},
        ],
    )
    call(
        "transact_write_items",
        TransactItems=[
            {"Put": {"TableName": "mixed", "Item": {**generated[11], "pk": {"S": "tx#rolled-back"}}}},
            {"Delete": {"TableName": "mixed", "Key": keys[7]}},
            {
                "ConditionCheck": {
                    "TableName": "mixed",
                    "Key": special_key,
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ],
    )
    call("execute_statement", Statement="INSERT INTO mixed VALUE {'pk': 'partiql#1', 'sk': 1, 'b': true}")
    call("update_time_to_live", TableName="mixed", TimeToLiveSpecification={"Enabled": True, "AttributeName": "amount"})

    # The item size limit, just under and just over.
    call("put_item", TableName="mixed", Item={"pk": {"S": "big#1"}, "sk": {"N": "1"}, "blob": {"S": "x" * 404_980}})
    call("put_item", TableName="mixed", Item={"pk": {"S": "big#2"}, "sk": {"N": "1"}, "blob": {"S": "x" * 405_000}})

    # Errors and odd start keys: moto's answers, whatever they are.
    call("scan", TableName="mixed", Segment=1)
    call("scan", TableName="mixed", Segment=4, TotalSegments=4)
    call("scan", TableName="absent")
    call("scan", TableName="mixed", Limit=3, ExclusiveStartKey={"pk": {"N": "1"}, "sk": {"N": "1"}})
    call("scan", TableName="mixed", Limit=3, ExclusiveStartKey={"pk": start_key["pk"]})
    call("scan", TableName="mixed", Limit=3, ExclusiveStartKey={**keys[4], "extra": {"S": "ignored"}})
    call("scan", TableName="mixed", Limit=3, ExclusiveStartKey={"pk": {"S": "zzz"}, "sk": {"N": "0"}})
    call("get_item", TableName="mixed", Key={"pk": {"N": "1"}, "sk": {"N": "1"}})
    call("query", TableName="mixed", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"N": "1"}})

    # Number partition keys: equal numbers written differently are one key.
    for value in ("10", "9", "-1", "1E+2", "0.5", "1", "1.0", "100", "12345678901234567890123456789012345678"):
        call("put_item", TableName="numbers", Item={"pk": {"N": value}, "written": {"S": value}})
    call.scan_all(TableName="numbers")
    call.scan_all(TableName="numbers", Limit=2)
    for segment in range(3):
        call.scan_all(TableName="numbers", Segment=segment, TotalSegments=3, Limit=1)
    call(
        "query",
        TableName="numbers",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"N": "1.00"}},
    )
    call("delete_item", TableName="numbers", Key={"pk": {"N": "1E+2"}}, ReturnValues="ALL_OLD")
    call.scan_all(TableName="numbers", Limit=4)

    # Binary keys (segmented scans of those crash unpatched moto: see the dedicated test).
    binary_items = [
        {
            "pk": {"B": bytes([255 - index % 7]) * (1 + index % 3)},
            "sk": {"B": bytes([index, 0, 255])},
            "n": {"N": str(index)},
        }
        for index in range(40)
    ]
    call("batch_write_item", RequestItems={"binary": [{"PutRequest": {"Item": item}} for item in binary_items[:25]]})
    call("batch_write_item", RequestItems={"binary": [{"PutRequest": {"Item": item}} for item in binary_items[25:]]})
    call.scan_all(TableName="binary")
    call.scan_all(TableName="binary", Limit=6)
    call.query_all(
        TableName="binary",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": binary_items[3]["pk"]},
        Limit=2,
    )
    call("get_item", TableName="binary", Key={"pk": binary_items[5]["pk"], "sk": binary_items[5]["sk"]})
    call(
        "batch_write_item",
        RequestItems={
            "binary": [{"DeleteRequest": {"Key": {"pk": item["pk"], "sk": item["sk"]}}} for item in binary_items[::4]]
        },
    )

    # Final state of every table, in moto's order.
    for table in ("mixed", "numbers", "binary"):
        call.scan_all(TableName=table)
    call.scan_all(TableName="mixed", Segment=0, TotalSegments=2, Limit=17)


def record(patched: bool) -> list[Call]:
    assert moto_patches._installed is None, "an emulator is running in this process"
    if patched:
        moto_patches.install_dynamodb_speedups()
    try:
        with mock_aws():
            recorder = Recorder(client())
            scenario(recorder)
            return recorder.calls
    finally:
        if patched:
            moto_patches.uninstall_dynamodb_speedups()


# --------------------------------------------------------------------------------------------------
# Tests


def test_installed_moto_is_compatible() -> None:
    assert dynamodb_speedups.compatibility_problems() == []


def test_responses_are_byte_identical_to_unpatched_moto() -> None:
    unpatched = record(patched=False)
    patched = record(patched=True)
    assert len(patched) == len(unpatched)
    for expected, actual in zip(unpatched, patched, strict=True):
        context = f"{expected.operation}({expected.arguments!r:.300})"
        assert actual.operation == expected.operation
        assert actual.status == expected.status, context
        assert actual.body == expected.body, context
        assert actual.outcome == expected.outcome, context
    # The scenario must have exercised what it claims to.
    bodies = b"".join(call.body or b"" for call in patched)
    assert base64.b64encode(bytes(range(256))) in bodies
    assert any(
        isinstance(call.outcome, dict)
        and call.outcome.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
        for call in patched
    )
    assert any(isinstance(call.outcome, tuple) for call in patched), "an odd start key should crash moto both ways"
    assert sum(1 for call in patched if call.operation == "scan") > 60


def test_every_attribute_value_type_round_trips(speedups: None) -> None:
    with mock_aws():
        dynamodb = client()
        typed_table(dynamodb, "types")
        dynamodb.put_item(TableName="types", Item=EVERY_TYPE)
        key = {"pk": EVERY_TYPE["pk"], "sk": EVERY_TYPE["sk"]}
        assert dynamodb.get_item(TableName="types", Key=key)["Item"] == EVERY_TYPE
        assert dynamodb.scan(TableName="types", Segment=0, TotalSegments=1)["Items"] == [EVERY_TYPE]
        assert dynamodb.batch_get_item(RequestItems={"types": {"Keys": [key]}})["Responses"]["types"] == [EVERY_TYPE]
        old = dynamodb.put_item(TableName="types", Item=EVERY_TYPE, ReturnValues="ALL_OLD")["Attributes"]
        assert old == EVERY_TYPE


def _serialize(serializer: type[Any], operation: str, result: Any) -> Any:
    operation_model: OperationModel = get_service_model("dynamodb").operation_model(operation)
    instance = serializer(
        operation_model=operation_model,
        pretty_print=False,
        value_picker=XFormedAttributePicker(response_transformers={}),
    )
    return instance.serialize(result)["body"]


def test_serializer_matches_moto_for_odd_values() -> None:
    odd_values: list[Any] = [
        DynamoType({"B": base64.b64encode(b"stored as text").decode()}),
        DynamoType({"BS": [base64.b64encode(b"x").decode(), b"y"]}),
        DynamoType({"S": 5}),
        DynamoType({"M": {"": DynamoType({"S": "empty name"}), "fine": DynamoType({"N": "1"})}}),
        DynamoType({"L": [DynamoType({"S": "a"})]}),
        DynamoType({"NULL": "yes"}),
        {"B": b"\x00\xff"},
        {"B": "dGV4dA=="},
        {"S": None},
        {"L": [None, {"S": "x"}]},
        {"M": {"a": None, "b": {"NS": ["1", 2]}}},
        {"XX": "unknown"},
        {"S": "a", "N": "1"},
        {},
    ]
    for value in odd_values:
        result = {"Items": [{"attribute": value}], "Count": 1, "ScannedCount": 1, "LastEvaluatedKey": {"pk": value}}
        expected = _serialize(JSONSerializer, "Scan", dynamo_to_dict(result))
        actual = _serialize(
            dynamodb_speedups.DynamoDBSerializer, "Scan", dynamodb_speedups._keeping_stored_values(result)
        )
        assert actual == expected, value


def test_request_parser_matches_moto() -> None:
    operation_model = get_service_model("dynamodb").operation_model("PutItem")
    odd_items: list[Any] = [
        {"pk": {"S": "a"}, "b": {"B": "AP8="}, "bs": {"BS": ["AA==", ""]}, "m": {"M": {"x": {"L": [{"NULL": True}]}}}},
        {"pk": {"S": 5}, "n": {"N": 7}, "flag": {"BOOL": "no"}},
        {"pk": {"S": "a", "N": "1"}, "u": {"XX": 1}, "none": {"S": None}, "empty": {}},
        {"pk": {"S": "a"}, "m": {"M": {"a": None, "b": {"SS": "not a list"}}}, "l": {"L": [None]}},
        {"pk": {"S": "a"}, "bs": {"BS": [1]}, "b": {"B": None}},
    ]

    def outcome(parser: type[Any], request: dict[str, Any]) -> Any:
        try:
            return parser(operation_model, map_type=dict).parse(request)
        except Exception as error:
            return type(error), str(error)

    for item in odd_items:
        body = json.dumps({"TableName": "t", "Item": item}).encode()
        request = {"body": body, "headers": {}, "method": "POST", "url_path": "/", "url_params": {}, "values": {}}
        assert outcome(dynamodb_speedups.DynamoDBAwareJSONParser, request) == outcome(JSONParser, request), item


def test_install_and_uninstall_restore_moto_exactly() -> None:
    # The speed-ups' owners, then those of the fidelity and Lambda code patches installed with them.
    owners = (
        DynamoType,
        Item,
        Table,
        dynamodb_responses,
        DynamoDBBackend,
        dynamo_type,
        StreamShard,
        DynamoHandler,
        LambdaResponse,
        DomainDispatcherApplication,
    )
    before = [dict(vars(owner)) for owner in owners]
    parsers, serializers = (
        dict(PROTOCOL_PARSERS),
        {key: dict(value) for key, value in SERVICE_SPECIFIC_SERIALIZERS.items()},
    )
    thresholds = gc.get_threshold()

    class Runner:
        def invoke_moto_function(self, fn: Any, payload: bytes) -> InvocationResult:
            raise NotImplementedError

        def invoke_moto_function_async(self, fn: Any, payload: bytes) -> str:
            raise NotImplementedError

    for install, uninstall in (
        (moto_patches.install_dynamodb_speedups, moto_patches.uninstall_dynamodb_speedups),
        (lambda: moto_patches.install(Runner()), moto_patches.uninstall),
    ):
        install()
        try:
            assert Table.__dict__["scan"] is not before[2]["scan"]
            assert PROTOCOL_PARSERS["json"] is dynamodb_speedups.DynamoDBAwareJSONParser
            assert SERVICE_SPECIFIC_SERIALIZERS["dynamodb"]["json"] is dynamodb_speedups.DynamoDBSerializer
            assert gc.get_threshold() == dynamodb_speedups.gc_thresholds(thresholds)
            with pytest.raises(RuntimeError):
                moto_patches.install_dynamodb_speedups()
        finally:
            uninstall()
        assert [dict(vars(owner)) for owner in owners] == before
        assert dict(PROTOCOL_PARSERS) == parsers
        assert {key: dict(value) for key, value in SERVICE_SPECIFIC_SERIALIZERS.items()} == serializers
        assert gc.get_threshold() == thresholds


def test_scans_see_every_kind_of_write(speedups: None) -> None:
    with mock_aws():
        dynamodb = client()
        typed_table(dynamodb, "live")
        items = list(generate_items(50, payload_bytes=10))
        batch_put(dynamodb, "live", items)
        expected = {key_of(item): item for item in items}

        def check(what: str) -> None:
            scanned = scan_pages(dynamodb, TableName="live", Limit=7)
            assert [key_of(item) for item in scanned] == sorted(expected, key=lambda key: (key[0], Decimal(key[1]))), (
                what
            )
            assert {key_of(item): item for item in scanned} == expected, what
            by_segment = [scan_pages(dynamodb, TableName="live", Segment=s, TotalSegments=3, Limit=4) for s in range(3)]
            assert sorted(key_of(item) for page in by_segment for item in page) == sorted(expected), what

        check("initial")
        new = {**items[0], "pk": {"S": "new#1"}}
        dynamodb.put_item(TableName="live", Item=new)
        expected[key_of(new)] = new
        check("put of a new item")
        replaced = {"pk": items[1]["pk"], "sk": items[1]["sk"], "only": {"S": "replacement"}}
        dynamodb.put_item(TableName="live", Item=replaced)
        expected[key_of(replaced)] = replaced
        check("put over an existing item")
        dynamodb.delete_item(TableName="live", Key={"pk": items[2]["pk"], "sk": items[2]["sk"]})
        del expected[key_of(items[2])]
        check("delete")
        dynamodb.update_item(
            TableName="live",
            Key={"pk": items[3]["pk"], "sk": items[3]["sk"]},
            UpdateExpression="SET updated = :u REMOVE payload",
            ExpressionAttributeValues={":u": {"S": "yes"}},
        )
        updated = {name: value for name, value in items[3].items() if name != "payload"} | {"updated": {"S": "yes"}}
        expected[key_of(updated)] = updated
        check("update in place")
        dynamodb.update_item(
            TableName="live",
            Key={"pk": {"S": "new#2"}, "sk": {"N": "5"}},
            UpdateExpression="SET created = :c",
            ExpressionAttributeValues={":c": {"BOOL": True}},
        )
        expected[("new#2", "5")] = {"pk": {"S": "new#2"}, "sk": {"N": "5"}, "created": {"BOOL": True}}
        check("update creating an item")
        batch = [
            {"PutRequest": {"Item": {"pk": {"S": f"batch#{index}"}, "sk": {"N": str(index)}}}} for index in range(5)
        ]
        batch += [{"DeleteRequest": {"Key": {"pk": item["pk"], "sk": item["sk"]}}} for item in items[10:15]]
        dynamodb.batch_write_item(RequestItems={"live": batch})  # type: ignore[dict-item]
        expected.update(
            {
                (f"batch#{index}", str(index)): {"pk": {"S": f"batch#{index}"}, "sk": {"N": str(index)}}
                for index in range(5)
            }
        )
        for item in items[10:15]:
            del expected[key_of(item)]
        check("batch write")
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "live", "Item": {"pk": {"S": "tx#1"}, "sk": {"N": "1"}}}},
                {"Delete": {"TableName": "live", "Key": {"pk": items[20]["pk"], "sk": items[20]["sk"]}}},
            ]
        )
        expected[("tx#1", "1")] = {"pk": {"S": "tx#1"}, "sk": {"N": "1"}}
        del expected[key_of(items[20])]
        check("transaction")
        with pytest.raises(ClientError, match="TransactionCanceled"):
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "live", "Item": {"pk": {"S": "tx#2"}, "sk": {"N": "1"}}}},
                    {"Delete": {"TableName": "live", "Key": {"pk": items[21]["pk"], "sk": items[21]["sk"]}}},
                    {
                        "ConditionCheck": {
                            "TableName": "live",
                            "Key": {"pk": {"S": "tx#1"}, "sk": {"N": "1"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        check("rolled back transaction")
        dynamodb.execute_statement(Statement="INSERT INTO live VALUE {'pk': 'partiql', 'sk': 9}")
        expected[("partiql", "9")] = {"pk": {"S": "partiql"}, "sk": {"N": "9"}}
        check("PartiQL insert")
        backup = dynamodb.create_backup(TableName="live", BackupName="live-backup")["BackupDetails"]["BackupArn"]
        dynamodb.restore_table_from_backup(TargetTableName="restored", BackupArn=backup)
        assert {key_of(item) for item in scan_pages(dynamodb, TableName="restored")} == set(expected)
        dynamodb.delete_table(TableName="live")
        typed_table(dynamodb, "live")
        expected = {}
        check("table deleted and re-created")


def test_binary_partition_keys_split_into_segments(speedups: None) -> None:
    with mock_aws():
        dynamodb = client()
        typed_table(dynamodb, "binary-hash", hash_type="B", range_type=None)
        typed_table(dynamodb, "binary-both", hash_type="B", range_type="S")
        keys = [bytes([index]) * (1 + index % 5) for index in range(256)]
        batch_put(dynamodb, "binary-hash", [{"pk": {"B": key}} for key in keys])
        batch_put(
            dynamodb, "binary-both", [{"pk": {"B": key[:2]}, "sk": {"S": str(index)}} for index, key in enumerate(keys)]
        )
        for table, total in (("binary-hash", 4), ("binary-hash", 1), ("binary-both", 7)):
            seen: list[tuple[Any, ...]] = []
            for segment in range(total):
                for item in scan_pages(dynamodb, TableName=table, Segment=segment, TotalSegments=total, Limit=9):
                    assert segment_of(item["pk"]["B"], total) == segment
                    seen.append(key_of(item))
            assert Counter(seen) == Counter(key_of(item) for item in scan_pages(dynamodb, TableName=table))
            assert len(seen) == 256


def test_a_scan_page_reads_only_its_own_items(speedups: None) -> None:
    with mock_aws(), pytest.MonkeyPatch.context() as patch:
        dynamodb = client()
        typed_table(dynamodb, "paged")
        batch_put(dynamodb, "paged", list(generate_items(400, payload_bytes=0)))
        dynamodb.scan(TableName="paged", Limit=1)
        visited = Counter[str]()
        within = Item.is_within_segment

        def counting(self: Item, segments: Any) -> bool:
            visited["items"] += 1
            return within(self, segments)

        # Undone before the speed-ups are (the autouse credentials fixture's monkeypatch outlives them).
        patch.setattr(Item, "is_within_segment", counting)
        patch.setattr(DynamoType, "__lt__", lambda *_: pytest.fail("the table was sorted"))
        page = dynamodb.scan(TableName="paged", Segment=5, TotalSegments=8, Limit=20)
        page = dynamodb.scan(
            TableName="paged", Segment=5, TotalSegments=8, Limit=20, ExclusiveStartKey=page["LastEvaluatedKey"]
        )
        assert page["Count"] == 20
        # moto's own loop sees the page plus the item that ends it, never the rest of the table.
        assert visited["items"] == 2 * 21


def test_paginated_segmented_scans_with_concurrent_writes(speedups: None) -> None:
    total_segments, writers = 4, 2
    with mock_aws():
        clients = [client() for _ in range(total_segments + writers + 1)]
        dynamodb = clients[-1]
        typed_table(dynamodb, "busy")
        originals = list(generate_items(400, payload_bytes=20))
        batch_put(dynamodb, "busy", originals)
        stop = threading.Event()
        errors: list[BaseException] = []
        found: dict[int, list[tuple[Any, ...]]] = {}

        def guarded(work: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                try:
                    work()
                except BaseException as error:
                    errors.append(error)

            return run

        def write(number: int) -> None:
            writer = clients[total_segments + number]
            index = 0
            while not stop.is_set():
                writer.put_item(
                    TableName="busy",
                    Item={"pk": {"S": f"new#{number}#{index}"}, "sk": {"N": "0"}, "v": {"N": str(index)}},
                )
                target = originals[(index * 7 + number) % len(originals)]
                writer.update_item(
                    TableName="busy",
                    Key={"pk": target["pk"], "sk": target["sk"]},
                    UpdateExpression="SET touched = :t ADD hits :one",
                    ExpressionAttributeValues={":t": {"S": f"{number}-{index}"}, ":one": {"N": "1"}},
                )
                if index >= 2:
                    writer.delete_item(
                        TableName="busy", Key={"pk": {"S": f"new#{number}#{index - 2}"}, "sk": {"N": "0"}}
                    )
                index += 1

        def scan_segment(segment: int) -> None:
            for _ in range(3):
                items = scan_pages(
                    clients[segment], TableName="busy", Segment=segment, TotalSegments=total_segments, Limit=15
                )
                found[segment] = [key_of(item) for item in items]
                for item in items:
                    assert segment_of(item["pk"]["S"].encode(), total_segments) == segment

        write_threads = [threading.Thread(target=guarded(functools.partial(write, n))) for n in range(writers)]
        scan_threads = [
            threading.Thread(target=guarded(functools.partial(scan_segment, s))) for s in range(total_segments)
        ]
        for thread in write_threads + scan_threads:
            thread.start()
        for thread in scan_threads:
            thread.join(timeout=60)
        stop.set()
        for thread in write_threads:
            thread.join(timeout=60)
        assert not errors, errors
        seen = Counter(key for keys in found.values() for key in keys)
        assert all(count == 1 for count in seen.values()), [key for key, count in seen.items() if count > 1]
        assert {key_of(item) for item in originals} <= set(seen)
        # The kept order still matches the table after all that.
        final = scan_pages(dynamodb, TableName="busy")
        assert [key_of(item) for item in final] == sorted(
            (key_of(item) for item in final), key=lambda key: (key[0], Decimal(key[1]))
        )
        assert len(final) == len(originals) + 2 * writers
