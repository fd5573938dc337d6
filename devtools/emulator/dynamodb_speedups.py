"""Make moto's DynamoDB fast enough for the emulator's 10,000-50,000-item tests and demo.

Left alone, moto 5.2.5 needs about a second of CPU (3 s on a busy machine) for one 200-item segmented
Scan page of a 10,000-item table, 6-12 s for a 1 MB page and close to a millisecond per item written, so
parallel backfill workers hit botocore's 30 s read timeout. Each patch below removes one cost and says
why it is safe:

- Requests and responses: DynamoDB's AttributeValues are parsed and written directly instead of through
  the botocore model, member by member (a third of a BatchWriteItem, two thirds of a Scan).
- Writes: ``Item.__init__`` checks the 400 KB item limit once instead of re-measuring the whole item for
  every attribute, and ``DynamoType`` measures, builds and copies nested values without re-wrapping them.
- Scans and queries: each table keeps its items in key order (maintained on every put and delete, not
  re-sorted on every Scan), a Scan page starts by bisecting to ``ExclusiveStartKey`` and finds its segment
  from a precomputed hash, and a Query reads only its partition.
- Binary partition keys: moto crashes segmenting them (``bytes`` has no ``encode``).
- Concurrency: ThreadedMotoServer serves requests on threads and moto iterates the live item dictionaries,
  so a write racing a Scan or DescribeTable could fail with "dictionary changed size during iteration";
  per-table locks serialise writers with whoever reads the table.
- Garbage collection: young collections less often (:func:`gc_thresholds`), or full collections of the
  whole table take most of the remaining time.

Whatever a client can observe stays moto's: response bytes, item order, segment membership, errors,
pagination keys. Unusual inputs (a malformed ExclusiveStartKey, a value moto stores in an odd type) take
moto's own code path. ``tests/emulator/test_emulator_dynamodb_perf.py`` compares patched and unpatched moto.

:mod:`.moto_patches` applies these with the emulator's other patches (``install``) or on their own
(``install_dynamodb_speedups``), after :func:`compatibility_problems` finds nothing wrong.
"""

from __future__ import annotations

import base64
import bisect
import copy
import inspect
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, cast

from moto.core import parse as moto_parse
from moto.core import serialize as moto_serialize
from moto.core.parse import JSONParser
from moto.core.responses import BaseResponse
from moto.core.serialize import JSONSerializer
from moto.core.utils import get_service_model
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize, dynamo_to_dict
from moto.utilities.utils import md5_hash

ITEM_SIZE_LIMIT = 405_000
"""moto's item size limit (``LimitedSizeDict``); :func:`compatibility_problems` checks moto still uses it."""

SERVICE = "dynamodb"
PROTOCOL = "json"


# --------------------------------------------------------------------------------------------------
# Requests and responses: AttributeValues without the botocore model
#
# moto's model-driven parser and serializer look up all ten AttributeValue members through the model
# (and, serializing, through an alias machinery) for every value of every item: a third of a
# BatchWriteItem's time, two thirds of a Scan's. The functions below produce exactly what those would
# for the values DynamoDB traffic carries, and answer ``_UNHANDLED`` for anything else (several
# members, an unknown or ``null`` member, a value of an unexpected type) so that moto's own code, with
# all its quirks, deals with it.

_UNHANDLED: Any = object()
_SETS = ("SS", "NS", "BS")


def _all_of(values: Any, kind: type) -> bool:
    return type(values) is list and all(type(value) is kind for value in values)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


# Requests: moto's JSON parser keeps text, numbers and booleans as sent and base64-decodes binary.


def _parse_as_sent(kind: str, content: Any) -> Any:
    return _UNHANDLED if content is None else {kind: content}


def _parse_binary(kind: str, content: Any) -> Any:
    return {kind: base64.b64decode(content)} if type(content) is str else _UNHANDLED


def _parse_text_set(kind: str, content: Any) -> Any:
    return {kind: list(content)} if type(content) is list else _UNHANDLED


