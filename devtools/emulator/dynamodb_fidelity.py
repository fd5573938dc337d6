"""Where moto's DynamoDB answers unlike DynamoDB in ways our code depends on, and the patches that fix it.

- Numbers (:mod:`.dynamodb_numbers`): moto stores and returns a number as it was written (``1.50``,
  ``1E+2``, ``-0``), so ``{"N": "1.0"}`` and ``{"N": "1"}`` come back as different texts and a key built
  from the text differs from AWS's. Every AttributeValue of every DynamoDB request is made canonical
  before moto sees it (``DynamoHandler.call_action``), which covers PutItem, UpdateItem, BatchWriteItem,
  TransactWriteItems, keys, conditions and ExclusiveStartKey; stored values, and so Query, Scan, GetItem
  results and stream images, are then canonical too. Arithmetic (``DynamoType.__add__``/``__sub__``,
  AttributeUpdates ``ADD``) is exact instead of rounded to Python's default 28 digits, and canonical, and
  so are projected items (moto projects through boto3's Decimal (de)serializer, which fails on a 38-digit
  number written out in full and writes ``1E-130`` back).
- Streams: UpdateItem on a missing item creates the item with just its key (one INSERT record) and then
  updates it (a second INSERT); DynamoDB writes one INSERT with the whole item. A write that changes
  nothing (the same item put again, an update to the values already there) writes no record on DynamoDB
  (DynamoDB Streams developer guide; tecracer.com, "Why I had to update my mental model of DynamoDB
  streams", 2021) but a MODIFY in moto. ``StreamShard.add`` drops those, and ``DynamoDBBackend.update_item``
  collects the records of one update into one. Every record says ``awsRegion: us-east-1`` in moto, whatever the
  table's region; ``StreamRecord.__init__`` writes the table's own region, as DynamoDB does (a target in another
  region is tested with tables in two regions).
- UpdateItem is all or nothing on DynamoDB; moto leaves the key-only item it created, or a half-applied
  update, when the update fails part-way (an arithmetic overflow, an item grown past 400 KB). The patched
  ``update_item`` puts the item back as it was.
- ConsumedCapacity: moto answers a constant whatever the items' sizes, the read consistency and the secondary
  indexes; :mod:`.dynamodb_capacity` (applied from here, after the patches above) computes it as DynamoDB does.

:mod:`.moto_patches` applies these with the emulator's other patches, before the DynamoDB speed-ups
(whose table lock then also covers the restoring done here).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal, localcontext
from functools import partial
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from moto.core.responses import BaseResponse
from moto.core.utils import get_service_model
from moto.dynamodb.exceptions import MockValidationException, ResourceNotFoundException
from moto.dynamodb.models import DynamoDBBackend, dynamo_type
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamRecord, StreamShard, Table
from moto.dynamodb.responses import DynamoHandler
from moto.utilities.aws_headers import amz_crc32

from . import dynamodb_capacity, dynamodb_numbers
from .dynamodb_numbers import NumberError

SERVICE = "dynamodb"


class Patches(Protocol):
    """What :class:`.moto_patches.AppliedPatches` offers (kept apart to avoid an import cycle)."""

    def apply(self, owner: Any, name: str, value: Any) -> None: ...


# --------------------------------------------------------------------------------------------------
# Numbers in requests


_walk_needed: dict[str, bool] = {}
_input_shapes: dict[str, Any] = {}
_UNKNOWN: Any = object()


def _holds_attribute_values(shape: Any, visiting: frozenset[str] = frozenset()) -> bool:
    """Whether values of ``shape`` can contain an AttributeValue (memoised: most request members cannot)."""
    known = _walk_needed.get(shape.name)
    if known is not None:
        return known
    if shape.name == "AttributeValue":
        return True
    if shape.name in visiting:
        return False
    visiting = visiting | {shape.name}
    if shape.type_name == "structure":
        found = any(_holds_attribute_values(member, visiting) for member in shape.members.values())
    elif shape.type_name == "list":
        found = _holds_attribute_values(shape.member, visiting)
    elif shape.type_name == "map":
        found = _holds_attribute_values(shape.value, visiting)
    else:
        found = False
    _walk_needed[shape.name] = found
    return found


def _canonicalize(shape: Any, value: Any) -> None:
    if shape.name == "AttributeValue":
        dynamodb_numbers.canonicalize_attribute_value(value)
    elif not _holds_attribute_values(shape):
        return
    elif shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                _canonicalize(member, value[name])
    elif shape.type_name == "list" and isinstance(value, list):
        for element in value:
            _canonicalize(shape.member, element)
    elif shape.type_name == "map" and isinstance(value, dict):
        for element in value.values():
            _canonicalize(shape.value, element)


def canonicalize_request(operation: str, params: Any) -> None:
    """Make every number in a parsed DynamoDB request canonical, in place; raises :class:`NumberError`.

    Guided by the operation's input shape because only the shape says where AttributeValues are: an item
    may well have an attribute called ``N``.
    """
    if not isinstance(params, dict):
        return
    shape = _input_shapes.get(operation, _UNKNOWN)
    if shape is _UNKNOWN:
        model = get_service_model(SERVICE)
        shape = model.operation_model(operation).input_shape if operation in model.operation_names else None
        _input_shapes[operation] = shape
    if shape is not None:
        _canonicalize(shape, params)


@amz_crc32
def _validation_error(handler: Any, message: str) -> Any:
    """The response moto's ``call_action`` gives when an action raises a ValidationException."""
    error = MockValidationException(message)
    headers: dict[str, Any] = dict(error.get_headers() or [])
    headers["status"] = error.code
    status, headers, body = BaseResponse._transform_response(handler.response_headers, (error.description, headers))
    headers, body = BaseResponse._enrich_response(headers, body)
    return status, headers, body


