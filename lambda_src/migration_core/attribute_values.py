"""DynamoDB AttributeValue JSON: the only item representation the project uses.

Items stay exactly as the low-level client returns them (numbers as strings, binary as ``bytes``, sets as
lists) so that nothing is lost between Scan and BatchWriteItem. The helpers here copy items, encode them for
JSON payloads (Step Functions, the state table) and compute their size by DynamoDB's rules.
"""
# ValueError (not TypeError) for every malformed value: callers turn one exception type into their own
# domain error (TransformError, InvalidItemError, InvalidInput).
# ruff: noqa: TRY004

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from migration_core.types import AttributeValue, Item

MAX_ITEM_SIZE_BYTES = 400 * 1024
MAX_NUMBER_DIGITS = 38
# DynamoDB's number range: magnitudes from 1E-130 up to (but excluding) 1E+126.
MIN_NUMBER_EXPONENT = -130
MAX_NUMBER_EXPONENT = 125
# A List or Map costs 3 bytes however empty it is, and each element 1 more byte.
CONTAINER_OVERHEAD_BYTES = 3
ELEMENT_OVERHEAD_BYTES = 1

_T = TypeVar("_T")
# Python's Decimal accepts underscores, "NaN" and surrounding blanks; DynamoDB accepts none of them.
_NUMBER_SYNTAX = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SET_TYPES = frozenset({"SS", "NS", "BS"})
# The same syntax in parts (integer digits, fraction digits, exponent), for the fast size path.
_NUMBER_PARTS = re.compile(r"[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")


def copy_item(item: Mapping[str, AttributeValue]) -> Item:
    """Copy an item deeply enough that changing the copy never changes the original."""
    return {name: copy_attribute_value(value) for name, value in item.items()}


def copy_attribute_value(value: AttributeValue) -> AttributeValue:
    if len(value) == 1:
        # The one-type-key shape of every valid value, copied without the general loop below.
        ((type_name, payload),) = value.items()
        if type_name == "M":
            return {"M": copy_item(payload)}
        if type_name == "L":
            return {"L": [copy_attribute_value(element) for element in payload]}
        if type_name in _SET_TYPES:
            return {type_name: list(payload)}
        return {type_name: payload}  # str, bytes and bool are immutable
    copied: AttributeValue = {}
    for type_name, payload in value.items():
        if type_name == "M":
            copied[type_name] = copy_item(payload)
        elif type_name == "L":
            copied[type_name] = [copy_attribute_value(element) for element in payload]
        elif type_name in ("SS", "NS", "BS"):
            copied[type_name] = list(payload)
        else:
            copied[type_name] = payload  # str, bytes and bool are immutable
    return copied


def item_to_json(item: Mapping[str, AttributeValue]) -> dict[str, Any]:
    """DynamoDB's wire JSON: like the client's form, except that binary values are base64 strings."""
    return {name: _value_to_json(value) for name, value in item.items()}


def item_from_json(data: Mapping[str, Any]) -> Item:
    """Inverse of :func:`item_to_json`; raises ``ValueError`` on anything that is not AttributeValue JSON."""
    if not isinstance(data, Mapping):
        raise ValueError(f"expected an object of attribute name to AttributeValue, got {type(data).__name__}")
    return {str(name): attribute_value_from_json(value, path=str(name)) for name, value in data.items()}


def attribute_value_from_json(value: Any, path: str = "value") -> AttributeValue:
    """Decode one AttributeValue from JSON (base64 for B/BS) and check that it is well formed."""
    decoded = _decode_value(value, path)
    # One check of the whole decoded value: checking each nested level as it was decoded cost depth x size.
    try:
        _plain_value_size(decoded)
    except _NotPlainError:
        attribute_value_size(decoded, path)
    return decoded


def _decode_value(value: Any, path: str) -> AttributeValue:
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValueError(f"{path}: an AttributeValue is an object with exactly one type key, got {value!r}")
    ((type_name, payload),) = value.items()
    decoded: AttributeValue
    if type_name == "B":
        decoded = {"B": _decode_base64(payload, path)}
    elif type_name == "BS":
        if not isinstance(payload, list):
            raise ValueError(f"{path}: BS must be a list of base64 strings")
        decoded = {"BS": [_decode_base64(element, path) for element in payload]}
    elif type_name == "L":
        if not isinstance(payload, list):
            raise ValueError(f"{path}: L must be a list of AttributeValues")
        decoded = {"L": [_decode_value(v, f"{path}[{i}]") for i, v in enumerate(payload)]}
    elif type_name == "M":
        if not isinstance(payload, Mapping):
            raise ValueError(f"{path}: M must be an object of AttributeValues")
        decoded = {"M": {str(k): _decode_value(v, f"{path}.{k}") for k, v in payload.items()}}
    else:
        decoded = {type_name: payload}
    return decoded


