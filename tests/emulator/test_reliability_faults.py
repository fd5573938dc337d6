"""The write paths against the DynamoDB fault model: real botocore clients over HTTP, moto behind the model.

The batch writer, a whole backfill segment and the replication consumer's applier run against
``devtools.faults.ModelServer``, which throttles (a capacity-bound token bucket, or ``throttle_rate``),
answers ``500 InternalServerError`` before or after it applied a request, and leaves parts of batches
unprocessed. Each test compares the target item by item with what had to be written, checks the retries our
code reports against what the model says it did, and, when the retry budget runs out, that the error names
how many items were not written and which.
"""

from __future__ import annotations

import json
import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from devtools.datagen import generate_items
from devtools.faults import Capacity, DynamoDBModel, ModelServer, ModelSettings
from migration_core.attribute_values import format_key, item_to_json
from migration_core.backfill import BackfillService
from migration_core.batch_writer import BATCH_WRITE_LIMIT, ParallelBatchWriter, WriteStats
from migration_core.config import read_client_config, write_client_config
from migration_core.errors import WriteRetriesExhausted
from migration_core.models import RunSpec, SegmentRequest
from migration_core.replication import decode_message, encode_stream_record
from migration_core.replication_io import ReplicationRetriesExhausted, TargetApplier
from migration_core.retry import RetryPolicy
from migration_core.state import StateStore
from migration_core.transform import Transformer
from migration_core.types import Item
from tests.support import tables
from tests.support.backfill import make_service
from tests.support.faults import VirtualClock, memory_settings, model_client, model_table
from tests.support.tables import by_key, key_of

if TYPE_CHECKING:
    pass

MEMORY = "rel-"
KEY_SCHEMA = {"pk": "S", "sk": "N"}
STATE_TABLE = "reliability-state"


def new_model_table(server: ModelServer, label: str) -> str:
    """A new table in the model's in-memory store (``pk`` S + ``sk`` N)."""
    return model_table(server, f"{MEMORY}{label}-{uuid.uuid4().hex[:8]}", KEY_SCHEMA)


def faults(model: DynamoDBModel, **settings: Any) -> None:
    model.configure(ModelSettings(memory_tables=(f"{MEMORY}*",), seed=20240501, **settings))


def no_faults(model: DynamoDBModel) -> None:
    model.configure(memory_settings(MEMORY))


def stored(server: ModelServer, model: DynamoDBModel, table: str) -> dict[tuple[Any, ...], Item]:
    """Every item of ``table`` by key, read with the faults off."""
    no_faults(model)
    return by_key(tables.scan_all(model_client(server), table))


def small_items(count: int) -> list[Item]:
    """``datagen`` items of every AttributeValue type, each under 1 KB: one WCU per write."""
    return list(generate_items(count, seed=11, payload_bytes=0))


def batch_write_calls(model: DynamoDBModel) -> int:
    return int(model.stats()["requests"].get("BatchWriteItem", 0))


def policy(max_attempts: int = 12) -> RetryPolicy:
    return RetryPolicy(max_attempts=max_attempts, base_seconds=0.002, cap_seconds=0.05, rng=random.Random(5))


def write_all(
    server: ModelServer,
    table: str,
    items: list[Item],
    retry_policy: RetryPolicy,
    monotonic: Callable[[], float] = time.monotonic,
) -> WriteStats:
    with ParallelBatchWriter(
        model_client(server, config=write_client_config(8)), table, KEY_SCHEMA, 8, retry_policy, monotonic=monotonic
    ) as writer:
        return writer.put_many(items)


# -- the batch writer ------------------------------------------------------------------------------------------


def test_a_capacity_bound_table_gets_every_item_exactly_once() -> None:
    # Time passes only while the writer waits (VirtualClock): the table refuses the same calls on any machine,
    # where a slow client on a real clock could find the bucket refilled and never be throttled.
    clock = VirtualClock()
    with ModelServer(memory_settings(MEMORY), clock=clock) as server:
        model = server.model
        table = new_model_table(server, "capacity")
        items = small_items(1200)
        faults(model, write_capacity={table: Capacity(1000, burst_seconds=0.25, initial_fill=0.0)})
        calls_before = batch_write_calls(model)

        stats = write_all(server, table, items, replace(policy(), sleep=clock.sleep), monotonic=clock)

        calls = batch_write_calls(model) - calls_before
        seen = model.table_stats(table)
        assert stored(server, model, table) == by_key(items)
        assert stats.written == len(items)
        assert seen.writes_applied == len(items), "no item was written twice"
        assert stats.throttled > 0
        assert stats.retries == calls - math.ceil(len(items) / BATCH_WRITE_LIMIT)
        assert stats.consumed_wcu == seen.consumed_wcu == len(items)


