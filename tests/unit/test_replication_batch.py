"""A whole SQS batch applied at once (`TargetApplier.apply_batch`) against moto's DynamoDB.

The reference is the same events applied one at a time (`TargetApplier.apply`); batching must end in the same
target, including key moves (a derived key that changes) and deletes, and map refused writes back to exactly the
messages that made them, plus the rest of their groups.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from migration_core.errors import DeferredForTime, ReplicationRetriesExhausted, WriteWithheld
from migration_core.items import KeySchema
from migration_core.replication import ApplyPlan, decode_message, encode_stream_record
from migration_core.replication_batch import GroupGate, key_identity, net_writes
from migration_core.replication_io import QueueMessage, TargetApplier
from migration_core.retry import RetryPolicy
from migration_core.transform import Transformer
from migration_core.types import Item
from tests.support.aws import client_error
from tests.support.replication import base_environment, client_dynamodb
from tests.support.tables import create_table, scan_all

SOURCE = "users"
TARGET_SCHEMA: KeySchema = {"pk": "S"}
# The target key is derived from a non-key attribute: a tenant change moves the item to another key.
DERIVE = [{"op": "derive", "attribute": "pk", "template": "{tenant}#{id}"}]
STREAM_ARN = f"arn:aws:dynamodb:us-east-1:123456789012:table/{SOURCE}/stream/2026-01-01T00:00:00.000"


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    base_environment(monkeypatch)
    with mock_aws():
        yield


def new_target() -> str:
    name = f"users-v2-{uuid.uuid4().hex[:8]}"
    create_table(client_dynamodb(), name, dict(TARGET_SCHEMA))
    return name


def applier(target: str, client: Any = None, *, max_attempts: int = 3) -> TargetApplier:
    return TargetApplier(
        client or client_dynamodb(),
        target_table=target,
        source_table=SOURCE,
        key_schema=TARGET_SCHEMA,
        transformer=Transformer.from_spec(DERIVE),
        retry_policy=RetryPolicy(max_attempts=max_attempts, base_seconds=0.001, cap_seconds=0.002),
    )


def user(identifier: str, tenant: str, version: int) -> Item:
    return {"id": {"S": identifier}, "tenant": {"S": tenant}, "v": {"N": str(version)}}


class Source:
    """Stream records of a source table, each with the images the item really had."""

    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.sequence = 0

    def put(self, identifier: str, tenant: str) -> QueueMessage:
        old = self.items.get(identifier)
        self.sequence += 1
        new = user(identifier, tenant, self.sequence)
        self.items[identifier] = new
        return self._message("MODIFY" if old else "INSERT", identifier, new, old)

    def remove(self, identifier: str) -> QueueMessage:
        old = self.items.pop(identifier)
        self.sequence += 1
        return self._message("REMOVE", identifier, None, old)

    def _message(self, name: str, identifier: str, new: Item | None, old: Item | None) -> QueueMessage:
        section: dict[str, Any] = {
            "ApproximateCreationDateTime": 1_767_268_800,
            "Keys": {"id": {"S": identifier}},
            "SequenceNumber": f"{self.sequence:021d}",
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if new is not None:
            section["NewImage"] = new
        if old is not None:
            section["OldImage"] = old
        record = {"eventID": f"e{self.sequence}", "eventName": name, "dynamodb": section, "eventSourceARN": STREAM_ARN}
        message = encode_stream_record(record)
        return QueueMessage(group_id=message.group_id, body=message.body)

    def expected_target(self) -> dict[str, Item]:
        return {
            f"{item['tenant']['S']}#{identifier}": {**item, "pk": {"S": f"{item['tenant']['S']}#{identifier}"}}
            for identifier, item in self.items.items()
        }


def target_state(table: str) -> dict[str, Item]:
    return {item["pk"]["S"]: item for item in scan_all(client_dynamodb(), table)}


def one_by_one(table: str, messages: Sequence[QueueMessage]) -> None:
    consumer = applier(table)
    for message in messages:
        consumer.apply(decode_message(message.body))


class RefusingDynamoDB:
    """A real (moto) client that never accepts a write of the target keys ``refused``: BatchWriteItem leaves them
    unprocessed, PutItem and DeleteItem are throttled (moto itself accepts everything). Records BatchWriteItem
    calls by their request count."""

    def __init__(self, real: Any, refused: set[str]) -> None:
        self.real = real
        self.refused = refused
        self.calls: list[int] = []

    def batch_write_item(self, **kwargs: Any) -> Any:
        ((table, requests),) = kwargs["RequestItems"].items()
        self.calls.append(len(requests))
        assert len(requests) <= 25
        keys = [
            self._pk(request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"])
            for request in requests
        ]
        assert len(set(keys)) == len(keys), "BatchWriteItem refuses two requests for one key"
        accepted = [r for r, key in zip(requests, keys, strict=True) if key not in self.refused]
        left = [r for r, key in zip(requests, keys, strict=True) if key in self.refused]
        if accepted:
            self.real.batch_write_item(RequestItems={table: accepted})
        return {"UnprocessedItems": {table: left} if left else {}}

    def put_item(self, **kwargs: Any) -> Any:
        self._refuse(kwargs["Item"], "PutItem")
        return self.real.put_item(**kwargs)

    def delete_item(self, **kwargs: Any) -> Any:
        self._refuse(kwargs["Key"], "DeleteItem")
        return self.real.delete_item(**kwargs)

    def _refuse(self, key: Item, operation: str) -> None:
        if self._pk(key) in self.refused:
            raise client_error("ProvisionedThroughputExceededException", operation=operation)

    @staticmethod
    def _pk(key: Item) -> str:
        return str(key["pk"]["S"])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


# --------------------------------------------------------------------------------------------------------------
# Pure parts
# --------------------------------------------------------------------------------------------------------------


def plan(puts: Sequence[Item] = (), deletes: Sequence[Item] = ()) -> ApplyPlan:
    return ApplyPlan(puts=tuple(puts), deletes=tuple(deletes), source_read=False, source_found=None, warnings=())


def test_the_last_write_of_each_key_wins_and_a_move_delete_waits_for_its_puts() -> None:
    a1, a2, b = {"pk": {"S": "a"}, "v": {"N": "1"}}, {"pk": {"S": "a"}, "v": {"N": "2"}}, {"pk": {"S": "b"}}
    old = {"pk": {"S": "old"}}

    writes = net_writes([(0, plan([a1])), (1, plan([b], [old])), (2, plan([a2]))], TARGET_SCHEMA)

    assert [(w.key, w.item, w.owner) for w in writes.first_wave] == [({"pk": {"S": "a"}}, a2, 2), (b, b, 1)]
    assert [(w.key, w.item, w.owner) for w in writes.after_puts] == [(old, None, 1)]
    assert writes.superseded == 1


def test_a_delete_of_a_remove_goes_in_the_first_wave_and_a_later_put_supersedes_a_move_delete() -> None:
    x, y = {"pk": {"S": "x"}}, {"pk": {"S": "y"}}

    writes = net_writes([(0, plan([y], [x])), (1, plan([x])), (2, plan([], [y]))], TARGET_SCHEMA)

    assert [(w.key, w.item, w.owner) for w in writes.first_wave] == [(y, None, 2), (x, x, 1)]
    assert writes.after_puts == ()
    assert writes.superseded == 2


def test_numbers_that_dynamodb_takes_for_one_key_are_one_key() -> None:
    assert key_identity({"k": {"N": "1"}}) == key_identity({"k": {"N": "1.0"}}) == key_identity({"k": {"N": "1E0"}})
    assert key_identity({"k": {"N": "12345678901234567890123456789012345678"}}) != key_identity(
        {"k": {"N": "12345678901234567890123456789012345679"}}
    )
    assert key_identity({"k": {"S": "1"}}) != key_identity({"k": {"N": "1"}})


def test_a_failure_stops_its_group_from_there_on_even_when_learned_out_of_order() -> None:
    gate = GroupGate(["g", "h", "g", "g", None, None])

    gate.fail(3)
    gate.fail(2)
    gate.fail(4)

    assert [gate.failed(i) for i in range(6)] == [False, False, True, False, True, False]
    assert [gate.held_back(i) for i in range(6)] == [False, False, False, True, False, False]
    assert [gate.open(i) for i in range(6)] == [True, True, False, False, False, True]


# --------------------------------------------------------------------------------------------------------------
# Against moto
# --------------------------------------------------------------------------------------------------------------

IDS = ["u0", "u1", "u2", "u3"]
TENANTS = ["t0", "t1", "t2"]
operations = st.lists(st.tuples(st.sampled_from(IDS), st.sampled_from([*TENANTS, None])), min_size=1, max_size=40)


def messages_of(source: Source, steps: Sequence[tuple[str, str | None]]) -> list[QueueMessage]:
    """A put per (id, tenant), a remove per (id, None) of an item that exists (skipped otherwise)."""
    messages = []
    for identifier, tenant in steps:
        if tenant is not None:
            messages.append(source.put(identifier, tenant))
        elif identifier in source.items:
            messages.append(source.remove(identifier))
    return messages


def batches_of(messages: Sequence[QueueMessage], sizes: Sequence[int]) -> list[list[QueueMessage]]:
    batches, start = [], 0
    for size in sizes:
        if start >= len(messages):
            break
        batches.append(list(messages[start : start + size]))
        start += size
    if start < len(messages):
        batches.append(list(messages[start:]))
    return batches


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations, sizes=st.lists(st.integers(1, 10), max_size=40))
def test_batches_end_where_one_event_at_a_time_does(
    moto: None, steps: list[tuple[str, str | None]], sizes: list[int]
) -> None:
    source = Source()
    messages = messages_of(source, steps)
    reference, batched = new_target(), new_target()

    one_by_one(reference, messages)
    consumer = applier(batched)
    for batch in batches_of(messages, sizes):
        outcome = consumer.apply_batch(batch, cutoff=None)
        assert [result.status for result in outcome.results] == ["applied"] * len(batch)

    assert target_state(batched) == target_state(reference) == source.expected_target()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    setup=operations,
    steps=operations,
    refused=st.sets(st.sampled_from([f"{t}#{i}" for t in TENANTS for i in IDS]), min_size=1),
)
def test_refused_writes_fail_their_owners_and_the_redelivery_ends_where_one_at_a_time_does(
    moto: None, setup: list[tuple[str, str | None]], steps: list[tuple[str, str | None]], refused: set[str]
) -> None:
    source = Source()
    before = messages_of(source, setup)
    present_before = set(source.items)
    messages = messages_of(source, steps)[:10]
    removed = {json.loads(m.body)["dynamodb"]["Keys"]["id"]["S"] for m in messages if '"REMOVE"' in m.body}
    batched = new_target()
    one_by_one(batched, before)
    refusing = RefusingDynamoDB(client_dynamodb(), refused)

    outcome = applier(batched, refusing).apply_batch(messages, cutoff=None)

    # Exactly the messages whose (last) write of a refused key was not accepted fail (or whose key move's delete
    # had to wait for such a write), and the rest of their groups.
    failed = {i for i, result in enumerate(outcome.results) if result.status == "failed"}
    for index in failed:
        assert isinstance(outcome.results[index].error, ReplicationRetriesExhausted | WriteWithheld)
    groups = [message.group_id for message in messages]
    for index, result in enumerate(outcome.results):
        earlier_failure = any(groups[f] == groups[index] and f < index for f in failed)
        assert (result.status == "held_back") == earlier_failure
    # An item that exists throughout is never at neither key, whatever failed.
    held = {item["id"]["S"] for item in target_state(batched).values()}
    assert (present_before - removed) <= held
    # What Lambda redelivers (failed and held back, in queue order) brings the target to the final state.
    redelivered = [m for m, r in zip(messages, outcome.results, strict=True) if r.status in ("failed", "held_back")]
    redelivery = applier(batched).apply_batch(redelivered, cutoff=None)
    assert [r.status for r in redelivery.results] == ["applied"] * len(redelivered)
    reference = new_target()
    one_by_one(reference, [*before, *messages])
    assert target_state(batched) == target_state(reference)


def test_a_key_move_whose_later_move_is_refused_keeps_the_item_where_it_was(moto: None) -> None:
    source = Source()
    target = new_target()
    applier(target).apply_batch([source.put("u1", "t1")], cutoff=None)
    # t1 -> t2 -> t0: the first move's new item (t2) is superseded by the second move's delete of it.
    messages = [source.put("u1", "t2"), source.put("u1", "t0")]

    outcome = applier(target, RefusingDynamoDB(client_dynamodb(), {"t0#u1"})).apply_batch(messages, cutoff=None)

    assert [result.status for result in outcome.results] == ["failed", "held_back"]
    assert isinstance(outcome.results[0].error, WriteWithheld)
    assert sorted(target_state(target)) == ["t1#u1"]


def test_a_batch_writes_each_key_once_in_calls_of_at_most_25(moto: None) -> None:
    source = Source()
    distinct = [source.put(f"d{n:02d}", "t0") for n in range(60)]
    hot = [source.put(f"h{n % 3}", "t0") for n in range(30)]
    target = new_target()
    counting = RefusingDynamoDB(client_dynamodb(), set())

    distinct_outcome = applier(target, counting).apply_batch(distinct, cutoff=None)
    hot_outcome = applier(target, counting).apply_batch(hot, cutoff=None)

    assert counting.calls == [25, 25, 10, 3]
    assert (distinct_outcome.writes, distinct_outcome.superseded) == (60, 0)
    assert (hot_outcome.writes, hot_outcome.superseded) == (3, 27)
    assert target_state(target) == source.expected_target()


def test_a_key_move_whose_new_item_is_refused_keeps_the_old_one(moto: None) -> None:
    source = Source()
    target = new_target()
    applier(target).apply_batch([source.put("u1", "t1")], cutoff=None)
    move, other = source.put("u1", "t2"), source.put("u2", "t1")

    outcome = applier(target, RefusingDynamoDB(client_dynamodb(), {"t2#u1"})).apply_batch([move, other], cutoff=None)

    assert [result.status for result in outcome.results] == ["failed", "applied"]
    # The old key's delete waits for the new item, which never came: the item is not at neither key.
    assert sorted(target_state(target)) == ["t1#u1", "t1#u2"]


class RejectingDynamoDB:
    """A real (moto) client on which DynamoDB refuses any write of pk "bad" as invalid, batch or single."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.batch_calls = 0

    def batch_write_item(self, **kwargs: Any) -> Any:
        self.batch_calls += 1
        ((_, requests),) = kwargs["RequestItems"].items()
        if any(r.get("PutRequest", {}).get("Item", {}).get("pk") == {"S": "t0#bad"} for r in requests):
            raise client_error("ValidationException", operation="BatchWriteItem")
        return self.real.batch_write_item(**kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        if kwargs["Item"]["pk"] == {"S": "t0#bad"}:
            raise client_error("ValidationException", operation="PutItem")
        return self.real.put_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_write_dynamodb_refuses_fails_its_message_alone(moto: None) -> None:
    source = Source()
    target = new_target()
    rejecting = RejectingDynamoDB(client_dynamodb())
    messages = [source.put("a", "t0"), source.put("bad", "t0"), source.put("c", "t0")]

    outcome = applier(target, rejecting).apply_batch(messages, cutoff=None)

    # The invalid item makes the whole BatchWriteItem fail; item by item, only its own write does.
    assert [result.status for result in outcome.results] == ["applied", "failed", "applied"]
    assert "ValidationException" in str(outcome.results[1].error)
    assert sorted(target_state(target)) == ["t0#a", "t0#c"]
    assert rejecting.batch_calls == 1


def test_writes_still_unprocessed_when_time_runs_out_are_deferred(moto: None) -> None:
    source = Source()
    target = new_target()
    messages = [source.put("a", "t0"), source.put("b", "t0")]
    calls = iter([False, False, True])  # the two plans, then the retry of what was left

    outcome = applier(target, RefusingDynamoDB(client_dynamodb(), {"t0#b"})).apply_batch(
        messages, cutoff=None, should_stop=lambda: next(calls)
    )

    assert [result.status for result in outcome.results] == ["applied", "failed"]
    assert isinstance(outcome.results[1].error, DeferredForTime)
    assert sorted(target_state(target)) == ["t0#a"]


def test_a_message_that_is_not_a_replication_message_fails_alone(moto: None) -> None:
    source = Source()
    target = new_target()
    good = source.put("a", "t0")

    outcome = applier(target).apply_batch(
        [QueueMessage(group_id="poison", body="{}"), QueueMessage(group_id="poison", body="{}"), good], cutoff=None
    )

    assert [result.status for result in outcome.results] == ["failed", "held_back", "applied"]
    assert sorted(target_state(target)) == ["t0#a"]
