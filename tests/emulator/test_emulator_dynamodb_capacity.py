"""The emulator's DynamoDB reports ConsumedCapacity as DynamoDB does: by item size, read consistency and
secondary index (see ``devtools.emulator.dynamodb_capacity`` for the rules and their sources).

Items are built to exact sizes (attribute names plus values, by DynamoDB's rules) so that every expected figure
below is the documented arithmetic: writes one unit per started KB, reads one per started 4 KB, halved when
eventually consistent.
"""

from __future__ import annotations

import base64
import math
from typing import TYPE_CHECKING, Any

import pytest

from devtools.emulator import dynamodb_capacity
from devtools.faults.capacity import wire_item_size
from tests.support.emulator import Aws, unique

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KB = 1024
OWNER = "owner-index"  # GSI on owner, KEYS_ONLY
STATUS = "status-index"  # GSI on status, INCLUDE note
GROUP = "group-index"  # GSI on grp, ALL
RANK = "rank-index"  # LSI on (pk, rank), KEYS_ONLY


def sized(pk: str, size: int, sk: str = "s", **attributes: str) -> dict[str, Any]:
    """An item of the pk(S)/sk(S) tables below, ``size`` bytes by DynamoDB's rules, padded with ``data``."""
    item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": sk}}
    item.update({name: {"S": value} for name, value in attributes.items()})
    padding = size - wire_item_size(item) - len("data")
    assert padding >= 0, f"{size} bytes is too small for {item}"
    item["data"] = {"S": "x" * padding}
    assert wire_item_size(item) == size
    return item


def key(pk: str, sk: str = "s") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def plain_table(aws: Aws) -> str:
    name = unique("capacity")
    aws.dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.fixture(scope="module")
def indexed(aws: Aws) -> str:
    """A table with three global secondary indexes (KEYS_ONLY, INCLUDE, ALL) and a local one."""
    name = unique("capacity-indexed")
    attributes = ("pk", "sk", "owner", "status", "grp", "rank")
    aws.dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": attribute, "AttributeType": "S"} for attribute in attributes],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": OWNER,
                "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": STATUS,
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]},
            },
            {
                "IndexName": GROUP,
                "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": RANK,
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "rank", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    return name


def consumed(response: Any) -> Any:
    return response["ConsumedCapacity"]


def total(table: str, units: float) -> dict[str, Any]:
    return {"TableName": table, "CapacityUnits": units}


def by_index(table: str, units: float, **arms: dict[str, float]) -> dict[str, Any]:
    """The INDEXES form: ``arms`` maps GlobalSecondaryIndexes / LocalSecondaryIndexes to {index: units}."""
    document: dict[str, Any] = {"TableName": table, "Table": {"CapacityUnits": units}}
    document.update(
        {kind: {name: {"CapacityUnits": value} for name, value in members.items()} for kind, members in arms.items()}
    )
    document["CapacityUnits"] = units + sum(value for members in arms.values() for value in members.values())
    return document


def put(client: DynamoDBClient, table: str, item: dict[str, Any], mode: str = "TOTAL") -> Any:
    return consumed(client.put_item(TableName=table, Item=item, ReturnConsumedCapacity=mode))  # type: ignore[arg-type]


def update(
    client: DynamoDBClient, table: str, item_key: dict[str, Any], remove: tuple[str, ...] = (), **values: str
) -> Any:
    """UpdateItem setting ``values`` (strings) and removing ``remove``, through placeholders (``owner``,
    ``status`` and ``data`` are reserved words); returns the INDEXES ConsumedCapacity."""
    names = [*values, *remove]
    placeholders = {f"#n{number}": name for number, name in enumerate(names)}
    clauses = []
    if values:
        clauses.append("SET " + ", ".join(f"#n{number} = :v{number}" for number in range(len(values))))
    if remove:
        clauses.append("REMOVE " + ", ".join(f"#n{len(values) + number}" for number in range(len(remove))))
    arguments: dict[str, Any] = {
        "TableName": table,
        "Key": item_key,
        "UpdateExpression": " ".join(clauses),
        "ExpressionAttributeNames": placeholders,
        "ReturnConsumedCapacity": "INDEXES",
    }
    if values:
        arguments["ExpressionAttributeValues"] = {
            f":v{number}": {"S": value} for number, value in enumerate(values.values())
        }
    return consumed(client.update_item(**arguments))


# --------------------------------------------------------------------------------------------------
# Item sizes: the rules of devtools.faults.capacity, which the emulator uses, are DynamoDB's


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"a": {"S": "héllo"}}, 1 + 6),  # UTF-8 bytes of name and value
        ({"n": {"N": "123.45"}}, 1 + 3 + 1),  # 5 significant digits: 3 bytes, plus 1
        ({"n": {"N": "-0.00120"}}, 1 + 1 + 1),  # leading and trailing zeros trimmed
        ({"b": {"B": base64.b64encode(bytes(10)).decode()}}, 1 + 10),  # raw bytes, not base64 text
        ({"z": {"NULL": True}, "t": {"BOOL": False}}, 2 + 2),
        ({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}, 1 + 3 + (1 + 2) + (1 + 2)),  # 3, plus 1 per element
        ({"m": {"M": {"k": {"S": "v"}}}}, 1 + 3 + (1 + 1 + 1)),  # nested names count
        ({"e": {"L": []}, "f": {"M": {}}}, 4 + 4),
        ({"s": {"SS": ["ab", "c"]}, "ns": {"NS": ["1", "22"]}}, (1 + 3) + (2 + 2 + 2)),  # sets: their elements
    ],
)
def test_item_sizes_follow_dynamodb_rules(item: dict[str, Any], size: int) -> None:
    assert wire_item_size(item) == size