def test_the_adaptive_rate_resends_far_less_than_chunks_backing_off_alone() -> None:
    # Same capacity, same items, one writer each: items sent again (refused first) per item written. Time passes
    # only while the writer waits (VirtualClock), so the bucket refills the same on any machine, however busy.
    items = small_items(1500)

    def resends_per_item(adaptive_rate: bool) -> float:
        clock = VirtualClock()
        with ModelServer(memory_settings(MEMORY), clock=clock) as server:
            model = server.model
            table = new_model_table(server, "paced" if adaptive_rate else "unpaced")
            faults(model, write_capacity={table: Capacity(1000, burst_seconds=0.25, initial_fill=0.0)})
            retry_policy = replace(
                policy(), base_seconds=0.01, cap_seconds=1.0, adaptive_rate=adaptive_rate, sleep=clock.sleep
            )
            stats = write_all(server, table, items, retry_policy, monotonic=clock)
            seen = model.table_stats(table)
            assert stats.written == seen.writes_applied == len(items)
            assert stored(server, model, table) == by_key(items)
            return (seen.unprocessed_items + seen.throttled_items) / seen.writes_applied

    unpaced = resends_per_item(adaptive_rate=False)
    paced = resends_per_item(adaptive_rate=True)

    assert paced < 0.5 * unpaced, (paced, unpaced)


def test_injected_throttles_and_partial_batches_are_retried_and_counted(
    server: ModelServer, model: DynamoDBModel
) -> None:
    table = new_model_table(server, "throttled")
    items = small_items(600)
    faults(model, throttle_rate=0.2, partial_batch_rate=0.4)
    calls_before = batch_write_calls(model)

    stats = write_all(server, table, items, policy())

    calls = batch_write_calls(model) - calls_before
    seen = model.table_stats(table)
    assert stored(server, model, table) == by_key(items)
    assert stats.written == seen.writes_applied == len(items)
    assert seen.injected_throttles > 0
    assert seen.injected_partial_batches > 0
    assert stats.throttled == seen.injected_throttles + seen.injected_partial_batches
    assert stats.retries == calls - math.ceil(len(items) / BATCH_WRITE_LIMIT)


def test_server_errors_before_and_after_apply_lose_and_double_count_nothing(
    server: ModelServer, model: DynamoDBModel
) -> None:
    table = new_model_table(server, "errors")
    items = small_items(400)
    faults(model, server_error_rate=0.3, server_error_after_apply_share=0.5)

    stats = write_all(server, table, items, policy())

    seen = model.table_stats(table)
    assert stored(server, model, table) == by_key(items)
    assert seen.injected_server_errors > 0
    assert stats.retries == seen.injected_server_errors, "one retry per failed call"
    # A 500 after the batch was applied makes the writer send it again: applied twice, counted once.
    assert seen.writes_applied > len(items)
    assert stats.written == len(items)
    assert stats.throttled == 0


def test_a_table_that_keeps_refusing_fails_loudly_after_max_attempts(server: ModelServer, model: DynamoDBModel) -> None:
    table = new_model_table(server, "refusing")
    items = small_items(60)
    faults(model, throttle_rate=1.0)
    calls_before = batch_write_calls(model)

    with pytest.raises(WriteRetriesExhausted) as raised:
        write_all(server, table, items, policy(max_attempts=4))

    error = raised.value
    assert error.table == table
    assert error.count == len(items)
    assert {key_of(key) for key in error.sample_keys} <= set(by_key(items))
    assert error.sample_keys, "the message names keys"
    assert f"{len(items)} item(s) could not be written to table '{table}'" in str(error)
    assert batch_write_calls(model) - calls_before == 4 * math.ceil(len(items) / BATCH_WRITE_LIMIT)
    assert stored(server, model, table) == {}


def test_when_the_budget_runs_out_every_item_is_either_written_or_counted(
    server: ModelServer, model: DynamoDBModel
) -> None:
    # 20 WCU of burst, then 5 WCU/s: the first items fit, the rest is refused until the budget is spent.
    table = new_model_table(server, "starved")
    items = small_items(300)
    faults(model, write_capacity={table: Capacity(5, burst_seconds=4.0, initial_fill=1.0)})

    with pytest.raises(WriteRetriesExhausted) as raised:
        write_all(server, table, items, replace(policy(max_attempts=3), cap_seconds=0.01))

    written = stored(server, model, table)
    error = raised.value
    assert written, "what fitted was written"
    assert error.count > 0
    assert len(written) + error.count == len(items), "nothing dropped without being counted"
    assert all(key_of(key) not in written for key in error.sample_keys)
    assert all(written[key] == item for key, item in by_key(items).items() if key in written)


