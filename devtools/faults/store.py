"""In-memory item storage for the model's data tables, in DynamoDB's wire JSON.

Why not moto for the items: moto 5.2 spends about 1 ms of CPU per item it stores (``DynamoType`` recomputes
sizes on every attribute) and about 3.5 ms per item it returns from a Scan (its generic response serializer).
A model server that slow is the bottleneck of every run, and a benchmark would measure moto instead of the
client. Here an item is the dict parsed from the request, stored as is and serialized back with ``json``:
about a microsecond per item each way. Tables, their key schema and the control plane stay in moto; only the
items of tables created under a ``memory_tables`` name live here.

Supported, with DynamoDB's validation where a migration depends on it (key attributes present, of the declared
type and non-empty; items up to 400 KB; at most 25 requests and no duplicate keys per BatchWriteItem):
PutItem, GetItem, DeleteItem (no condition expressions), BatchWriteItem, and Scan (``Segment`` /
``TotalSegments``, ``ExclusiveStartKey``, ``Limit``, 1 MB pages, ``Select=COUNT``, a top-level
``ProjectionExpression``). Anything else on such a table is a ``ValidationException`` naming the limitation,
never a silently different answer.

Scan order is by a hash of the partition key, and segment ``s`` of ``n`` holds the items whose 32-bit hash
``h`` satisfies ``h * n >> 32 == s``; like DynamoDB, every segment is a contiguous range of the scan order.
"""

from __future__ import annotations

import bisect
import json
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from migration_core.attribute_values import MAX_ITEM_SIZE_BYTES

MAX_BATCH_WRITE = 25
# DynamoDB stops a Scan page after 1 MB of data read.
SCAN_PAGE_BYTES = 1024 * 1024
_HASH_SPACE_BITS = 32

WireItem = dict[str, Any]