def test_installed_moto_is_compatible() -> None:
    assert dynamodb_capacity.compatibility_problems() == []


# --------------------------------------------------------------------------------------------------
# ReturnConsumedCapacity NONE


def test_none_returns_no_consumed_capacity(aws: Aws, indexed: str) -> None:
    client, table = aws.dynamodb, indexed
    for mode in ({}, {"ReturnConsumedCapacity": "NONE"}):
        arguments: Any = mode
        responses = [
            client.put_item(TableName=table, Item=sized("none", 100, owner="o"), **arguments),
            client.update_item(
                TableName=table,
                Key=key("none"),
                UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"S": "1"}},
                **arguments,
            ),
            client.get_item(TableName=table, Key=key("none"), **arguments),
            client.query(
                TableName=table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "none"}},
                **arguments,
            ),
            client.scan(TableName=table, **arguments),
            client.batch_get_item(RequestItems={table: {"Keys": [key("none")]}}, **arguments),
            client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": sized("none2", 100)}}]}, **arguments),
            client.transact_write_items(
                TransactItems=[{"Put": {"TableName": table, "Item": sized("none3", 100)}}], **arguments
            ),
            client.delete_item(TableName=table, Key=key("none"), **arguments),
        ]
        for response in responses:
            assert "ConsumedCapacity" not in response, response


# --------------------------------------------------------------------------------------------------
# Writes


def test_put_item_costs_a_unit_per_started_kb_of_the_larger_item(aws: Aws) -> None:
    client, table = aws.dynamodb, plain_table(aws)
    assert put(client, table, sized("a", KB)) == total(table, 1.0)
    assert put(client, table, sized("b", KB + 1)) == total(table, 2.0)
    assert put(client, table, sized("c", 3 * KB)) == total(table, 3.0)
    # Replacing: the larger of the old and the new item.
    assert put(client, table, sized("c", 100)) == total(table, 3.0)
    assert put(client, table, sized("c", 100)) == total(table, 1.0)
    assert put(client, table, sized("c", 2 * KB + 1), "INDEXES") == by_index(table, 3.0)


