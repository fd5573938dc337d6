"""Item transforms: declarative steps from ``TRANSFORM_STEPS`` and an optional user module.

Specs are validated when the transformer is built, so a typo fails the run's plan step instead of the
ten-thousandth segment. Steps work on AttributeValue JSON directly: no step ever converts a number.
"""

from __future__ import annotations

import importlib
import json
import os
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from migration_core.attribute_values import attribute_value_from_json, copy_attribute_value, copy_item
from migration_core.clock import Clock, iso_timestamp, utc_now
from migration_core.environment import Environment
from migration_core.errors import TransformError
from migration_core.types import AttributeValue, Item

__all__ = ["CustomTransform", "TransformError", "Transformer", "load_custom_transform"]

CustomTransform = Callable[[Item], Item | list[Item] | None]

TIMESTAMP_FORMATS = ("iso8601", "epoch_seconds", "epoch_millis")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Step(Protocol):
    def apply(self, item: Item, now: datetime) -> None: ...


@dataclass(frozen=True)
class _SetStep:
    attribute: str
    value: AttributeValue

    def apply(self, item: Item, now: datetime) -> None:
        item[self.attribute] = copy_attribute_value(self.value)


@dataclass(frozen=True)
class _RenameStep:
    attribute: str
    to: str

    def apply(self, item: Item, now: datetime) -> None:
        if self.attribute in item:
            item[self.to] = item.pop(self.attribute)


@dataclass(frozen=True)
class _RemoveStep:
    attribute: str

    def apply(self, item: Item, now: datetime) -> None:
        item.pop(self.attribute, None)


