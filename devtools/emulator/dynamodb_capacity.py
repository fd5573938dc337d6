"""ConsumedCapacity as DynamoDB reports it, where moto answers a constant.

moto reports 1.0 for any write, Query or Scan (a BatchWriteItem of ten 3 KB items: 1.0, on DynamoDB 30), 0.5 for
any GetItem, one unit per key for BatchGetItem, and ignores item sizes, read consistency and secondary indexes.
The capacity budget of our workers is measured from these figures, so the emulator computes them as DynamoDB does
for PutItem, UpdateItem, DeleteItem, GetItem, Query, Scan, BatchGetItem, BatchWriteItem and TransactWriteItems.

Sizes (developer guide, "DynamoDB item sizes and formats"): an item is the sum of its attribute names' UTF-8
bytes and its values' sizes; strings count their UTF-8 bytes, binary its raw bytes, a number about one byte per
two significant digits plus one, NULL and BOOL one byte, a List or Map 3 bytes plus one byte and the size of each
element, a set the sum of its elements. :func:`devtools.faults.capacity.wire_item_size` measures by exactly
these rules (through ``migration_core.attribute_values.item_size``) and is what is used here.

Units (developer guide, "DynamoDB read and write operations", capacity unit consumption):

- Writes: one unit per started KB of the item, at least one. PutItem replacing an item and UpdateItem count the
  larger of the item before and after; DeleteItem the deleted item (a missing one still costs one unit).
  BatchWriteItem sums its puts and deletes per table. A transactional write (TransactWriteItems) costs twice
  the units of the same write, and a ConditionCheck twice a write of the checked item.
- Secondary indexes (developer guide, "Global secondary indexes", write activity; the same for local ones): an
  index is charged for the change to the entry it stores, one unit per started KB of the entry (its key
  attributes, the table's keys and the projected attributes). Putting an item into the index, or taking it out,
  is one write; changing the index key is two (the old entry deleted, the new one put); changing projected
  attributes only is one; a write that leaves the entry as it was, or an item without the index's key
  attributes, costs the index nothing.
- Reads: GetItem and each key of BatchGetItem cost one unit per started 4 KB of the item, half when eventually
  consistent (the default); a missing item costs the minimum (1, or 0.5). Query and Scan add up the sizes of
  every item they evaluate (before the filter expression, whatever the projection expression), round the sum
  up to 4 KB, and halve it when eventually consistent, with the same minimum; on an index they read, and
  charge, the index's entries.

Response (API reference, "ConsumedCapacity" and ``ReturnConsumedCapacity``): NONE (the default) returns no
ConsumedCapacity; TOTAL returns TableName (as the request named the table) and CapacityUnits, the table's and
its indexes' units together; INDEXES adds ``Table.CapacityUnits`` and ``GlobalSecondaryIndexes`` /
``LocalSecondaryIndexes`` with each charged index's CapacityUnits (a Query or Scan of an index reports the table
at 0.0). ReadCapacityUnits / WriteCapacityUnits appear only in transactional responses, as on DynamoDB.

Not modelled: fetching the table's attributes from a local secondary index query that asks for unprojected
attributes (moto does not fetch them either), and items that a legacy ScanFilter or QueryFilter rejects, which
moto drops before the point where their sizes are taken here.

Mechanics: each metered ``DynamoHandler`` action runs with a meter in a thread-local; moto's table operations
(``Table.put_item``, ``delete_item``, ``get_item``, ``query``, ``scan`` and ``DynamoDBBackend.update_item``)
report to it what they stored, deleted or read, and the action's result then gets the figures. Every action is
metered, asked for ConsumedCapacity or not, because its units also go to the per-table CloudWatch metrics
(:mod:`.dynamodb_metrics`). Applied by
:mod:`.dynamodb_fidelity` (so with the emulator's other patches, before the DynamoDB speed-ups, whose table
locks then also cover the reading of the item before a write).
"""

from __future__ import annotations

import base64
import functools
import inspect
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from moto.core.responses import ActionResult
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

from devtools.faults.capacity import read_units, wire_item_size, write_units

from . import dynamodb_metrics