def _parse_binary_set(kind: str, content: Any) -> Any:
    return {kind: [base64.b64decode(element) for element in content]} if _all_of(content, str) else _UNHANDLED


def _parse_map(kind: str, content: Any) -> Any:
    if type(content) is not dict:
        return _UNHANDLED
    members = {}
    for name, member in content.items():
        parsed = _parse_attribute_value(member)
        if parsed is _UNHANDLED:
            return _UNHANDLED
        members[name] = parsed
    return {kind: members}


def _parse_list(kind: str, content: Any) -> Any:
    if type(content) is not list:
        return _UNHANDLED
    elements = []
    for element in content:
        parsed = _parse_attribute_value(element)
        if parsed is _UNHANDLED:
            return _UNHANDLED
        elements.append(parsed)
    return {kind: elements}


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "S": _parse_as_sent,
    "N": _parse_as_sent,
    "B": _parse_binary,
    "SS": _parse_text_set,
    "NS": _parse_text_set,
    "BS": _parse_binary_set,
    "M": _parse_map,
    "L": _parse_list,
    "NULL": _parse_as_sent,
    "BOOL": _parse_as_sent,
}


def _parse_attribute_value(raw: Any) -> Any:
    """What moto's JSON parser makes of one AttributeValue from a request, or ``_UNHANDLED``."""
    if type(raw) is not dict or len(raw) != 1:
        return _UNHANDLED
    ((kind, content),) = raw.items()
    parse = _PARSERS.get(kind)
    return _UNHANDLED if parse is None else parse(kind, content)


