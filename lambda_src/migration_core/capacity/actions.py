"""The worker's capacity actions on the execution state's ``$.capacity`` (capture, raise/status, reset)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import botocore

from migration_core.capacity.aws import WARM_THROUGHPUT_MIN_BOTOCORE, CapacityClient, call_aws
from migration_core.capacity.model import (
    CapacityState,
    RaiseJson,
    ResetEntry,
    ResetEntryJson,
    TableCapacity,
    dump_capacity,
    not_prewarmed,
    original_tables,
    parse_capacity,
    resource_id,
)
from migration_core.capacity.planning import RaisePlan, demand_for, plan_raise
from migration_core.capacity.report import reset_report
from migration_core.capacity.steps import MAX_RAISE_CHECKS, MAX_RESET_ATTEMPTS, raise_step, reset_step
from migration_core.errors import ConfigurationError, InvalidInput
from migration_core.models import RunSpec


class CapacityActions:
    """The worker's capacity actions on the execution state's ``capacity`` object."""

    def __init__(
        self,
        client_factory: Callable[[], CapacityClient],
        configured_tables: tuple[str, str],
        *,
        left_alone: Mapping[str, str] | None = None,
        max_raise_checks: int = MAX_RAISE_CHECKS,
        max_reset_attempts: int = MAX_RESET_ATTEMPTS,
    ) -> None:
        self._client_factory = client_factory
        self._client: CapacityClient | None = None
        self._configured_tables = configured_tables
        # Tables pre-warm cannot reach (a target in another region), with the reason the raise report gives.
        self._left_alone = dict(left_alone or {})
        self._max_raise_checks = max_raise_checks
        self._max_reset_attempts = max_reset_attempts

    @property
    def client(self) -> CapacityClient:
        # Built on first use: backfill-only invocations never create the Application Auto Scaling client.
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def capture(self, run: RunSpec) -> dict[str, Any]:
        self._check(run)
        if run.prewarm is None:
            raise InvalidInput(f"run {run.run_id} does not pre-warm; capacity_capture has nothing to do")
        if run.prewarm.warm_throughput_on_demand and not self.client.knows_warm_throughput():
            raise ConfigurationError(
                f"pre-warm with warm throughput needs UpdateTable's WarmThroughput, which this Lambda runtime's SDK "
                f"(botocore {botocore.__version__}) does not know; it arrived in botocore "
                f"{WARM_THROUGHPUT_MIN_BOTOCORE}. Run without it (ddb-migrate run --no-prewarm-warm-throughput, or "
                "prewarm.warm_throughput_on_demand = false in the module), or deploy on a runtime whose SDK is newer"
            )
        tables = [
            table for table in dict.fromkeys((run.source_table, run.target_table)) if table not in self._left_alone
        ]
        original: list[TableCapacity] = [
            call_aws("DescribeTable/DescribeScalableTargets", partial(self.client.describe, table)) for table in tables
        ]
        state = not_prewarmed()
        state["prewarmed"] = True
        state["original"] = {"tables": [table.to_json() for table in original]}
        return dump_capacity(state)

    def raise_capacity(self, run: RunSpec, capacity: object) -> dict[str, Any]:
        """capacity_raise and capacity_status: one step towards the plan, counting the checks."""
        state, _, plan = self._step_state(run, capacity)
        previous = state.get("raise")
        checks = (-1 if not previous else int(previous.get("checks", -1))) + 1
        step = raise_step(self.client, plan)
        gave_up = not step.ready and checks >= self._max_raise_checks
        raised: RaiseJson = {
            "changes": [change.to_json() for change in plan.changes],
            "notes": [*self._left_alone.values(), *plan.notes],
            "applied": sorted({*(previous.get("applied") or [] if previous else []), *step.applied}),
            "ready": step.ready or gave_up,
            "checks": checks,
            "waiting_for": list(step.waiting_for),
            "gave_up_waiting": gave_up,
        }
        if gave_up:
            raised["notes"].append(
                f"gave up waiting after {checks} checks; the run goes ahead (tables serve traffic while UPDATING): "
                + "; ".join(step.waiting_for)
            )
        state["raise"] = raised
        return dump_capacity(state)

    def reset(self, run: RunSpec, capacity: object) -> dict[str, Any]:
        """capacity_reset: one step; ``reset.pending`` asks the state machine to wait and call again."""
        state, original, plan = self._step_state(run, capacity)
        previous_report = state.get("reset")
        attempts = (0 if not previous_report else int(previous_report.get("attempts", 0))) + 1
        previous = _entries_from_json(previous_report.get("entries") or [] if previous_report else [], plan)
        entries = reset_step(self.client, original, plan, previous, final_attempt=attempts >= self._max_reset_attempts)
        ordered = [entries[change.key] for change in plan.changes if change.key in entries]
        state["reset"] = reset_report(ordered, original, attempts)
        return dump_capacity(state)

    def _step_state(self, run: RunSpec, capacity: object) -> tuple[CapacityState, list[TableCapacity], RaisePlan]:
        """A raise or reset step's input: ``$.capacity`` parsed, the captured tables, and the plan from them."""
        self._check(run)
        state = parse_capacity(capacity)
        original = original_tables(state)
        if run.prewarm is None:
            raise InvalidInput(f"run {run.run_id} does not pre-warm")
        plan = plan_raise(original, demand_for(run), warm_throughput_on_demand=run.prewarm.warm_throughput_on_demand)
        return state, original, plan

    def _check(self, run: RunSpec) -> None:
        if (run.source_table, run.target_table) != self._configured_tables:
            raise InvalidInput(
                f"run names {run.source_table!r} -> {run.target_table!r}, but this worker migrates "
                f"{self._configured_tables[0]!r} -> {self._configured_tables[1]!r}"
            )


def _entries_from_json(data: Sequence[ResetEntryJson], plan: RaisePlan) -> dict[str, ResetEntry]:
    by_key = {change.key: change for change in plan.changes}
    entries: dict[str, ResetEntry] = {}
    for item in data:
        key = f"{item.get('setting')}:{item.get('dimension')}:{resource_id(str(item.get('table')), item.get('index'))}"
        change = by_key.get(key)
        if change is not None:
            entries[key] = ResetEntry.from_json(item, change)
    return entries
