"""The run's capacity budget: at most so many read and write units per second on each table, for the whole run.

A budget is set as units per second (``"500"``) or as a share of the table's capacity (``"25%"``), for reads
(on every table the run reads) and for writes (on the table it writes). The plan step resolves a share against
each table's capacity once (:func:`resolve_budget`), so every segment of the run works from the same figures in
``RunSpec.read_budget`` / ``write_budget`` (table name -> units per second).

The budget holds across all the segments running at once. Each segment invocation holds a lease record in the
state table and renews it every few seconds, and a segment that completes marks its lease done
(:class:`SegmentBudget`). A segment's share of a table's budget is that budget divided by the number of
segments that may be running: the Map's concurrency, or fewer once fewer segments are left undone (or more, if
more leases are live). Counting the segments left rather than the leases live means a segment that ends its
invocation to continue in the next one, or that the Map is about to replace, still holds its place: the shares
grow only as segments finish, and no joining segment pushes the run over its budget.

Consumption is measured, not estimated from item counts: every Scan, BatchGetItem and BatchWriteItem asks for
``ReturnConsumedCapacity=TOTAL``, whose units (those of the table's GSIs included, for writes) are charged to
the segment's :class:`CapacityLimiter`.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from migration_core.errors import InvalidInput

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from migration_core.estimate import TableFacts
    from migration_core.models import Phase, RunSpec

LOGGER = logging.getLogger(__name__)

# A limiter that was idle may spend at most this many seconds of its rate at once: little, since a burst on top
# of the budgeted rate is exactly what an application sharing the table would feel.
BURST_SECONDS = 0.2
# A waiting call looks at the rate again at least this often, so that a share that grew applies soon.
MAX_WAIT_SLICE_SECONDS = 0.5
PAID_TOLERANCE_UNITS = 1e-6
# DynamoDB charges every call at least half a unit (an eventually consistent read of nothing): the floor of a
# call's estimate, not of its cost per item, which is far less for the items of a Scan page.
MIN_CALL_UNITS = 0.5
# Leases are renewed this often (more seldom with many segments, see SegmentBudget), and count as live for
# LEASE_RENEWALS renewal intervals, so that one slow renewal does not drop a running segment from the count.
LEASE_RENEW_SECONDS = 2.0
LEASE_RENEWALS = 3
# Renewing reads every lease of the phase (done ones too): with many, each segment renews less often, so that
# one segment reads about LEASES_PER_SECOND lease records a second at most.
LEASES_PER_SECOND = 25.0
# How long leaving waits for a renewal in flight; the lease then ends by itself.
STOP_TIMEOUT_SECONDS = 5.0
LEASE_SORT_KEY_PREFIX = "lease#"
# As long as the state table keeps a run's other records: a done lease must outlive the longest run.
LEASE_RETENTION_SECONDS = 30 * 86_400
# With a budget, a Scan page is sized to cost about PAGE_SECONDS of the segment's share: a page's reads reach
# DynamoDB at once, so small pages keep the reads of any one second close to the budget (a second holds four or
# five pages, not one or two), and a page never holds the segment far past its time limit. The first page, before the costs per item are known, reads
# PROBE_PAGE_ITEMS items.
PAGE_SECONDS = 0.25
PROBE_PAGE_ITEMS = 100
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class RateSetting:
    """A budget as the operator gave it: ``units`` per second, or ``percent`` of the table's capacity."""

    units: float | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, value: Any, name: str) -> RateSetting | None:
        """``"500"``, ``500``, ``"25%"``; None or ``""`` for no budget. Raises InvalidInput naming ``name``."""
        if value is None or value == "":
            return None
        text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        match = _RATE.match(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidInput(
                f"{name} must be capacity units per second (e.g. 500) or a share of the table's capacity "
                f"(e.g. 25%), got {value!r}"
            )
        number = float(match.group(1))
        if match.group(2):
            if not 0 < number <= 100:
                raise InvalidInput(f"{name} as a share must be more than 0% and at most 100%, got {value!r}")
            return cls(percent=number)
        if number <= 0:
            raise InvalidInput(f"{name} must be more than 0 units per second, got {value!r}")
        return cls(units=number)

    def resolve(self, capacity: float) -> float:
        """Units per second on a table that serves ``capacity`` units per second."""
        if self.units is not None:
            return self.units
        return capacity * (self.percent or 0.0) / 100

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else f"{self.units:g}"


def read_tables(run: RunSpec) -> list[str]:
    """The tables the run reads: the source; the target too when it verifies or cleans it up."""
    tables = [run.source_table]
    if (run.mode == "verify" or run.cleanup) and run.target_table not in tables:
        tables.append(run.target_table)
    return tables


def write_tables(run: RunSpec) -> list[str]:
    return [run.target_table] if run.mode == "copy" else []


def has_share(run: RunSpec) -> bool:
    """Whether the run's budget is given as a share of capacity, which needs the tables' capacity to resolve."""
    settings = (
        RateSetting.parse(run.max_read_rate, "max_read_rate"),
        RateSetting.parse(run.max_write_rate, "max_write_rate"),
    )
    return any(setting is not None and setting.percent is not None for setting in settings)


def prewarmed(run: RunSpec, tables: Mapping[str, TableFacts]) -> dict[str, TableFacts]:
    """The tables as the run's pre-warm leaves them: read capacity raised on the tables it reads, write capacity
    on the table it writes (and that table's GSIs)."""
    result = dict(tables)
    prewarm = run.prewarm
    if prewarm is None:
        return result
    for name in read_tables(run):
        result[name] = result[name].raised(float(prewarm.read_units), None)
    for name in write_tables(run):
        result[name] = result[name].raised(None, float(prewarm.write_units))
    return result


def resolve_budget(run: RunSpec, tables: Mapping[str, TableFacts]) -> RunSpec:
    """The run with its budget in units per second per table, shares taken of ``tables``' capacity.

    A table's capacity is its provisioned capacity (its auto-scaling maximum if it has one, or what the run's
    pre-warm raises it to), an on-demand table's maximum throughput, else its warm throughput (see
    ``TableFacts.read_rate``).
    """
    tables = prewarmed(run, tables)
    budgets: dict[str, dict[str, float]] = {"read": {}, "write": {}}
    for kind, given, names in (
        ("read", run.max_read_rate, read_tables(run)),
        ("write", run.max_write_rate, write_tables(run)),
    ):
        setting = RateSetting.parse(given, f"max_{kind}_rate")
        if setting is None:
            continue
        for name in names:
            table = tables[name]
            capacity = table.read_rate() if kind == "read" else table.write_rate()
            budgets[kind][name] = _units(setting, capacity, name, kind)
    return replace(run, read_budget=budgets["read"], write_budget=budgets["write"])


def _units(setting: RateSetting, capacity: float, table: str, kind: str) -> float:
    units = setting.resolve(capacity)
    if units <= 0:
        raise InvalidInput(
            f"max_{kind}_rate {setting} of table {table!r} is 0 units per second (the table reports no {kind} "
            f"capacity): give the budget in units per second instead"
        )
    return units


class CapacityLimiter:
    """A token bucket in capacity units, shared by the threads of one segment, that a call pays before it goes out.

    :meth:`take` reserves a call's estimate and waits until the rate has paid for it and for every call reserved
    before it; :meth:`charge` adds the difference once DynamoDB said what the call consumed, which the calls
    reserved after it then wait for. So the units spent stay within ``rate`` x elapsed time, plus what idling
    saved (at most ``BURST_SECONDS`` of the rate), plus what the calls in flight cost beyond their estimates. A
    call larger than a second of the rate still goes through, once its own cost is paid.
    """

    def __init__(
        self,
        rate: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        # Units reserved or charged since the start, and units the rate has paid for: a call may go out once
        # ``_paid`` reaches what was reserved up to and including it. The bucket starts empty.
        self._reserved = 0.0
        self._paid = 0.0
        self._updated = monotonic()
        self.spent = 0.0
        self.waited_seconds = 0.0

    @property
    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self._refill()
            self._rate = max(rate, 1e-9)

    def take(self, estimate: float = 0.0) -> None:
        with self._lock:
            self._refill()
            self._reserved += estimate
            self.spent += estimate
            position = self._reserved
        while True:
            with self._lock:
                self._refill()
                # Within a rounding error of paid: a float clock cannot always step exactly onto the position.
                if self._paid >= position - PAID_TOLERANCE_UNITS:
                    return
                wait = min((position - self._paid) / self._rate, MAX_WAIT_SLICE_SECONDS)
            self._sleep(wait)
            self.waited_seconds += wait

    def charge(self, units: float) -> None:
        """Add ``units`` (negative: give back an estimate that was too high)."""
        with self._lock:
            self._refill()
            self._reserved += units
            self.spent += units

    def _refill(self) -> None:
        now = self._monotonic()
        self._paid = min(self._paid + (now - self._updated) * self._rate, self._reserved + self._rate * BURST_SECONDS)
        self._updated = now


class BudgetedCalls:
    """Charges each call's ConsumedCapacity to a limiter, with the next call's estimate learnt from the last.

    ``requests`` is what a call's cost grows with: items written or keys read, or the items a Scan page may
    return. A call is charged its estimate up front, so that the next one waits for it as well. Until a call has
    taught it better, a request is estimated at ``units_per_request``: what it costs at least.
    """

    def __init__(self, limiter: CapacityLimiter, units_per_request: float) -> None:
        self.limiter = limiter
        self._lock = threading.Lock()
        self._units_per_request = units_per_request
        self._warned = False

    @contextmanager
    def call(self, requests: int) -> Iterator[Callable[[float], None]]:
        """``with calls.call(n) as consumed: ...; consumed(units)``; a call that raised charges nothing."""
        with self._lock:
            estimate = max(self._units_per_request * requests, MIN_CALL_UNITS)
        self.limiter.take(estimate)
        actual: list[float] = []
        try:
            yield actual.append
        finally:
            units = sum(actual)
            self.limiter.charge(units - estimate)
            if actual and units <= 0 and not self._warned:
                # DynamoDB charges every call at least half a unit: without ConsumedCapacity the budget is blind.
                self._warned = True
                LOGGER.warning("a call returned no ConsumedCapacity: the capacity budget cannot count it")
            if actual and requests > 0:
                with self._lock:
                    self._units_per_request = units / requests


@contextmanager
def charged(calls: BudgetedCalls | None, requests: int) -> Iterator[Callable[[float], None]]:
    """:meth:`BudgetedCalls.call`, or nothing to wait for and nothing to charge without a budget."""
    if calls is None:
        yield _ignore
        return
    with calls.call(requests) as consumed:
        yield consumed


def _ignore(units: float) -> None:
    del units


class SegmentBudget:
    """One segment invocation's share of the run's budget, kept current from the leases in the state table.

    Use as a context manager: entering takes the lease and starts the renewals (a daemon thread), leaving
    ends the lease so that the other segments' shares grow.
    """

    def __init__(
        self,
        *,
        client: DynamoDBClient,
        state_table: str,
        run: RunSpec,
        phase: Phase,
        segment: int,
        planned_segments: int,
        max_concurrency: int,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._state_table = state_table
        self._run_id = run.run_id
        self._phase = phase
        self._segment = segment
        self._wall_clock = wall_clock
        self._budgets = {("read", name): units for name, units in run.read_budget.items()} | {
            ("write", name): units for name, units in run.write_budget.items()
        }
        self._planned_segments = planned_segments
        self._max_concurrency = max_concurrency
        self.segment_done = False
        # Until the first count of the leases: as if every segment the Map may run at once were running.
        self.sharing = max(1, min(planned_segments, max_concurrency))
        self._limiters = {
            key: CapacityLimiter(units / self.sharing, monotonic=monotonic, sleep=sleep)
            for key, units in self._budgets.items()
        }
        # At least: a write costs a unit per item; a read of an item a fraction of one (a Scan reads a whole page
        # per 4 KB), so reads start from the floor of a call, and the first (a small probe page) teaches the rest.
        self._calls = {
            key: BudgetedCalls(limiter, units_per_request=1.0 if key[0] == "write" else 0.0)
            for key, limiter in self._limiters.items()
        }
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._interval = LEASE_RENEW_SECONDS

    @property
    def active(self) -> bool:
        return bool(self._budgets)

    def reads(self, table: str) -> BudgetedCalls | None:
        return self._calls.get(("read", table))

    def writes(self, table: str) -> BudgetedCalls | None:
        return self._calls.get(("write", table))

    def share(self, kind: str, table: str) -> float | None:
        limiter = self._limiters.get((kind, table))
        return None if limiter is None else limiter.rate

    def __enter__(self) -> SegmentBudget:
        if self.active:
            self.renew()
            self._thread = threading.Thread(target=self._renewals, name="budget-lease", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(STOP_TIMEOUT_SECONDS)
        try:
            self._update_lease(until=0.0, done=self.segment_done)
        except Exception:
            # The lease then ends by itself within a few renewal intervals; the segment's work is done.
            LOGGER.warning("ending the budget lease failed", exc_info=True)

    def renew(self) -> None:
        """Renew this segment's lease, count the segments that may be running, and set every limiter's share."""
        now = self._wall_clock()
        self._update_lease(until=now + LEASE_RENEWALS * self._interval)
        live, done, records = self._count_leases(now)
        left = max(self._planned_segments - done, 1)
        self.sharing = max(live, min(self._max_concurrency, left), 1)
        interval = max(LEASE_RENEW_SECONDS, records / LEASES_PER_SECOND)
        if interval > self._interval:
            # The lease must stay live until the next renewal, which is now further away.
            self._update_lease(until=now + LEASE_RENEWALS * interval)
        self._interval = interval
        for key, limiter in self._limiters.items():
            limiter.set_rate(self._budgets[key] / self.sharing)

    def _renewals(self) -> None:
        failures = 0
        while not self._stop.wait(self._interval):
            try:
                self.renew()
                failures = 0
            except Exception:
                failures += 1
                LOGGER.warning("renewing the budget lease failed (%d in a row)", failures, exc_info=True)
                if failures >= LEASE_RENEWALS - 1:
                    # The others may no longer count this segment: slow down to the smallest share there is.
                    for key, limiter in self._limiters.items():
                        limiter.set_rate(self._budgets[key] / max(self.sharing, 1) / LEASE_RENEWALS)

    def _lease_key(self) -> dict[str, Any]:
        return {
            "pk": {"S": self._run_id},
            "sk": {"S": f"{LEASE_SORT_KEY_PREFIX}{self._phase}#{self._segment:07d}"},
        }

    def _update_lease(self, *, until: float, done: bool | None = None) -> None:
        """Move the lease's end; ``done`` only when leaving, so that a renewal never un-finishes a segment."""
        values: dict[str, Any] = {
            ":until": {"N": f"{until:.3f}"},
            ":expires": {"N": str(int(self._wall_clock()) + LEASE_RETENTION_SECONDS)},
        }
        expression = "SET lease_until = :until, expires_at = :expires"
        if done:
            expression += ", segment_done = :done"
            values[":done"] = {"BOOL": True}
        self._client.update_item(
            TableName=self._state_table,
            Key=self._lease_key(),
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
        )

    def _count_leases(self, now: float) -> tuple[int, int, int]:
        """(live leases, segments done, lease records) of this run's phase."""
        live = done = records = 0
        arguments: dict[str, Any] = {
            "TableName": self._state_table,
            "KeyConditionExpression": "pk = :run AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":run": {"S": self._run_id},
                ":prefix": {"S": f"{LEASE_SORT_KEY_PREFIX}{self._phase}#"},
            },
            "ProjectionExpression": "lease_until, segment_done",
            "ConsistentRead": True,
        }
        while True:
            response = self._client.query(**arguments)
            for item in response.get("Items", []):
                records += 1
                live += float(item.get("lease_until", {}).get("N", "0")) > now
                done += item.get("segment_done", {}).get("BOOL", False)
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return live, done, records
            arguments["ExclusiveStartKey"] = last_key


def page_limit(budget: SegmentBudget, table: str, write_table: str | None, per_item: tuple[float, float]) -> int | None:
    """Items per Scan page so that a page costs about PAGE_SECONDS of this segment's share; None: no budget.

    ``per_item`` is (read units, write units) per item scanned so far in this invocation, (0, 0) before the
    first page; the first page then reads a probe of at most PROBE_PAGE_ITEMS items.
    """
    read_share = budget.share("read", table)
    write_share = budget.share("write", write_table) if write_table is not None else None
    if read_share is None and write_share is None:
        return None
    read_per_item, write_per_item = per_item
    if read_per_item <= 0 and write_per_item <= 0:
        # Before the costs are known: at least a unit per item, so that a small share reads a small probe.
        smallest = min(share for share in (read_share, write_share) if share is not None)
        return max(1, min(PROBE_PAGE_ITEMS, math.floor(smallest * PAGE_SECONDS)))
    limits = []
    if read_share is not None and read_per_item > 0:
        limits.append(read_share / read_per_item)
    if write_share is not None and write_per_item > 0:
        limits.append(write_share / write_per_item)
    if not limits:
        return None
    return max(1, math.floor(min(limits) * PAGE_SECONDS))