# -- a whole backfill segment ----------------------------------------------------------------------------------


@pytest.fixture
def state_table(server: ModelServer) -> str:
    """The run-state table lives in moto (the model's in-memory store has no UpdateItem expressions)."""
    dynamodb = model_client(server)
    if STATE_TABLE not in dynamodb.list_tables()["TableNames"]:
        model_table(server, STATE_TABLE, {"pk": "S", "sk": "S"})
    return STATE_TABLE


def service(server: ModelServer, source: str, target: str, max_write_attempts: int = 12) -> BackfillService:
    return make_service(
        model_client(server, config=read_client_config()),
        write_client=model_client(server, config=write_client_config(4)),
        source=source,
        target=target,
        state_table=STATE_TABLE,
        max_write_attempts=max_write_attempts,
        backoff_ms=(2, 50),
        scan_page_limit=100,
        sleep=time.sleep,
        seed=9,
    )


def load_source(server: ModelServer, model: DynamoDBModel, items: list[Item]) -> str:
    source = new_model_table(server, "source")
    no_faults(model)
    write_all(server, source, items, policy())
    return source


def plan(backfill: BackfillService, segments: int) -> RunSpec:
    planned = backfill.plan({"total_segments": segments}, f"run-{uuid.uuid4().hex[:8]}")
    return RunSpec.from_event(json.loads(json.dumps(planned["run"])))


def copy_segment(backfill: BackfillService, run: RunSpec, segment: int) -> list[dict[str, Any]]:
    """Invoke like the Map child does (each result's key is the next start) until the segment is done."""
    results: list[dict[str, Any]] = []
    start_key: Any = None
    while not results or not results[-1]["done"]:
        assert len(results) < 50, "the segment never finished"
        event = {"run": run.to_event(), "phase": "copy", "segment": segment, "start_key": start_key}
        request = SegmentRequest.from_event(json.loads(json.dumps(event)))
        results.append(backfill.run_segment(request, lambda: 900_000).to_event())
        start_key = results[-1]["last_evaluated_key"]
    return results


def test_a_backfill_segment_copies_everything_through_every_fault(
    server: ModelServer, model: DynamoDBModel, state_table: str
) -> None:
    items = small_items(500)
    source = load_source(server, model, items)
    target = new_model_table(server, "target")
    backfill = service(server, source, target)
    run = plan(backfill, segments=2)
    faults(
        model,
        write_capacity={target: Capacity(1500, burst_seconds=0.25, initial_fill=0.0)},
        throttle_rate=0.2,
        partial_batch_rate=0.3,
        server_error_rate=0.2,
        server_error_after_apply_share=0.5,
        fault_tables=frozenset({target}),
    )

    results = [result for segment in range(2) for result in copy_segment(backfill, run, segment)]

    seen = model.table_stats(target)
    assert stored(server, model, target) == by_key(items)
    assert sum(result["written"] for result in results) == sum(result["scanned"] for result in results) == 500
    assert seen.injected_throttles > 0
    assert seen.injected_server_errors > 0
    assert seen.injected_partial_batches > 0
    # Each of these refused a whole call, which cost one retry; partial batches cost more retries on top.
    refused_calls = seen.injected_throttles + seen.injected_server_errors + seen.throttled_requests
    assert sum(result["retries"] for result in results) >= refused_calls


def test_a_segment_whose_writes_keep_failing_stops_loudly_and_a_redrive_finishes_it(
    server: ModelServer, model: DynamoDBModel, state_table: str
) -> None:
    items = small_items(250)
    source = load_source(server, model, items)
    target = new_model_table(server, "target")
    backfill = service(server, source, target, max_write_attempts=3)
    run = plan(backfill, segments=1)
    faults(model, throttle_rate=1.0, fault_tables=frozenset({target}))

    with pytest.raises(WriteRetriesExhausted) as raised:
        copy_segment(backfill, run, 0)

    assert raised.value.count == 100, "the whole first page, which was not checkpointed"
    assert stored(server, model, target) == {}
    # The redrive (faults gone) starts the segment again and copies it all.
    results = copy_segment(backfill, run, 0)
    assert stored(server, model, target) == by_key(items)
    assert sum(result["written"] for result in results) == 250


