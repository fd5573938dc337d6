"""IAM policy documents and their evaluation, for the emulator's IAM gate (:mod:`.iam_gate`).

Pure: no moto, no AWS. Implements the parts of IAM's policy language that decide a request:

- statements with ``Effect``, ``Action`` / ``NotAction``, ``Resource`` / ``NotResource``, ``Principal`` /
  ``NotPrincipal`` (resource-based and trust policies) and ``Condition``;
- wildcards: ``*`` and ``?`` in actions (case-insensitive) and in ARNs (case-sensitive; in the first five ARN
  fields a wildcard stays within its field, in the resource part it may span ``:`` and ``/``);
- policy variables (``${aws:PrincipalAccount}``, ``${*}``, ...) in resources and condition values of
  ``2012-10-17`` documents;
- condition operators: String*, Arn*, Numeric*, Date*, Bool, BinaryEquals, IpAddress/NotIpAddress and Null, each
  with ``...IfExists`` and the ``ForAnyValue:`` / ``ForAllValues:`` set qualifiers, following IAM's rules for keys
  missing from the request (a negated operator, ``IfExists`` and ``ForAllValues`` are then true);
- the decision: an explicit ``Deny`` wins, else an ``Allow`` allows, else the request is implicitly denied.

An operator IAM does not know makes its condition false (IAM would have refused the policy).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ContextValue = str | Sequence[str]
"""A request context value: one string, or a list for multi-valued keys."""

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


class PrincipalMatch(enum.Enum):
    """How a resource-based statement names the caller; only ``EXPLICIT`` grants without an identity policy."""

    NONE = "none"
    ACCOUNT = "account"
    EXPLICIT = "explicit"


@dataclass(frozen=True)
class Caller:
    """Who makes a request, as resource-based policies name principals."""

    account_id: str
    identifiers: frozenset[str]
    """ARNs that name this caller itself (the role's ARN, the session's ARN)."""
    partition: str = "aws"

    def match(self, names: Iterable[str]) -> PrincipalMatch:
        best = PrincipalMatch.NONE
        for name in names:
            if name == "*" or name in self.identifiers:
                return PrincipalMatch.EXPLICIT
            if name in (self.account_id, f"arn:{self.partition}:iam::{self.account_id}:root"):
                best = PrincipalMatch.ACCOUNT
        return best


@dataclass(frozen=True)
class Condition:
    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    effect: str
    sid: str = ""
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principals: tuple[str, ...] | None = None
    """``AWS`` principals (``"*"`` stands for ``Principal: "*"``); None when the statement names none."""
    not_principals: tuple[str, ...] | None = None
    conditions: tuple[Condition, ...] = ()

    def concerns_action(self, action: str) -> bool:
        if self.actions is not None:
            return any(_action_matches(pattern, action) for pattern in self.actions)
        if self.not_actions is not None:
            return not any(_action_matches(pattern, action) for pattern in self.not_actions)
        return False

    def concerns_resource(self, resource: str, context: Mapping[str, ContextValue], variables: bool) -> bool:
        if self.resources is not None:
            return any(_resource_matches(pattern, resource, context, variables) for pattern in self.resources)
        if self.not_resources is not None:
            return not any(_resource_matches(pattern, resource, context, variables) for pattern in self.not_resources)
        # Trust policies name no resource: the role they belong to is the resource.
        return True

    def principal_match(self, caller: Caller) -> PrincipalMatch:
        if self.principals is not None:
            return caller.match(self.principals)
        if self.not_principals is not None and caller.match(self.not_principals) is PrincipalMatch.NONE:
            return PrincipalMatch.EXPLICIT
        return PrincipalMatch.NONE


@dataclass(frozen=True)
class PolicyDocument:
    statements: tuple[Statement, ...]
    variables: bool = True
    """Whether ``${...}`` are policy variables (version 2012-10-17) or literal text (2008-10-17)."""

    @staticmethod
    def parse(text: str) -> PolicyDocument:
        """Parse a policy JSON document; an unreadable one has no statements (so allows nothing)."""
        return _parse_cached(text)


@dataclass(frozen=True)
class Evaluation:
    decision: Decision
    statement: Statement | None = None
    principal: PrincipalMatch = PrincipalMatch.NONE
    """For resource-based policies: how the deciding Allow statement named the caller."""


@dataclass
class _Found:
    allow: Statement | None = None
    allow_principal: PrincipalMatch = PrincipalMatch.NONE


def evaluate(
    policies: Iterable[PolicyDocument],
    action: str,
    resource: str,
    context: Mapping[str, ContextValue],
    caller: Caller | None = None,
) -> Evaluation:
    """Evaluate identity policies (``caller`` None) or resource-based policies (statements must name ``caller``).

    ``context`` keys are matched case-insensitively, as IAM does.
    """
    lowered = {key.lower(): value for key, value in context.items()}
    found = _Found()
    for policy in policies:
        for statement in policy.statements:
            principal = PrincipalMatch.NONE
            if caller is not None:
                principal = statement.principal_match(caller)
                if principal is PrincipalMatch.NONE:
                    continue
            if not statement.concerns_action(action):
                continue
            if not statement.concerns_resource(resource, lowered, policy.variables):
                continue
            if not all(_condition_holds(condition, lowered, policy.variables) for condition in statement.conditions):
                continue
            if statement.effect == "Deny":
                return Evaluation(Decision.EXPLICIT_DENY, statement, principal)
            # An Allow that names the caller itself outranks one that names its account (see PrincipalMatch).
            upgrade = principal is PrincipalMatch.EXPLICIT and found.allow_principal is not PrincipalMatch.EXPLICIT
            if statement.effect == "Allow" and (found.allow is None or upgrade):
                found.allow, found.allow_principal = statement, principal
    if found.allow is not None:
        return Evaluation(Decision.ALLOW, found.allow, found.allow_principal)
    return Evaluation(Decision.IMPLICIT_DENY)


# --------------------------------------------------------------------------------------------------
# Parsing


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> PolicyDocument:
    try:
        document = json.loads(text)
    except (TypeError, ValueError):
        return PolicyDocument(())
    if not isinstance(document, Mapping):
        return PolicyDocument(())
    raw = document.get("Statement", [])
    statements = raw if isinstance(raw, list) else [raw]
    return PolicyDocument(
        tuple(_statement(item) for item in statements if isinstance(item, Mapping)),
        variables=document.get("Version") == "2012-10-17",
    )


def _strings(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return tuple(_text(item) for item in items)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _principals(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value == "*":
        return ("*",)
    if isinstance(value, Mapping):
        # Service and federated principals never name a role session, the only callers the gate evaluates.
        return _strings(value.get("AWS")) or ()
    return ()


def _statement(raw: Mapping[str, Any]) -> Statement:
    conditions: list[Condition] = []
    block = raw.get("Condition")
    if isinstance(block, Mapping):
        for operator, keys in block.items():
            if not isinstance(keys, Mapping):
                conditions.append(Condition(str(operator), "", ()))
                continue
            for key, values in keys.items():
                conditions.append(Condition(str(operator), str(key), _strings(values) or ()))
    return Statement(
        effect=str(raw.get("Effect", "")),
        sid=str(raw.get("Sid", "")),
        actions=_strings(raw.get("Action")),
        not_actions=_strings(raw.get("NotAction")),
        resources=_strings(raw.get("Resource")),
        not_resources=_strings(raw.get("NotResource")),
        principals=_principals(raw.get("Principal")),
        not_principals=_principals(raw.get("NotPrincipal")),
        conditions=tuple(conditions),
    )


# --------------------------------------------------------------------------------------------------
# Wildcards


@functools.lru_cache(maxsize=8192)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob_matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _action_matches(pattern: str, action: str) -> bool:
    return glob_matches(pattern, action, ignore_case=True)


def arn_matches(pattern: str, value: str) -> bool:
    """IAM's ARN matching: field by field for ``arn:partition:service:region:account``, then the resource part."""
    if pattern == "*":
        return True
    pattern_fields = pattern.split(":", 5)
    value_fields = value.split(":", 5)
    if len(pattern_fields) != 6 or len(value_fields) != 6:
        return glob_matches(pattern, value)
    return all(glob_matches(p, v) for p, v in zip(pattern_fields, value_fields, strict=True))