REPORTED_MODES = ("TOTAL", "INDEXES")
GLOBAL = "GlobalSecondaryIndexes"
LOCAL = "LocalSecondaryIndexes"
TRANSACTION_FACTOR = 2

Wire = dict[str, Any]
"""An item as DynamoDB's wire JSON (binary as base64 text)."""


class Patches(Protocol):
    """What :class:`.moto_patches.AppliedPatches` offers (kept apart to avoid an import cycle)."""

    def apply(self, owner: Any, name: str, value: Any) -> None: ...


# --------------------------------------------------------------------------------------------------
# Sizes


def _b64(content: Any) -> Any:
    return base64.b64encode(content).decode("ascii") if isinstance(content, bytes | bytearray) else content


def wire_value(value: Any) -> dict[str, Any]:
    """One stored value (moto's ``DynamoType``, or the plain dictionary moto sometimes nests) as wire JSON."""
    if type(value) is not DynamoType:
        value = DynamoType(value)
    kind, content = value.type, value.value
    if kind == "M":
        return {"M": {name: wire_value(member) for name, member in content.items()}}
    if kind == "L":
        return {"L": [wire_value(element) for element in content]}
    if kind == "B":
        return {"B": _b64(content)}
    if kind == "BS":
        return {"BS": [_b64(element) for element in content]}
    if kind in ("SS", "NS"):
        return {kind: list(content)}
    return {kind: content}


def wire_item(item: Item) -> Wire:
    return {name: wire_value(value) for name, value in item.attrs.items()}


def size_of(item: Mapping[str, Any] | None) -> int:
    """DynamoDB's size of a wire item (0 for none); a value DynamoDB would refuse is measured roughly, not refused."""
    if not item:
        return 0
    try:
        return wire_item_size(item)
    except (ValueError, TypeError):
        return sum(_rough_attribute_size(name, value) for name, value in item.items())


def _rough_attribute_size(name: str, value: Any) -> int:
    try:
        return wire_item_size({name: value})
    except (ValueError, TypeError):
        return len(name.encode()) + len(json.dumps(value, default=str).encode())


def _comparable(value: Any) -> Any:
    """A wire value with set members in a fixed order: a set rewritten in another order is the same set."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((kind, content),) = value.items()
            if kind in ("SS", "NS", "BS") and isinstance(content, list):
                return {kind: sorted(map(str, content))}
        return {name: _comparable(member) for name, member in value.items()}
    if isinstance(value, list):
        return [_comparable(element) for element in value]
    return value


# --------------------------------------------------------------------------------------------------
# Secondary indexes


@dataclass(frozen=True)
class Index:
    """A secondary index as far as capacity goes: its key attributes and which attributes its entries hold."""

    name: str
    kind: str  # GLOBAL or LOCAL
    keys: tuple[str, ...]
    projected: frozenset[str] | None  # None: every attribute (ProjectionType ALL)

    def entry(self, item: Wire | None) -> Wire | None:
        """What the index stores for ``item``: None when the item lacks one of the index's key attributes."""
        if item is None or any(key not in item for key in self.keys):
            return None
        if self.projected is None:
            return item
        return {name: value for name, value in item.items() if name in self.projected}

    def units_to_change(self, before: Wire | None, after: Wire | None) -> int:
        """Units of changing this index's entry for an item from ``before`` to ``after`` (either None: absent)."""
        old, new = self.entry(before), self.entry(after)
        if old is None and new is None:
            return 0
        if old is None or new is None:
            return write_units(size_of(old if new is None else new))
        if any(old[key] != new[key] for key in self.keys):
            return write_units(size_of(old)) + write_units(size_of(new))
        if _comparable(old) == _comparable(new):
            return 0
        return write_units(max(size_of(old), size_of(new)))


def indexes(table: Table) -> list[Index]:
    table_keys = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
    found = []
    for kind, members in ((GLOBAL, getattr(table, "global_indexes", None)), (LOCAL, getattr(table, "indexes", None))):
        for index in members or []:
            keys = tuple(str(key["AttributeName"]) for key in index.schema)
            projection = index.projection or {}
            projection_type = projection.get("ProjectionType", "ALL")
            projected: frozenset[str] | None = None
            if projection_type != "ALL":
                included = projection.get("NonKeyAttributes", []) if projection_type == "INCLUDE" else []
                projected = frozenset([*table_keys, *keys, *included])
            found.append(Index(str(index.name), kind, keys, projected))
    return found