def test_checkpoints_answered_with_errors_after_they_were_applied_count_each_page_once(
    server: ModelServer, model: DynamoDBModel, state_table: str
) -> None:
    items = small_items(500)
    source = load_source(server, model, items)
    target = new_model_table(server, "target")
    backfill = service(server, source, target)
    run = plan(backfill, segments=2)
    # Every injected error comes after DynamoDB applied the checkpoint; botocore sends the update again.
    faults(model, server_error_rate=0.2, server_error_after_apply_share=1.0, fault_tables=frozenset({state_table}))

    results = [result for segment in range(2) for result in copy_segment(backfill, run, segment)]

    assert model.table_stats(state_table).injected_server_errors > 0
    no_faults(model)
    records = StateStore(model_client(server), state_table).segment_records(run.run_id)
    assert sum(record.counts.written for record in records) == 500, "a page counted twice in the state table"
    assert sum(result["written"] for result in results) == 500
    assert backfill.summarize(run)["written"] == 500
    assert stored(server, model, target) == by_key(items)


# -- the replication consumer's applier ----------------------------------------------------------------------


def stream_record(source: str, sequence: int, name: str, new: Item | None, old: Item | None) -> dict[str, Any]:
    image = new if new is not None else old
    assert image is not None
    section: dict[str, Any] = {
        "Keys": item_to_json({"pk": image["pk"], "sk": image["sk"]}),
        "SequenceNumber": f"{sequence:021d}",
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        section["NewImage"] = item_to_json(new)
    if old is not None:
        section["OldImage"] = item_to_json(old)
    return {
        "eventID": f"event-{sequence}",
        "eventName": name,
        "dynamodb": section,
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:123456789012:table/{source}/stream/2026-01-01T00:00:00.000",
    }


def applier(server: ModelServer, source: str, target: str, max_attempts: int = 12) -> TargetApplier:
    return TargetApplier(
        model_client(server, config=write_client_config(1)),
        target_table=target,
        source_table=source,
        key_schema=KEY_SCHEMA,
        transformer=Transformer.from_spec([]),
        retry_policy=policy(max_attempts),
    )


def test_the_applier_reaches_the_final_state_through_every_fault() -> None:
    clock = VirtualClock()
    with ModelServer(memory_settings(MEMORY), clock=clock) as server:
        model = server.model
        source, target = new_model_table(server, "stream-source"), new_model_table(server, "applied")
        items = small_items(40)
        modified = [{**item, "version": {"N": "2"}} for item in items[:20]]
        records = [stream_record(source, index, "INSERT", item, None) for index, item in enumerate(items)]
        records += [
            stream_record(source, 100 + index, "MODIFY", new, old)
            for index, (new, old) in enumerate(zip(modified, items[:20], strict=True))
        ]
        records += [
            stream_record(source, 200 + index, "REMOVE", None, item) for index, item in enumerate(modified[:10])
        ]
        # The bucket starts empty and refills only during the applier's backoff: its first write is throttled
        # by capacity whatever the machine's speed.
        faults(
            model,
            write_capacity={target: Capacity(200, burst_seconds=0.1, initial_fill=0.0)},
            throttle_rate=0.15,
            server_error_rate=0.15,
            server_error_after_apply_share=0.5,
            fault_tables=frozenset({target}),
        )
        consumer = TargetApplier(
            model_client(server, config=write_client_config(1)),
            target_table=target,
            source_table=source,
            key_schema=KEY_SCHEMA,
            transformer=Transformer.from_spec([]),
            retry_policy=RetryPolicy(
                max_attempts=12, base_seconds=0.002, cap_seconds=0.05, rng=random.Random(5), sleep=clock.sleep
            ),
        )

        retries = sum(consumer.apply(decode_message(encode_stream_record(record).body)).retries for record in records)

        seen = model.table_stats(target)
        assert stored(server, model, target) == by_key([*modified[10:], *items[20:]])
        assert seen.injected_throttles > 0
        assert seen.injected_server_errors > 0
        assert seen.throttled_requests > 0
    assert retries == seen.injected_throttles + seen.injected_server_errors + seen.throttled_requests


def test_the_applier_fails_loudly_when_the_target_keeps_throttling(server: ModelServer, model: DynamoDBModel) -> None:
    source, target = new_model_table(server, "stream-source"), new_model_table(server, "refusing")
    (item,) = small_items(1)
    faults(model, throttle_rate=1.0, fault_tables=frozenset({target}))
    consumer = applier(server, source, target, max_attempts=3)

    with pytest.raises(ReplicationRetriesExhausted) as raised:
        consumer.apply(decode_message(encode_stream_record(stream_record(source, 1, "INSERT", item, None)).body))

    message = str(raised.value)
    assert f"PutItem {format_key({'pk': item['pk'], 'sk': item['sk']})} into {target} failed 3 times" in message
    assert model.table_stats(target).injected_throttles == 3
    assert stored(server, model, target) == {}
