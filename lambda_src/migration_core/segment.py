"""Work through one Scan segment page by page, with a checkpoint after every page.

A page is the unit of progress: it is scanned, turned into write requests, validated as a whole, written,
and only then checkpointed. The invocation stops only between pages, so a checkpoint always means "every
item before this key is in the target", and a retry or redrive continues from there. The verify phase uses
the same loop with pages that only read: a checkpoint then means "every item before this key is counted".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, cast

from migration_core.attribute_values import format_key
from migration_core.batch_writer import ParallelBatchWriter
from migration_core.budget import SegmentBudget, charged, page_limit
from migration_core.errors import InvalidItemError, TransformError
from migration_core.items import KeySchema, key_of, validate_target_item
from migration_core.models import SegmentCounts, SegmentRequest, SegmentResult
from migration_core.state import StateStore
from migration_core.transform import Transformer
from migration_core.types import Item
from migration_core.verify import Verifier, settle_counts

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class TimeBudget:
    """How long this invocation may keep starting pages.

    The Lambda's remaining time is asked for afresh each time, since it is the authority on the deadline;
    the run's own ``time_budget_seconds`` counts from the start of the invocation.
    """

    def __init__(
        self,
        remaining_ms: Callable[[], int],
        safety_margin_seconds: float,
        budget_seconds: float = 0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._remaining_ms = remaining_ms
        self._safety_margin_seconds = safety_margin_seconds
        self._budget_seconds = budget_seconds
        self._monotonic = monotonic
        self._started = monotonic()

    def seconds_left(self) -> float:
        left = self._remaining_ms() / 1000 - self._safety_margin_seconds
        if self._budget_seconds > 0:
            left = min(left, self._budget_seconds - (self._monotonic() - self._started))
        return left


@dataclass(frozen=True)
class ScanPage:
    items: list[Item]
    last_evaluated_key: Item | None
    consumed_rcu: float


class PageSource(Protocol):
    """Where a segment's pages come from when not from a Scan: the data file of an export (migration_core.export)."""

    def read(self, position: Item | None, limit: int | None) -> ScanPage:
        """The page after ``position`` (None: the start), whose ``last_evaluated_key`` is the next position."""
        ...


class PageHandler(Protocol):
    """What a phase does with the items of one page."""

    @property
    def table_name(self) -> str: ...

    @property
    def projection(self) -> Sequence[str] | None: ...

    @property
    def write_table(self) -> str | None:
        """The table the phase writes (None: it only reads)."""
        ...

    def process(self, items: list[Item], writer: ParallelBatchWriter) -> SegmentCounts: ...


class CopyPages:
    """Copy phase: transform every item of the page, validate all outputs, then write them."""

    def __init__(
        self,
        *,
        source_table: str,
        target_table: str,
        transformer: Transformer,
        source_key_schema: KeySchema,
        target_key_schema: KeySchema,
        in_place: bool,
    ) -> None:
        self._source_table = source_table
        self._target_table = target_table
        self._transformer = transformer
        self._source_key_schema = source_key_schema
        self._target_key_schema = target_key_schema
        self._in_place = in_place

    @property
    def table_name(self) -> str:
        return self._source_table

    @property
    def projection(self) -> Sequence[str] | None:
        return None

    @property
    def write_table(self) -> str | None:
        return self._target_table

    def prepare(self, items: Sequence[Item]) -> tuple[list[Item], int]:
        """Transform and validate a page; returns the items to write and how many sources produced none.

        Raises before anything is written when any item of the page fails, so a page is all or nothing.
        """
        outputs: list[Item] = []
        skipped = 0
        for item in items:
            source_key = key_of(item, self._source_key_schema)
            try:
                produced = self._transformer.apply(item)
            except TransformError as exc:
                raise TransformError(f"source item {format_key(source_key)}: {exc}") from exc
            if not produced:
                skipped += 1
            for output in produced:
                validate_target_item(output, self._target_key_schema, source_key=source_key)
                if self._in_place and key_of(output, self._source_key_schema) != source_key:
                    raise InvalidItemError(
                        f"in-place migration of source key {format_key(source_key)}: the transform produced "
                        f"an item with key {format_key(key_of(output, self._source_key_schema))}; an in-place "
                        "run rewrites items under their own key, so migrate into a new table to change keys"
                    )
                outputs.append(output)
        return outputs, skipped

    def process(self, items: list[Item], writer: ParallelBatchWriter) -> SegmentCounts:
        outputs, skipped = self.prepare(items)
        stats = writer.put_many(outputs)
        return SegmentCounts(
            scanned=len(items),
            written=stats.written,
            skipped=skipped,
            duplicates=stats.duplicates,
            consumed_wcu=stats.consumed_wcu,
            retries=stats.retries,
        )


