"""migration_core.replication without AWS: message format, group ids, oversize path, cutoff, apply plans."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_core.errors import InvalidItemError
from migration_core.replication import (
    DEFAULT_MAX_MESSAGE_BYTES,
    MESSAGE_FORMAT,
    Cutoff,
    ReplicationEvent,
    ReplicationMessageError,
    body_size,
    boto_image_to_stream,
    decode_message,
    deduplication_id,
    derive_target_keys,
    encode_stream_record,
    make_resync_message,
    message_group_id,
    plan_apply,
    source_table_of,
)
from migration_core.transform import Transformer
from migration_core.types import Item
from tests.support.lambda_events import load_event

ORDERS_KEY_SCHEMA = {"pk": "S", "sk": "N"}
USERS_TARGET_KEY_SCHEMA = {"pk": "S"}
DERIVE_TENANT_KEY = [{"op": "derive", "attribute": "pk", "template": "{tenant}#{id}"}]


def identity() -> Transformer:
    return Transformer.from_spec([])


def derived_key_transform() -> Transformer:
    return Transformer.from_spec(DERIVE_TENANT_KEY)


def record(name: str, index: int) -> dict[str, Any]:
    return copy.deepcopy(load_event(f"replication/{name}")["Records"][index])


def decoded(stream_record: dict[str, Any], **kwargs: Any) -> ReplicationEvent:
    return decode_message(encode_stream_record(stream_record, **kwargs).body)


def no_source_read(key: Item) -> Item | None:
    raise AssertionError(f"the plan must not read the source for {key}")


# --------------------------------------------------------------------------------------------------------------
# group and deduplication ids
# --------------------------------------------------------------------------------------------------------------


def test_group_id_covers_partition_and_sort_key() -> None:
    same_pk_sk1 = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    same_pk_sk2 = {"pk": {"S": "a"}, "sk": {"N": "2"}}

    assert message_group_id(same_pk_sk1) != message_group_id(same_pk_sk2)
    assert message_group_id(same_pk_sk1) == message_group_id({"sk": {"N": "1"}, "pk": {"S": "a"}})
    # The type is part of the key: S "1" and N "1" are different items.
    assert message_group_id({"pk": {"S": "1"}}) != message_group_id({"pk": {"N": "1"}})
    group = message_group_id(same_pk_sk1)
    assert len(group) == 64
    assert set(group) <= set("0123456789abcdef")


def test_group_id_is_pinned_so_queued_messages_keep_their_group_across_releases() -> None:
    expected = hashlib.sha256(b'{"pk":{"S":"a"},"sk":{"N":"1"}}').hexdigest()

    assert message_group_id({"sk": {"N": "1"}, "pk": {"S": "a"}}) == expected
    assert message_group_id({"pk": {"S": "\u00e9"}}) == hashlib.sha256(b'{"pk":{"S":"\\u00e9"}}').hexdigest()


def test_group_id_is_the_same_for_every_event_of_one_item() -> None:
    events = load_event("replication/stream_orders_batch.json")["Records"]
    groups = [encode_stream_record(r).group_id for r in events]

    # records 0, 2 and 4 are a/1; 1 and 3 are a/2; 5 is b/1
    assert groups[0] == groups[2] == groups[4]
    assert groups[1] == groups[3]
    assert len({groups[0], groups[1], groups[5]}) == 3


def test_deduplication_id_is_the_event_id() -> None:
    stream_record = record("stream_orders_batch.json", 0)

    assert encode_stream_record(stream_record).deduplication_id == stream_record["eventID"]
    assert deduplication_id("abc-123_XYZ") == "abc-123_XYZ"
    odd = deduplication_id("space and ünïcode " + "x" * 200)
    assert odd.startswith("sha256-")
    assert len(odd) <= 128
    assert odd == deduplication_id("space and ünïcode " + "x" * 200)


def test_source_table_from_stream_arn() -> None:
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/My.Table-1/stream/2026-01-01T00:00:00.000"

    assert source_table_of(arn) == ("arn:aws:dynamodb:eu-west-1:123456789012:table/My.Table-1", "My.Table-1")
    with pytest.raises(ReplicationMessageError):
        source_table_of("arn:aws:sqs:eu-west-1:123456789012:queue")


# --------------------------------------------------------------------------------------------------------------
# encoding and decoding
# --------------------------------------------------------------------------------------------------------------


def test_body_keeps_the_stream_json_verbatim() -> None:
    for stream_record in load_event("replication/stream_all_types.json")["Records"]:
        message = encode_stream_record(stream_record)
        body = json.loads(message.body)

        assert body["format"] == MESSAGE_FORMAT
        assert body["dynamodb"] == stream_record["dynamodb"]
        assert body["eventID"] == stream_record["eventID"]
        assert body["eventName"] == stream_record["eventName"]
        assert body["sourceTable"] == "orders"
        assert body["oversize"] is False
        assert message.size == body_size(message.body) == len(message.body.encode("utf-8"))


def test_decode_converts_binary_once_and_keeps_numbers_as_text() -> None:
    stream_record = record("stream_all_types.json", 0)
    event = decoded(stream_record)
    image = event.new_image
    assert image is not None

    assert image["b"] == {"B": bytes(range(256))}
    assert image["b_empty"] == {"B": b""}
    assert image["bs"]["BS"][2] == bytes(range(256))[::-1]
    assert image["m"]["M"]["nested"]["M"]["deep"]["L"][1] == {"B": b"\x00\x01"}
    assert image["n38"] == {"N": "12345678901234567890123456789012345678"}
    assert image["m"]["M"]["nested"]["M"]["deep"]["L"][0] == {"N": "1.10"}
    assert image["ns"] == {"NS": ["1", "-2.5", "99999999999999999999999999999999999999"]}
    assert boto_image_to_stream(image) == stream_record["dynamodb"]["NewImage"]
    assert event.keys == {"pk": {"S": "types"}, "sk": {"N": "1"}}
    assert event.approximate_creation_time == Decimal(1767268900)


def test_characters_sqs_refuses_are_escaped_and_come_back() -> None:
    stream_record = record("stream_all_types.json", 0)
    message = encode_stream_record(stream_record)

    assert "\uffff" not in message.body
    assert "\\uffff" in message.body
    assert "日本語" in message.body  # other text stays UTF-8, not \u escapes
    event = decode_message(message.body)
    assert event.new_image is not None
    assert event.new_image["s"]["S"].endswith("\uffff end")


def test_ttl_delete_is_recognised() -> None:
    event = decoded(record("stream_ttl_remove.json", 0))

    assert event.event_name == "REMOVE"
    assert event.ttl_delete


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.update(eventName="DELETE"), "unknown eventName"),
        (lambda r: r["dynamodb"].pop("Keys"), "no Keys"),
        (lambda r: r["dynamodb"].update(StreamViewType="NEW_IMAGE"), "NEW_AND_OLD_IMAGES"),
        (lambda r: r["dynamodb"].pop("OldImage"), "MODIFY without OldImage"),
        (lambda r: r.update(eventSourceARN="nope"), "not a DynamoDB stream ARN"),
    ],
)
def test_records_that_cannot_be_replicated_correctly_are_refused(mutate: Any, message: str) -> None:
    stream_record = record("stream_orders_batch.json", 2)
    mutate(stream_record)

    with pytest.raises(ReplicationMessageError, match=message):
        encode_stream_record(stream_record)


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", json.dumps({"format": "other"}), json.dumps({"format": MESSAGE_FORMAT, "eventID": "x"})],
)
def test_foreign_or_broken_bodies_are_refused(body: str) -> None:
    with pytest.raises(ReplicationMessageError):
        decode_message(body)


# --------------------------------------------------------------------------------------------------------------
# oversize messages
# --------------------------------------------------------------------------------------------------------------


def big_modify(new_size: int, old_size: int) -> dict[str, Any]:
    stream_record = record("stream_key_change.json", 1)  # MODIFY u1: tenant t1 -> t2
    stream_record["dynamodb"]["NewImage"]["blob"] = {"B": base64.b64encode(b"\x01" * new_size).decode()}
    stream_record["dynamodb"]["OldImage"]["blob"] = {"B": base64.b64encode(b"\x02" * old_size).decode()}
    return stream_record


def test_oversize_modify_drops_the_new_image_first_and_rereads() -> None:
    message = encode_stream_record(big_modify(180_000, 30_000))
    body = json.loads(message.body)

    assert message.size <= DEFAULT_MAX_MESSAGE_BYTES
    assert message.oversize
    assert body["omitted"] == ["NewImage"]
    assert body["reread"] is True
    assert "NewImage" not in body["dynamodb"]
    # What is kept is kept whole: the OldImage is byte-identical to the stream's.
    assert body["dynamodb"]["OldImage"] == big_modify(180_000, 30_000)["dynamodb"]["OldImage"]


def test_oversize_old_image_is_replaced_by_the_target_keys_the_transform_derives() -> None:
    derived: list[Item] = []

    def old_target_keys(old_image: Item) -> list[Item]:
        keys, _ = derive_target_keys(old_image, derived_key_transform(), USERS_TARGET_KEY_SCHEMA)
        derived.extend(keys)
        return keys

    message = encode_stream_record(big_modify(200_000, 200_000), old_target_keys=old_target_keys)
    body = json.loads(message.body)

    assert message.size <= DEFAULT_MAX_MESSAGE_BYTES
    assert body["omitted"] == ["NewImage", "OldImage"]
    assert body["oldTargetKeys"] == [{"pk": {"S": "t1#u1"}}]
    assert body["dynamodb"]["Keys"] == {"id": {"S": "u1"}}
    assert derived == [{"pk": {"S": "t1#u1"}}]
    event = decode_message(message.body)
    assert event.old_target_keys == ({"pk": {"S": "t1#u1"}},)
    assert event.old_image is None
    assert event.reread


def test_oversize_old_image_without_a_transform_is_refused_not_truncated() -> None:
    with pytest.raises(ReplicationMessageError, match="OldImage alone exceeds"):
        encode_stream_record(big_modify(200_000, 200_000))


def test_oversize_insert_and_remove() -> None:
    insert = record("stream_key_change.json", 0)
    insert["dynamodb"]["NewImage"]["blob"] = {"B": base64.b64encode(b"\x03" * 300_000).decode()}
    remove = record("stream_key_change.json", 3)
    remove["dynamodb"]["OldImage"]["blob"] = {"B": base64.b64encode(b"\x04" * 300_000).decode()}

    insert_body = json.loads(encode_stream_record(insert).body)
    remove_body = json.loads(encode_stream_record(remove, old_target_keys=lambda image: [{"pk": {"S": "t2#u1"}}]).body)

    assert insert_body["omitted"] == ["NewImage"]
    assert insert_body["reread"] is True
    assert remove_body["omitted"] == ["OldImage"]
    assert remove_body["reread"] is False
    assert remove_body["oldTargetKeys"] == [{"pk": {"S": "t2#u1"}}]


def test_a_larger_limit_keeps_the_images() -> None:
    message = encode_stream_record(big_modify(150_000, 150_000), max_bytes=1_048_576)

    assert not message.oversize
    assert message.size > DEFAULT_MAX_MESSAGE_BYTES


def test_resync_message_rereads_and_gets_a_fresh_dedup_id() -> None:
    original = encode_stream_record(record("stream_key_change.json", 1))

    resync = make_resync_message(original.body, nonce="redrive-1")
    body = json.loads(resync.body)

    assert resync.group_id == original.group_id
    assert resync.deduplication_id not in (original.deduplication_id, "")
    assert body["reread"] is True
    assert "NewImage" not in body["dynamodb"]
    assert body["dynamodb"]["OldImage"] == json.loads(original.body)["dynamodb"]["OldImage"]


# --------------------------------------------------------------------------------------------------------------
# cutoff
# --------------------------------------------------------------------------------------------------------------


def event_at(seconds: float | int) -> ReplicationEvent:
    stream_record = record("stream_orders_batch.json", 0)
    stream_record["dynamodb"]["ApproximateCreationDateTime"] = seconds
    return decoded(stream_record)


def test_cutoff_compares_whole_seconds_so_the_cutoff_second_is_kept() -> None:
    # 2026-01-01T12:00:00Z is 1767268800. An event at 12:00:00.700 reports 1767268800 (rounded down).
    cutoff = Cutoff.parse("2026-01-01T12:00:00.500Z")
    assert cutoff is not None

    assert cutoff.second == 1767268800
    assert cutoff.admits(event_at(1767268800))  # maybe 12:00:00.700, after the cutoff: must be applied
    assert cutoff.admits(event_at(1767268801))
    assert not cutoff.admits(event_at(1767268799))  # at most 11:59:59.999
    assert not cutoff.admits(event_at(1767268799.999))


def test_cutoff_timezones_and_empty_values() -> None:
    assert Cutoff.parse("") is None
    assert Cutoff.parse("   ") is None
    assert Cutoff.parse(None) is None
    plus_two = Cutoff.parse("2026-01-01T14:00:00+02:00")
    assert plus_two is not None
    assert plus_two.second == 1767268800
    with pytest.raises(ValueError, match="timezone"):
        Cutoff.parse("2026-01-01T12:00:00")
    with pytest.raises(ValueError, match="ISO-8601"):
        Cutoff.parse("yesterday")


def test_event_without_creation_time_is_kept() -> None:
    stream_record = record("stream_orders_batch.json", 0)
    del stream_record["dynamodb"]["ApproximateCreationDateTime"]
    cutoff = Cutoff.parse("2030-01-01T00:00:00Z")
    assert cutoff is not None

    assert cutoff.admits(decoded(stream_record))


# --------------------------------------------------------------------------------------------------------------
# apply plans
# --------------------------------------------------------------------------------------------------------------


def test_insert_and_modify_put_the_transformed_new_image() -> None:
    plan = plan_apply(
        decoded(record("stream_orders_batch.json", 2)),
        transformer=identity(),
        key_schema=ORDERS_KEY_SCHEMA,
        read_source=no_source_read,
    )

    assert plan.puts == ({"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"N": "2"}},)
    assert plan.deletes == ()


def test_remove_deletes_the_keys_of_the_transformed_old_image() -> None:
    plan = plan_apply(
        decoded(record("stream_key_change.json", 3)),
        transformer=derived_key_transform(),
        key_schema=USERS_TARGET_KEY_SCHEMA,
        read_source=no_source_read,
    )

    assert plan.puts == ()
    assert plan.deletes == ({"pk": {"S": "t2#u1"}},)


def test_modify_that_moves_the_derived_key_deletes_the_old_target_item() -> None:
    plan = plan_apply(
        decoded(record("stream_key_change.json", 1)),
        transformer=derived_key_transform(),
        key_schema=USERS_TARGET_KEY_SCHEMA,
        read_source=no_source_read,
    )

    assert [item["pk"] for item in plan.puts] == [{"S": "t2#u1"}]
    assert plan.deletes == ({"pk": {"S": "t1#u1"}},)


def test_modify_that_keeps_the_derived_key_deletes_nothing() -> None:
    plan = plan_apply(
        decoded(record("stream_key_change.json", 2)),
        transformer=derived_key_transform(),
        key_schema=USERS_TARGET_KEY_SCHEMA,
        read_source=no_source_read,
    )

    assert [item["name"] for item in plan.puts] == [{"S": "Ann B."}]
    assert plan.deletes == ()


def test_reread_applies_the_current_source_item_or_deletes_when_it_is_gone() -> None:
    event = decode_message(
        make_resync_message(encode_stream_record(record("stream_key_change.json", 1)).body, nonce="n").body
    )
    current: Item = {"id": {"S": "u1"}, "tenant": {"S": "t3"}, "name": {"S": "Ann C."}}

    present = plan_apply(
        event, transformer=derived_key_transform(), key_schema=USERS_TARGET_KEY_SCHEMA, read_source=lambda key: current
    )
    gone = plan_apply(
        event, transformer=derived_key_transform(), key_schema=USERS_TARGET_KEY_SCHEMA, read_source=lambda key: None
    )

    assert [item["pk"] for item in present.puts] == [{"S": "t3#u1"}]
    assert present.deletes == ({"pk": {"S": "t1#u1"}},)
    assert present.source_found is True
    assert gone.puts == ()
    assert gone.deletes == ({"pk": {"S": "t1#u1"}},)
    assert gone.source_found is False


def test_a_transform_that_filters_the_item_out_deletes_its_old_target_item() -> None:
    drop_archived = Transformer.from_spec([], custom=lambda item: None if item["v"]["N"] == "2" else item)

    plan = plan_apply(
        decoded(record("stream_orders_batch.json", 2)),  # v 1 -> 2
        transformer=drop_archived,
        key_schema=ORDERS_KEY_SCHEMA,
        read_source=no_source_read,
    )

    assert plan.puts == ()
    assert plan.deletes == ({"pk": {"S": "a"}, "sk": {"N": "1"}},)


def test_an_old_image_the_transform_rejects_has_nothing_to_delete() -> None:
    stream_record = record("stream_key_change.json", 1)
    del stream_record["dynamodb"]["OldImage"]["tenant"]

    plan = plan_apply(
        decoded(stream_record),
        transformer=derived_key_transform(),
        key_schema=USERS_TARGET_KEY_SCHEMA,
        read_source=no_source_read,
    )

    assert [item["pk"] for item in plan.puts] == [{"S": "t2#u1"}]
    assert plan.deletes == ()
    assert len(plan.warnings) == 1
    assert "tenant" in plan.warnings[0]


def test_a_new_image_without_the_target_key_is_an_error() -> None:
    with pytest.raises(InvalidItemError, match="missing key attribute 'pk'"):
        plan_apply(
            decoded(record("stream_key_change.json", 0)),
            transformer=identity(),  # the target wants pk, the source item only has id
            key_schema=USERS_TARGET_KEY_SCHEMA,
            read_source=no_source_read,
        )


# --------------------------------------------------------------------------------------------------------------
# round trip of any AttributeValue
# --------------------------------------------------------------------------------------------------------------

_names = st.text(min_size=1, max_size=8)
_numbers = st.builds(
    lambda digits, exponent, negative: ("-" if negative else "") + digits + ("E" + str(exponent) if exponent else ""),
    st.from_regex(r"[1-9][0-9]{0,37}", fullmatch=True),
    st.integers(min_value=-90, max_value=80),
    st.booleans(),
)
_b64 = st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())
_scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=20)),
    st.builds(lambda n: {"N": n}, _numbers),
    st.builds(lambda b: {"B": b}, _b64),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda v: {"SS": sorted(v)}, st.sets(st.text(max_size=5), min_size=1, max_size=4)),
    st.builds(lambda v: {"NS": sorted(v)}, st.sets(_numbers, min_size=1, max_size=4)),
    st.builds(
        lambda v: {"BS": sorted(base64.b64encode(b).decode() for b in v)},
        st.sets(st.binary(max_size=8), min_size=1, max_size=4),
    ),
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.builds(lambda v: {"L": v}, st.lists(children, max_size=4)),
        st.builds(lambda v: {"M": v}, st.dictionaries(_names, children, max_size=4)),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(attributes=st.dictionaries(_names.filter(lambda n: n not in {"pk", "sk"}), _values, max_size=6))
def test_any_item_survives_the_message_round_trip(attributes: dict[str, Any]) -> None:
    stream_record = record("stream_orders_batch.json", 0)
    stream_record["dynamodb"]["NewImage"] = {**stream_record["dynamodb"]["Keys"], **attributes}

    event = decoded(stream_record)

    assert event.new_image is not None
    assert boto_image_to_stream(event.new_image) == stream_record["dynamodb"]["NewImage"]