def test_update_item_costs_the_larger_of_before_and_after(aws: Aws) -> None:
    client, table = aws.dynamodb, plain_table(aws)
    client.put_item(TableName=table, Item=sized("u", 3000))
    assert update(client, table, key("u"), v="1") == by_index(table, 3.0)
    assert update(client, table, key("u"), remove=("data",)) == by_index(table, 3.0)  # before: 3000 bytes
    assert update(client, table, key("u"), v="2") == by_index(table, 1.0)  # now a few bytes
    assert update(client, table, key("u"), big="x" * 4000) == by_index(table, 4.0)
    assert update(client, table, key("new"), v="1") == by_index(table, 1.0)  # creates the item


def test_delete_item_costs_the_deleted_item_and_at_least_one_unit(aws: Aws) -> None:
    client, table = aws.dynamodb, plain_table(aws)
    client.put_item(TableName=table, Item=sized("d", 2500))
    response = client.delete_item(TableName=table, Key=key("d"), ReturnConsumedCapacity="TOTAL")
    assert consumed(response) == total(table, 3.0)
    response = client.delete_item(TableName=table, Key=key("d"), ReturnConsumedCapacity="INDEXES")
    assert consumed(response) == by_index(table, 1.0)


def test_batch_write_item_sums_each_table(aws: Aws) -> None:
    client, first, second = aws.dynamodb, plain_table(aws), plain_table(aws)
    client.put_item(TableName=second, Item=sized("gone", 1500))
    response = client.batch_write_item(
        RequestItems={
            first: [{"PutRequest": {"Item": sized(f"item{n}", 3 * KB)}} for n in range(10)],
            second: [
                {"PutRequest": {"Item": sized("small", 20)}},
                {"DeleteRequest": {"Key": key("gone")}},
                {"DeleteRequest": {"Key": key("never-there")}},
            ],
        },
        ReturnConsumedCapacity="TOTAL",
    )
    assert consumed(response) == [total(first, 30.0), total(second, 1.0 + 2.0 + 1.0)]
    response = client.batch_write_item(
        RequestItems={first: [{"DeleteRequest": {"Key": key(f"item{n}")}} for n in range(3)]},
        ReturnConsumedCapacity="INDEXES",
    )
    assert consumed(response) == [by_index(first, 9.0)]


