"""The size fast paths added for speed (case c found them) agree with DynamoDB's rules as first written.

The oracle is the original Decimal-based algorithm, kept here independently of the code under test.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.datagen import generate_items
from migration_core.attribute_values import (
    attribute_value_size,
    item_from_json,
    item_size,
    item_to_json,
    number_size,
)


def oracle_number_size(text: str) -> int | None:
    """None when DynamoDB refuses the number."""
    if not re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", text):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    if len(digits) > 38:
        return None
    if digits and not -130 <= number.adjusted() <= 125:
        return None
    return (max(len(digits), 1) + 1) // 2 + 1


number_texts = st.one_of(
    st.from_regex(r"[+-]?[0-9]{0,45}(\.[0-9]{0,45})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
    st.from_regex(r"[+-]?0{0,5}[1-9][0-9]{0,40}(\.[0-9]{0,10}0{0,5})?[eE][+-]?1[23][0-9]", fullmatch=True),
    st.text(max_size=8),
)


@settings(max_examples=600)
@given(number_texts)
def test_number_size_matches_the_decimal_algorithm(text: str) -> None:
    expected = oracle_number_size(text)
    if expected is None:
        with pytest.raises(ValueError, match=r"number|digits"):
            number_size(text)
    else:
        assert number_size(text) == expected


@pytest.mark.parametrize(
    "text", ["1E-130", "1E-131", "9.9999999999999999999999999999999999999E+125", "1E+126", "0.0001E-126", "0000", ".5"]
)
def test_number_size_at_the_edges(text: str) -> None:
    expected = oracle_number_size(text)
    if expected is None:
        with pytest.raises(ValueError, match=r"number|digits"):
            number_size(text)
    else:
        assert number_size(text) == expected


def checked_item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_value_size(value, name) for name, value in item.items())


def test_item_size_matches_the_checked_path_on_every_type() -> None:
    for item in generate_items(300, payload_bytes=50):
        assert item_size(item) == checked_item_size(item)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"a": {"S": 5}}, "a: S must be str"),
        ({"a": {"M": {"b": {"L": [{"N": "x"}]}}}}, r"a\.b\[0\]: 'x' is not a DynamoDB number"),
        ({"a": {"SS": ["x", "x"]}}, "a: SS contains duplicates"),
        ({"a": {"NS": ["1", "1.0"]}}, "a: NS contains duplicates"),
        ({"a": {"BS": []}}, "must not be empty"),
        ({"a": {"NULL": False}}, "NULL must be true"),
        ({"a": {"X": 1}}, "unknown AttributeValue type"),
        ({"a": {"S": "x", "N": "1"}}, "exactly one type key"),
    ],
)
def test_invalid_items_still_name_the_bad_attribute(item: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        item_size(item)


def test_item_from_json_validates_nested_values_once_and_names_the_path() -> None:
    for item in generate_items(50):
        assert item_from_json(item_to_json(item)) == item
    with pytest.raises(ValueError, match=r"m\.deep\[1\]: 'NaN' is not a DynamoDB number"):
        item_from_json({"m": {"M": {"deep": {"L": [{"S": "ok"}, {"N": "NaN"}]}}}})
