"""The backfill worker's actions (plan, segment, summarize, report_failure), free of any Lambda plumbing."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import reduce
from typing import TYPE_CHECKING, Any, cast

from migration_core.batch_writer import ParallelBatchWriter
from migration_core.budget import SegmentBudget, has_share, resolve_budget
from migration_core.capacity import capacity_cause_lines, capacity_report
from migration_core.clock import Clock, utc_now
from migration_core.config import WorkerConfig
from migration_core.errors import ExportFailed, IncompleteRun, InvalidInput, InvalidItemError, TransformError
from migration_core.export import ExportFileReader, ExportSteps
from migration_core.guards import (
    ExecutionStatus,
    GuardOverrides,
    RunLock,
    mutated_table,
    require_point_in_time_recovery,
)
from migration_core.models import PHASES, ExportSpec, RunSpec, SegmentCounts, SegmentRequest, SegmentResult
from migration_core.plan import parse_execution_input
from migration_core.retry import RetryPolicy
from migration_core.segment import CleanupPages, CopyPages, PageHandler, SegmentWorker, TimeBudget, VerifyPages
from migration_core.state import SegmentRecord, StateStore
from migration_core.tables import TableInfo, describe_table, with_auto_scaling
from migration_core.transform import Transformer
from migration_core.types import Item
from migration_core.verify import ItemReader, Verifier, VerifyCounts, verify_summary

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from migration_core.estimate import TableFacts

# Enough source items to catch a transform that fails on every item (a typo in a template, a missing key)
# before thousands of segments start, at the price of one small read.
PREFLIGHT_SAMPLE_SIZE = 25
# Step Functions caps a Fail state's cause at 32,768 characters.
MAX_CAUSE_CHARS = 32_768
MAX_LISTED_FAILURES = 20
# A verify run's output lists this many differing keys, within a character budget that keeps the execution
# output far below Step Functions' 256 KiB.
MAX_VERIFY_SAMPLE = 20
MAX_VERIFY_SAMPLE_CHARS = 100_000
DISTRIBUTED_EXTRA_NOTE = (
    "a distributed verify reads the source side only; run `ddb-migrate verify` without --distributed "
    "to look for extra target items"
)


class BackfillService:
    """One instance per Lambda container; every method serves one action of the worker."""

    def __init__(
        self,
        *,
        config: WorkerConfig,
        client: DynamoDBClient,
        write_client: DynamoDBClient,
        retry_policy: RetryPolicy,
        target_client: DynamoDBClient | None = None,
        transformer_factory: Callable[[], Transformer] = Transformer.from_environment,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        execution_status: ExecutionStatus | None = None,
        autoscaling: Callable[[], ApplicationAutoScalingClient] | None = None,
        target_autoscaling: Callable[[], ApplicationAutoScalingClient] | None = None,
        s3: Callable[[], S3Client] | None = None,
    ) -> None:
        self._config = config
        # The export's manifests and data files; only a run with source export reads them.
        self._s3 = s3
        # Auto-scaling maxima, which a budget given as a share is of; without them (tests, benchmarks) a share is
        # of the provisioned capacity.
        self._autoscaling = autoscaling
        self._target_autoscaling = target_autoscaling or autoscaling
        # DescribeExecution of the lock's holder; without it (tests, benchmarks) runs take no lock.
        self._execution_status = execution_status
        # Reads of the source and the state table, and of the target (which may live in another account).
        self._client = client
        self._target_client = target_client or client
        self._write_client = write_client
        self._retry_policy = retry_policy
        self._transformer_factory = transformer_factory
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._state = StateStore(client, config.state_table, clock=clock)
        self._lock = RunLock(client, config.state_table, clock=clock)
        self._key_schemas: dict[str, dict[str, str]] = {}
        self._source_arn: str | None = None
        self._transformer: Transformer | None = None
        self._export_steps = ExportSteps(client, self._s3_client, self._source_table_arn)

    @property
    def transformer(self) -> Transformer:
        # Built on first use rather than at import, so that a bad TRANSFORM_STEPS fails the plan step with a
        # TransformError instead of breaking the Lambda's initialisation.
        if self._transformer is None:
            self._transformer = self._transformer_factory()
        return self._transformer

    @staticmethod
    def _capacity(
        run: RunSpec, table: TableInfo, autoscaling: Callable[[], ApplicationAutoScalingClient] | None
    ) -> TableFacts:
        if autoscaling is None or not has_share(run):
            return table.facts
        return with_auto_scaling(table.facts, autoscaling())[0]

    def plan(self, execution_input: Any, execution_name: Any, execution_arn: Any = None) -> dict[str, Any]:
        run = parse_execution_input(execution_input, run_id=execution_name, config=self._config)
        overrides = GuardOverrides.from_input(execution_input or {})
        resumed = isinstance(execution_input, dict) and execution_input.get("resume_run_id") is not None
        if resumed and run.export is not None:
            run = self._resumed_export(run)
        source = describe_table(self._client, run.source_table)
        target = source if run.in_place else describe_table(self._target_client, run.target_table)
        for table in (source, target):
            if table.status != "ACTIVE":
                raise InvalidInput(f"table {table.name!r} is {table.status}, not ACTIVE; retry when it is ACTIVE")
            self._key_schemas[table.name] = table.key_schema
        source_facts = self._capacity(run, source, self._autoscaling)
        target_facts = source_facts if run.in_place else self._capacity(run, target, self._target_autoscaling)
        run = resolve_budget(run, {source.name: source_facts, target.name: target_facts})
        mutated = mutated_table(
            mode=run.mode, in_place=run.in_place, cleanup=run.cleanup, target_table=run.target_table
        )
        if mutated is not None and not overrides.allow_without_pitr:
            require_point_in_time_recovery(
                self._target_client,
                mutated,
                in_place=run.in_place,
                override='"allow_without_pitr": true in the execution input (ddb-migrate run --allow-without-pitr)',
            )
        if run.export is None:
            # An export run checks the transform on the export's first lines instead (export_files): it reads
            # nothing through the live table's capacity.
            self._preflight(run, self._scan_sample(run))
        # Only runs that write take the lock: a distributed verify reads, and may run beside anything.
        status = self._execution_status
        locked = run.mode == "copy" and status is not None and isinstance(execution_arn, str)
        if locked and status is not None:
            self._lock.acquire(run.run_id, str(execution_arn), status)
        try:
            if resumed:
                self._state.resume_run(run)
            else:
                self._state.create_run(run, source.item_count)
        except Exception:
            # The plan fails straight to the Fail state, which releases nothing.
            if locked:
                self._lock.release(run.run_id)
            raise
        return {"run": run.to_event(), "segments": self._segments(run)}

    def _resumed_export(self, run: RunSpec) -> RunSpec:
        """A resumed export run reads the export its checkpoints belong to, not a new or another one."""
        export = run.export
        stored = self._state.run_export_arn(run.run_id)
        if export is None or stored is None:
            return run
        if (export.arn is not None and export.arn != stored) or export.requested_time is not None:
            raise InvalidInput(
                f"run {run.run_id} reads export {stored}; a resumed run continues it, so it takes neither another "
                "export_arn nor an export_time (start a new run for a new export)"
            )
        return replace(run, export=replace(export, arn=stored))

    def export_start(self, run: RunSpec) -> dict[str, Any]:
        """Start the run's export (or find the one it reuses); the state machine then waits for it."""
        self._check_configured_tables(run)
        status = self._export_steps.start(run)
        self._state.record_export_started(run.run_id, status.arn)
        return status.to_event()

    def export_status(self, run: RunSpec, export: Any) -> dict[str, Any]:
        self._check_configured_tables(run)
        return self._export_steps.status(run, export).to_event()

    def export_files(self, run: RunSpec, export: Any) -> dict[str, Any]:
        """Turn the completed export's data files into the copy's segments: the run as the Maps need it."""
        self._check_configured_tables(run)
        run, manifest = self._export_steps.files(run, export)
        first_file = next((data_file.key for data_file in manifest.files if data_file.item_count), None)
        self._preflight(run, self._export_sample(run, first_file))
        self._state.record_export(run, [(f.key, f.item_count) for f in manifest.files], self._retry_policy)
        return {"run": run.to_event(), "segments": list(range(run.total_segments))}

    def run_segment(self, request: SegmentRequest, remaining_ms: Callable[[], int]) -> SegmentResult:
        run = request.run
        self._check_configured_tables(run)
        # Deleting is irreversible, so the phase must agree with what the plan step confirmed.
        if request.phase == "cleanup" and (not run.cleanup or run.source_table == run.target_table):
            raise InvalidInput(
                "the cleanup phase runs only for a run planned with a confirmed cleanup_destination_table "
                "and never when source and target are the same table"
            )
        # A verify run must never write, and a copy run's Map must not silently only read.
        if (request.phase == "verify") != (run.mode == "verify"):
            raise InvalidInput(
                f"phase {request.phase!r} does not belong to a run in mode {run.mode!r}: the verify phase runs "
                "only for mode verify, and a verify run has no other phase"
            )
        budget = TimeBudget(
            remaining_ms, self._config.time_safety_margin_seconds, run.time_budget_seconds, self._monotonic
        )
        target_key_schema = self._key_schema(run.target_table)
        capacity = SegmentBudget(
            client=self._client,
            state_table=self._config.state_table,
            run=run,
            phase=request.phase,
            segment=request.segment,
            planned_segments=_sampled_segment_count(run),
            max_concurrency=self._config.max_concurrency,
            monotonic=self._monotonic,
            sleep=self._sleep,
        )
        pages: PageHandler
        if request.phase == "verify":
            pages = self._verify_pages(run, request.segment, capacity)
        elif request.phase == "copy":
            pages = self._copy_pages(run)
        else:
            pages = self._cleanup_pages(run)
        with (
            capacity,
            ParallelBatchWriter(
                self._write_client,
                run.target_table,
                target_key_schema,
                self._config.write_concurrency,
                self._retry_policy,
                budget=capacity.writes(run.target_table),
            ) as writer,
        ):
            worker = SegmentWorker(
                client=self._target_client if request.phase == "cleanup" else self._client,
                state=self._state,
                writer=writer,
                page_limit=run.scan_page_size or self._config.scan_page_limit,
                capacity=capacity,
                monotonic=self._monotonic,
            )
            with self._export_file(request) as source:
                result = worker.run(request, pages, budget, source)
            capacity.segment_done = result.done
            return result

    @contextmanager
    def _export_file(self, request: SegmentRequest) -> Iterator[ExportFileReader | None]:
        """The data file a copy segment of an export run reads; None for a Scan segment."""
        export = request.run.export
        if export is None or request.phase != "copy":
            yield None
            return
        data_file = self._state.export_file(request.run.run_id, request.segment)
        if data_file is None and export.files:
            raise ExportFailed(
                f"run {request.run.run_id}: no data file is recorded for segment {request.segment} of the export's "
                f"{export.files}; the export step did not finish"
            )
        key, item_count = data_file or (None, 0)
        with self._export_reader(export, key, item_count) as reader:
            yield reader

    def _export_reader(self, export: ExportSpec, key: str | None, item_count: int | None = None) -> ExportFileReader:
        return ExportFileReader(
            self._s3_client(),
            export.bucket,
            key,
            retry_policy=self._retry_policy,
            bucket_owner=self._export_steps.bucket_owner(export),
            item_count=item_count,
        )

    def _s3_client(self) -> S3Client:
        if self._s3 is None:
            raise InvalidInput("this worker has no S3 client, so it cannot read an export")
        return self._s3()

    def _source_table_arn(self) -> str:
        if self._source_arn is None:
            self._source_arn = describe_table(self._client, self._config.source_table).arn
        return self._source_arn

    def hand_off(self, request: SegmentRequest) -> dict[str, Any]:
        """Record that the segment continues in the next pass of its Map: its child execution is ending."""
        self._check_configured_tables(request.run)
        self._state.hand_off(request.run.run_id, request.phase, request.segment)
        return {"handed_off": True}

    def handed_off(self, run: RunSpec, phase: Any) -> dict[str, Any]:
        """The segments of ``phase`` whose children handed them off: the items of the Map's next pass."""
        if phase not in PHASES:
            raise InvalidInput(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
        segments = sorted(
            record.segment
            for record in self._state.segment_records(run.run_id)
            if record.phase == phase and record.handed_off and not record.done
        )
        return {"segments": segments}

    def summarize(self, run: RunSpec, capacity: Any = None) -> dict[str, Any]:
        """The run's summary; with ``capacity`` (the pre-warm state after the reset) it reports the capacity too."""
        summary = self._summarize(run)
        report = capacity_report(capacity)
        if report is not None:
            summary["capacity"] = report
        return summary

    def _summarize(self, run: RunSpec) -> dict[str, Any]:
        self._check_configured_tables(run)
        records = self._state.segment_records(run.run_id)
        totals = _total(records)
        started_at = self._state.run_started_at(run.run_id)
        duration = 0.0 if started_at is None else max((self._clock() - started_at).total_seconds(), 0.0)
        if run.mode == "verify":
            summary = self._verify_summary(run, records, duration)
            if not summary["sampled"]:
                _require_complete(run, records, "verify")
                self._state.record_verify(summary)
            self._state.finish_run(run.run_id, "SUCCEEDED")
            return summary
        if run.cleanup:
            _require_complete(run, records, "cleanup")
        _require_complete(run, records, "copy")
        self._state.finish_run(run.run_id, "SUCCEEDED")
        self._lock.release(run.run_id)
        result: dict[str, Any] = {
            "run_id": run.run_id,
            **_source_summary(run),
            "segments": run.total_segments,
            "segments_done": sum(1 for record in records if record.phase == "copy" and record.done),
            **totals.to_dict(),
            "duration_seconds": round(duration, 3),
            "items_per_second": round(totals.written / duration, 1) if duration > 0 else 0.0,
        }
        if run.read_budget or run.write_budget:
            result["budget"] = {
                "read_units_per_second": run.read_budget,
                "write_units_per_second": run.write_budget,
                # Over the whole run, phases and the time between them included.
                "consumed_rcu_per_second": round(totals.consumed_rcu / duration, 1) if duration > 0 else 0.0,
                "consumed_wcu_per_second": round(totals.consumed_wcu / duration, 1) if duration > 0 else 0.0,
            }
        return result

    def report_failure(self, run: RunSpec, error: Any, capacity: Any = None) -> dict[str, str]:
        """Turn the Map's failure into one readable cause for the execution's final Fail state.

        With ``capacity`` (a pre-warmed run, after its reset) the cause says what the reset did and lists the
        commands that restore by hand what it could not; those lines come before the segment details, so the
        32 KiB cut never drops them."""
        records = self._state.segment_records(run.run_id)
        totals = _total(records)
        failures = sorted((r for r in records if r.error and not r.done), key=lambda r: (r.phase, r.segment))
        details = error if isinstance(error, Mapping) else {}
        copy_done = sum(1 for record in records if record.phase == "copy" and record.done)
        lines = [
            f"Migration run {run.run_id} ({run.source_table} -> {run.target_table}) failed: "
            f"{details.get('Error', 'unknown error')}: {str(details.get('Cause', '')).strip()[:2000]}",
            (
                "Copy not started: the export's data files were not listed yet."
                if run.export is not None and run.export.files is None
                else f"Copy segments done: {copy_done} of {run.total_segments}."
            ),
            *capacity_cause_lines(capacity),
            f"Failed segments: {len(failures)}.",
        ]
        lines.extend(f"  {r.phase} segment {r.segment}: {r.error}" for r in failures[:MAX_LISTED_FAILURES])
        if len(failures) > MAX_LISTED_FAILURES:
            lines.append(f"  ... and {len(failures) - MAX_LISTED_FAILURES} more (see the state table)")
        counts = totals.to_dict()
        lines.append("Counts so far: " + ", ".join(f"{name}={value}" for name, value in counts.items()))
        self._state.finish_run(run.run_id, "FAILED")
        if run.mode == "copy":
            self._lock.release(run.run_id)
        return {"error": "MigrationFailed", "cause": "\n".join(lines)[:MAX_CAUSE_CHARS]}

    def _scan_sample(self, run: RunSpec) -> list[Item]:
        response = self._client.scan(TableName=run.source_table, Limit=PREFLIGHT_SAMPLE_SIZE)
        return cast("list[Item]", response.get("Items", []))

    def _export_sample(self, run: RunSpec, first_file: str | None) -> list[Item]:
        export = run.export
        if export is None or first_file is None:
            return []
        with self._export_reader(export, first_file) as reader:
            return reader.read(None, PREFLIGHT_SAMPLE_SIZE).items

    def _preflight(self, run: RunSpec, sample: list[Item]) -> None:
        try:
            self._copy_pages(run).prepare(sample)
        except (TransformError, InvalidItemError) as error:
            # Same error type, so Step Functions shows what kind of problem it is; the message says when.
            raise type(error)(
                f"checked on a sample of source items before starting, nothing written: {error}"
            ) from error

    def _copy_pages(self, run: RunSpec) -> CopyPages:
        return CopyPages(
            source_table=run.source_table,
            target_table=run.target_table,
            transformer=self.transformer,
            source_key_schema=self._key_schema(run.source_table),
            target_key_schema=self._key_schema(run.target_table),
            in_place=run.in_place,
        )

    def _verify_pages(self, run: RunSpec, segment: int, capacity: SegmentBudget) -> VerifyPages:
        source_schema = self._key_schema(run.source_table)
        target_schema = self._key_schema(run.target_table)
        verifier = Verifier(
            transformer=self.transformer,
            source_key_schema=source_schema,
            target_key_schema=target_schema,
            source_reader=self._reader(self._client, run.source_table, source_schema, capacity),
            target_reader=self._reader(self._target_client, run.target_table, target_schema, capacity),
        )
        return VerifyPages(
            source_table=run.source_table,
            verifier=verifier,
            settle_seconds=run.settle_seconds,
            record_samples=lambda entries: self._state.add_verify_samples(run.run_id, segment, entries),
            sleep=self._sleep,
            monotonic=self._monotonic,
        )

    def _reader(
        self, client: DynamoDBClient, table: str, key_schema: dict[str, str], capacity: SegmentBudget
    ) -> ItemReader:
        return ItemReader(client, table, key_schema, self._retry_policy, budget=capacity.reads(table))

    def _verify_summary(self, run: RunSpec, records: list[SegmentRecord], duration: float) -> dict[str, Any]:
        verify_records = sorted((r for r in records if r.phase == "verify"), key=lambda r: r.segment)
        totals = _total(verify_records)
        counts = VerifyCounts(
            source_items=totals.scanned,
            checked=totals.matching + totals.missing + totals.different,
            matching=totals.matching,
            missing=totals.missing,
            different=totals.different,
            skipped=totals.skipped,
            consumed_rcu=totals.consumed_rcu,
            retries=totals.retries,
        )
        summary = verify_summary(
            source_table=run.source_table,
            target_table=run.target_table,
            counts=counts,
            extra=0,
            extra_checked=False,
            extra_check="off",
            extra_note=DISTRIBUTED_EXTRA_NOTE,
            # What was checked, not what was asked for: a sample is made of whole segments.
            sample_fraction=_sampled_segment_count(run) / run.total_segments,
            settle_seconds=run.settle_seconds,
            resolved_by_settle=None,
            not_rechecked=0,
            sample=_verify_sample(verify_records),
            distributed=True,
            run_id=run.run_id,
            duration_seconds=duration,
        )
        summary["segments"] = run.total_segments
        summary["segments_checked"] = sum(1 for record in verify_records if record.done)
        return summary

    def _segments(self, run: RunSpec) -> list[int]:
        if run.sample_fraction >= 1:
            return list(range(run.total_segments))
        return sorted(self._rng.sample(range(run.total_segments), _sampled_segment_count(run)))

    def _cleanup_pages(self, run: RunSpec) -> PageHandler:
        return CleanupPages(target_table=run.target_table, target_key_schema=self._key_schema(run.target_table))

    def _key_schema(self, table_name: str) -> dict[str, str]:
        if table_name not in self._key_schemas:
            client = self._target_client if table_name == self._config.target_table else self._client
            self._key_schemas[table_name] = describe_table(client, table_name).key_schema
        return self._key_schemas[table_name]

    def _check_configured_tables(self, run: RunSpec) -> None:
        # The run travels through Step Functions; make sure it still names the tables this worker may touch.
        configured = (self._config.source_table, self._config.target_table)
        if (run.source_table, run.target_table) != configured:
            raise InvalidInput(
                f"run names {run.source_table!r} -> {run.target_table!r}, but this worker migrates "
                f"{configured[0]!r} -> {configured[1]!r}"
            )


def _source_summary(run: RunSpec) -> dict[str, Any]:
    """Where the copy read from: an export run reports its export, whose time the replication cutoff relates to."""
    if run.export is None:
        return {"source": "scan"}
    export = run.export
    return {
        "source": "export",
        "export": {
            "arn": export.arn,
            "export_time": export.export_time,
            "item_count": export.item_count,
            "files": export.files,
        },
    }


def _sampled_segment_count(run: RunSpec) -> int:
    """How many segments a run checks: a sampled verify checks whole segments, each a uniform slice of the keys."""
    if run.sample_fraction >= 1:
        return run.total_segments
    return max(1, round(run.total_segments * run.sample_fraction))


def _total(records: list[SegmentRecord]) -> SegmentCounts:
    return reduce(lambda total, record: total + record.counts, records, SegmentCounts())


def _verify_sample(records: list[SegmentRecord]) -> list[dict[str, Any]]:
    """Differing keys from the segment records: each key once (a redone page records its keys again)."""
    sample: list[dict[str, Any]] = []
    seen: set[str] = set()
    size = 0
    for record in records:
        for text in record.samples:
            try:
                entry = json.loads(text)
            except json.JSONDecodeError:
                continue
            identity = json.dumps(entry.get("key"), sort_keys=True)
            if identity in seen:
                continue
            if len(sample) >= MAX_VERIFY_SAMPLE or size + len(text) > MAX_VERIFY_SAMPLE_CHARS:
                return sample
            seen.add(identity)
            size += len(text)
            sample.append(entry)
    return sample


def _require_complete(run: RunSpec, records: Sequence[SegmentRecord], phase: str) -> None:
    """Refuse to report success unless every segment of the phase recorded that it finished.

    The orchestrator's own accounting is not trusted for this: a Map that tolerates failures, or an emulator
    that ignores failed children, would otherwise turn a lost segment into a successful migration.
    """
    done = {record.segment for record in records if record.phase == phase and record.done}
    missing = sorted(set(range(run.total_segments)) - done)
    if missing:
        listed = ", ".join(str(segment) for segment in missing[:MAX_LISTED_FAILURES])
        more = f" and {len(missing) - MAX_LISTED_FAILURES} more" if len(missing) > MAX_LISTED_FAILURES else ""
        raise IncompleteRun(
            f"{len(missing)} of {run.total_segments} {phase} segments of run {run.run_id} did not finish "
            f"(segments {listed}{more}); their items may be missing from {run.target_table}. "
            "Redrive the execution to finish them, or start a new run."
        )
