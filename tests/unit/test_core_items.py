"""AttributeValue helpers, item size by DynamoDB's rules, keys and target-item validation."""

from __future__ import annotations

import pytest

from migration_core.attribute_values import (
    MAX_ITEM_SIZE_BYTES,
    copy_item,
    dumps_item,
    format_key,
    item_from_json,
    item_size,
    item_to_json,
    loads_item,
    number_size,
)
from migration_core.errors import InvalidItemError
from migration_core.items import key_of, key_schema_from_description, validate_target_item
from migration_core.types import Item

EVERY_TYPE: Item = {
    "pk": {"S": "user#1"},
    "n": {"N": "12345678901234567890123456789012345678"},
    "tiny": {"N": "-1E-130"},
    "b": {"B": b"\x00\xff\x10"},
    "t": {"BOOL": True},
    "nothing": {"NULL": True},
    "ss": {"SS": ["b", "a"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "l": {"L": [{"S": "x"}, {"M": {"deep": {"BS": [b"\xfe"]}}}]},
    "m": {"M": {"inner": {"L": []}, "empty": {"M": {}}}},
}


def test_json_round_trip_keeps_every_type_and_encodes_binary_as_base64() -> None:
    encoded = item_to_json(EVERY_TYPE)

    assert encoded["b"] == {"B": "AP8Q"}
    assert encoded["bs"] == {"BS": ["AQ==", "Ag=="]}
    assert encoded["l"]["L"][1] == {"M": {"deep": {"BS": ["/g=="]}}}
    assert item_from_json(encoded) == EVERY_TYPE
    assert loads_item(dumps_item(EVERY_TYPE)) == EVERY_TYPE


def test_format_key_is_compact_json() -> None:
    assert format_key({"pk": {"S": "a"}, "sk": {"B": b"\x01"}}) == '{"pk":{"S":"a"},"sk":{"B":"AQ=="}}'


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"a": {"S": "x", "N": "1"}}, "exactly one type key"),
        ({"a": {"X": "1"}}, "unknown AttributeValue type 'X'"),
        ({"a": {"B": "not base64!"}}, "not valid base64"),
        ({"a": {"N": 5}}, "N must be str"),
        ({"a": {"SS": []}}, "must not be empty"),
        ({"a": {"SS": ["x", "x"]}}, "contains duplicates"),
        ({"a": {"NS": ["1", "1.0"]}}, "contains duplicates"),
        ({"a": {"NULL": False}}, "NULL must be true"),
        ({"a": {"L": [{"S": "ok"}, {"N": "abc"}]}}, r"a\[1\]: 'abc' is not a DynamoDB number"),
    ],
)
def test_item_from_json_rejects_malformed_values(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        item_from_json(data)


def test_copy_item_is_independent_of_the_original() -> None:
    copied = copy_item(EVERY_TYPE)
    copied["m"]["M"]["inner"]["L"].append({"S": "new"})
    copied["ss"]["SS"].append("c")

    assert EVERY_TYPE["m"]["M"]["inner"] == {"L": []}
    assert EVERY_TYPE["ss"] == {"SS": ["b", "a"]}


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 2),
        ("7", 2),
        ("12", 2),
        ("123", 3),
        ("1000000", 2),  # trailing zeros are trimmed: one significant digit
        ("0.001", 2),
        ("12345678901234567890123456789012345678", 20),
        ("-1E-130", 2),
        ("9.9999999999999999999999999999999999999E+125", 20),
    ],
)
def test_number_size_follows_dynamodb_approximation(text: str, size: int) -> None:
    assert number_size(text) == size


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("123456789012345678901234567890123456789", "more than 38 significant digits"),
        ("1E+126", "outside DynamoDB's number range"),
        ("1E-131", "outside DynamoDB's number range"),
        ("NaN", "not a DynamoDB number"),
        ("1_000", "not a DynamoDB number"),
        (" 1", "not a DynamoDB number"),
    ],
)
def test_number_size_rejects_numbers_dynamodb_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        number_size(text)


def test_item_size_counts_names_values_and_container_overhead() -> None:
    assert item_size({"ab": {"S": "héllo"}}) == 2 + 6
    assert item_size({"b": {"B": b"1234"}, "t": {"BOOL": False}, "z": {"NULL": True}}) == (1 + 4) + (1 + 1) + (1 + 1)
    assert item_size({"s": {"SS": ["ab", "c"]}, "n": {"NS": ["1", "123"]}}) == (1 + 3) + (1 + 2 + 3)
    # A List or Map: 3 bytes, plus 1 per element, plus (for a Map) each entry's name.
    assert item_size({"l": {"L": [{"S": "x"}, {"BOOL": True}]}}) == 1 + 3 + (1 + 1) + (1 + 1)
    assert item_size({"m": {"M": {"key": {"S": "v"}}}}) == 1 + 3 + (1 + 3 + 1)
    assert item_size({"e": {"M": {}}}) == 1 + 3


def test_key_schema_puts_the_partition_key_first() -> None:
    description = {
        "KeySchema": [{"AttributeName": "sk", "KeyType": "RANGE"}, {"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "gsi", "AttributeType": "S"},
        ],
    }
    assert list(key_schema_from_description(description).items()) == [("pk", "S"), ("sk", "N")]


def test_key_of_returns_key_attributes_and_names_missing_ones() -> None:
    item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}}
    assert key_of(item, {"pk": "S", "sk": "N"}) == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    with pytest.raises(InvalidItemError, match="'sk'"):
        key_of({"pk": {"S": "a"}}, {"pk": "S", "sk": "N"})


SOURCE_KEY: Item = {"id": {"S": "source-1"}}
SCHEMA = {"pk": "S", "sk": "N"}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"pk": {"S": "a"}}, "missing key attribute 'sk' \\(N\\)"),
        ({"pk": {"S": "a"}, "sk": {"S": "1"}}, "'sk' must be of type N, got S"),
        ({"pk": {"S": ""}, "sk": {"N": "1"}}, "'pk' must not be empty"),
        ({"pk": {"S": "x" * 2049}, "sk": {"N": "1"}}, "longer than DynamoDB's 2048 bytes"),
        ({"pk": {"S": "a"}, "sk": {"N": "1"}, "bad": {"N": "one"}}, "malformed AttributeValue"),
        ({"pk": {"S": "a"}, "sk": {"N": "1"}, "big": {"S": "x" * MAX_ITEM_SIZE_BYTES}}, "over DynamoDB's 400 KB"),
    ],
)
def test_validate_target_item_names_the_source_key(item: Item, message: str) -> None:
    with pytest.raises(InvalidItemError, match=message) as raised:
        validate_target_item(item, SCHEMA, source_key=SOURCE_KEY)
    assert '{"id":{"S":"source-1"}}' in str(raised.value)


def test_validate_target_item_accepts_an_item_of_exactly_400_kb() -> None:
    base: Item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "big": {"S": ""}}
    base["big"]["S"] = "x" * (MAX_ITEM_SIZE_BYTES - item_size(base))
    assert item_size(base) == MAX_ITEM_SIZE_BYTES

    validate_target_item(base, SCHEMA, source_key=SOURCE_KEY)

    base["big"]["S"] += "x"
    with pytest.raises(InvalidItemError):
        validate_target_item(base, SCHEMA, source_key=SOURCE_KEY)


def test_validate_target_item_without_source_key_still_explains() -> None:
    with pytest.raises(InvalidItemError, match="transformed item: missing key attribute 'pk'"):
        validate_target_item({"sk": {"N": "1"}}, SCHEMA)