def test_transact_write_items_costs_twice_and_says_they_are_write_units(aws: Aws, indexed: str) -> None:
    client, table = aws.dynamodb, plain_table(aws)
    client.put_item(TableName=table, Item=sized("checked", 1500))
    response = client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": sized("t1", 100)}},
            {"Put": {"TableName": table, "Item": sized("t2", 2 * KB)}},
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": key("checked"),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    assert consumed(response) == [{"TableName": table, "CapacityUnits": 10.0, "WriteCapacityUnits": 10.0}]
    response = client.transact_write_items(
        TransactItems=[{"Put": {"TableName": indexed, "Item": sized("t3", 100, owner="o")}}],
        ReturnConsumedCapacity="INDEXES",
    )
    assert consumed(response) == [
        {
            "TableName": indexed,
            "CapacityUnits": 4.0,
            "WriteCapacityUnits": 4.0,
            "Table": {"CapacityUnits": 2.0, "WriteCapacityUnits": 2.0},
            "GlobalSecondaryIndexes": {OWNER: {"CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}},
        }
    ]


# --------------------------------------------------------------------------------------------------
# Writes to secondary indexes


def test_each_index_holding_the_item_adds_its_own_write(aws: Aws, indexed: str) -> None:
    client, table = aws.dynamodb, indexed
    assert put(client, table, sized("w0", 100), "INDEXES") == by_index(table, 1.0)  # in no index
    assert put(client, table, sized("w1", 100, owner="o")) == total(table, 2.0)
    assert put(client, table, sized("w1", 100, owner="o2"), "INDEXES") == by_index(
        table, 1.0, GlobalSecondaryIndexes={OWNER: 2.0}
    )
    item = sized("w2", 200, owner="o", status="new", grp="g", rank="1")
    assert put(client, table, item, "INDEXES") == by_index(
        table,
        1.0,
        GlobalSecondaryIndexes={OWNER: 1.0, STATUS: 1.0, GROUP: 1.0},
        LocalSecondaryIndexes={RANK: 1.0},
    )
    # The same item again changes no index.
    assert put(client, table, item, "INDEXES") == by_index(table, 1.0)
    # An index whose entry is bigger costs its own units: the ALL projection holds the whole 3000 bytes.
    assert put(client, table, sized("w3", 3000, owner="o", grp="g"), "INDEXES") == by_index(
        table, 3.0, GlobalSecondaryIndexes={OWNER: 1.0, GROUP: 3.0}
    )


def test_an_index_is_charged_for_the_change_to_its_entry(aws: Aws, indexed: str) -> None:
    client, table = aws.dynamodb, indexed
    client.put_item(TableName=table, Item=sized("c", 200, owner="o", status="new", grp="g", rank="1"))
    # Not projected but into the ALL index: only that one.
    assert update(client, table, key("c"), other="1") == by_index(table, 1.0, GlobalSecondaryIndexes={GROUP: 1.0})
    # Projected into the INCLUDE index too.
    assert update(client, table, key("c"), note="hello") == by_index(
        table, 1.0, GlobalSecondaryIndexes={STATUS: 1.0, GROUP: 1.0}
    )
    # A new index key: the old entry deleted and the new one put (the ALL index's entry just changes).
    assert update(client, table, key("c"), owner="o2") == by_index(
        table, 1.0, GlobalSecondaryIndexes={OWNER: 2.0, GROUP: 1.0}
    )
    assert update(client, table, key("c"), rank="2") == by_index(
        table, 1.0, GlobalSecondaryIndexes={GROUP: 1.0}, LocalSecondaryIndexes={RANK: 2.0}
    )
    # The index key removed: one delete (and the entry of the ALL index changes).
    assert update(client, table, key("c"), remove=("status",)) == by_index(
        table, 1.0, GlobalSecondaryIndexes={STATUS: 1.0, GROUP: 1.0}
    )
    assert update(client, table, key("c"), remove=("grp",)) == by_index(table, 1.0, GlobalSecondaryIndexes={GROUP: 1.0})
    # Deleting the item deletes it from every index still holding it.
    response = client.delete_item(TableName=table, Key=key("c"), ReturnConsumedCapacity="INDEXES")
    assert consumed(response) == by_index(
        table, 1.0, GlobalSecondaryIndexes={OWNER: 1.0}, LocalSecondaryIndexes={RANK: 1.0}
    )


def test_changing_a_global_index_key_costs_two_writes_in_that_index(aws: Aws, indexed: str) -> None:
    client, table = aws.dynamodb, indexed
    client.put_item(TableName=table, Item=sized("k", 200, owner="o"))
    response = client.update_item(
        TableName=table,
        Key=key("k"),
        UpdateExpression="SET #owner = :owner",
        ExpressionAttributeNames={"#owner": "owner"},
        ExpressionAttributeValues={":owner": {"S": "someone else"}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert consumed(response) == by_index(table, 1.0, GlobalSecondaryIndexes={OWNER: 2.0})


def test_batch_write_item_charges_the_indexes(aws: Aws, indexed: str) -> None:
    client, table = aws.dynamodb, indexed
    response = client.batch_write_item(
        RequestItems={
            table: [
                {"PutRequest": {"Item": sized("b1", 3 * KB, owner="o")}},
                {"PutRequest": {"Item": sized("b2", 100, grp="g")}},
                {"PutRequest": {"Item": sized("b3", 100)}},
            ]
        },
        ReturnConsumedCapacity="INDEXES",
    )
    assert consumed(response) == [by_index(table, 5.0, GlobalSecondaryIndexes={OWNER: 1.0, GROUP: 1.0})]


# --------------------------------------------------------------------------------------------------
# Reads


def test_get_item_costs_a_unit_per_started_4_kb_halved_when_eventually_consistent(aws: Aws) -> None:
    client, table = aws.dynamodb, plain_table(aws)
    client.put_item(TableName=table, Item=sized("g8", 8 * KB))
    client.put_item(TableName=table, Item=sized("g9", 8 * KB + 1))
    for item_key, eventually, strongly in ((key("g8"), 1.0, 2.0), (key("g9"), 1.5, 3.0), (key("missing"), 0.5, 1.0)):
        response = client.get_item(TableName=table, Key=item_key, ReturnConsumedCapacity="TOTAL")
        assert consumed(response) == total(table, eventually)
        response = client.get_item(TableName=table, Key=item_key, ConsistentRead=True, ReturnConsumedCapacity="INDEXES")
        assert consumed(response) == by_index(table, strongly)
    # A projection returns less but reads the whole item.
    response = client.get_item(
        TableName=table, Key=key("g9"), ProjectionExpression="pk", ReturnConsumedCapacity="TOTAL"
    )
    assert response["Item"] == {"pk": {"S": "g9"}}
    assert consumed(response) == total(table, 1.5)


def test_batch_get_item_charges_each_item_as_a_get_item(aws: Aws) -> None:
    client, first, second = aws.dynamodb, plain_table(aws), plain_table(aws)
    client.put_item(TableName=first, Item=sized("small", 1536))
    client.put_item(TableName=first, Item=sized("large", 6656))
    client.put_item(TableName=second, Item=sized("other", 100))
    response = client.batch_get_item(
        RequestItems={
            first: {"Keys": [key("small"), key("large"), key("missing")]},
            second: {"Keys": [key("other")], "ConsistentRead": True},
        },
        ReturnConsumedCapacity="TOTAL",
    )
    # 1.5 KB and 6.5 KB count as 4 KB + 8 KB, not as 8 KB together; the missing key costs the minimum.
    assert consumed(response) == [total(first, 0.5 + 1.0 + 0.5), total(second, 1.0)]
    response = client.batch_get_item(
        RequestItems={first: {"Keys": [key("small"), key("large")], "ConsistentRead": True}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert consumed(response) == [by_index(first, 3.0)]


@pytest.fixture(scope="module")
def thirty_kb(aws: Aws) -> str:
    """A table of ten 3 KB items: five in partition ``p``, five in partitions of their own."""
    table = plain_table(aws)
    items = [sized("p", 3 * KB, sk=f"{n}") for n in range(5)] + [sized(f"q{n}", 3 * KB) for n in range(5)]
    aws.dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}} for item in items]})
    return table


def test_scan_charges_every_item_evaluated(aws: Aws, thirty_kb: str) -> None:
    client, table = aws.dynamodb, thirty_kb
    # 30 KB rounded up to 32 KB: 8 units, 4 when eventually consistent.
    assert consumed(client.scan(TableName=table, ReturnConsumedCapacity="TOTAL")) == total(table, 4.0)
    response = client.scan(TableName=table, ConsistentRead=True, ReturnConsumedCapacity="INDEXES")
    assert consumed(response) == by_index(table, 8.0)
    # A filter, a projection or Select=COUNT returns less but evaluates (and charges) the same items.
    response = client.scan(
        TableName=table,
        FilterExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "q1"}},
        ProjectionExpression="pk",
        ReturnConsumedCapacity="TOTAL",
    )
    assert response["Count"] == 1
    assert consumed(response) == total(table, 4.0)
    assert consumed(client.scan(TableName=table, Select="COUNT", ReturnConsumedCapacity="TOTAL")) == total(table, 4.0)
    # A page charges what it evaluated: 3 items, 9 KB rounded up to 12 KB.
    response = client.scan(TableName=table, Limit=3, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    assert consumed(response) == total(table, 3.0)
    response = client.scan(
        TableName=table, Limit=3, ExclusiveStartKey=response["LastEvaluatedKey"], ReturnConsumedCapacity="TOTAL"
    )
    assert consumed(response) == total(table, 1.5)
    # Each segment charges the items it evaluated, rounded up on its own.
    for segment in range(2):
        response = client.scan(
            TableName=table, Segment=segment, TotalSegments=2, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
        )
        assert consumed(response) == total(table, float(math.ceil(response["ScannedCount"] * 3 * KB / (4 * KB))))


def test_query_charges_the_items_its_key_condition_reads(aws: Aws, thirty_kb: str) -> None:
    client, table = aws.dynamodb, thirty_kb

    def query(condition: str, consistent: bool = False, **values: str) -> Any:
        return client.query(
            TableName=table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues={f":{name}": {"S": value} for name, value in values.items()},
            ConsistentRead=consistent,
            ReturnConsumedCapacity="TOTAL",
        )

    assert consumed(query("pk = :pk", pk="p")) == total(table, 2.0)  # 15 KB: 16 KB, halved
    assert consumed(query("pk = :pk", True, pk="p")) == total(table, 4.0)
    assert consumed(query("pk = :pk AND sk <= :sk", True, pk="p", sk="1")) == total(table, 2.0)  # 6 KB
    assert consumed(query("pk = :pk", pk="nothing")) == total(table, 0.5)  # the minimum
    filtered = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        FilterExpression="sk = :sk",
        ExpressionAttributeValues={":pk": {"S": "p"}, ":sk": {"S": "0"}},
        ReturnConsumedCapacity="TOTAL",
    )
    assert filtered["Count"] == 1
    assert consumed(filtered) == total(table, 2.0)


