"""DynamoDB's JSON on the wire for the item-heavy calls, without botocore's walk through the service model.

botocore turns each Scan page and each BatchWriteItem body into and out of JSON by walking the service model's
shapes for every attribute value of every item, which costs more CPU than everything else the worker does per
item (bench case c). The low-level client's items are DynamoDB's wire JSON already, but for binary values
(``bytes`` in Python, base64 on the wire). So for these calls ``json.loads`` / ``json.dumps`` and a base64 step
for binary values give the same Python values, byte for byte, as botocore's parser and serializer.

botocore keeps everything else: credentials, signing, endpoints, retries, error parsing, and every other
operation. :func:`install` changes one client; a botocore whose internals differ is left as it is, and works
as before, only slower.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from botocore.parsers import JSONParser
from botocore.validate import ParamValidationDecorator

LOGGER = logging.getLogger(__name__)
_Client = TypeVar("_Client")

# Where the items are in each output the fast path parses: (member, shape of the member).
_ITEMS = "items"  # a list of items
_ITEM = "item"  # one item (a key)
_REQUESTS = "requests"  # table name -> list of {"PutRequest": {"Item"}} / {"DeleteRequest": {"Key"}}
_TABLE_ITEMS = "table items"  # table name -> list of items
_TABLE_KEYS = "table keys"  # table name -> {"Keys": [keys], ...}
_OUTPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "ScanOutput": (("Items", _ITEMS), ("LastEvaluatedKey", _ITEM)),
    "BatchWriteItemOutput": (("UnprocessedItems", _REQUESTS),),
    "BatchGetItemOutput": (("Responses", _TABLE_ITEMS), ("UnprocessedKeys", _TABLE_KEYS)),
}
# Inputs the fast path serializes: their items hold bytes only where DynamoDB expects binary (the worker
# validates every item it writes, validate_target_item, which accepts nothing else for B and BS).
_INPUTS = frozenset({"BatchWriteItem"})
# Every binary value on the wire is a "B" or "BS" key; a page without that text has nothing to decode.
_BINARY_MARK = b'"B'


def wired(client: _Client) -> _Client:
    """``client``, after :func:`install`."""
    install(client)
    return client


def install(client: Any) -> bool:
    """Make a low-level DynamoDB client parse Scan, BatchGetItem and BatchWriteItem responses, and (without
    parameter validation) serialize BatchWriteItem requests, as plain JSON. Returns whether it could."""
    endpoint = getattr(client, "_endpoint", None)
    factory = getattr(endpoint, "_response_parser_factory", None)
    serializer = getattr(client, "_serializer", None)
    if factory is None or not callable(getattr(serializer, "serialize_to_request", None)):
        LOGGER.warning("this botocore's client has no parser factory or serializer to replace: botocore's own apply")
        return False
    if not isinstance(factory, _ParserFactory):
        endpoint._response_parser_factory = _ParserFactory(factory)  # type: ignore[union-attr]
    # A client that validates parameters walks the shapes for that anyway; the worker's write client does not
    # (migration_core.config.write_client_config), since it validates every item itself.
    if not isinstance(serializer, ParamValidationDecorator | _Serializer):
        client._serializer = _Serializer(serializer)
    return True


class _ParserFactory:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def create_parser(self, protocol_name: str) -> Any:
        parser = self._inner.create_parser(protocol_name)
        return _Parser() if type(parser) is JSONParser else parser

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Parser(JSONParser):
    """botocore's JSON parser (errors, metadata, every other output), with item-heavy outputs read as they are."""

    def _handle_json_body(self, raw_body: bytes, shape: Any) -> Any:
        # The stubs of botocore's parsers do not declare its private methods.
        botocore_parser: Any = super()
        members = _OUTPUTS.get(getattr(shape, "name", ""))
        if members is None:
            return botocore_parser._handle_json_body(raw_body, shape)
        parsed = botocore_parser._parse_body_as_json(raw_body)
        if _BINARY_MARK in raw_body and isinstance(parsed, dict):
            for member, kind in members:
                value = parsed.get(member)
                if value:
                    _DECODERS[kind](value)
        return parsed


class _Serializer:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def serialize_to_request(self, parameters: Mapping[str, Any], operation_model: Any) -> Any:
        if operation_model.name not in _INPUTS:
            return self._inner.serialize_to_request(parameters, operation_model)
        # botocore builds the request (method, target header, content type) from no parameters; the body is ours.
        request = self._inner.serialize_to_request({}, operation_model)
        request["body"] = dumps(parameters)
        return request

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def dumps(parameters: Mapping[str, Any]) -> bytes:
    """A request body as botocore writes it: binary as base64, everything else as it is."""
    return json.dumps(parameters, default=_encode_binary).encode()


def _encode_binary(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"not a DynamoDB wire value: {type(value).__name__}")


def _decode_value(value: Any) -> None:
    if "B" in value:
        value["B"] = base64.b64decode(value["B"])
    elif "BS" in value:
        value["BS"] = [base64.b64decode(element) for element in value["BS"]]
    elif "M" in value:
        decode_item(value["M"])
    elif "L" in value:
        for element in value["L"]:
            _decode_value(element)


def decode_item(item: dict[str, Any]) -> None:
    """Turn an item in DynamoDB's wire JSON into botocore's form, in place: binary values base64-decoded."""
    for value in item.values():
        _decode_value(value)


def _decode_items(items: list[dict[str, Any]]) -> None:
    for item in items:
        decode_item(item)


def _decode_requests(tables: dict[str, list[dict[str, Any]]]) -> None:
    for requests in tables.values():
        for request in requests:
            if "PutRequest" in request:
                decode_item(request["PutRequest"]["Item"])
            if "DeleteRequest" in request:
                decode_item(request["DeleteRequest"]["Key"])


def _decode_table_items(tables: dict[str, list[dict[str, Any]]]) -> None:
    for items in tables.values():
        _decode_items(items)


def _decode_table_keys(tables: dict[str, dict[str, Any]]) -> None:
    for keys in tables.values():
        _decode_items(keys.get("Keys", []))


_DECODERS: dict[str, Callable[[Any], None]] = {
    _ITEMS: _decode_items,
    _ITEM: decode_item,
    _REQUESTS: _decode_requests,
    _TABLE_ITEMS: _decode_table_items,
    _TABLE_KEYS: _decode_table_keys,
}
