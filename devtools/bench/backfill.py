"""Our backfill as the Distributed Map runs it: one worker per segment, each in a process of its own.

Each segment gets its own process with its own ``BackfillService`` and clients (a Lambda execution environment
each), is invoked until its result says ``done`` (the Map child's loop), and is invoked again after a failure
(a redrive, which resumes from the checkpoint). Processes rather than threads: segment threads in one
interpreter would queue behind each other for the interpreter lock, a contention no Lambda fleet has. On a small
machine the processes still share its cores; the results report their CPU time, so a CPU-bound run shows.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

from migration_core.backfill import BackfillService
from migration_core.config import WorkerConfig, read_client_config, write_client_config
from migration_core.errors import WriteRetriesExhausted
from migration_core.models import SegmentCounts, SegmentRequest

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


def _service(endpoint: str, config: WorkerConfig, *, adaptive_rate: bool = True) -> BackfillService:
    read_client = bench_client(endpoint, read_client_config())
    write_client = bench_client(endpoint, write_client_config(config.write_concurrency))
    # A warm container: a fresh botocore client spends tens of milliseconds on its first calls (endpoint rules,
    # models); a migration pays that once per container, a short benchmark run would pay it in every segment.
    for client in (read_client, write_client):
        for table in (config.source_table, config.target_table, config.state_table):
            client.describe_table(TableName=table)
    read_client.scan(TableName=config.source_table, Limit=1)
    retry_policy = replace(config.retry_policy(), adaptive_rate=adaptive_rate)
    return BackfillService(config=config, client=read_client, write_client=write_client, retry_policy=retry_policy)


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
    connection: Connection, endpoint: str, config: WorkerConfig, segment: int, adaptive_rate: bool
) -> None:
    """Child process: build the service (cold start), say ready, wait for the run, copy the segment."""
    try:
        service = _service(endpoint, config, adaptive_rate=adaptive_rate)
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
    """

    def __init__(
        self,
        aws: BenchAws,
        source: str,
        target: str,
        segments: int,
        write_concurrency: int,
        *,
        adaptive_rate: bool = True,
        max_read_rate: str | None = None,
        max_write_rate: str | None = None,
    ) -> None:
        # The worker as the root module deploys it by default (variables.tf: worker, prewarm), on the bench tables.
        config = WorkerConfig(
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
        self.segments = segments
        self._planner = _service(aws.endpoint, config)
        # fork: a child starts in milliseconds with everything imported; it builds its own clients after.
        methods = multiprocessing.get_all_start_methods()
        context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._connections: list[Connection] = []
        self._processes: list[Any] = []
        for segment in range(segments):
            parent, child = context.Pipe()
            process = context.Process(
                target=_segment_process,
                args=(child, aws.endpoint, config, segment, adaptive_rate),
                daemon=True,
            )
            process.start()
            child.close()
            self._connections.append(parent)
            self._processes.append(process)
        for connection in self._connections:
            self._receive(connection, "ready", START_TIMEOUT_SECONDS)

    def run(self) -> BackfillOutcome:
        """Plan, then run every segment to completion in parallel; times the whole of it."""
        outcome = BackfillOutcome(segments=self.segments, wall_seconds=0.0, cpu_seconds=0.0)
        try:
            started, cpu = time.perf_counter(), time.process_time()
            planned = self._planner.plan({"total_segments": self.segments}, f"bench-{uuid.uuid4().hex[:12]}")
            for connection in self._connections:
                connection.send(planned["run"])
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
