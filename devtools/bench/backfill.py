"""Our backfill as the Distributed Map runs it: one worker per segment, each in a process of its own.

Each segment gets its own process with its own ``BackfillService`` and clients (a Lambda execution environment
each), is invoked until its result says ``done`` (the Map child's loop), and is invoked again after a failure
(a redrive, which resumes from the checkpoint). Processes rather than threads: segment threads in one
interpreter would queue behind each other for the interpreter lock, a contention no Lambda fleet has. On a small
machine the processes still share its cores; the results report their CPU time, so a CPU-bound run shows.
"""

from __future__ import annotations

import functools
import multiprocessing
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

from migration_core.backfill import BackfillService
from migration_core.config import WorkerConfig, read_client_config, write_client_config
from migration_core.errors import WriteRetriesExhausted
from migration_core.models import SegmentCounts, SegmentRequest
from migration_core.transform import Transformer

from .common import STATE_TABLE
from .harness import BenchAws, bench_client

LAMBDA_REMAINING_MS = 900_000
MAX_REDRIVES_PER_SEGMENT = 5
START_TIMEOUT_SECONDS = 120.0


@dataclass
class BackfillOutcome:
    segments: int
    wall_seconds: float
    # CPU time of every segment process (the client side of the copy).
    cpu_seconds: float
    counts: SegmentCounts = field(default_factory=SegmentCounts)
    invocations: int = 0
    # Segment invocations that failed with WriteRetriesExhausted and were run again (a redrive).
    redrives: int = 0


@dataclass(frozen=True)
class _SegmentResult:
    counts: SegmentCounts
    invocations: int
    redrives: int
    cpu_seconds: float


def bench_worker_config(
    source: str,
    target: str,
    segments: int,
    write_concurrency: int,
    *,
    max_read_rate: str | None = None,
    max_write_rate: str | None = None,
) -> WorkerConfig:
    """The worker as the root module deploys it by default (variables.tf: worker, prewarm), on the bench tables."""
    return WorkerConfig(
        source_table=source,
        target_table=target,
        state_table=STATE_TABLE,
        default_total_segments=segments,
        write_concurrency=write_concurrency,
        max_write_attempts=10,
        backoff_base_ms=50,
        backoff_cap_ms=20_000,
        time_safety_margin_seconds=60,
        scan_page_limit=None,
        cleanup_allowed=False,
        prewarm_allowed=False,
        default_prewarm=False,
        default_prewarm_read_units=12_000,
        default_prewarm_write_units=4_000,
        default_warm_throughput_on_demand=False,
        default_max_read_rate=max_read_rate,
        default_max_write_rate=max_write_rate,
        max_concurrency=segments,
    )


def worker_service(
    endpoint: str,
    config: WorkerConfig,
    *,
    adaptive_rate: bool = True,
    transform_steps: Sequence[Mapping[str, Any]] = (),
    reads_export: bool = False,
) -> BackfillService:
    """A warm worker (one Lambda container) on ``endpoint``; ``reads_export``: it will copy an export's files."""
    read_client = bench_client(endpoint, read_client_config())
    write_client = bench_client(endpoint, write_client_config(config.write_concurrency))
    # One S3 client per container, as the worker's handler keeps it.
    s3 = functools.cache(lambda: bench_client(endpoint, read_client_config(), "s3"))
    # A warm container: a fresh botocore client spends tens of milliseconds on its first calls (endpoint rules,
    # models); a migration pays that once per container, a short benchmark run would pay it in every segment.
    for client in (read_client, write_client):
        for table in (config.source_table, config.target_table, config.state_table):
            client.describe_table(TableName=table)
    if reads_export and config.export_bucket is not None:
        # Warmed on what the segment reads: a Scan here would consume the source's capacity, which case g
        # measures an export run not to touch.
        s3().list_objects_v2(Bucket=config.export_bucket, MaxKeys=1)
    else:
        read_client.scan(TableName=config.source_table, Limit=1)
    retry_policy = replace(config.retry_policy(), adaptive_rate=adaptive_rate)
    steps = [dict(step) for step in transform_steps]
    return BackfillService(
        config=config,
        client=read_client,
        write_client=write_client,
        retry_policy=retry_policy,
        # Without steps, the worker's own default (TRANSFORM_STEPS / TRANSFORM_MODULE, unset: the identity).
        transformer_factory=(lambda: Transformer.from_spec(steps)) if steps else Transformer.from_environment,
        s3=s3,
    )