def _substitute(text: str, context: Mapping[str, ContextValue]) -> str | None:
    """``text`` with its policy variables replaced; None when one names a key the request lacks."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in _SPECIAL_VARIABLES:
            return _SPECIAL_VARIABLES[name]
        key, _, default = name.partition(",")
        value = context.get(key.strip().lower())
        if isinstance(value, str):
            return value
        default = default.strip()
        if default.startswith("'") and default.endswith("'") and len(default) >= 2:
            return default[1:-1]
        missing = True
        return ""

    result = _VARIABLE.sub(replace, text)
    return None if missing else result


def _resource_matches(pattern: str, resource: str, context: Mapping[str, ContextValue], variables: bool) -> bool:
    if variables and "${" in pattern:
        substituted = _substitute(pattern, context)
        if substituted is None:
            return False
        pattern = substituted
    return arn_matches(pattern, resource)


# --------------------------------------------------------------------------------------------------
# Conditions


def _parse_operator(operator: str) -> tuple[str | None, str, bool]:
    """(set qualifier or None, base operator, if-exists)."""
    qualifier: str | None = None
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        if operator.startswith(prefix):
            qualifier, operator = prefix[:-1], operator[len(prefix) :]
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    if if_exists:
        operator = operator[: -len("IfExists")]
    return qualifier, operator, if_exists


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> float | None:
    number = _number(text)
    if number is not None:
        return number
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


def _compare(kind: str, relation: str, value: str, expected: str) -> bool:
    left = _number(value) if kind == "Numeric" else _date(value)
    right = _number(expected) if kind == "Numeric" else _date(expected)
    if left is None or right is None:
        return False
    return {
        "Equals": left == right,
        "LessThan": left < right,
        "LessThanEquals": left <= right,
        "GreaterThan": left > right,
        "GreaterThanEquals": left >= right,
    }.get(relation, False)


def _in_network(value: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


_NEGATIONS = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}


_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda value, expected: value == expected,
    "StringEqualsIgnoreCase": lambda value, expected: value.casefold() == expected.casefold(),
    "StringLike": lambda value, expected: glob_matches(expected, value),
    "ArnEquals": lambda value, expected: arn_matches(expected, value),
    "ArnLike": lambda value, expected: arn_matches(expected, value),
    "Bool": lambda value, expected: value.lower() == expected.lower(),
    "BinaryEquals": lambda value, expected: value == expected,
    "IpAddress": _in_network,
    **{
        f"{kind}{relation}": functools.partial(_compare, kind, relation)
        for kind in ("Numeric", "Date")
        for relation in ("Equals", "LessThan", "LessThanEquals", "GreaterThan", "GreaterThanEquals")
    },
}


def _condition_holds(condition: Condition, context: Mapping[str, ContextValue], variables: bool) -> bool:
    qualifier, operator, if_exists = _parse_operator(condition.operator)
    raw = context.get(condition.key.lower())
    present = raw is not None
    if operator == "Null":
        return any((value.lower() == "true") != present for value in condition.values)
    negated = operator in _NEGATIONS
    base = _NEGATIONS.get(operator, operator)
    matcher = _MATCHERS.get(base)
    if matcher is None:
        return False
    if raw is None:
        if qualifier is not None:
            return qualifier == "ForAllValues"
        return if_exists or negated
    request_values = [raw] if isinstance(raw, str) else list(raw)
    expected_values = [
        text
        for text in (
            _substitute(expected, context) if variables and "${" in expected else expected
            for expected in condition.values
        )
        if text is not None
    ]

    def satisfied(value: str) -> bool:
        matched = any(matcher(value, expected) for expected in expected_values)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(satisfied(value) for value in request_values)
    return any(satisfied(value) for value in request_values)