def dumps_item(item: Mapping[str, AttributeValue]) -> str:
    return json.dumps(item_to_json(item), separators=(",", ":"), ensure_ascii=False)


def loads_item(text: str) -> Item:
    return item_from_json(json.loads(text))


def format_key(key: Mapping[str, AttributeValue]) -> str:
    """Compact, unambiguous rendering of a key for error messages and logs."""
    return dumps_item(key)


def item_size(item: Mapping[str, AttributeValue]) -> int:
    """Size of an item by DynamoDB's rules: each attribute name's UTF-8 bytes plus its value's size.

    Raises ``ValueError`` naming the attribute when a value is not a well-formed AttributeValue.
    """
    # Every item the worker writes is measured (and so validated) once, which made this the worker's largest
    # cost after botocore itself. The fast path handles the plain shapes; anything it is unsure about
    # (including every invalid value) is measured again by the checked path, which names the bad attribute.
    if type(item) is dict:
        try:
            return _plain_item_size(item)
        except _NotPlainError:
            pass
    return sum(len(name.encode()) + attribute_value_size(value, name) for name, value in item.items())


def attribute_value_size(value: AttributeValue, path: str = "value") -> int:  # noqa: PLR0911 - one per type
    """Size of one AttributeValue by DynamoDB's rules, validating its shape on the way.

    Strings count their UTF-8 bytes, binary its bytes, BOOL and NULL one byte, sets the sum of their
    elements, and a List or Map 3 bytes plus 1 byte per element (plus the names of a Map's entries).
    Numbers use DynamoDB's documented approximation, see :func:`number_size`.
    """
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValueError(f"{path}: an AttributeValue has exactly one type key, got {value!r}")
    ((type_name, payload),) = value.items()
    if type_name == "S":
        return len(_require(payload, str, path, "S").encode())
    if type_name == "N":
        return number_size(_require(payload, str, path, "N"), path)
    if type_name == "B":
        return len(_require(payload, bytes, path, "B"))
    if type_name == "BOOL":
        _require(payload, bool, path, "BOOL")
        return 1
    if type_name == "NULL":
        if payload is not True:
            raise ValueError(f"{path}: NULL must be true")
        return 1
    if type_name in ("SS", "NS", "BS"):
        return _set_size(type_name, payload, path)
    if type_name == "L":
        elements = _require(payload, list, path, "L")
        return CONTAINER_OVERHEAD_BYTES + sum(
            ELEMENT_OVERHEAD_BYTES + attribute_value_size(element, f"{path}[{index}]")
            for index, element in enumerate(elements)
        )
    if type_name == "M":
        entries = _require(payload, dict, path, "M")
        return CONTAINER_OVERHEAD_BYTES + sum(
            ELEMENT_OVERHEAD_BYTES + len(name.encode()) + attribute_value_size(element, f"{path}.{name}")
            for name, element in entries.items()
        )
    raise ValueError(f"{path}: unknown AttributeValue type {type_name!r}")


def number_size(text: str, path: str = "value") -> int:
    """Approximate stored size of a DynamoDB number: 1 byte per two significant digits, plus 1.

    DynamoDB documents only this approximation (leading and trailing zeros are trimmed; the exact encoding
    can differ by a byte, e.g. for negative numbers), which is why the 400 KB check is an approximation for
    number-heavy items. The text must be a number DynamoDB accepts: at most 38 significant digits and a
    magnitude between 1E-130 and 1E+126.
    """
    size = _plain_number_size(text) if type(text) is str else None
    if size is not None:
        return size
    if not _NUMBER_SYNTAX.fullmatch(text):
        raise ValueError(f"{path}: {text!r} is not a DynamoDB number")
    number = Decimal(text)
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    if len(digits) > MAX_NUMBER_DIGITS:
        raise ValueError(f"{path}: {text!r} has more than {MAX_NUMBER_DIGITS} significant digits")
    if digits and not MIN_NUMBER_EXPONENT <= number.adjusted() <= MAX_NUMBER_EXPONENT:
        raise ValueError(f"{path}: {text!r} is outside DynamoDB's number range (1E-130 to 1E+126)")
    return (max(len(digits), 1) + 1) // 2 + 1


class _NotPlainError(Exception):
    """The fast size path cannot vouch for a value; the checked path measures it (or says what is wrong)."""


