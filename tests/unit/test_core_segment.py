"""Segment copy and cleanup on moto: fidelity, checkpoints, time budget, and all-or-nothing pages."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

import pytest

from migration_core.backfill import BackfillService
from migration_core.errors import InvalidItemError, TransformError, WriteRetriesExhausted
from migration_core.models import Phase, RunSpec, SegmentRequest
from migration_core.state import segment_sort_key
from migration_core.types import Item
from tests.support.backfill import make_service
from tests.support.lambda_context import FakeLambdaContext
from tests.support.tables import STATE_TABLE, CreateTable, by_key, enable_pitr, numbered_items, put_items, scan_all

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EVERY_TYPE_ITEMS: list[Item] = [
    {
        "pk": {"S": "types#1"},
        "sk": {"N": "12345678901234567890123456789012345678"},
        "s": {"S": "héllo wörld ✓ 𝄞"},
        "empty_s": {"S": ""},
        "n_38_digits": {"N": "12345678901234567890123456789012345678"},
        "n_negative_38_digits": {"N": "-0.12345678901234567890123456789012345678"},
        "n_smallest": {"N": "-1E-130"},
        "n_largest": {"N": "9.9999999999999999999999999999999999999E+125"},
        "n_plain": {"N": "42"},
        "b": {"B": bytes(range(256))},
        "empty_b": {"B": b""},
        "yes": {"BOOL": True},
        "no": {"BOOL": False},
        "nothing": {"NULL": True},
        "ss": {"SS": ["b", "a", "ünïcode"]},
        "ns": {"NS": ["1", "-2.5", "12345678901234567890123456789012345678"]},
        "bs": {"BS": [b"\x00", b"\xff\xfe", bytes(range(10))]},
        "l": {"L": [{"S": "x"}, {"N": "1.50"}, {"L": []}, {"M": {"k": {"NS": ["3"]}}}, {"BS": [b"\x01"]}]},
        "m": {
            "M": {
                "nested": {"M": {"deeper": {"L": [{"B": b"\x01\x02"}, {"NULL": True}, {"BOOL": False}]}}},
                "empty": {"M": {}},
                "ss": {"SS": ["only"]},
            }
        },
    },
    {"pk": {"S": "types#2"}, "sk": {"N": "-0.00000000000000000000000000000000000001"}, "n": {"N": "0"}},
    {"pk": {"S": "types#3"}, "sk": {"N": "0"}},
]


def plan(service: BackfillService, total_segments: int = 1, **execution_input: Any) -> RunSpec:
    planned = service.plan({"total_segments": total_segments, **execution_input}, "run-1")
    return RunSpec.from_event(json.loads(json.dumps(planned["run"])))


def invoke(
    service: BackfillService,
    run: RunSpec,
    segment: int,
    start_key: Any = None,
    *,
    phase: Phase = "copy",
    context: FakeLambdaContext | None = None,
) -> dict[str, Any]:
    """One segment invocation with the event and result going through JSON, as with Step Functions."""
    event = json.loads(json.dumps({"run": run.to_event(), "phase": phase, "segment": segment, "start_key": start_key}))
    lambda_context = context or FakeLambdaContext()
    result = service.run_segment(SegmentRequest.from_event(event), lambda_context.get_remaining_time_in_millis)
    return dict(json.loads(json.dumps(result.to_event())))


def run_segment_to_completion(
    service: BackfillService,
    run: RunSpec,
    segment: int,
    *,
    phase: Phase = "copy",
    new_context: Any = FakeLambdaContext,
) -> list[dict[str, Any]]:
    """Re-invoke like the child state machine (start_key <- last_evaluated_key) until the segment is done."""
    results = [invoke(service, run, segment, phase=phase, context=new_context())]
    while not results[-1]["done"]:
        assert len(results) < 100, "the segment never finished"
        results.append(
            invoke(service, run, segment, results[-1]["last_evaluated_key"], phase=phase, context=new_context())
        )
    return results


def segment_record(client: DynamoDBClient, segment: int, phase: Phase = "copy") -> dict[str, Any]:
    key: Any = {"pk": {"S": "run-1"}, "sk": {"S": segment_sort_key(phase, segment)}}
    return dict(client.get_item(TableName=STATE_TABLE, Key=key, ConsistentRead=True)["Item"])


def test_every_attribute_value_type_survives_byte_for_byte(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", EVERY_TYPE_ITEMS)
    service = make_service(dynamodb)
    run = plan(service, total_segments=3)

    results = [run_segment_to_completion(service, run, segment) for segment in range(3)]

    source_items = by_key(scan_all(dynamodb, "source"))
    target_items = by_key(scan_all(dynamodb, "target"))
    assert target_items == source_items
    assert target_items == by_key(EVERY_TYPE_ITEMS)
    assert sum(r["written"] for segment in results for r in segment) == len(EVERY_TYPE_ITEMS)


def test_segments_split_the_table_and_write_each_item_once(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(120))
    service = make_service(dynamodb, scan_page_limit=7)
    run = plan(service, total_segments=4)

    results = [r for segment in range(4) for r in run_segment_to_completion(service, run, segment)]

    assert sum(r["scanned"] for r in results) == 120
    assert sum(r["written"] for r in results) == 120
    assert by_key(scan_all(dynamodb, "target")) == by_key(scan_all(dynamodb, "source"))
    assert all(r["consumed_rcu"] > 0 and r["consumed_wcu"] > 0 for r in results if r["scanned"])


def test_time_budget_stops_at_page_boundaries_and_continues_from_the_handed_over_key(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(95))
    service = make_service(dynamodb, scan_page_limit=10, time_safety_margin_seconds=60)
    run = plan(service)

    # 70 s left and 3 s less at every check: after a few pages less than the 60 s margin remains.
    results = run_segment_to_completion(
        service, run, 0, new_context=lambda: FakeLambdaContext(remaining_ms=70_000, ms_per_call=3_000)
    )

    assert len(results) >= 3, "the segment needed several invocations"
    for result in results[:-1]:
        assert result["done"] is False
        assert result["last_evaluated_key"] is not None
        assert result["scanned"] % 10 == 0, "invocations stop only between whole pages"
    assert results[-1]["done"] is True
    assert results[-1]["last_evaluated_key"] is None
    assert sum(r["written"] for r in results) == 95, "no page written twice, none skipped"
    assert by_key(scan_all(dynamodb, "target")) == by_key(scan_all(dynamodb, "source"))

    record = segment_record(dynamodb, 0)
    assert record["done"] == {"BOOL": True}
    assert record["scanned"] == {"N": "95"}
    assert record["written"] == {"N": "95"}
    assert record["invocations"] == {"N": str(len(results))}
    assert "last_evaluated_key" not in record


def test_run_time_budget_limits_each_invocation(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(50))
    ticks = itertools.count()
    service = make_service(dynamodb, scan_page_limit=10, monotonic=lambda: float(next(ticks)))
    run = plan(service, time_budget_seconds=4)

    results = run_segment_to_completion(service, run, 0)

    assert len(results) > 1
    assert sum(r["written"] for r in results) == 50


def test_binary_keys_hand_over_as_base64_json_and_resume(dynamodb: DynamoDBClient, create_table: CreateTable) -> None:
    # A binary sort key rather than partition key: moto 5.2.5 cannot place binary partition keys in segments.
    create_table("source", pk="S", sk="B")
    create_table("target", pk="S", sk="B")
    create_table(STATE_TABLE, pk="S", sk="S")
    items = [{"pk": {"S": "same"}, "sk": {"B": bytes([index, 0, 255])}} for index in range(30)]
    put_items(dynamodb, "source", items)
    service = make_service(dynamodb, scan_page_limit=4)
    run = plan(service)

    results = run_segment_to_completion(
        service, run, 0, new_context=lambda: FakeLambdaContext(remaining_ms=66_000, ms_per_call=2_000)
    )

    handed_over = [r["last_evaluated_key"] for r in results[:-1]]
    assert handed_over
    assert all(isinstance(key["sk"]["B"], str) for key in handed_over), "JSON-safe for Step Functions"
    assert len(scan_all(dynamodb, "target")) == 30
    assert sum(r["written"] for r in results) == 30


def test_a_retried_invocation_resumes_from_the_state_checkpoint(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(60))
    service = make_service(dynamodb, scan_page_limit=10)
    run = plan(service)
    first = invoke(service, run, 0, context=FakeLambdaContext(remaining_ms=70_000, ms_per_call=4_000))
    assert first["done"] is False

    # A Lambda retry (or a redrive) starts over with the original start_key; the checkpoint wins.
    rest = invoke(service, run, 0, None)

    assert rest["done"] is True
    assert first["written"] + rest["written"] == 60
    assert first["scanned"] + rest["scanned"] == 60
    assert segment_record(dynamodb, 0)["written"] == {"N": "60"}


def test_a_finished_segment_is_not_redone(dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]) -> None:
    put_items(dynamodb, "source", numbered_items(10))
    service = make_service(dynamodb)
    run = plan(service)
    run_segment_to_completion(service, run, 0)

    again = invoke(service, run, 0)

    assert again["done"] is True
    assert (again["scanned"], again["written"]) == (0, 0)
    assert segment_record(dynamodb, 0)["written"] == {"N": "10"}


def test_an_empty_segment_finishes_at_once(dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]) -> None:
    service = make_service(dynamodb)
    run = plan(service, total_segments=2)
    result = invoke(service, run, 1)
    # Even an empty Scan costs read capacity, so consumed_rcu is whatever DynamoDB (here moto) reports.
    del result["consumed_rcu"]
    assert result == {
        "done": True,
        "last_evaluated_key": None,
        "scanned": 0,
        "written": 0,
        "skipped": 0,
        "deleted": 0,
        "duplicates": 0,
        "consumed_wcu": 0.0,
        "retries": 0,
    }


def test_transform_output_is_written_and_empty_output_counted_as_skipped(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(20))

    def keep_even(item: Item) -> Item | None:
        return item if int(item["pk"]["S"].split("#")[1]) % 2 == 0 else None

    service = make_service(
        dynamodb,
        transform_steps=[{"op": "set", "attribute": "status", "value": {"S": "migrated"}}],
        custom_transform=keep_even,
    )
    run = plan(service)

    [result] = run_segment_to_completion(service, run, 0)

    assert (result["scanned"], result["written"], result["skipped"]) == (20, 10, 10)
    target = scan_all(dynamodb, "target")
    assert len(target) == 10
    assert all(item["status"] == {"S": "migrated"} for item in target)


def assert_nothing_written(client: DynamoDBClient) -> None:
    assert scan_all(client, "target") == []


def test_an_invalid_item_fails_its_whole_page_before_anything_is_written(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(30))
    service = make_service(dynamodb, scan_page_limit=100)
    run = plan(service)

    def drop_key_of_one(item: Item) -> Item:
        if item["pk"]["S"] == "item#00017":
            del item["sk"]
        return item

    broken = make_service(dynamodb, custom_transform=drop_key_of_one)
    with pytest.raises(InvalidItemError, match=r'source key \{"pk":\{"S":"item#00017"\},"sk":\{"N":"3"\}\}'):
        invoke(broken, run, 0)

    assert_nothing_written(dynamodb)
    record = segment_record(dynamodb, 0)
    assert record["error"]["S"].startswith("InvalidItemError: item transformed from source key")
    assert "last_evaluated_key" not in record


def test_an_item_over_400_kb_is_refused(dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]) -> None:
    put_items(dynamodb, "source", numbered_items(5))
    run = plan(make_service(dynamodb))
    oversized = make_service(
        dynamodb, transform_steps=[{"op": "set", "attribute": "blob", "value": {"S": "x" * 409_600}}]
    )

    with pytest.raises(InvalidItemError, match="over DynamoDB's 400 KB limit"):
        invoke(oversized, run, 0)
    assert_nothing_written(dynamodb)


def test_a_transform_error_names_the_source_key(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    items = numbered_items(10)
    for item in items[:9]:
        item["tenant"] = {"S": "acme"}
    put_items(dynamodb, "source", items)
    run = plan(make_service(dynamodb))
    service = make_service(dynamodb, transform_steps=[{"op": "derive", "attribute": "pk", "template": "{tenant}#{pk}"}])

    with pytest.raises(TransformError, match=r'source item \{"pk":\{"S":"item#00009"\}.*placeholder \{tenant\}'):
        invoke(service, run, 0)
    assert_nothing_written(dynamodb)
    assert segment_record(dynamodb, 0)["error"]["S"].startswith("TransformError: source item")


def test_in_place_run_rewrites_items_under_their_own_key(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(15))
    service = make_service(dynamodb, target="source", transform_steps=[{"op": "timestamp", "attribute": "updatedAt"}])
    enable_pitr(dynamodb, "source")
    run = plan(service)
    assert run.in_place

    [result] = run_segment_to_completion(service, run, 0)

    assert result["written"] == 15
    source = scan_all(dynamodb, "source")
    assert len(source) == 15
    assert all("updatedAt" in item for item in source)


def test_in_place_run_refuses_a_key_change_before_writing(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    original = numbered_items(15)
    put_items(dynamodb, "source", original)
    enable_pitr(dynamodb, "source")
    run = plan(make_service(dynamodb, target="source"))
    changes_key = make_service(
        dynamodb,
        target="source",
        transform_steps=[
            {"op": "derive", "attribute": "pk", "template": "new#{pk}"},
            {"op": "set", "attribute": "marker", "value": {"BOOL": True}},
        ],
    )

    with pytest.raises(InvalidItemError, match=r"in-place migration of source key .* migrate into a new table"):
        invoke(changes_key, run, 0)
    assert by_key(scan_all(dynamodb, "source")) == by_key(original), "no item was touched"


def test_cleanup_deletes_every_item_of_the_target(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "target", numbered_items(45))
    put_items(dynamodb, "source", numbered_items(3))
    service = make_service(dynamodb, scan_page_limit=10)
    enable_pitr(dynamodb, "target")
    run = plan(service, total_segments=2, cleanup_destination_table=True, confirm_cleanup="target")

    results = [r for s in range(2) for r in run_segment_to_completion(service, run, s, phase="cleanup")]

    assert scan_all(dynamodb, "target") == []
    assert sum(r["deleted"] for r in results) == 45
    assert sum(r["written"] for r in results) == 0
    assert segment_record(dynamodb, 0, phase="cleanup")["done"] == {"BOOL": True}
    assert len(scan_all(dynamodb, "source")) == 3, "cleanup never touches the source"


class RefusingWriteClient:
    """A write client for which DynamoDB never accepts anything (a table throttled beyond hope)."""

    def __init__(self) -> None:
        self.calls = 0

    def batch_write_item(self, *, RequestItems: dict[str, list[Any]], ReturnConsumedCapacity: str) -> Any:  # noqa: N803 - boto3's names
        self.calls += 1
        return {"UnprocessedItems": RequestItems, "ConsumedCapacity": []}


def test_exhausted_write_retries_fail_the_segment_and_are_recorded(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    put_items(dynamodb, "source", numbered_items(30))
    refusing = RefusingWriteClient()
    service = make_service(dynamodb, write_client=refusing, max_write_attempts=3)  # type: ignore[arg-type]
    run = plan(service)

    with pytest.raises(WriteRetriesExhausted, match=r"30 item\(s\) could not be written to table 'target'"):
        invoke(service, run, 0)

    assert refusing.calls == 2 * 3, "two chunks, three attempts each"
    record = segment_record(dynamodb, 0)
    assert record["error"]["S"].startswith("WriteRetriesExhausted: 30 item(s)")
    assert "written" not in record, "the failed page was not counted"