# DynamoDB's limit on the requests of one BatchWriteItem call, over all its tables.
BATCH_WRITE_MAX_REQUESTS = 25


def _key_attributes(handler: Any, table_name: str) -> tuple[str, ...] | None:
    try:
        table = handler.dynamodb_backend.get_table(table_name)
    except ResourceNotFoundException:  # moto reports an unknown table itself, with its own error
        return None
    return tuple(name for name in (table.hash_key_attr, table.range_key_attr) if name)


def batch_write_problem(request_items: Any, key_attributes: Callable[[str], tuple[str, ...] | None]) -> str | None:
    """DynamoDB's refusal of a BatchWriteItem that moto would accept, or None.

    DynamoDB refuses more than 25 requests in one call, and two requests (puts or deletes) for one key of one
    table; moto takes any number and refuses only byte-identical duplicates. Numbers are canonical by now, so
    equal keys have equal text.
    """
    if not isinstance(request_items, dict):
        return None
    requests = [(table, request) for table, entries in request_items.items() for request in entries or []]
    if len(requests) > BATCH_WRITE_MAX_REQUESTS:
        return "Too many items requested for the BatchWriteItem call"
    seen: set[tuple[str, str]] = set()
    for table, request in requests:
        names = key_attributes(table)
        if names is None or not isinstance(request, dict):
            continue
        put, delete = request.get("PutRequest"), request.get("DeleteRequest")
        attributes = (put or {}).get("Item") or (delete or {}).get("Key") or {}
        key = json.dumps([attributes.get(name) for name in names], sort_keys=True)
        if (table, key) in seen:
            return "Provided list of item keys contains duplicates"
        seen.add((table, key))
    return None


