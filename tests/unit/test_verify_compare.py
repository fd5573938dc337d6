"""AttributeValue comparison for verify: exact, type-aware, order-free for sets, numeric for N."""

from __future__ import annotations

from typing import Any

import pytest

from migration_core.types import Item
from migration_core.verify import (
    Mismatch,
    canonical_key,
    compare_items,
    describe_mismatch,
    key_from_canonical,
    steps_preserve_keys,
)

EVERY_TYPE: Item = {
    "pk": {"S": "types#1"},
    "sk": {"N": "12345678901234567890123456789012345678"},
    "s": {"S": "héllo ✓ 𝄞"},
    "empty_s": {"S": ""},
    "n38": {"N": "-0.12345678901234567890123456789012345678"},
    "n_small": {"N": "-1E-130"},
    "n_large": {"N": "9.9999999999999999999999999999999999999E+125"},
    "b": {"B": bytes(range(256))},
    "empty_b": {"B": b""},
    "yes": {"BOOL": True},
    "nothing": {"NULL": True},
    "ss": {"SS": ["b", "a", "ünïcode"]},
    "ns": {"NS": ["1", "-2.5", "12345678901234567890123456789012345678"]},
    "bs": {"BS": [b"\x00", b"\xff\xfe", bytes(range(10))]},
    "l": {"L": [{"S": "x"}, {"N": "1.5"}, {"L": []}, {"M": {"k": {"NS": ["3", "4"]}}}, {"BS": [b"\x01"]}]},
    "m": {"M": {"nested": {"M": {"deeper": {"L": [{"B": b"\x01\x02"}, {"NULL": True}]}}}, "empty": {"M": {}}}},
}


def reordered_sets(item: Item) -> Item:
    """The same item as DynamoDB may return it: sets in another order, numbers in normalised form."""
    copy: dict[str, Any] = dict(item)
    copy["ss"] = {"SS": ["ünïcode", "a", "b"]}
    copy["ns"] = {"NS": ["12345678901234567890123456789012345678", "-2.50", "1.0"]}
    copy["bs"] = {"BS": [bytes(range(10)), b"\x00", b"\xff\xfe"]}
    copy["l"] = {"L": [{"S": "x"}, {"N": "1.50"}, {"L": []}, {"M": {"k": {"NS": ["4", "3"]}}}, {"BS": [b"\x01"]}]}
    return copy


def test_equal_items_with_every_type_have_no_difference() -> None:
    assert compare_items(EVERY_TYPE, reordered_sets(EVERY_TYPE)) == []


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ({"N": "1.50"}, {"N": "1.5"}),
        ({"N": "100"}, {"N": "1E+2"}),
        ({"N": "-0"}, {"N": "0"}),
        ({"N": "12345678901234567890123456789012345678"}, {"N": "12345678901234567890123456789012345678"}),
    ],
)
def test_numbers_compare_by_value(expected: dict[str, str], actual: dict[str, str]) -> None:
    assert compare_items({"n": expected}, {"n": actual}) == []


def test_a_number_written_as_a_string_is_a_type_difference() -> None:
    [difference] = compare_items({"n": {"N": "42"}}, {"n": {"S": "42"}})

    assert difference.kind == "type"
    assert difference.describe() == 'n: type N → S: {"N":"42"} → {"S":"42"}'


def test_a_number_that_lost_digits_is_a_difference() -> None:
    full = "12345678901234567890123456789012345678"
    [difference] = compare_items({"n": {"N": full}}, {"n": {"N": "1.2345678901234568E+37"}})

    assert difference.kind == "changed"
    assert difference.to_json()["expected"] == {"N": full}


def test_binary_differs_by_one_byte_and_sets_by_one_element() -> None:
    differences = compare_items(
        {"b": {"B": b"\x00\x01"}, "ss": {"SS": ["a", "b"]}, "bs": {"BS": [b"\x01"]}},
        {"b": {"B": b"\x00\x02"}, "ss": {"SS": ["a"]}, "bs": {"BS": [b"\x01", b"\x02"]}},
    )

    assert [(d.path, d.kind) for d in differences] == [("b", "changed"), ("ss", "changed"), ("bs", "changed")]
    assert differences[0].describe() == 'b: {"B":"AAE="} → {"B":"AAI="}'