class CleanupPages:
    """Cleanup phase: delete every item of the target table's page by key."""

    def __init__(self, *, target_table: str, target_key_schema: KeySchema) -> None:
        self._target_table = target_table
        self._target_key_schema = target_key_schema

    @property
    def table_name(self) -> str:
        return self._target_table

    @property
    def projection(self) -> Sequence[str] | None:
        return list(self._target_key_schema)

    @property
    def write_table(self) -> str | None:
        return self._target_table

    def process(self, items: list[Item], writer: ParallelBatchWriter) -> SegmentCounts:
        stats = writer.delete_many(key_of(item, self._target_key_schema) for item in items)
        return SegmentCounts(
            scanned=len(items),
            deleted=stats.deleted,
            duplicates=stats.duplicates,
            consumed_wcu=stats.consumed_wcu,
            retries=stats.retries,
        )


class VerifyPages:
    """Verify phase: classify the target items every source item of the page should have produced.

    Differing items are re-checked once, ``settle_seconds`` after the page was classified, so that changes
    still on their way through replication are not counted; the sleep happens only for pages that differ.
    A re-check that finds a target item no source item produces any more counts it as ``different`` (this
    phase has no extra count: it never scans the target). Up to a few differing keys per segment are kept
    in the state table for the report.
    """

    def __init__(
        self,
        *,
        source_table: str,
        verifier: Verifier,
        settle_seconds: float,
        record_samples: Callable[[list[str]], None],
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source_table = source_table
        self._verifier = verifier
        self._settle_seconds = settle_seconds
        self._record_samples = record_samples
        self._sleep = sleep
        self._monotonic = monotonic

    @property
    def table_name(self) -> str:
        return self._source_table

    @property
    def projection(self) -> Sequence[str] | None:
        return None

    @property
    def write_table(self) -> str | None:
        return None

    def process(self, items: list[Item], writer: ParallelBatchWriter) -> SegmentCounts:
        checked_at = self._monotonic()
        check = self._verifier.check_page(items)
        counts, mismatches = check.counts, check.mismatches
        if mismatches and self._settle_seconds > 0:
            self._sleep(max(0.0, self._settle_seconds - (self._monotonic() - checked_at)))
            recheck = self._verifier.recheck(mismatches)
            counts, extra = settle_counts(counts, 0, recheck)
            counts = replace(counts, checked=counts.checked + extra, different=counts.different + extra)
            mismatches = recheck.remaining
        self._record_samples([json.dumps(m.to_json(), separators=(",", ":"), ensure_ascii=False) for m in mismatches])
        return SegmentCounts(
            scanned=counts.source_items,
            skipped=counts.skipped,
            matching=counts.matching,
            missing=counts.missing,
            different=counts.different,
            consumed_rcu=counts.consumed_rcu,
            retries=counts.retries,
        )


class SegmentWorker:
    """Runs one invocation's share of a segment; see the module docstring for the guarantees."""

    def __init__(
        self,
        *,
        client: DynamoDBClient,
        state: StateStore,
        writer: ParallelBatchWriter,
        page_limit: int | None = None,
        capacity: SegmentBudget | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._state = state
        self._writer = writer
        self._page_limit = page_limit
        self._capacity = capacity
        self._monotonic = monotonic
        # Units per item scanned so far (read, written): sizes the pages of a budgeted run.
        self._scanned = 0
        self._read_units = 0.0
        self._write_units = 0.0

    def run(
        self, request: SegmentRequest, pages: PageHandler, budget: TimeBudget, source: PageSource | None = None
    ) -> SegmentResult:
        """Work through the segment: its Scan segment of ``pages.table_name``, or the pages of ``source``."""
        try:
            return self._run(request, pages, budget, source)
        except Exception as error:
            # The operator reads failures from the state table; the exception still fails the invocation.
            try:
                self._state.record_error(
                    request.run.run_id, request.phase, request.segment, f"{type(error).__name__}: {error}"
                )
            except Exception as record_error:
                # Whatever went wrong while recording, the original error is the one to surface.
                error.add_note(f"recording this error in the state table failed too: {record_error!r}")
            raise

    def _run(
        self, request: SegmentRequest, pages: PageHandler, budget: TimeBudget, source: PageSource | None
    ) -> SegmentResult:
        run_id, phase, segment = request.run.run_id, request.phase, request.segment
        checkpoint = self._state.begin_segment(run_id, phase, segment)
        if checkpoint.done:
            return SegmentResult(done=True, last_evaluated_key=None, counts=SegmentCounts(), phase=phase)
        start_key = checkpoint.last_evaluated_key or request.start_key
        token = checkpoint.token

        def scan(exclusive_start_key: Item | None) -> ScanPage:
            if source is not None:
                return source.read(exclusive_start_key, self._limit(pages))
            return self._scan(request, pages, exclusive_start_key)

        totals = SegmentCounts()
        longest_page_seconds = 0.0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-ahead") as scan_ahead:
            page_started = self._monotonic()
            page = scan(start_key)
            while True:
                # Reading the next page while this one is written hides the Scan latency; it is only worth
                # it when there is likely time left to write that page too.
                next_page: Future[ScanPage] | None = None
                if page.last_evaluated_key is not None and budget.seconds_left() > 2 * longest_page_seconds:
                    next_page = scan_ahead.submit(scan, page.last_evaluated_key)
                counts = pages.process(page.items, self._writer) + SegmentCounts(consumed_rcu=page.consumed_rcu)
                self._scanned += len(page.items)
                self._read_units += counts.consumed_rcu
                self._write_units += counts.consumed_wcu
                token = self._state.save_page(run_id, phase, segment, counts, page.last_evaluated_key, previous=token)
                totals += counts
                if page.last_evaluated_key is None:
                    return SegmentResult(done=True, last_evaluated_key=None, counts=totals, phase=phase)
                now = self._monotonic()
                longest_page_seconds = max(longest_page_seconds, now - page_started)
                page_started = now
                if budget.seconds_left() <= longest_page_seconds:
                    # A page read ahead is simply dropped: the checkpoint says where to continue.
                    return SegmentResult(
                        done=False, last_evaluated_key=page.last_evaluated_key, counts=totals, phase=phase
                    )
                page = next_page.result() if next_page is not None else scan(page.last_evaluated_key)

    def _scan(self, request: SegmentRequest, pages: PageHandler, exclusive_start_key: Item | None) -> ScanPage:
        arguments: dict[str, Any] = {
            "TableName": pages.table_name,
            "Segment": request.segment,
            "TotalSegments": request.run.total_segments,
            "ReturnConsumedCapacity": "TOTAL",
            "ConsistentRead": False,
        }
        if exclusive_start_key is not None:
            arguments["ExclusiveStartKey"] = exclusive_start_key
        limit = self._limit(pages)
        if limit is not None:
            arguments["Limit"] = limit
        if pages.projection is not None:
            names = {f"#k{index}": name for index, name in enumerate(pages.projection)}
            arguments["ProjectionExpression"] = ", ".join(names)
            arguments["ExpressionAttributeNames"] = names
        reads = None if self._capacity is None else self._capacity.reads(pages.table_name)
        with charged(reads, limit or 1) as consumed:
            response = self._client.scan(**arguments)
            units = response.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0)
            consumed(units)
        return ScanPage(
            items=cast("list[Item]", response.get("Items", [])),
            last_evaluated_key=cast("Item | None", response.get("LastEvaluatedKey")),
            consumed_rcu=units,
        )

    def _limit(self, pages: PageHandler) -> int | None:
        """The configured page size, made smaller when a budget would make a page last long."""
        if self._capacity is None:
            return self._page_limit
        per_item = (
            (self._read_units / self._scanned, self._write_units / self._scanned) if self._scanned else (0.0, 0.0)
        )
        budgeted = page_limit(self._capacity, pages.table_name, pages.write_table, per_item)
        if budgeted is None:
            return self._page_limit
        return budgeted if self._page_limit is None else min(budgeted, self._page_limit)
