"""Property: scan -> identity transform -> BatchWriteItem preserves any item exactly."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migration_core.attribute_values import item_from_json, item_to_json
from migration_core.models import RunSpec, SegmentRequest
from migration_core.types import AttributeValue, Item
from tests.support.backfill import make_service
from tests.support.tables import STATE_TABLE, CreateTable, by_key, put_items, scan_all

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@st.composite
def dynamodb_numbers(draw: st.DrawFn) -> str:
    """Numbers DynamoDB accepts, in the textual forms a client may send: integer, decimal, exponent."""
    digits = draw(st.text("0123456789", min_size=1, max_size=38)).lstrip("0") or "0"
    sign = draw(st.sampled_from(["", "-"])) if digits != "0" else ""
    form = draw(st.sampled_from(["integer", "decimal", "exponent"]))
    if form == "integer":
        return sign + digits
    if form == "decimal":
        point = draw(st.integers(0, len(digits)))
        return f"{sign}{digits[:point] or '0'}.{digits[point:] or '0'}"
    exponent = draw(st.integers(-120, 80))
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent:+d}"


scalars: st.SearchStrategy[AttributeValue] = st.one_of(
    text.map(lambda value: {"S": value}),
    dynamodb_numbers().map(lambda value: {"N": value}),
    st.binary(max_size=16).map(lambda value: {"B": value}),
    st.booleans().map(lambda value: {"BOOL": value}),
    st.just({"NULL": True}),
    st.sets(text.filter(bool), min_size=1, max_size=4).map(lambda values: {"SS": sorted(values)}),
    st.sets(st.integers(-(10**37), 10**37), min_size=1, max_size=4).map(lambda v: {"NS": [str(n) for n in v]}),
    st.sets(st.binary(min_size=1, max_size=8), min_size=1, max_size=4).map(lambda values: {"BS": sorted(values)}),
)
attribute_names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8).filter(
    lambda name: name not in ("pk", "sk")
)
attribute_values: st.SearchStrategy[AttributeValue] = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda values: {"L": values}),
        st.dictionaries(attribute_names, children, max_size=4).map(lambda values: {"M": values}),
    ),
    max_leaves=12,
)


@st.composite
def item_batches(draw: st.DrawFn) -> list[Item]:
    keys = draw(st.sets(st.tuples(text.filter(bool), st.integers(-(10**6), 10**6)), min_size=1, max_size=4))
    return [
        {"pk": {"S": pk}, "sk": {"N": str(sk)}, **draw(st.dictionaries(attribute_names, attribute_values, max_size=6))}
        for pk, sk in keys
    ]


table_numbers = itertools.count()


# The moto mock and the state table are shared by all examples on purpose; every example gets new tables.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=item_batches())
def test_identity_copy_preserves_arbitrary_items_exactly(
    dynamodb: DynamoDBClient, create_table: CreateTable, items: list[Item]
) -> None:
    number = next(table_numbers)
    source = create_table(f"source-{number}", pk="S", sk="N")
    target = create_table(f"target-{number}", pk="S", sk="N")
    if STATE_TABLE not in dynamodb.list_tables()["TableNames"]:
        create_table(STATE_TABLE, pk="S", sk="S")
    put_items(dynamodb, source, items)
    service = make_service(dynamodb, source=source, target=target)
    run = RunSpec(f"run-{number}", source, target, total_segments=1)

    result = service.run_segment(SegmentRequest(run, "copy", 0, None), lambda: 900_000)

    assert result.done
    assert result.counts.written == len(items)
    assert by_key(scan_all(dynamodb, target)) == by_key(scan_all(dynamodb, source)) == by_key(items)


@given(items=item_batches())
def test_json_encoding_round_trips_arbitrary_items(items: list[Item]) -> None:
    for item in items:
        encoded: Any = item_to_json(item)
        assert item_from_json(encoded) == item
