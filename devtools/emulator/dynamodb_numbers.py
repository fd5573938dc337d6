"""DynamoDB's number rules: which texts are numbers, and the one text DynamoDB stores and returns for each.

DynamoDB does not keep a number as it was written: it stores the value and answers with one canonical
text for it. Clients that build keys or compare items from the text (our ``derive`` transform does) see
the canonical text on AWS, so the emulator must produce exactly that text. The rules, and where they are
documented or observed:

- Leading and trailing zeros are trimmed (``007`` -> ``7``, ``1.50`` -> ``1.5``, ``1.0`` -> ``1``):
  DynamoDB Developer Guide, "Supported data types" (HowItWorks.NamingRulesDataTypes): "Leading and
  trailing zeroes are trimmed".
- No exponent notation in results: the value is written out in full. ``1e100`` comes back as ``1`` and
  100 zeros (boto/boto3#2500), ``1.00000000000000007629769841092E+50`` as
  ``100000000000000007629769841092000000000000000000000`` (boto/boto3#4636); ``1.5E2`` -> ``150``,
  ``00042`` -> ``42``, ``-0`` -> ``0``, ``1.0`` -> ``1`` were checked against DynamoDB in
  ExtendDB/extenddb#7. Numbers below 1 are written out the same way (``1E-130`` -> ``0.`` + 129 zeros +
  ``1``), as dynalite (mhart/dynalite, validations/index.js ``checkNum``: ``Big(value).toFixed()``) does.
- A leading ``+``, a bare fraction (``.5``), leading zeros and ``e``/``E`` exponents are accepted on input;
  ``NaN``, ``Infinity``, spaces and anything else are refused with "The parameter cannot be converted to a
  numeric value" (scylladb test/alternator/test_number.py ``test_invalid_numbers``, run against DynamoDB).
- At most 38 significant digits, magnitudes from 1E-130 to 9.9999999999999999999999999999999999999E+125
  (Developer Guide, same page), with DynamoDB's messages for each (dynalite ``checkNum``). Zero is in range
  whatever exponent it is written with (``0e1000`` is accepted in the scylladb test above).
- Arithmetic (``SET a = a + :n``, ``ADD``) is exact; a result DynamoDB cannot store is refused with the
  overflow message whatever the reason (scylladb test_number.py ``test_update_expression_plus_imprecise``:
  ``1e50 - 1`` needs 50 digits).
- A number set may not hold the same number twice, compared after trimming (dynalite checks duplicates on
  the canonical texts: ``["1", "1.0"]`` is refused like ``["1", "1"]``).
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation
from typing import Any

MAX_SIGNIFICANT_DIGITS = 38
MAX_MAGNITUDE = 125
"""Largest power of ten of a number's leading digit (9.99...E+125)."""
MIN_MAGNITUDE = -130
"""Smallest power of ten of a non-zero number's leading digit (1E-130)."""

NOT_A_NUMBER = "The parameter cannot be converted to a numeric value"
OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
TOO_PRECISE = "Attempting to store more than 38 significant digits in a Number"
NUMBER_SET_DUPLICATES = "Input collection contains duplicates"


class NumberError(ValueError):
    """A text DynamoDB refuses as a number; the message is DynamoDB's."""


_SYNTAX = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
# Most numbers in traffic are small integers that are already canonical: recognised without parsing.
_PLAIN_INTEGER = re.compile(r"0|-?[1-9][0-9]{0,37}")

# Two stored numbers span at most 38 digits between 1E-167 and 1E+126: 300 digits hold any sum exactly.
EXACT = Context(prec=300, Emax=1000, Emin=-1000)


def canonical_number(text: str) -> str:
    """The text DynamoDB stores and returns for the number ``text``; raises :class:`NumberError`."""
    if _PLAIN_INTEGER.fullmatch(text):
        return text
    match = _SYNTAX.fullmatch(text)
    if match is None:
        raise NumberError(f"{NOT_A_NUMBER}: {text}")
    sign, whole, fraction, exponent_text = match.groups()
    fraction = fraction or ""
    if not whole and not fraction:
        raise NumberError(f"{NOT_A_NUMBER}: {text}")
    try:
        exponent = int(exponent_text or "0")
    except ValueError:  # more digits than int() converts: no number DynamoDB could hold either way
        raise NumberError(f"{NOT_A_NUMBER}: {text}") from None
    digits = (whole + fraction).lstrip("0")
    if not digits:
        return "0"
    significant = digits.rstrip("0")
    # The value is significant x 10**scale.
    scale = exponent - len(fraction) + (len(digits) - len(significant))
    magnitude = scale + len(significant) - 1
    if magnitude > MAX_MAGNITUDE:
        raise NumberError(OVERFLOW)
    if magnitude < MIN_MAGNITUDE:
        raise NumberError(UNDERFLOW)
    if len(significant) > MAX_SIGNIFICANT_DIGITS:
        raise NumberError(TOO_PRECISE)
    if scale >= 0:
        body = significant + "0" * scale
    else:
        point = len(significant) + scale
        body = f"{significant[:point]}.{significant[point:]}" if point > 0 else f"0.{'0' * -point}{significant}"
    return f"-{body}" if sign == "-" else body


def arithmetic_result(value: Decimal | str) -> str:
    """The canonical text of a computed number, or the error DynamoDB gives for one it cannot store."""
    try:
        return canonical_number(str(value))
    except NumberError:
        raise NumberError(OVERFLOW) from None


def add(left: str, right: str) -> str:
    """``left + right`` as DynamoDB computes it (exactly), canonical; raises :class:`NumberError`."""
    try:
        return arithmetic_result(EXACT.add(Decimal(left), Decimal(right)))
    except InvalidOperation:
        raise NumberError(f"{NOT_A_NUMBER}: {left} + {right}") from None


def subtract(left: str, right: str) -> str:
    """``left - right`` as DynamoDB computes it (exactly), canonical; raises :class:`NumberError`."""
    try:
        return arithmetic_result(EXACT.subtract(Decimal(left), Decimal(right)))
    except InvalidOperation:
        raise NumberError(f"{NOT_A_NUMBER}: {left} - {right}") from None


def _canonical_set(content: list[Any]) -> list[Any]:
    canonical = [canonical_number(element) if type(element) is str else element for element in content]
    if all(type(element) is str for element in canonical) and len(set(canonical)) != len(canonical):
        raise NumberError(NUMBER_SET_DUPLICATES)
    return canonical


def canonicalize_attribute_value(value: Any) -> None:
    """Make every number in one parsed AttributeValue (``{"N": "1.50"}``, nested maps, lists and sets)
    canonical, in place; raises :class:`NumberError` for the first number DynamoDB would refuse.

    Anything that is not a well-formed AttributeValue is left for moto to judge.
    """
    if type(value) is not dict or len(value) != 1:
        return
    ((kind, content),) = value.items()
    if kind == "N":
        if type(content) is str:
            value["N"] = canonical_number(content)
    elif kind == "NS":
        if type(content) is list:
            value["NS"] = _canonical_set(content)
    elif kind == "M":
        if type(content) is dict:
            for member in content.values():
                canonicalize_attribute_value(member)
    elif kind == "L" and type(content) is list:
        for element in content:
            canonicalize_attribute_value(element)