def _plain_number_size(text: str) -> int | None:
    """``number_size`` of an ASCII number DynamoDB accepts, computed on the text; None when unsure."""
    match = _NUMBER_PARTS.fullmatch(text) if text.isascii() else None
    if match is None:
        return None
    integer, fraction, exponent = match.group(1), match.group(2) or "", match.group(3)
    if not (integer or fraction):
        return None
    digits = integer + fraction
    from_first = digits.lstrip("0")
    significant = from_first.rstrip("0")
    if len(significant) > MAX_NUMBER_DIGITS:
        return None
    if significant:
        # Exponent of the first significant digit, as Decimal.adjusted() gives it.
        adjusted = len(integer) - 1 - (len(digits) - len(from_first)) + (int(exponent) if exponent else 0)
        if not MIN_NUMBER_EXPONENT <= adjusted <= MAX_NUMBER_EXPONENT:
            return None
    return (max(len(significant), 1) + 1) // 2 + 1


def _plain_item_size(item: dict[str, Any]) -> int:
    total = 0
    for name, value in item.items():
        total += (len(name) if name.isascii() else len(name.encode())) + _plain_value_size(value)
    return total


def _plain_value_size(value: Any) -> int:  # noqa: PLR0911, PLR0912 - one branch per type, as in the checked path
    if type(value) is not dict or len(value) != 1:
        raise _NotPlainError
    ((type_name, payload),) = value.items()
    kind = type(payload)
    if type_name == "S" and kind is str:
        return len(payload) if payload.isascii() else len(payload.encode())
    if type_name == "N" and kind is str:
        size = _plain_number_size(payload)
        if size is not None:
            return size
    elif type_name == "M" and kind is dict:
        total = CONTAINER_OVERHEAD_BYTES
        for name, element in payload.items():
            name_bytes = len(name) if name.isascii() else len(name.encode())
            total += ELEMENT_OVERHEAD_BYTES + name_bytes + _plain_value_size(element)
        return total
    elif type_name == "L" and kind is list:
        total = CONTAINER_OVERHEAD_BYTES
        for element in payload:
            total += ELEMENT_OVERHEAD_BYTES + _plain_value_size(element)
        return total
    elif type_name == "B" and kind is bytes:
        return len(payload)
    elif (type_name == "BOOL" and kind is bool) or (type_name == "NULL" and payload is True):
        return 1
    elif type_name == "SS" and kind is list and payload and all(type(e) is str for e in payload):
        if len(set(payload)) == len(payload):
            return sum(len(e) if e.isascii() else len(e.encode()) for e in payload)
    elif type_name == "BS" and kind is list and payload and all(type(e) is bytes for e in payload):
        if len(set(payload)) == len(payload):
            return sum(len(e) for e in payload)
    elif type_name == "NS":
        # Duplicates are by numeric value (1 and 1.0), which the checked path compares exactly.
        try:
            return _set_size("NS", payload, "")
        except ValueError:
            raise _NotPlainError from None
    raise _NotPlainError


def _set_size(type_name: str, payload: Any, path: str) -> int:
    elements = _require(payload, list, path, type_name)
    if not elements:
        raise ValueError(f"{path}: {type_name} must not be empty (DynamoDB has no empty sets)")
    distinct: set[object]
    if type_name == "NS":
        numbers = [_require(e, str, path, "NS element") for e in elements]
        sizes = [number_size(number, path) for number in numbers]
        distinct = {Decimal(number) for number in numbers}
    elif type_name == "SS":
        strings = [_require(e, str, path, "SS element") for e in elements]
        sizes = [len(text.encode()) for text in strings]
        distinct = set(strings)
    else:
        blobs = [_require(e, bytes, path, "BS element") for e in elements]
        sizes = [len(blob) for blob in blobs]
        distinct = set(blobs)
    if len(distinct) != len(elements):
        raise ValueError(f"{path}: {type_name} contains duplicates")
    return sum(sizes)


def _require(payload: Any, expected: type[_T], path: str, what: str) -> _T:
    if not isinstance(payload, expected):
        raise ValueError(f"{path}: {what} must be {expected.__name__}, got {type(payload).__name__}")
    return payload


def _value_to_json(value: AttributeValue) -> Any:
    ((type_name, payload),) = value.items()
    if type_name == "B":
        return {"B": base64.b64encode(payload).decode("ascii")}
    if type_name == "BS":
        return {"BS": [base64.b64encode(element).decode("ascii") for element in payload]}
    if type_name == "L":
        return {"L": [_value_to_json(element) for element in payload]}
    if type_name == "M":
        return {"M": item_to_json(payload)}
    return {type_name: payload}


def _decode_base64(payload: Any, path: str) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if not isinstance(payload, str):
        raise ValueError(f"{path}: binary values must be base64 strings")
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{path}: {payload!r} is not valid base64") from exc