def test_reads_of_an_index_charge_the_index_by_the_size_of_its_entries(aws: Aws) -> None:
    client = aws.dynamodb
    table = unique("capacity-read-index")
    attributes = ("pk", "sk", "owner", "grp", "rank")
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": attribute, "AttributeType": "S"} for attribute in attributes],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": OWNER,
                "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": GROUP,
                "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": RANK,
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "rank", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    items = [sized("p", 3 * KB, sk=f"{n}", owner="o", grp="g", rank=f"{n}") for n in range(10)]
    client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}} for item in items]})

    def query(index: str, name: str, value: str, consistent: bool = False) -> Any:
        response = client.query(
            TableName=table,
            IndexName=index,
            KeyConditionExpression=f"{name} = :v",
            ExpressionAttributeValues={":v": {"S": value}},
            ConsistentRead=consistent,
            ReturnConsumedCapacity="INDEXES",
        )
        assert response["Count"] == 10
        return consumed(response)

    # KEYS_ONLY entries are a few bytes each: the minimum, however big the items are.
    assert query(OWNER, "owner", "o") == by_index(table, 0.0, GlobalSecondaryIndexes={OWNER: 0.5})
    # ALL entries are the whole 30 KB.
    assert query(GROUP, "grp", "g") == by_index(table, 0.0, GlobalSecondaryIndexes={GROUP: 4.0})
    assert query(RANK, "pk", "p", consistent=True) == by_index(table, 0.0, LocalSecondaryIndexes={RANK: 1.0})
    response = client.scan(TableName=table, IndexName=GROUP, ReturnConsumedCapacity="INDEXES")
    assert consumed(response) == by_index(table, 0.0, GlobalSecondaryIndexes={GROUP: 4.0})
    response = client.scan(TableName=table, IndexName=OWNER, ReturnConsumedCapacity="TOTAL")
    assert consumed(response) == total(table, 0.5)