def _call_action_with_canonical_numbers(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``DynamoHandler.call_action``: canonical numbers in the request before any action reads it.

    Done here rather than while parsing the request because moto answers errors raised while parsing
    with a 500; from here a refused number is a ValidationException, as on DynamoDB.
    """

    def call_action(self: Any) -> Any:
        action = self._get_action()
        params = getattr(self, "params", None)
        try:
            canonicalize_request(action, params)
        except NumberError as error:
            return _validation_error(self, str(error))
        if action == "BatchWriteItem" and isinstance(params, dict):
            problem = batch_write_problem(params.get("RequestItems"), partial(_key_attributes, self))
            if problem is not None:
                return _validation_error(self, problem)
        return original(self)

    return call_action


# --------------------------------------------------------------------------------------------------
# Arithmetic


def _exact(operation: Callable[[str, str], str], original: Callable[[DynamoType, DynamoType], DynamoType]) -> Any:
    def arithmetic(self: DynamoType, other: DynamoType) -> DynamoType:
        numbers = self.type == "N" and getattr(other, "type", None) == "N"
        if numbers and type(self.value) is str and type(other.value) is str:
            try:
                return DynamoType({"N": operation(self.value, other.value)})
            except NumberError as error:
                raise MockValidationException(str(error)) from None
        return original(self, other)

    return arithmetic


def _attribute_updates_exact(
    original: Callable[[Item, dict[str, Any]], None],
) -> Callable[[Item, dict[str, Any]], None]:
    """``Item.update_with_attribute_updates`` (the legacy AttributeUpdates): an exact, canonical ``ADD``.

    moto adds with ``Decimal`` in Python's default context, which rounds to 28 digits.
    """

    def update_with_attribute_updates(self: Item, attribute_updates: dict[str, Any]) -> None:
        with localcontext(dynamodb_numbers.EXACT):
            original(self, attribute_updates)
        for name in attribute_updates:
            attribute = self.attrs.get(name)
            if attribute is not None and attribute.type == "N" and type(attribute.value) is str:
                try:
                    attribute.value = dynamodb_numbers.arithmetic_result(attribute.value)
                except NumberError as error:
                    raise MockValidationException(str(error)) from None

    return update_with_attribute_updates


class _ExactDeserializer(TypeDeserializer):
    """boto3's deserializer, which moto uses to project items (ProjectionExpression), reading numbers exactly.

    boto3 reads numbers in DynamoDB's own 38-digit context with every rounding trapped, so a canonical number
    written out in full (``1e100`` is 101 digits) fails the whole request, as it fails boto3's clients on AWS
    (boto/boto3#2500).
    """

    def _deserialize_n(self, value: str) -> Decimal:
        return dynamodb_numbers.EXACT.create_decimal(value)


class _CanonicalSerializer(TypeSerializer):
    """boto3's serializer, with which moto turns a projected item back into AttributeValues, writing numbers
    in DynamoDB's canonical text (``str(Decimal)`` would give ``1E-130``)."""

    def _serialize_n(self, value: Any) -> str:
        try:
            return dynamodb_numbers.canonical_number(str(value))
        except NumberError as error:
            raise MockValidationException(str(error)) from None


# --------------------------------------------------------------------------------------------------
# Streams and atomic updates

_collecting = threading.local()


def _collector(table: Any) -> list[tuple[Any, Any]] | None:
    current = getattr(_collecting, "current", None)
    if current is None or current[0] is not table:
        return None
    records: list[tuple[Any, Any]] = current[1]
    return records


def same_item(old: Item, new: Item) -> bool:
    """Whether a write from ``old`` to ``new`` changed nothing DynamoDB would stream.

    Compared as values (moto's ``DynamoType`` equality), so a number set in another order is the same set.
    """
    try:
        return bool(
            old.attrs.keys() == new.attrs.keys() and all(old.attrs[name] == new.attrs[name] for name in old.attrs)
        )
    except Exception:
        return False


def _stream_add(original: Callable[[StreamShard, Any, Any], None]) -> Callable[[StreamShard, Any, Any], None]:
    """``StreamShard.add``: no record for a write that changed nothing; an update's records collected."""

    def add(self: StreamShard, old: Any, new: Any) -> None:
        collected = _collector(self.table)
        if collected is not None:
            collected.append((old, new))
            return
        if old is not None and new is not None and same_item(old, new):
            return
        original(self, old, new)

    return add


def _record_in_table_region(original: Callable[..., None]) -> Callable[..., None]:
    """``StreamRecord.__init__``: ``awsRegion`` is the region of the table that wrote the record."""

    def init(self: StreamRecord, table: Table, *args: Any, **kwargs: Any) -> None:
        original(self, table, *args, **kwargs)
        self.record["awsRegion"] = table.region_name

    return init


def _key_values(table: Table, key: Any) -> tuple[DynamoType, DynamoType | None] | None:
    """The stored key of the item ``key`` names, as moto's ``update_item`` reads it; None if moto will refuse it."""
    try:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except Exception:
        return None
    return hash_value, range_value


def _stored(table: Table, key: tuple[DynamoType, DynamoType | None]) -> Item | None:
    hash_value, range_value = key
    if range_value is None:
        item = table.items.get(hash_value)
    else:
        partition = table.items.get(hash_value)
        item = partition.get(range_value) if isinstance(partition, dict) else None
    return item if isinstance(item, Item) else None


def _put_back(
    table: Table, key: tuple[DynamoType, DynamoType | None], before: Item | None, snapshot: Item | None
) -> None:
    """Undo a failed update: delete the item it created, or give the item it changed its old attributes."""
    current = _stored(table, key)
    if before is None:
        if current is not None:
            table.delete_item(*key)
    elif snapshot is not None and current is before:
        before.attrs = snapshot.attrs


def _atomic_update_item(original: Callable[..., Any]) -> Callable[..., Any]:
    """``DynamoDBBackend.update_item``: one stream record per update, and nothing changed if it fails."""

    def update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            table = self.get_table(table_name)
        except Exception:
            return original(self, table_name, *args, **kwargs)  # moto reports the missing table
        key_argument = args[0] if args else kwargs.get("key")
        key = _key_values(table, key_argument)
        before = None if key is None else _stored(table, key)
        snapshot = copy.deepcopy(before)
        collected: list[tuple[Any, Any]] = []
        outer = getattr(_collecting, "current", None)
        _collecting.current = (table, collected)
        try:
            item = original(self, table_name, *args, **kwargs)
        except BaseException:
            if key is not None:
                _put_back(table, key, before, snapshot)
            raise
        finally:
            _collecting.current = outer
        if collected and table.stream_shard is not None:
            # The first record's old image is the item before the update (None: it was created); the last
            # record's new image is the stored item itself, now fully updated.
            table.stream_shard.add(collected[0][0], collected[-1][1])
        return item

    return update_item


# --------------------------------------------------------------------------------------------------
# What moto_patches applies


def _replacements() -> Iterator[tuple[Any, str, Any]]:
    yield DynamoHandler, "call_action", _call_action_with_canonical_numbers(DynamoHandler.__dict__["call_action"])
    yield DynamoType, "__add__", _exact(dynamodb_numbers.add, DynamoType.__dict__["__add__"])
    yield DynamoType, "__sub__", _exact(dynamodb_numbers.subtract, DynamoType.__dict__["__sub__"])
    yield (
        Item,
        "update_with_attribute_updates",
        _attribute_updates_exact(Item.__dict__["update_with_attribute_updates"]),
    )
    yield dynamo_type, "deserializer", _ExactDeserializer()
    yield dynamo_type, "serializer", _CanonicalSerializer()
    yield StreamShard, "add", _stream_add(StreamShard.__dict__["add"])
    yield StreamRecord, "__init__", _record_in_table_region(StreamRecord.__dict__["__init__"])
    yield DynamoDBBackend, "update_item", _atomic_update_item(DynamoDBBackend.__dict__["update_item"])


_PATCHED = (
    (DynamoHandler, "call_action"),
    (DynamoType, "__add__"),
    (DynamoType, "__sub__"),
    (Item, "update_with_attribute_updates"),
    (StreamShard, "add"),
    (StreamRecord, "__init__"),
    (DynamoDBBackend, "update_item"),
)


def compatibility_problems() -> list[str]:
    """What in the installed moto no longer matches what these patches assume (empty if all is well)."""
    return _own_problems() + dynamodb_capacity.compatibility_problems()


def _own_problems() -> list[str]:
    problems = [f"{owner.__qualname__}.{name} is missing" for owner, name in _PATCHED if name not in owner.__dict__]
    if problems:
        return problems
    if not isinstance(getattr(dynamo_type, "deserializer", None), TypeDeserializer) or not isinstance(
        getattr(dynamo_type, "serializer", None), TypeSerializer
    ):
        problems.append("moto.dynamodb.models.dynamo_type no longer projects items through boto3's (de)serializer")
    update_item = DynamoDBBackend.__dict__["update_item"]
    if update_item.__code__.co_varnames[:3] != ("self", "table_name", "key"):
        problems.append("DynamoDBBackend.update_item no longer takes (table_name, key, ...)")
    if "stream_shard" not in update_item.__code__.co_names or "put_item" not in update_item.__code__.co_names:
        problems.append("DynamoDBBackend.update_item no longer creates items with put_item and streams them itself")
    record_init = StreamRecord.__dict__["__init__"].__code__
    if record_init.co_varnames[:2] != ("self", "table") or "record" not in record_init.co_names:
        problems.append("StreamRecord.__init__ no longer takes the table first and builds self.record")
    call_action = getattr(DynamoHandler.__dict__["call_action"], "__wrapped__", None)
    if call_action is None or "params" not in call_action.__code__.co_consts:
        problems.append("DynamoHandler.call_action no longer reads the parsed params")
    return problems


def apply(patches: Patches) -> None:
    """Apply every patch of this module; the caller has checked :func:`compatibility_problems`."""
    for owner, name, value in _replacements():
        patches.apply(owner, name, value)
    dynamodb_capacity.apply(patches)
