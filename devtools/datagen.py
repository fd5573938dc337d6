"""Deterministic generator of realistic, mixed-type DynamoDB items for the demo, tests and benchmarks.

Items use every AttributeValue type, including the values that lossy tools break: 38-digit numbers,
tiny and negative exponents, binary with every byte value, sets of each kind and nested maps/lists.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

Item = dict[str, dict[str, Any]]

EXTREME_NUMBERS = (
    "12345678901234567890123456789012345678",
    "-12345678901234567890123456789012345678",
    "9.9999999999999999999999999999999999999E+125",
    "1E-130",
    "-0.000000000000000000000000000000000001",
    "0",
)
TENANTS = ("acme", "globex", "initech", "umbrella", "hooli", "stark")


def _number(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return rng.choice(EXTREME_NUMBERS)
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 38))).lstrip("0") or "0"
    if rng.random() < 0.3 and len(digits) > 1:
        cut = rng.randint(1, len(digits) - 1)
        digits = f"{digits[:cut]}.{digits[cut:]}".rstrip("0").rstrip(".")
    return f"-{digits}" if rng.random() < 0.2 and digits != "0" else digits


def _binary(rng: random.Random, size: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(size))


def _nested(rng: random.Random, depth: int) -> dict[str, Any]:
    if depth <= 0:
        return {"S": f"leaf-{rng.randrange(10_000)}"}
    return {
        "M": {
            "name": {"S": f"node-{depth}"},
            "weight": {"N": _number(rng)},
            "flags": {"L": [{"BOOL": rng.random() < 0.5}, {"NULL": True}, {"B": _binary(rng, 4)}]},
            "child": _nested(rng, depth - 1),
        }
    }


def generate_item(index: int, seed: int = 7, payload_bytes: int = 200) -> Item:
    """One item keyed (pk = ``tenant#id``, sk = number) whose content depends only on (index, seed)."""
    rng = random.Random(seed * 1_000_003 + index)
    tenant = TENANTS[index % len(TENANTS)]
    item: Item = {
        "pk": {"S": f"{tenant}#{index:08d}"},
        "sk": {"N": str(index % 7)},
        "tenant": {"S": tenant},
        "id": {"N": str(index)},
        "amount": {"N": _number(rng)},
        "active": {"BOOL": rng.random() < 0.7},
        "nothing": {"NULL": True},
        "blob": {"B": _binary(rng, rng.randint(1, 32))},
        "tags": {"SS": sorted({f"tag{rng.randrange(50)}" for _ in range(rng.randint(1, 4))})},
        "scores": {"NS": sorted({_number(rng) for _ in range(rng.randint(1, 4))})},
        "chunks": {"BS": [_binary(rng, 3) + bytes([i]) for i in range(rng.randint(1, 3))]},
        "profile": _nested(rng, rng.randint(1, 3)),
        "history": {"L": [{"N": _number(rng)} for _ in range(rng.randint(0, 4))]},
    }
    if payload_bytes > 0:
        size = max(1, int(rng.gauss(payload_bytes, payload_bytes / 4)))
        item["payload"] = {"S": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(size))}
    return item


def generate_items(count: int, seed: int = 7, start: int = 0, payload_bytes: int = 200) -> Iterator[Item]:
    for index in range(start, start + count):
        yield generate_item(index, seed=seed, payload_bytes=payload_bytes)