def _run_segment(service: BackfillService, run: dict[str, Any], segment: int) -> _SegmentResult:
    """The Map child's loop: invoke until done; a failed invocation is redriven (resumes at the checkpoint)."""
    cpu = time.process_time()
    counts = SegmentCounts()
    start_key: Any = None
    invocations = redrives = 0
    while True:
        request = SegmentRequest.from_event({"run": run, "phase": "copy", "segment": segment, "start_key": start_key})
        invocations += 1
        try:
            result = service.run_segment(request, lambda: LAMBDA_REMAINING_MS)
        except WriteRetriesExhausted:
            redrives += 1
            if redrives > MAX_REDRIVES_PER_SEGMENT:
                raise
            continue
        counts += result.counts
        if result.done:
            return _SegmentResult(counts, invocations, redrives, time.process_time() - cpu)
        start_key = result.to_event()["last_evaluated_key"]


def _segment_process(
    connection: Connection,
    endpoint: str,
    config: WorkerConfig,
    segment: int,
    adaptive_rate: bool,
    transform_steps: Sequence[Mapping[str, Any]],
    reads_export: bool,
) -> None:
    """Child process: build the service (cold start), say ready, wait for the run, copy the segment."""
    try:
        service = worker_service(
            endpoint, config, adaptive_rate=adaptive_rate, transform_steps=transform_steps, reads_export=reads_export
        )
        connection.send(("ready", None))
        run = connection.recv()
        connection.send(("done", _run_segment(service, run, segment)))
    except BaseException as error:
        connection.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        connection.close()


class PreparedBackfill:
    """A backfill whose segment processes are started and warm (that takes a while), ready to :meth:`run`.

    ``adaptive_rate=False`` runs the batch writer without its shared send rate (each chunk backs off on its
    own), the writer as it was before the rate existed: case b measures both side by side.

    ``aws`` is the model, or any endpoint (case g: the emulator). ``config`` replaces the default worker
    configuration (``source``, ``target`` and the rates are then ignored), ``transform_steps`` are the worker's
    TRANSFORM_STEPS, and ``run`` is a run planned already (the plan step's ``run``): :meth:`run` then copies it
    instead of planning one, and a run with source export has one segment per data file.
    """

    def __init__(
        self,
        aws: BenchAws | str,
        source: str,
        target: str,
        segments: int,
        write_concurrency: int,
        *,
        adaptive_rate: bool = True,
        max_read_rate: str | None = None,
        max_write_rate: str | None = None,
        config: WorkerConfig | None = None,
        transform_steps: Sequence[Mapping[str, Any]] = (),
        run: Mapping[str, Any] | None = None,
    ) -> None:
        endpoint = aws if isinstance(aws, str) else aws.endpoint
        if config is None:
            config = bench_worker_config(
                source, target, segments, write_concurrency, max_read_rate=max_read_rate, max_write_rate=max_write_rate
            )
        self.segments = segments
        self._run = None if run is None else dict(run)
        reads_export = self._run is not None and self._run.get("export") is not None
        self._planner = worker_service(endpoint, config, transform_steps=transform_steps) if self._run is None else None
        # fork: a child starts in milliseconds with everything imported; it builds its own clients after.
        methods = multiprocessing.get_all_start_methods()
        context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._connections: list[Connection] = []
        self._processes: list[Any] = []
        for segment in range(segments):
            parent, child = context.Pipe()
            process = context.Process(
                target=_segment_process,
                args=(child, endpoint, config, segment, adaptive_rate, tuple(transform_steps), reads_export),
                daemon=True,
            )
            process.start()
            child.close()
            self._connections.append(parent)
            self._processes.append(process)
        for connection in self._connections:
            self._receive(connection, "ready", START_TIMEOUT_SECONDS)

    def run(self) -> BackfillOutcome:
        """Plan (unless a planned run was given), then run every segment to completion in parallel; times the
        whole of it."""
        outcome = BackfillOutcome(segments=self.segments, wall_seconds=0.0, cpu_seconds=0.0)
        try:
            started, cpu = time.perf_counter(), time.process_time()
            if self._planner is not None:
                run = self._planner.plan({"total_segments": self.segments}, f"bench-{uuid.uuid4().hex[:12]}")["run"]
            else:
                run = self._run
            for connection in self._connections:
                connection.send(run)
            results = [self._receive(connection, "done", None) for connection in self._connections]
            outcome.wall_seconds = time.perf_counter() - started
            outcome.cpu_seconds = time.process_time() - cpu + sum(result.cpu_seconds for result in results)
            for result in results:
                outcome.counts += result.counts
                outcome.invocations += result.invocations
                outcome.redrives += result.redrives
        finally:
            self.close()
        return outcome

    def close(self) -> None:
        for connection in self._connections:
            connection.close()
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join()

    @staticmethod
    def _receive(connection: Connection, expected: str, timeout: float | None) -> Any:
        if timeout is not None and not connection.poll(timeout):
            raise RuntimeError(f"a segment process sent no {expected!r} within {timeout:.0f} s")
        kind, payload = connection.recv()
        if kind != expected:
            raise RuntimeError(f"a segment process failed: {payload}")
        return payload
