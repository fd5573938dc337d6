"""Declarative transform steps, the custom module hook, and spec validation."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from migration_core.attribute_values import copy_item
from migration_core.errors import TransformError
from migration_core.transform import Transformer
from migration_core.types import Item

FIXED_TIME = datetime(2024, 5, 1, 12, 30, 45, 678000, tzinfo=UTC)
ITEM: Item = {
    "tenant": {"S": "acme"},
    "id": {"N": "12345678901234567890123456789012345678"},
    "old": {"S": "value"},
    "tmp": {"B": b"\x00"},
    "doc": {"M": {"tags": {"SS": ["a"]}}},
}


def transformer(*steps: dict[str, Any]) -> Transformer:
    return Transformer.from_spec(list(steps), clock=lambda: FIXED_TIME)


def test_no_steps_is_the_identity_and_leaves_the_input_alone() -> None:
    before = copy_item(ITEM)
    [output] = transformer().apply(ITEM)

    assert output == ITEM
    assert output is not ITEM
    output["added"] = {"S": "x"}
    del output["old"]
    assert before == ITEM


def test_a_custom_transform_that_changes_nested_values_in_place_leaves_the_input_alone() -> None:
    def tag(item: Item) -> Item:
        item["doc"]["M"]["tags"]["SS"].append("b")
        return item

    before = copy_item(ITEM)
    [output] = Transformer([], tag, lambda: FIXED_TIME).apply(ITEM)

    assert output["doc"]["M"]["tags"]["SS"] == ["a", "b"]
    assert before == ITEM


def test_set_stores_any_attribute_value_and_decodes_base64_binary() -> None:
    nested = {"M": {"n": {"N": "-0.000000000000000000000000000000000000001"}, "bs": {"BS": ["AQ=="]}}}
    [output] = transformer(
        {"op": "set", "attribute": "status", "value": {"S": "migrated"}},
        {"op": "set", "attribute": "blob", "value": {"B": "AP8="}},
        {"op": "set", "attribute": "nested", "value": nested},
    ).apply(ITEM)

    assert output["status"] == {"S": "migrated"}
    assert output["blob"] == {"B": b"\x00\xff"}
    assert output["nested"] == {
        "M": {"n": {"N": "-0.000000000000000000000000000000000000001"}, "bs": {"BS": [b"\x01"]}}
    }


def test_set_value_is_not_shared_between_items() -> None:
    steps = transformer({"op": "set", "attribute": "list", "value": {"L": []}})
    [first] = steps.apply(ITEM)
    first["list"]["L"].append({"S": "changed"})
    [second] = steps.apply(ITEM)
    assert second["list"] == {"L": []}


def test_rename_moves_the_value_and_ignores_a_missing_attribute() -> None:
    [output] = transformer(
        {"op": "rename", "attribute": "old", "to": "new"},
        {"op": "rename", "attribute": "absent", "to": "other"},
    ).apply(ITEM)

    assert "old" not in output
    assert output["new"] == {"S": "value"}
    assert "other" not in output


def test_remove_drops_the_attribute() -> None:
    [output] = transformer({"op": "remove", "attribute": "tmp"}, {"op": "remove", "attribute": "absent"}).apply(ITEM)
    assert "tmp" not in output
    assert set(output) == set(ITEM) - {"tmp"}


@pytest.mark.parametrize(
    ("timestamp_format", "expected"),
    [
        ("iso8601", {"S": "2024-05-01T12:30:45.678Z"}),
        ("epoch_seconds", {"N": "1714566645"}),
        ("epoch_millis", {"N": "1714566645678"}),
    ],
)
def test_timestamp_formats(timestamp_format: str, expected: dict[str, str]) -> None:
    steps = transformer({"op": "timestamp", "attribute": "updatedAt", "format": timestamp_format})
    [output] = steps.apply(ITEM)
    assert output["updatedAt"] == expected
    assert steps.volatile_attributes == frozenset({"updatedAt"})


def test_timestamp_defaults_to_iso8601() -> None:
    [output] = transformer({"op": "timestamp", "attribute": "at"}).apply(ITEM)
    assert output["at"] == {"S": "2024-05-01T12:30:45.678Z"}


def test_volatile_attributes_follow_renames_and_forget_overwritten_timestamps() -> None:
    steps = transformer(
        {"op": "timestamp", "attribute": "a"},
        {"op": "rename", "attribute": "a", "to": "b"},
        {"op": "timestamp", "attribute": "c"},
        {"op": "set", "attribute": "c", "value": {"S": "fixed"}},
    )
    assert steps.volatile_attributes == frozenset({"b"})


def test_derive_builds_a_string_from_s_and_n_values_keeping_every_digit() -> None:
    [output] = transformer({"op": "derive", "attribute": "pk", "template": "{tenant}#{id}#{{literal}}"}).apply(ITEM)
    assert output["pk"] == {"S": "acme#12345678901234567890123456789012345678#{literal}"}


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{missing}", r"placeholder \{missing\} refers to attribute 'missing', which the item does not have"),
        ("{doc}", r"placeholder \{doc\} refers to attribute 'doc' of type M; only S and N can be used"),
    ],
)
def test_derive_reports_the_placeholder_it_cannot_fill(template: str, message: str) -> None:
    with pytest.raises(TransformError, match=message):
        transformer({"op": "derive", "attribute": "pk", "template": template}).apply(ITEM)


def test_steps_run_in_order_on_a_copy() -> None:
    original = copy_item(ITEM)
    [output] = transformer(
        {"op": "derive", "attribute": "pk", "template": "{tenant}-{old}"},
        {"op": "remove", "attribute": "old"},
        {"op": "rename", "attribute": "pk", "to": "key"},
    ).apply(ITEM)

    assert output["key"] == {"S": "acme-value"}
    assert "old" not in output
    assert original == ITEM


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ({"op": "set"}, "must be a JSON list"),
        (["set"], r"TRANSFORM_STEPS\[0\]: a step is an object"),
        ([{"op": "upsert", "attribute": "a"}], "unknown op 'upsert'; expected one of set, rename, remove"),
        ([{"attribute": "a"}], "unknown op None"),
        ([{"op": "rename", "attribute": "a"}], r"TRANSFORM_STEPS\[0\] \(rename\): missing field\(s\) to"),
        ([{"op": "set", "attribute": "a"}], r"missing field\(s\) value"),
        ([{"op": "remove", "attribute": "a", "extra": 1}], r"unknown field\(s\) extra"),
        ([{"op": "remove", "attribute": ""}], "'attribute' must be a non-empty attribute name"),
        ([{"op": "set", "attribute": "a", "value": "plain"}], "bad AttributeValue in 'set'"),
        (
            [{"op": "set", "attribute": "a", "value": {"N": "1.2.3"}}],
            "bad AttributeValue in 'set'.*not a DynamoDB number",
        ),
        ([{"op": "set", "attribute": "a", "value": {"Q": "1"}}], "unknown AttributeValue type 'Q'"),
        ([{"op": "set", "attribute": "a", "value": {"B": "%%%"}}], "not valid base64"),
        ([{"op": "timestamp", "attribute": "a", "format": "rfc822"}], "format must be one of iso8601"),
        ([{"op": "derive", "attribute": "a", "template": "{unclosed"}], "bad template '{unclosed'"),
        ([{"op": "derive", "attribute": "a", "template": "x}y"}], "bad template 'x}y'"),
        ([{"op": "derive", "attribute": "a", "template": "{a:>5}"}], "without format specs or conversions"),
        ([{"op": "derive", "attribute": "a", "template": "{}"}], "placeholders are attribute names"),
        ([{"op": "derive", "attribute": "a", "template": "constant"}], "has no placeholder; use 'set'"),
        ([{"op": "derive", "attribute": "a", "template": 5}], "template must be a string"),
    ],
)
def test_invalid_specs_are_refused_with_a_clear_message(steps: Any, message: str) -> None:
    with pytest.raises(TransformError, match=message):
        Transformer.from_spec(steps)


def test_from_environment_reads_steps_json() -> None:
    environ = {"TRANSFORM_STEPS": json.dumps([{"op": "set", "attribute": "v", "value": {"N": "2"}}])}
    [output] = Transformer.from_environment(environ).apply(ITEM)
    assert output["v"] == {"N": "2"}


def test_from_environment_defaults_to_identity() -> None:
    assert Transformer.from_environment({}).apply(ITEM) == [ITEM]
    assert Transformer.from_environment({"TRANSFORM_STEPS": "  "}).apply(ITEM) == [ITEM]


def test_from_environment_rejects_invalid_json() -> None:
    with pytest.raises(TransformError, match="TRANSFORM_STEPS is not valid JSON"):
        Transformer.from_environment({"TRANSFORM_STEPS": "[{"})


@pytest.fixture
def custom_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path standing in for the zip root where the build puts custom_transform.py."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("custom_transform")]:
        del sys.modules[name]


def write_module(directory: Path, name: str, source: str) -> None:
    (directory / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")


def test_custom_module_runs_after_the_declarative_steps(custom_module: Path) -> None:
    write_module(
        custom_module,
        "custom_transform_split",
        """
        def transform(item):
            if item["status"]["S"] == "skip":
                return None
            first = dict(item, part={"N": "1"})
            second = dict(item, part={"N": "2"})
            return [first, second]
        """,
    )
    environ = {
        "TRANSFORM_STEPS": json.dumps([{"op": "set", "attribute": "status", "value": {"S": "keep"}}]),
        "TRANSFORM_MODULE": "custom_transform_split",
    }
    outputs = Transformer.from_environment(environ).apply(ITEM)

    assert [output["part"] for output in outputs] == [{"N": "1"}, {"N": "2"}]
    assert all(output["status"] == {"S": "keep"} for output in outputs)


def test_custom_module_may_return_one_item_or_none(custom_module: Path) -> None:
    write_module(
        custom_module,
        "custom_transform_single",
        """
        def transform(item):
            if "drop" in item:
                return None
            item["seen"] = {"BOOL": True}
            return item
        """,
    )
    steps = Transformer.from_environment({"TRANSFORM_MODULE": "custom_transform_single"})

    [output] = steps.apply(ITEM)
    assert output["seen"] == {"BOOL": True}
    assert "seen" not in ITEM, "the custom function works on a copy"
    assert steps.apply({**ITEM, "drop": {"NULL": True}}) == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def transform(item):\n    return 'text'\n", "must return an item \\(dict\\), a list of items, or None"),
        ("def transform(item):\n    return [item, 1]\n", "must return an item"),
        ("def transform(item):\n    raise KeyError('status')\n", "custom transform raised KeyError: 'status'"),
    ],
)
def test_custom_module_misbehaviour_becomes_transform_error(custom_module: Path, source: str, message: str) -> None:
    write_module(custom_module, "custom_transform_bad", source)
    steps = Transformer.from_environment({"TRANSFORM_MODULE": "custom_transform_bad"})
    with pytest.raises(TransformError, match=message):
        steps.apply(ITEM)


def test_custom_module_that_cannot_be_loaded(custom_module: Path) -> None:
    write_module(custom_module, "custom_transform_nofunc", "VALUE = 1\n")
    with pytest.raises(TransformError, match="must define transform"):
        Transformer.from_environment({"TRANSFORM_MODULE": "custom_transform_nofunc"})
    with pytest.raises(TransformError, match="'custom_transform_absent' could not be imported"):
        Transformer.from_environment({"TRANSFORM_MODULE": "custom_transform_absent"})
