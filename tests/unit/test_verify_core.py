"""migration_core.verify on moto: reading by key, classifying pages, re-checks, and the worker's verify phase."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from migration_core.backfill import BackfillService
from migration_core.errors import InvalidInput
from migration_core.models import RunSpec, SegmentRequest
from migration_core.retry import RetryPolicy
from migration_core.state import StateStore
from migration_core.transform import CustomTransform, Transformer
from migration_core.types import Item
from migration_core.verify import ItemReader, ReadRetriesExhausted, Verifier, canonical_key
from tests.support.backfill import worker_config
from tests.support.tables import STATE_TABLE, CreateTable, put_items

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SCHEMA = {"pk": "S", "sk": "N"}


def item(pk: str, sk: str = "1", **attributes: Any) -> Item:
    return {"pk": {"S": pk}, "sk": {"N": sk}, **attributes}


def no_sleep_policy(sleeps: list[float] | None = None, max_attempts: int = 4) -> RetryPolicy:
    recorder = sleeps if sleeps is not None else []
    return RetryPolicy(max_attempts=max_attempts, rng=random.Random(0), sleep=recorder.append)


def verifier(
    client: DynamoDBClient, custom: CustomTransform | None = None, steps: list[dict[str, Any]] | None = None
) -> Verifier:
    return Verifier(
        transformer=Transformer.from_spec(steps or [], custom),
        source_key_schema=SCHEMA,
        target_key_schema=SCHEMA,
        source_reader=ItemReader(client, "source", SCHEMA, no_sleep_policy()),
        target_reader=ItemReader(client, "target", SCHEMA, no_sleep_policy()),
    )


@pytest.fixture
def tables(create_table: CreateTable) -> None:
    create_table("source", pk="S", sk="N")
    create_table("target", pk="S", sk="N")
    create_table(STATE_TABLE, pk="S", sk="S")


class UnprocessedFirst:
    """A DynamoDB client whose BatchGetItem leaves keys unprocessed: half of them once, or all of them always."""

    def __init__(self, client: DynamoDBClient, *, always: bool = False) -> None:
        self._client: Any = client
        self._always = always
        self.calls = 0

    def batch_get_item(self, **arguments: Any) -> dict[str, Any]:
        self.calls += 1
        ((table, request),) = arguments["RequestItems"].items()
        keys = request["Keys"]
        held = keys if self._always else keys[len(keys) // 2 :] if self.calls == 1 else []
        served = [key for key in keys if key not in held]
        response: dict[str, Any] = (
            dict(self._client.batch_get_item(RequestItems={table: {**request, "Keys": served}})) if served else {}
        )
        response.setdefault("Responses", {}).setdefault(table, [])
        if held:
            response["UnprocessedKeys"] = {table: {**request, "Keys": held}}
        return response


def test_item_reader_retries_unprocessed_keys_with_backoff(dynamodb: DynamoDBClient, tables: None) -> None:
    put_items(dynamodb, "target", [item(f"k{i}") for i in range(150)])
    sleeps: list[float] = []
    fake = UnprocessedFirst(dynamodb)
    reader = ItemReader(fake, "target", SCHEMA, no_sleep_policy(sleeps))  # type: ignore[arg-type]

    result = reader.read([item(f"k{i}") for i in range(150)] + [item("absent")] + [item("k0")])

    assert len(result.items) == 150
    assert canonical_key(item("absent")) not in result.items
    assert fake.calls == 3, "two chunks (100 + 51 distinct keys), the first retried once"
    assert result.retries == 1
    assert len(sleeps) == 1


def test_item_reader_gives_up_when_keys_stay_unprocessed(dynamodb: DynamoDBClient, tables: None) -> None:
    reader = ItemReader(UnprocessedFirst(dynamodb, always=True), "target", SCHEMA, no_sleep_policy())  # type: ignore[arg-type]

    with pytest.raises(ReadRetriesExhausted, match="1 key\\(s\\) still unprocessed after 4 attempts"):
        reader.read([item("k")])


def test_a_page_is_classified_into_matching_missing_different_and_skipped(
    dynamodb: DynamoDBClient, tables: None
) -> None:
    source = [item("same", n={"N": "1"}), item("gone"), item("changed", n={"N": "1"}), item("skip")]
    put_items(dynamodb, "target", [item("same", n={"N": "1.0"}), item("changed", n={"N": "2"})])

    def drop_skip(candidate: Item) -> Item | None:
        return None if candidate["pk"]["S"] == "skip" else candidate

    check = verifier(dynamodb, drop_skip).check_page(source)

    counts = check.counts
    assert (counts.source_items, counts.checked, counts.matching, counts.missing, counts.different) == (4, 3, 1, 1, 1)
    assert counts.skipped == 1
    assert {(m.kind, m.target_key["pk"]["S"]) for m in check.mismatches} == {
        ("missing", "gone"),
        ("different", "changed"),
    }
    [different] = [m for m in check.mismatches if m.kind == "different"]
    assert [d.describe() for d in different.differences] == ['n: {"N":"1"} → {"N":"2"}']
    assert check.changed_key is None


def test_several_source_items_for_one_target_key_match_when_the_target_is_any_of_them(
    dynamodb: DynamoDBClient, tables: None
) -> None:
    def merge(candidate: Item) -> Item:
        return {"pk": {"S": "merged"}, "sk": {"N": "1"}, "from": candidate["pk"]}

    put_items(dynamodb, "target", [{"pk": {"S": "merged"}, "sk": {"N": "1"}, "from": {"S": "a"}}])

    check = verifier(dynamodb, merge).check_page([item("a"), item("b")])

    assert (check.counts.checked, check.counts.matching) == (1, 1)
    assert check.changed_key == ({"pk": {"S": "a"}, "sk": {"N": "1"}}, {"pk": {"S": "merged"}, "sk": {"N": "1"}})


def test_recheck_resolves_fixed_items_and_turns_orphans_into_extras(dynamodb: DynamoDBClient, tables: None) -> None:
    source = [item("fixed", v={"S": "new"}), item("deleted"), item("deleted-both"), item("still", v={"S": "a"})]
    put_items(dynamodb, "source", source)
    put_items(dynamodb, "target", [item("fixed", v={"S": "old"}), item("deleted", v={"S": "x"}), item("still")])
    check_verifier = verifier(dynamodb)
    check = check_verifier.check_page(source)
    assert len(check.mismatches) == 4
    # Replication catches up meanwhile: one item arrives, two source items are deleted (one of them in the
    # target as well).
    put_items(dynamodb, "target", [item("fixed", v={"S": "new"})])
    dynamodb.delete_item(TableName="source", Key={"pk": {"S": "deleted"}, "sk": {"N": "1"}})
    dynamodb.delete_item(TableName="source", Key={"pk": {"S": "deleted-both"}, "sk": {"N": "1"}})

    recheck = check_verifier.recheck(check.mismatches)

    outcome = {original.target_key["pk"]["S"]: None if now is None else now.kind for original, now in recheck.pairs}
    assert outcome == {"fixed": None, "deleted": "extra", "deleted-both": None, "still": "different"}
    assert recheck.resolved == 2


def test_target_keys_no_source_item_produces_are_extra(dynamodb: DynamoDBClient, tables: None) -> None:
    put_items(dynamodb, "source", [item("kept"), item("moved")])

    def move(candidate: Item) -> Item:
        if candidate["pk"]["S"] == "moved":
            return {**candidate, "sk": {"N": "2"}}
        return candidate

    extras, _ = verifier(dynamodb, move).check_target_keys([item("kept"), item("moved"), item("orphan")])

    assert [(m.target_key["pk"]["S"], m.note) for m in extras] == [
        ("moved", "the source item with this key transforms into other keys"),
        ("orphan", "no source item has this key"),
    ]


# ----------------------------------------------------------------------------------------------------------------
# The worker's verify phase
# ----------------------------------------------------------------------------------------------------------------


def service(client: DynamoDBClient, sleep: Callable[[float], None] = lambda seconds: None) -> BackfillService:
    config = worker_config(state_table=STATE_TABLE, write_concurrency=2)
    return BackfillService(
        config=config,
        client=client,
        write_client=client,
        retry_policy=config.retry_policy(sleep=lambda seconds: None, rng=random.Random(0)),
        transformer_factory=lambda: Transformer.from_spec([]),
        sleep=sleep,
        rng=random.Random(0),
    )


def plan_verify(worker: BackfillService, **execution_input: Any) -> tuple[RunSpec, list[int]]:
    planned = json.loads(json.dumps(worker.plan({"mode": "verify", **execution_input}, "verify-1")))
    return RunSpec.from_event(planned["run"]), planned["segments"]


def run_verify_segments(worker: BackfillService, run: RunSpec, segments: list[int]) -> list[dict[str, Any]]:
    results = []
    for segment in segments:
        start_key = None
        while True:
            result = worker.run_segment(SegmentRequest(run, "verify", segment, start_key), lambda: 900_000)
            results.append(result.to_event())
            if result.done:
                break
            start_key = result.last_evaluated_key
    return results


def test_the_verify_phase_counts_per_segment_and_summarize_reports_and_records_it(
    dynamodb: DynamoDBClient, tables: None
) -> None:
    source = [item(f"k{i:02d}", n={"N": str(i)}) for i in range(40)]
    put_items(dynamodb, "source", source)
    put_items(dynamodb, "target", [candidate for candidate in source if candidate["pk"]["S"] != "k03"])
    put_items(dynamodb, "target", [item("k07", n={"S": "7"})])
    worker = service(dynamodb)
    run, segments = plan_verify(worker, total_segments=3)

    results = run_verify_segments(worker, run, segments)
    summary = worker.summarize(run)

    assert set(results[0]) == {
        "done",
        "last_evaluated_key",
        "scanned",
        "skipped",
        "matching",
        "missing",
        "different",
        "consumed_rcu",
        "retries",
    }
    assert sum(int(result["scanned"]) for result in results) == 40
    assert (summary["source_items"], summary["matching"], summary["missing"], summary["different"]) == (40, 38, 1, 1)
    assert summary["clean"] is False
    assert summary["distributed"] is True
    assert summary["extra_checked"] is False
    assert summary["segments_checked"] == 3
    assert sorted(entry["key"]["pk"]["S"] for entry in summary["sample"]) == ["k03", "k07"]
    [different] = [entry for entry in summary["sample"] if entry["kind"] == "different"]
    assert different["differences"][0]["text"] == 'n: type N → S: {"N":"7"} → {"S":"7"}'
    record = StateStore(dynamodb, STATE_TABLE).last_verify()
    assert record is not None
    assert record.clean is False
    assert record.summary["missing"] == 1


def test_the_worker_lets_differences_settle_before_counting_them(dynamodb: DynamoDBClient, tables: None) -> None:
    put_items(dynamodb, "source", [item("a", v={"S": "new"}), item("b")])
    put_items(dynamodb, "target", [item("a", v={"S": "old"}), item("b")])
    sleeps: list[float] = []

    def replication_catches_up(seconds: float) -> None:
        sleeps.append(seconds)
        put_items(dynamodb, "target", [item("a", v={"S": "new"})])

    worker = service(dynamodb, sleep=replication_catches_up)
    run, segments = plan_verify(worker, total_segments=1, settle_seconds=5)

    run_verify_segments(worker, run, segments)
    summary = worker.summarize(run)

    assert 0 < sleeps[0] <= 5
    assert (summary["matching"], summary["different"], summary["clean"]) == (2, 0, True)


def test_a_sampled_verify_plans_a_subset_of_segments_and_is_not_recorded(
    dynamodb: DynamoDBClient, tables: None
) -> None:
    put_items(dynamodb, "source", [item(f"k{i}") for i in range(10)])
    put_items(dynamodb, "target", [item(f"k{i}") for i in range(10)])
    worker = service(dynamodb)
    run, segments = plan_verify(worker, total_segments=10, sample_fraction=0.3)

    run_verify_segments(worker, run, segments)
    summary = worker.summarize(run)

    assert len(segments) == 3
    assert set(segments) <= set(range(10))
    assert summary["sampled"] is True
    assert summary["clean"] is True
    assert StateStore(dynamodb, STATE_TABLE).last_verify() is None


@pytest.mark.parametrize(
    ("fraction", "checked", "sampled"),
    [(0.1, 1, True), (0.6, 2, True), (0.9, 4, False)],
)
def test_a_sampled_verify_reports_the_share_of_segments_it_checked(
    dynamodb: DynamoDBClient, tables: None, fraction: float, checked: int, sampled: bool
) -> None:
    put_items(dynamodb, "source", [item(f"k{i}") for i in range(20)])
    put_items(dynamodb, "target", [item(f"k{i}") for i in range(20)])
    worker = service(dynamodb)
    run, segments = plan_verify(worker, total_segments=4, sample_fraction=fraction)

    run_verify_segments(worker, run, segments)
    summary = worker.summarize(run)

    assert len(segments) == summary["segments_checked"] == checked
    assert summary["sample_fraction"] == checked / 4
    assert summary["sampled"] is sampled
    assert (StateStore(dynamodb, STATE_TABLE).last_verify() is None) is sampled


def test_an_item_differing_in_many_large_attributes_keeps_its_key_in_the_distributed_sample(
    dynamodb: DynamoDBClient, tables: None
) -> None:
    wide = {f"attribute{i:02d}": {"S": f"{i:02d}" + "x" * 450} for i in range(12)}
    put_items(dynamodb, "source", [{**item("wide"), **wide}])
    put_items(dynamodb, "target", [{**item("wide"), **{name: {"S": "y" * 450} for name in wide}}])
    worker = service(dynamodb)
    run, segments = plan_verify(worker, total_segments=1)

    run_verify_segments(worker, run, segments)
    summary = worker.summarize(run)

    assert summary["different"] == 1
    [entry] = summary["sample"]
    assert entry["key"] == {"pk": {"S": "wide"}, "sk": {"N": "1"}}
    listed = [difference["path"] for difference in entry["differences"]]
    assert listed == sorted(wide)[: len(listed)]
    assert listed
    assert len(listed) + entry["more_differences"] == len(wide)


def test_phases_must_match_the_run_mode(dynamodb: DynamoDBClient, tables: None) -> None:
    put_items(dynamodb, "source", [item("a")])
    worker = service(dynamodb)
    verify_run, _ = plan_verify(worker, total_segments=1)
    copy_run = RunSpec("copy-1", "source", "target", total_segments=1)

    with pytest.raises(InvalidInput, match="phase 'copy' does not belong to a run in mode 'verify'"):
        worker.run_segment(SegmentRequest(verify_run, "copy", 0, None), lambda: 900_000)
    with pytest.raises(InvalidInput, match="phase 'verify' does not belong to a run in mode 'copy'"):
        worker.run_segment(SegmentRequest(copy_run, "verify", 0, None), lambda: 900_000)
    assert dynamodb.scan(TableName="target")["Items"] == []