def test_nested_differences_name_their_path_and_missing_and_unexpected_attributes_are_told_apart() -> None:
    expected: Item = {
        "m": {"M": {"a": {"L": [{"S": "x"}, {"N": "1"}]}, "gone": {"BOOL": True}}},
        "only_expected": {"S": "e"},
    }
    actual: Item = {
        "m": {"M": {"a": {"L": [{"S": "x"}, {"N": "2"}]}, "new": {"NULL": True}}},
        "only_actual": {"S": "a"},
    }

    differences = compare_items(expected, actual)

    assert [(d.path, d.kind) for d in differences] == [
        ("m.a[1]", "changed"),
        ("m.gone", "missing_attribute"),
        ("m.new", "unexpected_attribute"),
        ("only_expected", "missing_attribute"),
        ("only_actual", "unexpected_attribute"),
    ]
    assert differences[3].describe() == 'only_expected: missing in target (expected {"S":"e"})'
    assert differences[4].describe() == 'only_actual: unexpected in target ({"S":"a"})'


def test_lists_of_other_length_differ_as_a_whole() -> None:
    [difference] = compare_items({"l": {"L": [{"S": "x"}]}}, {"l": {"L": [{"S": "x"}, {"S": "y"}]}})
    assert (difference.path, difference.kind) == ("l", "changed")


def test_volatile_attributes_compare_by_presence_and_type_only() -> None:
    volatile = frozenset({"updatedAt"})
    assert compare_items({"updatedAt": {"S": "2024-01-01"}}, {"updatedAt": {"S": "2025-02-02"}}, volatile) == []
    [wrong_type] = compare_items({"updatedAt": {"S": "2024"}}, {"updatedAt": {"N": "2024"}}, volatile)
    [absent] = compare_items({"updatedAt": {"S": "2024"}}, {}, volatile)
    assert (wrong_type.kind, absent.kind) == ("type", "missing_attribute")


def test_canonical_keys_are_equal_for_keys_dynamodb_considers_equal_and_round_trip() -> None:
    key: Item = {"pk": {"B": b"\x00\xff"}, "sk": {"N": "1.50"}}

    assert canonical_key(key) == canonical_key({"pk": {"B": b"\x00\xff"}, "sk": {"N": "15E-1"}})
    assert canonical_key(key) != canonical_key({"pk": {"B": b"\x00\xff"}, "sk": {"N": "1.51"}})
    assert key_from_canonical(canonical_key(key)) == {"pk": {"B": b"\x00\xff"}, "sk": {"N": "1.5"}}


def test_a_mismatch_renders_key_note_and_differences_with_long_values_shortened() -> None:
    mismatch = Mismatch(
        "different",
        {"pk": {"S": "a"}},
        {"pk": {"S": "a"}},
        tuple(compare_items({"big": {"S": "x" * 5000}}, {"big": {"S": "y" * 5000}})),
        note="a note",
    )

    entry = mismatch.to_json()
    lines = describe_mismatch(entry)

    assert lines[0] == 'different {"pk":{"S":"a"}}'
    assert lines[1] == "  a note"
    assert lines[2].startswith('  big: {"S":"xxx')
    assert "…" in lines[2]
    assert len(lines[2]) < 400
    assert entry["differences"][0]["expected"] is None, "values too large for the JSON form are left out"


@pytest.mark.parametrize(
    ("steps", "preserves"),
    [
        ([], True),
        ([{"op": "set", "attribute": "status", "value": {"S": "x"}}, {"op": "remove", "attribute": "tmp"}], True),
        ([{"op": "derive", "attribute": "pk", "template": "{tenant}#{id}"}], False),
        ([{"op": "rename", "attribute": "old", "to": "sk"}], False),
        ([{"op": "rename", "attribute": "pk", "to": "legacy"}], False),
    ],
)
def test_steps_preserve_keys_unless_a_step_writes_a_key_attribute(steps: list[dict[str, Any]], preserves: bool) -> None:
    assert steps_preserve_keys(steps, ["pk", "sk"]) is preserves
