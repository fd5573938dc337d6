"""Keys and the checks a transformed item must pass before it may be written to the target table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migration_core.attribute_values import MAX_ITEM_SIZE_BYTES, attribute_value_size, format_key, item_size
from migration_core.errors import InvalidItemError
from migration_core.types import AttributeValue, Item

__all__ = [
    "MAX_ITEM_SIZE_BYTES",
    "InvalidItemError",
    "KeySchema",
    "item_size",
    "key_of",
    "key_schema_from_description",
    "validate_target_item",
]

# Key attribute name -> scalar type ("S", "N" or "B"); the partition key comes first.
KeySchema = Mapping[str, str]

MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024


def key_schema_from_description(table: Mapping[str, Any]) -> dict[str, str]:
    """Build a key schema from DescribeTable's ``Table`` (KeySchema plus AttributeDefinitions)."""
    types = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
    elements = sorted(table["KeySchema"], key=lambda element: element["KeyType"] != "HASH")
    return {element["AttributeName"]: types[element["AttributeName"]] for element in elements}


def key_of(item: Mapping[str, AttributeValue], key_schema: KeySchema) -> Item:
    """The key attributes of an item, in key schema order."""
    missing = [name for name in key_schema if name not in item]
    if missing:
        raise InvalidItemError(f"item has no key attribute(s) {', '.join(map(repr, missing))}")
    return {name: item[name] for name in key_schema}


def validate_target_item(
    item: Mapping[str, AttributeValue],
    key_schema: KeySchema,
    *,
    source_key: Mapping[str, AttributeValue] | None = None,
) -> None:
    """Refuse an item DynamoDB would reject, naming the source item it came from when ``source_key`` is given.

    Checking before writing keeps a whole page from being half written when one of its items is bad.
    """
    where = "transformed item" if source_key is None else f"item transformed from source key {format_key(source_key)}"
    if not isinstance(item, Mapping):
        raise InvalidItemError(f"{where}: expected an item (object of AttributeValues), got {type(item).__name__}")
    try:
        size = item_size(item)
    except (ValueError, AttributeError, TypeError) as exc:
        raise InvalidItemError(f"{where}: malformed AttributeValue: {exc}") from exc
    for position, (name, expected_type) in enumerate(key_schema.items()):
        value = item.get(name)
        if value is None:
            raise InvalidItemError(f"{where}: missing key attribute {name!r} ({expected_type}) of the target table")
        ((actual_type, payload),) = value.items()
        if actual_type != expected_type:
            raise InvalidItemError(
                f"{where}: key attribute {name!r} must be of type {expected_type}, got {actual_type}"
            )
        if actual_type in ("S", "B") and not payload:
            raise InvalidItemError(f"{where}: key attribute {name!r} must not be empty")
        limit = MAX_PARTITION_KEY_BYTES if position == 0 else MAX_SORT_KEY_BYTES
        if attribute_value_size(value, name) > limit:
            raise InvalidItemError(f"{where}: key attribute {name!r} is longer than DynamoDB's {limit} bytes")
    if size > MAX_ITEM_SIZE_BYTES:
        raise InvalidItemError(
            f"{where}: item is about {size:,} bytes, over DynamoDB's 400 KB limit ({MAX_ITEM_SIZE_BYTES:,} bytes)"
        )