class DynamoDBError(Exception):
    """An error answer: HTTP status, DynamoDB error code (without namespace) and message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def validation_error(message: str) -> DynamoDBError:
    return DynamoDBError("ValidationException", message)


@dataclass
class _Table:
    name: str
    # (attribute, scalar type) with the partition key first.
    key_schema: tuple[tuple[str, str], ...]
    items: dict[str, WireItem] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    # Scan order as (hash, key id), rebuilt lazily after a write that adds or removes a key.
    order: list[tuple[int, str]] | None = None

    @property
    def size_bytes(self) -> int:
        return sum(self.sizes.values())


@dataclass(frozen=True)
class ScanPage:
    items: list[WireItem]
    last_evaluated_key: WireItem | None
    scanned_bytes: int


class ItemStore:
    """Tables of wire-JSON items; every method is atomic (one lock for the store)."""

    def __init__(self) -> None:
        self._tables: dict[str, _Table] = {}
        self._lock = threading.Lock()

    def create_table(self, name: str, key_schema: Sequence[tuple[str, str]]) -> None:
        with self._lock:
            self._tables[name] = _Table(name, tuple(key_schema))

    def drop_table(self, name: str) -> None:
        with self._lock:
            self._tables.pop(name, None)

    def has_table(self, name: str) -> bool:
        with self._lock:
            return name in self._tables

    def table_summary(self, name: str) -> tuple[int, int]:
        """(item count, size in bytes) of a table."""
        with self._lock:
            table = self._table(name)
            return len(table.items), table.size_bytes

    def compare(self, source: str, target: str) -> dict[str, Any]:
        """How ``target`` differs from ``source``, item by item (exact wire JSON): for checking a copy."""
        with self._lock:
            left, right = self._table(source), self._table(target)
            missing = [key_id for key_id in left.items if key_id not in right.items]
            different = [
                key_id for key_id, item in left.items.items() if key_id in right.items and right.items[key_id] != item
            ]
            extra = sum(1 for key_id in right.items if key_id not in left.items)
            return {
                "source_items": len(left.items),
                "target_items": len(right.items),
                "missing": len(missing),
                "different": len(different),
                "extra": extra,
                "sample_missing": missing[:3],
                "sample_different": different[:3],
            }

    # -- writes --------------------------------------------------------------------------------------------

    def put(self, table_name: str, item: WireItem, size: int) -> WireItem | None:
        """Store ``item`` (``size`` = its DynamoDB size); returns the item it replaced."""
        with self._lock:
            table = self._table(table_name)
            key_id = self._checked_key_id(table, item, size)
            return self._put(table, key_id, item, size)

    def delete(self, table_name: str, key: WireItem) -> WireItem | None:
        with self._lock:
            table = self._table(table_name)
            return self._delete(table, self._key_id(table, key, exact=True))

    def batch_write(self, table_name: str, entries: Sequence[tuple[Mapping[str, Any], int]]) -> None:
        """Apply ``(PutRequest | DeleteRequest, size)`` entries, all or nothing: any invalid entry refuses all."""
        if len(entries) > MAX_BATCH_WRITE:
            raise validation_error(
                f"1 validation error detected: Value at 'requestItems' failed to satisfy constraint: "
                f"Map value must satisfy constraint: [Member must have length less than or equal to {MAX_BATCH_WRITE}]"
            )
        with self._lock:
            table = self._table(table_name)
            planned: list[tuple[str, WireItem | None, int]] = []
            seen: set[str] = set()
            for entry, size in entries:
                if "PutRequest" in entry:
                    item = entry["PutRequest"]["Item"]
                    key_id = self._checked_key_id(table, item, size)
                    planned.append((key_id, item, size))
                else:
                    key_id = self._key_id(table, entry["DeleteRequest"]["Key"], exact=True)
                    planned.append((key_id, None, 0))
                if key_id in seen:
                    raise validation_error("Provided list of item keys contains duplicates")
                seen.add(key_id)
            for key_id, item, size in planned:
                if item is None:
                    self._delete(table, key_id)
                else:
                    self._put(table, key_id, item, size)

    # -- reads ---------------------------------------------------------------------------------------------

    def get(self, table_name: str, key: WireItem) -> WireItem | None:
        with self._lock:
            table = self._table(table_name)
            return table.items.get(self._key_id(table, key, exact=True))

    def scan(
        self,
        table_name: str,
        *,
        segment: int = 0,
        total_segments: int = 1,
        exclusive_start_key: WireItem | None = None,
        limit: int | None = None,
    ) -> ScanPage:
        if not 0 <= segment < total_segments:
            raise validation_error(f"Segment {segment} must be less than TotalSegments {total_segments}")
        with self._lock:
            table = self._table(table_name)
            order = self._order(table)
            end = bisect.bisect_left(order, (_segment_floor(segment + 1, total_segments), ""))
            if exclusive_start_key is None:
                position = bisect.bisect_left(order, (_segment_floor(segment, total_segments), ""))
            else:
                start_id = self._key_id(table, exclusive_start_key, exact=True)
                position = bisect.bisect_right(order, (_key_hash(table, exclusive_start_key), start_id))
            items: list[WireItem] = []
            scanned = 0
            while position < end and (limit is None or len(items) < limit):
                key_id = order[position][1]
                size = table.sizes[key_id]
                if items and scanned + size > SCAN_PAGE_BYTES:
                    break
                items.append(table.items[key_id])
                scanned += size
                position += 1
            last_key = None
            if position < end and items:
                last_key = {name: items[-1][name] for name, _ in table.key_schema}
            return ScanPage(items, last_key, scanned)

    # -- internals (lock held) -----------------------------------------------------------------------------

    def _table(self, name: str) -> _Table:
        table = self._tables.get(name)
        if table is None:
            raise DynamoDBError("ResourceNotFoundException", "Requested resource not found")
        return table

    def _put(self, table: _Table, key_id: str, item: WireItem, size: int) -> WireItem | None:
        previous = table.items.get(key_id)
        table.items[key_id] = item
        table.sizes[key_id] = size
        if previous is None:
            table.order = None
        return previous

    def _delete(self, table: _Table, key_id: str) -> WireItem | None:
        previous = table.items.pop(key_id, None)
        if previous is not None:
            del table.sizes[key_id]
            table.order = None
        return previous

    def _order(self, table: _Table) -> list[tuple[int, str]]:
        if table.order is None:
            table.order = sorted((_key_hash(table, item), key_id) for key_id, item in table.items.items())
        return table.order

    def _checked_key_id(self, table: _Table, item: WireItem, size: int) -> str:
        if size > MAX_ITEM_SIZE_BYTES:
            raise validation_error("Item size has exceeded the maximum allowed size")
        return self._key_id(table, item, exact=False)

    @staticmethod
    def _key_id(table: _Table, attributes: Mapping[str, Any], *, exact: bool) -> str:
        """Canonical text of the key attributes; ``exact`` demands that nothing else is there (a Key)."""
        parts = []
        for name, expected in table.key_schema:
            value = attributes.get(name)
            if not isinstance(value, Mapping) or len(value) != 1:
                raise validation_error(
                    "One or more parameter values were invalid: "
                    + (f"Missing the key {name} in the item" if value is None else f"Invalid key attribute {name}")
                )
            ((actual, payload),) = value.items()
            if actual != expected:
                raise validation_error(
                    f"One or more parameter values were invalid: Type mismatch for key {name} "
                    f"expected: {expected} actual: {actual}"
                )
            if actual in ("S", "B") and not payload:
                raise validation_error(
                    "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                    f"contain an empty {'string' if actual == 'S' else 'binary'} value. Key: {name}"
                )
            parts.append(_canonical_number(payload) if actual == "N" else payload)
        if exact and len(attributes) != len(table.key_schema):
            raise validation_error("The provided key element does not match the schema")
        return json.dumps(parts, separators=(",", ":"))


def _key_hash(table: _Table, attributes: Mapping[str, Any]) -> int:
    name, kind = table.key_schema[0]
    payload = attributes[name][kind]
    text = _canonical_number(payload) if kind == "N" else payload
    return zlib.crc32(text.encode())


def _segment_floor(segment: int, total_segments: int) -> int:
    """Smallest hash of ``segment``: items with ``hash * total >> 32 == segment``."""
    return -(-(segment << _HASH_SPACE_BITS) // total_segments)


def _canonical_number(text: str) -> str:
    # 1, 1.0 and 10E-1 are one DynamoDB number, so they must be one key.
    try:
        return str(Decimal(text).normalize())
    except InvalidOperation:
        raise validation_error(f"The parameter cannot be converted to a numeric value: {text}") from None
