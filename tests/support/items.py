"""Items that exercise every DynamoDB type: what must survive any path byte for byte."""

from __future__ import annotations

from migration_core.types import Item

# 38 significant digits, DynamoDB's most.
FULL = "12345678901234567890123456789012345678"


def every_type(pk: str) -> Item:
    return {
        "pk": {"S": pk},
        "sk": {"N": FULL},
        "s": {"S": "héllo ✓"},
        "n": {"N": "-0.12345678901234567890123456789012345678"},
        "b": {"B": bytes(range(256))},
        "bool": {"BOOL": False},
        "null": {"NULL": True},
        "ss": {"SS": ["b", "a", "c"]},
        "ns": {"NS": ["1", FULL, "-2.5"]},
        "bs": {"BS": [b"\x00", b"\xff"]},
        "l": {"L": [{"N": "1.50"}, {"M": {"k": {"SS": ["x", "y"]}}}]},
        "m": {"M": {"deep": {"L": [{"B": b"\x01"}, {"NULL": True}]}}},
    }