@dataclass(frozen=True)
class _TimestampStep:
    attribute: str
    format: str

    def apply(self, item: Item, now: datetime) -> None:
        if self.format == "iso8601":
            item[self.attribute] = {"S": iso_timestamp(now)}
        elif self.format == "epoch_seconds":
            item[self.attribute] = {"N": str((now - _EPOCH) // timedelta(seconds=1))}
        else:
            item[self.attribute] = {"N": str((now - _EPOCH) // timedelta(milliseconds=1))}


@dataclass(frozen=True)
class _DeriveStep:
    attribute: str
    template: str
    # (literal text, attribute name or None) pairs, from string.Formatter's parser.
    parts: tuple[tuple[str, str | None], ...]

    def apply(self, item: Item, now: datetime) -> None:
        pieces = []
        for literal, placeholder in self.parts:
            pieces.append(literal)
            if placeholder is None:
                continue
            value = item.get(placeholder)
            if value is None:
                raise TransformError(
                    f"derive {self.attribute!r} from {self.template!r}: placeholder {{{placeholder}}} "
                    f"refers to attribute {placeholder!r}, which the item does not have"
                )
            ((type_name, payload),) = value.items()
            if type_name not in ("S", "N"):
                raise TransformError(
                    f"derive {self.attribute!r} from {self.template!r}: placeholder {{{placeholder}}} "
                    f"refers to attribute {placeholder!r} of type {type_name}; only S and N can be used"
                )
            pieces.append(payload)
        item[self.attribute] = {"S": "".join(pieces)}


class Transformer:
    """Turns one source item into 0, 1 or many target items.

    The declarative steps run in order on a copy of the item, then the custom function (if any) gets that
    copy. ``apply`` never mutates its input, which lets the caller keep the source item for error messages
    and key comparisons; the outputs share the values no step replaced with it, so callers do not change them
    in place.
    """

    def __init__(self, steps: Sequence[_Step], custom: CustomTransform | None, clock: Clock) -> None:
        self._steps = tuple(steps)
        self._custom = custom
        self._clock = clock
        self._volatile = _volatile_attributes(self._steps)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ, *, clock: Clock = utc_now) -> Transformer:
        env = Environment(environ)
        # No steps is the identity, as with Terraform's default transform.steps = [].
        raw_steps = env.optional("TRANSFORM_STEPS") or "[]"
        try:
            steps = json.loads(raw_steps)
        except json.JSONDecodeError as exc:
            raise TransformError(f"TRANSFORM_STEPS is not valid JSON: {exc}") from exc
        module_name = env.optional("TRANSFORM_MODULE")
        custom = load_custom_transform(module_name) if module_name else None
        return cls.from_spec(steps, custom, clock=clock)

    @classmethod
    def from_spec(
        cls, steps: Sequence[Mapping[str, Any]], custom: CustomTransform | None = None, *, clock: Clock = utc_now
    ) -> Transformer:
        if not isinstance(steps, list | tuple):
            raise TransformError(f"TRANSFORM_STEPS must be a JSON list of steps, got {type(steps).__name__}")
        return cls([_parse_step(index, spec) for index, spec in enumerate(steps)], custom, clock)

    @property
    def volatile_attributes(self) -> frozenset[str]:
        """Attributes whose value legitimately differs from run to run, such as timestamps."""
        return self._volatile

    def apply(self, item: Item) -> list[Item]:
        # The steps replace top-level attributes only, so a shallow copy keeps the caller's item intact; a custom
        # transform may change nested values in place, so it gets a deep one.
        working = dict(item) if self._custom is None else copy_item(item)
        now = self._clock()
        for step in self._steps:
            step.apply(working, now)
        if self._custom is None:
            return [working]
        try:
            result = self._custom(working)
        except TransformError:
            raise
        except Exception as exc:
            raise TransformError(f"custom transform raised {type(exc).__name__}: {exc}") from exc
        if result is None:
            return []
        outputs = [result] if isinstance(result, dict) else result
        if not isinstance(outputs, list) or not all(isinstance(output, dict) for output in outputs):
            raise TransformError(
                f"custom transform must return an item (dict), a list of items, or None; got {type(result).__name__}"
            )
        return outputs


def load_custom_transform(module_name: str) -> CustomTransform:
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module may fail in any way while it is imported
        raise TransformError(f"TRANSFORM_MODULE {module_name!r} could not be imported: {exc}") from exc
    function = getattr(module, "transform", None)
    if not callable(function):
        raise TransformError(
            f"TRANSFORM_MODULE {module_name!r} must define transform(item) -> item | list[item] | None"
        )
    return cast(CustomTransform, function)


_REQUIRED_FIELDS: dict[str, frozenset[str]] = {
    "set": frozenset({"attribute", "value"}),
    "rename": frozenset({"attribute", "to"}),
    "remove": frozenset({"attribute"}),
    "timestamp": frozenset({"attribute"}),
    "derive": frozenset({"attribute", "template"}),
}
_OPTIONAL_FIELDS: dict[str, frozenset[str]] = {"timestamp": frozenset({"format"})}


def _parse_step(index: int, spec: Any) -> _Step:
    where = f"TRANSFORM_STEPS[{index}]"
    if not isinstance(spec, Mapping):
        raise TransformError(f"{where}: a step is an object with an 'op', got {spec!r}")
    op = spec.get("op")
    if op not in _REQUIRED_FIELDS:
        raise TransformError(f"{where}: unknown op {op!r}; expected one of {', '.join(_REQUIRED_FIELDS)}")
    where = f"{where} ({op})"
    required = _REQUIRED_FIELDS[op]
    missing = sorted(required - spec.keys())
    if missing:
        raise TransformError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(spec.keys() - required - _OPTIONAL_FIELDS.get(op, frozenset()) - {"op"})
    if unknown:
        raise TransformError(f"{where}: unknown field(s) {', '.join(unknown)}")
    attribute = _attribute_name(spec, "attribute", where)
    if op == "set":
        try:
            value = attribute_value_from_json(spec["value"], path=f"{where}.value")
        except ValueError as exc:
            raise TransformError(f"bad AttributeValue in 'set': {exc}") from exc
        return _SetStep(attribute, value)
    if op == "rename":
        return _RenameStep(attribute, _attribute_name(spec, "to", where))
    if op == "remove":
        return _RemoveStep(attribute)
    if op == "timestamp":
        timestamp_format = spec.get("format", "iso8601")
        if timestamp_format not in TIMESTAMP_FORMATS:
            raise TransformError(
                f"{where}: format must be one of {', '.join(TIMESTAMP_FORMATS)}, got {timestamp_format!r}"
            )
        return _TimestampStep(attribute, timestamp_format)
    return _DeriveStep(attribute, spec["template"], _parse_template(spec["template"], where))


def _attribute_name(spec: Mapping[str, Any], field_name: str, where: str) -> str:
    value = spec[field_name]
    if not isinstance(value, str) or not value:
        raise TransformError(f"{where}: {field_name!r} must be a non-empty attribute name, got {value!r}")
    return value


def _parse_template(template: Any, where: str) -> tuple[tuple[str, str | None], ...]:
    if not isinstance(template, str):
        raise TransformError(f"{where}: template must be a string, got {template!r}")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TransformError(f"{where}: bad template {template!r}: {exc} (write {{{{ and }}}} for braces)") from exc
    parts: list[tuple[str, str | None]] = []
    for literal, placeholder, format_spec, conversion in parsed:
        if placeholder is not None and (placeholder == "" or format_spec or conversion):
            raise TransformError(
                f"{where}: bad template {template!r}: placeholders are attribute names like {{tenant}}, "
                "without format specs or conversions"
            )
        parts.append((literal, placeholder))
    if all(placeholder is None for _, placeholder in parts):
        raise TransformError(f"{where}: template {template!r} has no placeholder; use 'set' for a constant")
    return tuple(parts)


def _volatile_attributes(steps: Sequence[_Step]) -> frozenset[str]:
    # Follow a timestamp through later renames and forget it once a later step surely replaces it. A rename
    # whose source may be absent leaves its destination listed: comparing by presence is weaker but never
    # reports a false difference.
    volatile: set[str] = set()
    for step in steps:
        if isinstance(step, _TimestampStep):
            volatile.add(step.attribute)
        elif isinstance(step, _RenameStep):
            if step.attribute in volatile:
                volatile.discard(step.attribute)
                volatile.add(step.to)
        elif isinstance(step, _SetStep | _RemoveStep | _DeriveStep):
            volatile.discard(step.attribute)
    return frozenset(volatile)