def index_kind(table: Table, index_name: str) -> str:
    return next((index.kind for index in indexes(table) if index.name == index_name), GLOBAL)


# --------------------------------------------------------------------------------------------------
# The meter: what moto's table operations did during one metered request


@dataclass
class Write:
    table: Table
    before: Wire | None
    after: Wire | None


class Meter:
    """Collects, for one request on one thread, the writes, the items got and the bytes a Query or Scan read."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "write", "get" or "read": which of the table operations' reports are wanted
        self.writes: list[Write] = []
        self.gets: list[tuple[Table, int]] = []
        self.read_bytes = 0
        self.inside_update = 0  # an UpdateItem creating an item puts it first; that put is part of the update


_local = threading.local()


def _meter(kind: str) -> Meter | None:
    meter: Meter | None = getattr(_local, "meter", None)
    return meter if meter is not None and meter.kind == kind else None


class _SizeRecordingFilter:
    """Stands in for a Query's or Scan's filter: measures every item the filter is asked about (every item the
    operation evaluated, projected onto the index when it reads one) and answers as the filter does."""

    def __init__(self, condition: Any, meter: Meter) -> None:
        self._condition = condition
        self._meter = meter

    def expr(self, item: Item) -> Any:
        self._meter.read_bytes += size_of(wire_item(item))
        return True if self._condition is None else self._condition.expr(item)


def _reads_recorded(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Table.query`` / ``Table.scan``: report the size of every item evaluated.

    moto applies the filter expression to the items it evaluated (after projecting them onto the index, before
    the projection expression), so a filter that measures what it is shown sees exactly what DynamoDB charges for.
    """
    signature = inspect.signature(original)

    @functools.wraps(original)
    def read(self: Table, *args: Any, **kwargs: Any) -> Any:
        meter = _meter("read")
        if meter is None:
            return original(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        bound.arguments["filter_expression"] = _SizeRecordingFilter(bound.arguments["filter_expression"], meter)
        return original(*bound.args, **bound.kwargs)

    return read


def _gets_recorded(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Table.get_item``: report the size of the whole item (0: missing) before any projection."""

    @functools.wraps(original)
    def get_item(self: Table, hash_key: Any, range_key: Any = None, projection_expression: Any = None) -> Item | None:
        meter = _meter("get")
        if meter is None:
            found: Item | None = original(self, hash_key, range_key, projection_expression)
            return found
        item: Item | None = original(self, hash_key, range_key)
        meter.gets.append((self, size_of(wire_item(item)) if item else 0))
        if projection_expression and item:
            projected: Item = item.project(projection_expression)  # as moto's get_item projects
            return projected
        return item

    return get_item


def stored_item(table: Table, key: Mapping[str, Any]) -> Item | None:
    """The item stored under the key attributes of ``key`` (an item or a key), None if none or not a key."""
    try:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        stored = table.items.get(hash_value)
        if range_value is not None:
            stored = stored.get(range_value) if isinstance(stored, dict) else None
    except Exception:
        return None
    return stored if isinstance(stored, Item) else None


def _puts_recorded(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Table.put_item``: report the item replaced (if any) and the item stored."""

    @functools.wraps(original)
    def put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        meter = _meter("write")
        if meter is None or meter.inside_update:
            return original(self, item_attrs, *args, **kwargs)
        replaced = stored_item(self, item_attrs)
        before = wire_item(replaced) if replaced is not None else None
        item = original(self, item_attrs, *args, **kwargs)
        meter.writes.append(Write(self, before, wire_item(item)))
        return item

    return put_item


def _deletes_recorded(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Table.delete_item``: report the item deleted (None: there was none, which DynamoDB charges too)."""

    @functools.wraps(original)
    def delete_item(self: Table, *args: Any, **kwargs: Any) -> Any:
        meter = _meter("write")
        if meter is None or meter.inside_update:
            return original(self, *args, **kwargs)
        item = original(self, *args, **kwargs)
        meter.writes.append(Write(self, wire_item(item) if isinstance(item, Item) else None, None))
        return item

    return delete_item


def _updates_recorded(original: Callable[..., Any]) -> Callable[..., Any]:
    """``DynamoDBBackend.update_item``: report the item before and after (moto changes the stored item in place)."""

    @functools.wraps(original)
    def update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
        meter = _meter("write")
        if meter is None or meter.inside_update:
            return original(self, table_name, *args, **kwargs)
        try:
            table = self.get_table(table_name)
        except Exception:
            return original(self, table_name, *args, **kwargs)  # moto reports the missing table
        key = args[0] if args else kwargs.get("key")
        existing = stored_item(table, key) if isinstance(key, Mapping) else None
        before = wire_item(existing) if existing is not None else None
        meter.inside_update += 1
        try:
            item = original(self, table_name, *args, **kwargs)
        finally:
            meter.inside_update -= 1
        meter.writes.append(Write(table, before, wire_item(item) if isinstance(item, Item) else None))
        return item

    return update_item


# --------------------------------------------------------------------------------------------------
# What the actions answer


@dataclass
class Charge:
    """Units charged to one table and its indexes."""

    table: float = 0.0
    indexes: dict[tuple[str, str], float] | None = None

    def add_index(self, kind: str, name: str, units: float) -> None:
        if units:
            self.indexes = self.indexes or {}
            self.indexes[(kind, name)] = self.indexes.get((kind, name), 0.0) + units

    @property
    def total(self) -> float:
        return self.table + sum((self.indexes or {}).values())


def consumed_capacity(table_name: str, charge: Charge, mode: str, split: str | None = None) -> dict[str, Any]:
    """The ConsumedCapacity of one table; ``split`` names the ReadCapacityUnits / WriteCapacityUnits member
    that transactional responses add to each Capacity."""

    def capacity(units: float) -> dict[str, Any]:
        return {"CapacityUnits": units, split: units} if split else {"CapacityUnits": units}

    document: dict[str, Any] = {"TableName": table_name, **capacity(charge.total)}
    if mode == "INDEXES":
        document["Table"] = capacity(charge.table)
        for (kind, name), units in (charge.indexes or {}).items():
            document.setdefault(kind, {})[name] = capacity(units)
    return document


def write_charge(table: Table, writes: list[Write], factor: int = 1) -> Charge:
    charge = Charge()
    table_indexes = indexes(table)
    for write in writes:
        if write.table is not table:
            continue
        charge.table += factor * write_units(max(size_of(write.before), size_of(write.after)))
        for index in table_indexes:
            charge.add_index(index.kind, index.name, factor * index.units_to_change(write.before, write.after))
    return charge


def _table(handler: Any, name: str) -> Table:
    table: Table = handler.dynamodb_backend.get_table(name)
    return table


def _single_write(handler: Any, body: dict[str, Any], meter: Meter, mode: str) -> Any:
    name = body["TableName"]
    charge = write_charge(_table(handler, name), meter.writes)
    charge.table = charge.table or float(write_units(0))
    return consumed_capacity(name, charge, mode)


def _batch_write(handler: Any, body: dict[str, Any], meter: Meter, mode: str) -> Any:
    return [
        consumed_capacity(name, write_charge(_table(handler, name), meter.writes), mode)
        for name in body.get("RequestItems") or {}
    ]


def _transact_write(handler: Any, body: dict[str, Any], meter: Meter, mode: str) -> Any:
    charges: dict[str, Charge] = {}
    for transact_item in body.get("TransactItems") or []:
        ((operation, request),) = transact_item.items()
        name = request["TableName"]
        table = _table(handler, name)
        if name not in charges:
            charges[name] = write_charge(table, meter.writes, TRANSACTION_FACTOR)
        if operation == "ConditionCheck":
            checked = stored_item(table, request["Key"])
            size = size_of(wire_item(checked)) if checked is not None else 0
            charges[name].table += TRANSACTION_FACTOR * write_units(size)
    return [consumed_capacity(name, charge, mode, "WriteCapacityUnits") for name, charge in charges.items()]


def _get(handler: Any, body: dict[str, Any], meter: Meter, mode: str) -> Any:
    name = body["TableName"]
    consistent = bool(body.get("ConsistentRead"))
    units = sum(read_units(size, consistent) for _, size in meter.gets) or read_units(0, consistent)
    return consumed_capacity(name, Charge(units), mode)


def _batch_get(handler: Any, body: dict[str, Any], meter: Meter, mode: str) -> Any:
    capacities = []
    for name, request in (body.get("RequestItems") or {}).items():
        table = _table(handler, name)
        consistent = bool(request.get("ConsistentRead"))
        units = sum(read_units(size, consistent) for got, size in meter.gets if got is table)
        capacities.append(consumed_capacity(name, Charge(float(units)), mode))
    return capacities


def _query_or_scan(handler: Any, body: dict[str, Any], meter: Meter, mode: str) -> Any:
    name = body["TableName"]
    units = read_units(meter.read_bytes, bool(body.get("ConsistentRead")))
    index_name = body.get("IndexName")
    if not index_name:
        return consumed_capacity(name, Charge(units), mode)
    charge = Charge(0.0)
    charge.add_index(index_kind(_table(handler, name), index_name), index_name, units)
    return consumed_capacity(name, charge, mode)


Measure = Callable[[Any, dict[str, Any], Meter, str], Any]

# DynamoHandler action -> (what its meter records, how the ConsumedCapacity is computed)
ACTIONS: dict[str, tuple[str, Measure]] = {
    "put_item": ("write", _single_write),
    "update_item": ("write", _single_write),
    "delete_item": ("write", _single_write),
    "batch_write_item": ("write", _batch_write),
    "transact_write_items": ("write", _transact_write),
    "get_item": ("get", _get),
    "batch_get_item": ("get", _batch_get),
    "query": ("read", _query_or_scan),
    "scan": ("read", _query_or_scan),
}


def _publish(handler: Any, kind: str, capacities: Any) -> None:
    """Count an action's units in the per-table CloudWatch metrics (:mod:`.dynamodb_metrics`).

    A table's metric holds its own units and its local secondary indexes' (they share the table's capacity); each
    global secondary index has its own. A failed metric must never fail the request it describes.
    """
    metric = dynamodb_metrics.WRITE if kind == "write" else dynamodb_metrics.READ
    for capacity in capacities if isinstance(capacities, list) else [capacities]:
        try:
            account, region, table = _table_location(handler, str(capacity["TableName"]))
            units = float(capacity.get("Table", {}).get("CapacityUnits", 0.0))
            units += sum(float(index["CapacityUnits"]) for index in capacity.get(LOCAL, {}).values())
            dynamodb_metrics.record(account, region, metric, table, units)
            for index_name, index in capacity.get(GLOBAL, {}).items():
                dynamodb_metrics.record(account, region, metric, table, float(index["CapacityUnits"]), index_name)
        except Exception:  # noqa: S112 - see the docstring
            continue


def _table_location(handler: Any, name: str) -> tuple[str, str, str]:
    """(account, region, table name) of a table named by name or ARN in a request."""
    if name.startswith("arn:"):
        fields = name.split(":", 5)
        return fields[4], fields[3], fields[5].split("/", 2)[1]
    return str(handler.current_account), str(handler.region), name


def _metered(original: Callable[[Any], Any], kind: str, measure: Measure) -> Callable[[Any], Any]:
    """A ``DynamoHandler`` action answering DynamoDB's ConsumedCapacity, or none when the request asks for none."""

    @functools.wraps(original)
    def action(self: Any) -> Any:
        body = self.body if isinstance(self.body, dict) else {}
        mode = body.get("ReturnConsumedCapacity", "NONE")
        reported = mode in REPORTED_MODES
        if not reported and not dynamodb_metrics.enabled:
            result = original(self)  # moto refuses a mode that is not NONE, TOTAL or INDEXES
            if isinstance(result, ActionResult) and isinstance(result.result, dict):
                result.result.pop("ConsumedCapacity", None)  # moto answers some actions' whatever was asked
            return result
        meter = Meter(kind)
        outer = getattr(_local, "meter", None)
        _local.meter = meter
        try:
            result = original(self)
        finally:
            _local.meter = outer
        if isinstance(result, ActionResult) and isinstance(result.result, dict):
            if dynamodb_metrics.enabled:
                _publish(self, kind, measure(self, body, meter, "INDEXES"))
            if reported:
                result.result["ConsumedCapacity"] = measure(self, body, meter, mode)
            else:
                result.result.pop("ConsumedCapacity", None)
        return result

    return action


# --------------------------------------------------------------------------------------------------
# What dynamodb_fidelity applies


def replacements() -> Iterator[tuple[Any, str, Any]]:
    """(owner, attribute, replacement); a generator, so each original is read when the one before is applied."""
    for name, (kind, measure) in ACTIONS.items():
        yield DynamoHandler, name, _metered(DynamoHandler.__dict__[name], kind, measure)
    yield Table, "query", _reads_recorded(Table.__dict__["query"])
    yield Table, "scan", _reads_recorded(Table.__dict__["scan"])
    yield Table, "get_item", _gets_recorded(Table.__dict__["get_item"])
    yield Table, "put_item", _puts_recorded(Table.__dict__["put_item"])
    yield Table, "delete_item", _deletes_recorded(Table.__dict__["delete_item"])
    yield DynamoDBBackend, "update_item", _updates_recorded(DynamoDBBackend.__dict__["update_item"])


_PARAMETERS: dict[tuple[Any, str], tuple[str, ...]] = {
    (Table, "get_item"): ("self", "hash_key", "range_key", "projection_expression"),
    (Table, "put_item"): ("self", "item_attrs"),
    (Table, "delete_item"): ("self", "hash_key", "range_key"),
    (DynamoDBBackend, "update_item"): ("self", "table_name", "key"),
}

# Names each moto function must still use for the reports above to be what DynamoDB charges for.
_NAMES: dict[tuple[Any, str], tuple[str, ...]] = {
    (Table, "query"): ("expr", "project"),
    (Table, "scan"): ("expr", "project"),
    (Table, "get_item"): ("project", "items"),
    (DynamoDBBackend, "put_item"): ("put_item",),
    (DynamoDBBackend, "delete_item"): ("delete_item",),
    (DynamoDBBackend, "get_item"): ("get_item",),
    (DynamoDBBackend, "transact_write_items"): ("put_item", "delete_item", "update_item"),
}


def _function(owner: Any, name: str) -> Any:
    return inspect.unwrap(owner.__dict__[name])


def _names_used(code: Any) -> set[str]:
    """The global and attribute names a function's code uses, its comprehensions' included."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if inspect.iscode(constant):
            names |= _names_used(constant)
    return names


def compatibility_problems() -> list[str]:
    """What in the installed moto no longer matches what these patches assume (empty if all is well)."""
    wanted: list[tuple[Any, str]] = [(DynamoHandler, name) for name in ACTIONS]
    wanted += [(Table, name) for name in ("query", "scan", "get_item", "put_item", "delete_item")]
    wanted += [(DynamoDBBackend, name) for name in ("update_item", "put_item", "delete_item", "get_item")]
    problems = [f"{owner.__qualname__}.{name} is missing" for owner, name in wanted if name not in owner.__dict__]
    if problems:
        return problems
    for (owner, name), expected in _PARAMETERS.items():
        parameters = tuple(inspect.signature(_function(owner, name)).parameters)
        if parameters[: len(expected)] != expected:
            problems.append(f"{owner.__qualname__}.{name} now takes {parameters}")
    for owner, name in ((Table, "query"), (Table, "scan")):
        if "filter_expression" not in inspect.signature(_function(owner, name)).parameters:
            problems.append(f"{owner.__qualname__}.{name} no longer takes filter_expression")
    for (owner, name), names in _NAMES.items():
        used = _names_used(_function(owner, name).__code__)
        missing = [needed for needed in names if needed not in used]
        if missing:
            problems.append(f"{owner.__qualname__}.{name} no longer uses {missing}")
    if not isinstance(ActionResult.__dict__.get("result"), property):
        problems.append("ActionResult.result is no longer a property")
    return problems


def apply(patches: Patches) -> None:
    """Apply every patch of this module; the caller has checked :func:`compatibility_problems`."""
    for owner, name, value in replacements():
        patches.apply(owner, name, value)