class DynamoDBAwareJSONParser(JSONParser):
    """moto's JSON-protocol request parser, reading DynamoDB's AttributeValues with :func:`_parse_attribute_value`.

    moto picks request parsers by protocol, not by service: other services' requests are parsed by
    moto's code exactly as before.
    """

    def __init__(self, operation_model: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(operation_model, *args, **kwargs)
        self._attribute_values_direct = (
            operation_model.service_model.service_name == SERVICE
            and self.MAP_TYPE is dict
            and self._blob_parser is moto_parse.default_blob_parser
        )

    def _parse_shape(self, shape: Any, node: Any) -> Any:
        if self._attribute_values_direct and shape.name == "AttributeValue" and shape.type_name == "structure":
            parsed = _parse_attribute_value(node)
            if parsed is not _UNHANDLED:
                return parsed
        return super()._parse_shape(shape, node)  # type: ignore[no-untyped-call]


def parser_registry() -> dict[str, Any]:
    """moto's request parsers by protocol, where :class:`DynamoDBAwareJSONParser` replaces the JSON one."""
    registry: dict[str, Any] = moto_parse.PROTOCOL_PARSERS
    return registry


# Responses: moto's serializer writes text, numbers and booleans as they are and base64-encodes binary,
# which ``dynamo_to_dict`` has turned into ``bytes`` (stored values reach the serializer unconverted,
# see _keeping_stored_values, and convert the same way).


def _wire_as_is(kind: str, content: Any) -> Any:
    return {kind: content} if type(content) is str else _UNHANDLED


def _wire_flag(kind: str, content: Any) -> Any:
    return {kind: content} if type(content) is bool else _UNHANDLED


def _wire_binary(kind: str, content: Any) -> Any:
    return {kind: _b64(content)} if type(content) is bytes else _UNHANDLED


def _wire_text_set(kind: str, content: Any) -> Any:
    return {kind: list(content)} if _all_of(content, str) else _UNHANDLED


def _wire_binary_set(kind: str, content: Any) -> Any:
    return {kind: [_b64(element) for element in content]} if _all_of(content, bytes) else _UNHANDLED


def _wire_map(kind: str, content: Any) -> Any:
    if type(content) is not dict:
        return _UNHANDLED
    members = {}
    for name, member in content.items():
        wired = _wire(member)
        # An empty name makes moto merge the member into the map itself: leave that to moto.
        if wired is _UNHANDLED or not name:
            return _UNHANDLED
        members[name] = wired
    return {kind: members}


def _wire_list(kind: str, content: Any) -> Any:
    if type(content) is not list:
        return _UNHANDLED
    elements = []
    for element in content:
        wired = _wire(element)
        if wired is _UNHANDLED:
            return _UNHANDLED
        elements.append(wired)
    return {kind: elements}


_WRITERS: dict[str, Callable[[str, Any], Any]] = {
    "S": _wire_as_is,
    "N": _wire_as_is,
    "B": _wire_binary,
    "SS": _wire_text_set,
    "NS": _wire_text_set,
    "BS": _wire_binary_set,
    "M": _wire_map,
    "L": _wire_list,
    "NULL": _wire_flag,
    "BOOL": _wire_flag,
}


def _wire(value: Any) -> Any:
    """The JSON moto writes for one AttributeValue (stored, or converted by ``dynamo_to_dict``), or ``_UNHANDLED``."""
    if type(value) is DynamoType:
        kind, content = value.type, value.value
    elif type(value) is dict and len(value) == 1:
        ((kind, content),) = value.items()
    else:
        return _UNHANDLED
    write = _WRITERS.get(kind)
    return _UNHANDLED if write is None else write(kind, content)


def _keeping_stored_values(obj: Any) -> Any:
    """``dynamo_to_dict`` as ``DynamoResult`` uses it, except that stored values (``DynamoType``) are kept.

    moto copies every stored value into plain dictionaries before serializing it; :class:`DynamoDBSerializer`
    writes stored values directly. Everything else converts exactly as before.
    """
    kind = type(obj)
    if kind is DynamoType or kind is str or obj is None:
        return obj
    if kind is dict or kind is LimitedSizeDict:
        return {name: _keeping_stored_values(value) for name, value in obj.items()}
    if kind is list:
        return [_keeping_stored_values(value) for value in obj]
    return dynamo_to_dict(obj)


class DynamoDBSerializer(JSONSerializer):
    """moto's JSON serializer, writing AttributeValues with :func:`_wire`.

    Everything around the items (counts, key envelopes, ConsumedCapacity, errors) still goes through
    moto's serializer, as does any value :func:`_wire` does not recognise, converted as moto would.
    """

    def _serialize(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and value is not None and shape.name == "AttributeValue" and shape.type_name == "structure":
            wired = _wire(value)
            if wired is not _UNHANDLED:
                self._default_serialize(serialized, wired, shape, key)
                return
        if type(value) is DynamoType:
            value = dynamo_to_dict(value)
        super()._serialize(serialized, value, shape, key)


def serializer_registry() -> dict[str, dict[str, Any]]:
    """moto's per-service serializer overrides, where :class:`DynamoDBSerializer` is registered."""
    registry: dict[str, dict[str, Any]] = moto_serialize.SERVICE_SPECIFIC_SERIALIZERS
    return registry


# --------------------------------------------------------------------------------------------------
# Item sizes


def _scalar_size(kind: str, value: Any) -> int:
    if kind == "N":
        return len(str(value))
    if isinstance(value, bool):
        return 1
    return bytesize(value)


def _attribute_size(attribute: DynamoType) -> int:
    kind, value = attribute.type, attribute.value
    if kind == "N":
        return len(str(value))
    if kind in ("SS", "NS", "BS"):
        element_kind = kind[0]
        return sum(_scalar_size(element_kind, element) for element in value)
    if kind == "L":
        return sum(_attribute_size(element) for element in value)
    if kind == "M":
        return sum(
            bytesize(name) + _attribute_size(member if type(member) is DynamoType else DynamoType(member))
            for name, member in value.items()
        )
    return _scalar_size(kind, value)


def _size(self: DynamoType) -> int:
    """``DynamoType.size``: measure nested values in place.

    moto wraps every member of a map in a new ``DynamoType`` to measure it, and that copy re-wraps the
    member's own members, so sizing a nested item costs a multiple of its size. Same rules otherwise:
    numbers count their characters, text and binary their bytes, booleans and NULL one byte.
    """
    return _attribute_size(self)


def _dynamo_type_init(original: Callable[..., None]) -> Callable[..., None]:
    """``DynamoType.__init__``: unpack the usual one-member dictionary without building two lists."""

    def init(self: DynamoType, type_as_dict: Any) -> None:
        if type(type_as_dict) is not dict or len(type_as_dict) != 1:
            original(self, type_as_dict)
            return
        ((kind, value),) = type_as_dict.items()
        self.type = kind
        if kind == "L":
            value = [DynamoType(element) for element in value]
        elif kind == "M":
            value = {name: DynamoType(member) for name, member in value.items()}
        self.value = value

    return init


def _copy_member(value: Any, memo: dict[int, Any]) -> Any:
    return _copy_attribute(value, memo) if type(value) is DynamoType else copy.deepcopy(value, memo)


def _copy_attribute(attribute: DynamoType, memo: dict[int, Any]) -> DynamoType:
    """``DynamoType.__deepcopy__`` without a trip through ``copy.deepcopy`` for every nested value.

    moto's Scan and Query deep-copy every item they return. Same copy as moto's: nested values copied,
    sets as new lists, scalars shared, and the memo honoured so shared values stay shared.
    """
    copied: DynamoType | None = memo.get(id(attribute))
    if copied is not None:
        return copied
    copied = DynamoType.__new__(DynamoType)
    memo[id(attribute)] = copied
    kind, value = attribute.type, attribute.value
    copied.type = kind
    if kind == "L":
        copied.value = [_copy_member(element, memo) for element in value]
    elif kind == "M":
        copied.value = {name: _copy_member(member, memo) for name, member in value.items()}
    elif kind in _SETS:
        copied.value = list(value)
    else:
        copied.value = value
    return copied


def _copy_item(self: Item, memo: dict[int, Any]) -> Item:
    """``Item.__deepcopy__``: as moto's (attributes copied into a ``LimitedSizeDict`` without re-checking
    the size limit), with nested values copied by :func:`_copy_attribute`."""
    existing: Item | None = memo.get(id(self))
    if existing is not None:
        return existing
    copied = cast(Item, Item.__new__(Item))
    memo[id(self)] = copied
    copied.hash_key = _copy_member(self.hash_key, memo)
    copied.range_key = _copy_member(self.range_key, memo)
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(attrs)
    for name, value in self.attrs.items():
        dict.__setitem__(attrs, name, _copy_member(value, memo))
    copied.attrs = attrs
    return copied


def _item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    """``Item.__init__``: check the size limit once per item.

    moto's ``LimitedSizeDict`` re-measures every attribute already stored each time one is added, which
    dominates PutItem and BatchWriteItem. The limit applies to the growing running total, so comparing
    that total after each attribute raises ``ItemSizeTooLarge`` exactly where moto does. The attributes
    still live in a ``LimitedSizeDict`` so later updates stay limited.
    """
    self.hash_key = hash_key
    self.range_key = range_key
    limited = LimitedSizeDict()
    self.attrs = limited
    total = 0
    for name, value in attrs.items():
        attribute = DynamoType(value)
        total += bytesize(str(name)) + _attribute_size(attribute)
        if total > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(limited, name, attribute)


# --------------------------------------------------------------------------------------------------
# Key order, segments and locks


def _segment_hash(hash_key_value: Any) -> int:
    """The first byte of the MD5 moto uses to put a partition key into a Scan segment.

    Binary keys are hashed as their bytes: moto calls ``.encode`` on them and crashes.
    """
    raw = hash_key_value if isinstance(hash_key_value, bytes) else hash_key_value.encode("utf8")
    digest: bytes = md5_hash(raw).digest()
    return digest[0]


def _is_within_segment(self: Item, segments: tuple[int | None, int | None]) -> bool:
    """``Item.is_within_segment``: accept binary partition keys (moto raises AttributeError on them)."""
    if segments == (None, None):
        return True
    segment, total_segments = segments
    return segment == _segment_hash(self.hash_key.value) % total_segments  # type: ignore[operator]


def _sort_key(item: Item) -> tuple[Any, ...]:
    """The order moto's ``Table.all_items`` sorts by: (partition key, sort key) compared as DynamoTypes."""
    if item.range_key is None:
        return (item.hash_key.cast_value,)
    return (item.hash_key.cast_value, item.range_key.cast_value)


@dataclass
class _KeyOrder:
    """A table's items in key order, with each item's segment hash, kept in step with every write."""

    source: Any
    keys: list[tuple[Any, ...]]
    items: list[Item]
    segment_hashes: list[int]

    @classmethod
    def build(cls, table: Table) -> _KeyOrder | None:
        source = table.items
        try:
            if table.range_key_attr:
                entries = [item for partition in source.values() for item in partition.values()]
            else:
                entries = list(source.values())
            ordered = sorted(((_sort_key(item), item) for item in entries), key=itemgetter(0))
            hashes = [_segment_hash(item.hash_key.value) for _, item in ordered]
        except Exception:
            return None  # items moto itself could not order: leave them to moto's code
        return cls(source, [key for key, _ in ordered], [item for _, item in ordered], hashes)

    def put(self, item: Item) -> None:
        key = _sort_key(item)
        segment_hash = _segment_hash(item.hash_key.value)
        position = bisect.bisect_left(self.keys, key)
        if position < len(self.keys) and self.keys[position] == key:
            self.keys[position] = key
            self.items[position] = item
            self.segment_hashes[position] = segment_hash
        else:
            self.keys.insert(position, key)
            self.items.insert(position, item)
            self.segment_hashes.insert(position, segment_hash)

    def remove(self, item: Item) -> bool:
        key = _sort_key(item)
        position = bisect.bisect_left(self.keys, key)
        if position == len(self.keys) or self.keys[position] != key:
            return False
        del self.keys[position], self.items[position], self.segment_hashes[position]
        return True


class _TableState:
    def __init__(self) -> None:
        # Reentrant: UpdateItem on a missing item puts it from inside the locked update.
        self.lock = threading.RLock()
        self.order: _KeyOrder | None = None

    def current_order(self, table: Table) -> _KeyOrder | None:
        """The key order, (re)built if missing or if ``table.items`` was replaced; call with the lock held."""
        order = self.order
        if order is None or order.source is not table.items:
            order = self.order = _KeyOrder.build(table)
        return order

    def after_put(self, table: Table, item: Any) -> None:
        order = self.order
        if order is None:
            return
        if order.source is not table.items or not isinstance(item, Item):
            self.order = None
            return
        try:
            order.put(item)
        except Exception:
            self.order = None

    def after_delete(self, table: Table, item: Any) -> None:
        order = self.order
        if order is None or not isinstance(item, Item):
            return
        try:
            kept_in_step = order.source is table.items and order.remove(item)
        except Exception:
            kept_in_step = False
        if not kept_in_step:
            self.order = None


# Keyed weakly by table: moto replaces Table objects (deleted tables, restores, transaction rollbacks),
# and a table deep-copied by moto must not share a lock or an order with its original.
_states: weakref.WeakKeyDictionary[Table, _TableState] = weakref.WeakKeyDictionary()
_states_lock = threading.Lock()


def _state(table: Table) -> _TableState:
    with _states_lock:
        state = _states.get(table)
        if state is None:
            state = _states[table] = _TableState()
        return state


def table_lock(table: Table) -> threading.RLock:
    """The lock every write to ``table`` holds while the speed-ups are installed: held, the table does not change."""
    return _state(table).lock


def reset() -> None:
    """Forget every table's key order and lock; writes made while the patches were out are not tracked."""
    with _states_lock:
        _states.clear()


# moto's Scan and Query read the whole table through ``self.all_items()``; a patched Scan or Query hands
# the items it actually needs to that one call through this thread-local slot.
_pending = threading.local()


def _call_with_items(table: Table, items: Iterable[Item], call: Callable[[], Any]) -> Any:
    _pending.source = (table, items)
    try:
        return call()
    finally:
        _pending.source = None


def _take_pending(table: Table) -> Iterable[Item] | None:
    pending = getattr(_pending, "source", None)
    if pending is None or pending[0] is not table:
        return None
    _pending.source = None
    items: Iterable[Item] = pending[1]
    return items


# --------------------------------------------------------------------------------------------------
# Table and backend methods


def _locked_put_item(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Table.put_item``: hold the table's lock and keep its key order up to date."""

    def put_item(self: Table, *args: Any, **kwargs: Any) -> Any:
        state = _state(self)
        with state.lock:
            item = original(self, *args, **kwargs)
            state.after_put(self, item)
            return item

    return put_item


def _locked_delete_item(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Table.delete_item``: hold the table's lock and keep its key order up to date."""

    def delete_item(self: Table, *args: Any, **kwargs: Any) -> Any:
        state = _state(self)
        with state.lock:
            item = original(self, *args, **kwargs)
            state.after_delete(self, item)
            return item

    return delete_item


def _locked_update_item(original: Callable[..., Any]) -> Callable[..., Any]:
    """``DynamoDBBackend.update_item``: hold the table's lock while moto changes the stored item in place.

    A concurrent Scan deep-copies the items it returns; an update adding an attribute at that moment
    would break the copy ("dictionary changed size during iteration").
    """

    def update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            table = self.get_table(table_name)
        except Exception:
            return original(self, table_name, *args, **kwargs)  # moto reports the missing table
        with _state(table).lock:
            return original(self, table_name, *args, **kwargs)

    return update_item


def _locked_len(original: Callable[[Table], int]) -> Callable[[Table], int]:
    """``Table.__len__`` (DescribeTable's ItemCount): count while no write adds a partition."""

    def length(self: Table) -> int:
        with _state(self).lock:
            return original(self)

    return length


def _ordered_all_items(original: Callable[[Table], list[Item]]) -> Callable[[Table], Any]:
    """``Table.all_items``: the kept key order instead of sorting the whole table on every call.

    moto sorts every item with ``DynamoType`` comparisons (a Decimal per number key) for every Scan and
    Query page. The order kept here is the same: (partition key, sort key) by the values moto compares.
    """

    def all_items(self: Table) -> Any:
        pending = _take_pending(self)
        if pending is not None:
            return pending
        state = _state(self)
        with state.lock:
            order = state.current_order(self)
            return original(self) if order is None else list(order.items)

    return all_items


_NOT_A_KEY = object()


def _start_after(table: Table, exclusive_start_key: Any) -> Any:
    """ExclusiveStartKey as a key-order position, ``None`` for none, ``_NOT_A_KEY`` for moto to judge."""
    if exclusive_start_key is None:
        return None
    if not isinstance(exclusive_start_key, dict):
        return _NOT_A_KEY
    key: list[Any] = []
    for name, kind in ((table.hash_key_attr, table.hash_key_type), (table.range_key_attr, table.range_key_type)):
        if name is None:
            continue
        value = exclusive_start_key.get(name)
        if not isinstance(value, dict) or list(value) != [kind]:
            return _NOT_A_KEY
        key.append(DynamoType(value).cast_value)
    return tuple(key)


def _scan_from_key_order(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Table.scan``: start at ExclusiveStartKey and pick the segment from precomputed hashes.

    moto walks the table from its first item for every page, hashing each partition key with MD5 to
    find its segment and comparing each earlier item with ExclusiveStartKey through ``DynamoType``: the
    cost of a page grew with the table, not the page. Here moto's own Scan runs over just the items after
    ExclusiveStartKey that fall in the segment, in the same order, so limits, filters, projections,
    ScannedCount and LastEvaluatedKey are moto's. Index scans and unusual start keys run unchanged.
    """
    signature = inspect.signature(original)

    def scan(self: Table, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        state = _state(self)
        with state.lock:
            segment, total_segments = arguments["segments"]
            start = _start_after(self, arguments["exclusive_start_key"])
            order = None if arguments["index_name"] else state.current_order(self)
            if order is None or start is _NOT_A_KEY or (segment is None) != (total_segments is None):
                return original(*bound.args, **bound.kwargs)
            try:
                first = 0 if start is None else bisect.bisect_right(order.keys, start)
            except TypeError:
                return original(*bound.args, **bound.kwargs)
            items: Iterable[Item] = order.items[first:]
            if total_segments is not None:
                hashes = order.segment_hashes[first:]
                items = _in_segment(items, hashes, segment, total_segments)
            arguments["exclusive_start_key"] = None
            arguments["segments"] = (None, None)
            return _call_with_items(self, items, lambda: original(*bound.args, **bound.kwargs))

    return scan


def _in_segment(items: Iterable[Item], hashes: Iterable[int], segment: int, total_segments: int) -> Iterator[Item]:
    return (item for item, segment_hash in zip(items, hashes, strict=True) if segment_hash % total_segments == segment)


def _query_one_partition(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Table.query``: read only the queried partition.

    moto compares the partition key of every item in the table with the queried one; the partition is a
    dictionary lookup away. moto's Query then filters, sorts and pages those items exactly as before.
    """
    signature = inspect.signature(original)

    def query(self: Table, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        hash_key = bound.arguments["hash_key"]

        def run() -> Any:
            return original(*bound.args, **bound.kwargs)

        with _state(self).lock:
            if bound.arguments["index_name"] or type(hash_key) is not DynamoType or hash_key.type != self.hash_key_type:
                return run()
            partition = self.items.get(hash_key)
            if partition is None:
                items: list[Any] = []
            elif self.range_key_attr and isinstance(partition, dict):
                items = list(partition.values())
            else:
                items = [partition]
            return _call_with_items(self, items, run)

    return query


# --------------------------------------------------------------------------------------------------
# Garbage collection

GC_YOUNGEST_THRESHOLD = 50_000


def gc_thresholds(current: tuple[int, int, int]) -> tuple[int, int, int]:
    """Garbage collector thresholds for a process holding moto tables of tens of thousands of items.

    moto keeps every stored value as Python objects: a 10,000-item table is over a million objects that
    every full collection walks. With CPython's default (a young collection every 700 allocations) the
    objects a request holds while it runs (a Scan page's copies of its items, their JSON) are promoted
    to the oldest generation and keep triggering full collections: measured in the emulator's server,
    80 % of a 1 MB Scan page (1.7-2.2 s of CPU instead of 0.4 s) and 40 % of loading the table. A young
    collection every 50,000 allocations lets them die young. The older generations keep their thresholds,
    so garbage is still collected; a disabled collector (threshold 0) stays disabled.
    """
    youngest, middle, oldest = current
    if youngest == 0:
        return current
    return max(youngest, GC_YOUNGEST_THRESHOLD), middle, oldest


# --------------------------------------------------------------------------------------------------
# What moto_patches applies


def replacements() -> Iterator[tuple[Any, str, Any]]:
    """(owner, attribute, replacement) for every method replaced; each must exist in moto."""
    yield DynamoType, "__init__", _dynamo_type_init(DynamoType.__dict__["__init__"])
    yield DynamoType, "__deepcopy__", _copy_attribute
    yield DynamoType, "size", _size
    yield Item, "__init__", _item_init
    yield Item, "__deepcopy__", _copy_item
    yield dynamodb_responses, "dynamo_to_dict", _keeping_stored_values
    yield Item, "is_within_segment", _is_within_segment
    yield Table, "put_item", _locked_put_item(Table.__dict__["put_item"])
    yield Table, "delete_item", _locked_delete_item(Table.__dict__["delete_item"])
    yield Table, "__len__", _locked_len(Table.__dict__["__len__"])
    yield Table, "all_items", _ordered_all_items(Table.__dict__["all_items"])
    yield Table, "scan", _scan_from_key_order(Table.__dict__["scan"])
    yield Table, "query", _query_one_partition(Table.__dict__["query"])
    yield DynamoDBBackend, "update_item", _locked_update_item(DynamoDBBackend.__dict__["update_item"])


_EXPECTED_PARAMETERS: dict[tuple[Any, str], tuple[str, ...]] = {
    (Item, "__init__"): ("self", "hash_key", "range_key", "attrs"),
    (Item, "is_within_segment"): ("self", "segments"),
    (DynamoType, "size"): ("self",),
    (Table, "all_items"): ("self",),
    (Table, "scan"): (
        "self",
        "filters",
        "limit",
        "exclusive_start_key",
        "filter_expression",
        "index_name",
        "consistent_read",
        "projection_expression",
        "segments",
    ),
    (Table, "query"): (
        "self",
        "hash_key",
        "range_comparison",
        "range_objs",
        "limit",
        "exclusive_start_key",
        "scan_index_forward",
        "projection_expressions",
        "index_name",
        "consistent_read",
        "filter_expression",
        "hash_key_conditions",
        "range_key_conditions",
        "filter_kwargs",
    ),
    (DynamoDBBackend, "update_item"): ("self", "table_name"),
}

# Names each moto function must still use for the replacement to be equivalent.
_EXPECTED_NAMES: dict[tuple[Any, str], tuple[str, ...]] = {
    (Table, "scan"): ("all_items", "is_within_segment", "_item_comes_before_dct"),
    (Table, "query"): ("all_items",),
    (Table, "all_items"): ("items", "sorted"),
    (Item, "is_within_segment"): ("md5_hash", "encode", "digest"),
    (moto_serialize, "get_serializer_class"): ("SERVICE_SPECIFIC_SERIALIZERS",),
    (BaseResponse, "parse_parameters"): ("PROTOCOL_PARSERS",),
    (dynamodb_responses.DynamoResult, "__init__"): ("dynamo_to_dict",),
}


def _name(owner: Any) -> str:
    return str(getattr(owner, "__qualname__", owner.__name__))


def compatibility_problems() -> list[str]:
    """What in the installed moto no longer matches what these patches assume (empty if all is well)."""
    problems: list[str] = []
    for owner, name, _ in replacements():
        if name not in owner.__dict__:
            problems.append(f"{_name(owner)}.{name} is missing")
    for (owner, name), expected in _EXPECTED_PARAMETERS.items():
        parameters = tuple(inspect.signature(getattr(owner, name)).parameters)
        if parameters[: len(expected)] != expected:
            problems.append(f"{_name(owner)}.{name} now takes {parameters}")
    for (owner, name), names in _EXPECTED_NAMES.items():
        code = getattr(owner, name).__code__
        used = set(code.co_names) | set(code.co_varnames)
        missing = [needed for needed in names if needed not in used]
        if missing:
            problems.append(f"{_name(owner)}.{name} no longer uses {missing}")
    if ITEM_SIZE_LIMIT not in LimitedSizeDict.__setitem__.__code__.co_consts:
        problems.append(f"LimitedSizeDict no longer limits items to {ITEM_SIZE_LIMIT} bytes")
    if getattr(moto_parse, "PROTOCOL_PARSERS", {}).get(PROTOCOL) is not JSONParser:
        problems.append(f"moto no longer parses the {PROTOCOL} protocol with JSONParser")
    if "_parse_shape" in JSONParser.__dict__:
        problems.append("JSONParser now has its own _parse_shape")
    registry = getattr(moto_serialize, "SERVICE_SPECIFIC_SERIALIZERS", None)
    if not isinstance(registry, dict):
        problems.append("moto.core.serialize.SERVICE_SPECIFIC_SERIALIZERS is missing")
    elif SERVICE in registry:
        problems.append(f"moto now has its own {SERVICE} serializer")
    shape: Any = get_service_model(SERVICE).shape_for("AttributeValue")
    members = {name: member.type_name for name, member in shape.members.items()}
    expected_members = {
        "S": "string",
        "N": "string",
        "B": "blob",
        "SS": "list",
        "NS": "list",
        "BS": "list",
        "M": "map",
        "L": "list",
        "NULL": "boolean",
        "BOOL": "boolean",
    }
    if members != expected_members:
        problems.append(f"the DynamoDB AttributeValue shape changed: {members}")
    return problems
