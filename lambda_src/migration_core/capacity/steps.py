"""The step engines: one step towards the raise plan (:func:`raise_step`), one step of the reset (:func:`reset_step`).

Each is idempotent and works from the state it is given, so a Lambda retry or the next loop iteration continues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from botocore.exceptions import BotoCoreError, ClientError

from migration_core.capacity.aws import (
    CapacityClient,
    UpdatePartResult,
    call_aws,
    classify_error,
    error_text,
    update_parts,
)
from migration_core.capacity.model import (
    Change,
    ResetEntry,
    ResetStatus,
    ScalingRange,
    TableCapacity,
    label,
    resource_id,
    scalable_dimension,
)
from migration_core.capacity.planning import RaisePlan
from migration_core.errors import CapacityError

# The state machine waits CAPACITY_CHECK_INTERVAL_SECONDS (Terraform, 10 s) between steps: 15 minutes of
# waiting for the raise, 10 minutes of retrying a reset while a table is UPDATING.
MAX_RAISE_CHECKS = 90
MAX_RESET_ATTEMPTS = 60


# --- Raise ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaiseStep:
    ready: bool
    waiting_for: tuple[str, ...]
    applied: tuple[str, ...]


def raise_step(client: CapacityClient, plan: RaisePlan) -> RaiseStep:
    """One step towards the plan: apply what is not there yet; ready when every table is ACTIVE at its target.

    Idempotent (a value already at or above its target is left alone), so a Lambda retry or the next loop
    iteration simply continues. Raises CapacityError when AWS refuses a change outright.
    """
    applied: list[str] = []
    waiting: list[str] = []
    scaling_changes = plan.of_kind("auto_scaling")
    if scaling_changes:
        targets = call_aws(
            "DescribeScalableTargets",
            lambda: client.scalable_targets(resource_id(c.table, c.index) for c in scaling_changes),
        )
        for change in scaling_changes:
            now = targets.get(
                (resource_id(change.table, change.index), scalable_dimension(change.index, change.dimension))
            )
            if now is None:
                raise CapacityError(
                    f"{change.describe()}: its Application Auto Scaling target is gone; nothing to raise"
                )
            wanted = ScalingRange(max(now.min_capacity, change.after), max(now.max_capacity, change.max_after or 0))
            if wanted != now:
                call_aws("RegisterScalableTarget", partial(client.register, change, wanted))
                applied.append(change.describe())
    for table, changes in by_table(plan.of_kind("provisioned", "warm_throughput")).items():
        current = call_aws("DescribeTable", partial(client.describe, table, with_scaling=False))
        outstanding = [change for change in changes if _current_value(current, change) < change.after]
        if not current.ready:
            waiting.extend(current.not_ready())
            continue
        if not outstanding:
            continue
        for result in client.update(current, update_parts(outstanding, lambda change: change.after)):
            if result.outcome == "applied":
                applied.extend(change.describe() for change in result.part.changes)
            elif result.outcome == "busy":
                waiting.append(f"{label(table, result.part.index)}: {result.message}")
            else:
                raise CapacityError(f"UpdateTable of table {table} refused the pre-warm: {result.message}")
        # DynamoDB answers UpdateTable at once and applies it while the table is UPDATING; look again, so that a
        # change already in effect does not cost a Wait.
        again = call_aws("DescribeTable", partial(client.describe, table, with_scaling=False))
        waiting.extend(again.not_ready())
        waiting.extend(
            f"{change.describe()}: not in effect yet"
            for change in changes
            if _current_value(again, change) < change.after
        )
    return RaiseStep(ready=not waiting, waiting_for=tuple(dict.fromkeys(waiting)), applied=tuple(applied))


def by_table(changes: Iterable[Change]) -> dict[str, list[Change]]:
    grouped: dict[str, list[Change]] = {}
    for change in changes:
        grouped.setdefault(change.table, []).append(change)
    return grouped


def _current_value(table: TableCapacity, change: Change) -> int:
    resource = table.resource(change.index)
    if resource is None:
        raise CapacityError(f"{label(change.table, change.index)} no longer exists")
    if change.kind == "warm_throughput":
        return resource.warm.get(change.dimension, 0)
    return (resource.provisioned or {}).get(change.dimension, 0)


# --- Reset ---------------------------------------------------------------------------------------------------

# --- Reset ---------------------------------------------------------------------------------------------------


def reset_step(
    client: CapacityClient,
    original: Sequence[TableCapacity],
    plan: RaisePlan,
    previous: Mapping[str, ResetEntry],
    *,
    final_attempt: bool,
) -> dict[str, ResetEntry]:
    """One step of putting the plan's changes back; never raises for a setting, it records what happened."""
    entries = {key: entry for key, entry in previous.items() if entry.status != "pending"}
    todo = [change for change in plan.changes if change.key not in entries]
    for change in todo:
        if change.kind == "warm_throughput":
            entries[change.key] = ResetEntry(
                change,
                "irreversible",
                f"warm throughput stays at {change.after:,} (was {change.before:,}): DynamoDB cannot lower the "
                "warm throughput of a base table, and it was billed when raised",
            )
    _reset_scaling([c for c in todo if c.kind == "auto_scaling"], client, entries)
    _reset_provisioned([c for c in todo if c.kind == "provisioned"], client, original, entries)
    if final_attempt:
        for key, entry in entries.items():
            if entry.status == "pending":
                entries[key] = ResetEntry(
                    entry.change,
                    "not_reset",
                    f"gave up after {MAX_RESET_ATTEMPTS} attempts ({entry.message}); restore the original by hand",
                    entry.current,
                )
    return entries


def _reset_scaling(changes: Sequence[Change], client: CapacityClient, entries: dict[str, ResetEntry]) -> None:
    if not changes:
        return
    try:
        current = client.scalable_targets(resource_id(c.table, c.index) for c in changes)
    except (ClientError, BotoCoreError) as error:
        for change in changes:
            entries[change.key] = ResetEntry(change, "pending", f"DescribeScalableTargets: {error_text(error)}")
        return
    for change in changes:
        now = current.get((resource_id(change.table, change.index), scalable_dimension(change.index, change.dimension)))
        original = ScalingRange(change.before, change.max_before or change.before)
        raised = ScalingRange(change.after, change.max_after or change.after)
        if now is None:
            entries[change.key] = ResetEntry(
                change, "failed", "the scalable target no longer exists (deregistered during the run?)"
            )
        elif now == original:
            entries[change.key] = ResetEntry(change, "not_needed", "already at the original bounds", now.min_capacity)
        elif now != raised:
            entries[change.key] = ResetEntry(
                change,
                "changed_during_run",
                f"minimum/maximum are now {now.min_capacity:,}/{now.max_capacity:,}, neither the original "
                f"{original.min_capacity:,}/{original.max_capacity:,} nor what pre-warm set "
                f"({raised.min_capacity:,}/{raised.max_capacity:,}): someone changed them during the run; left as is",
                now.min_capacity,
            )
        else:
            try:
                client.register(change, original)
            except (ClientError, BotoCoreError) as error:
                outcome = classify_error(error)[0] if isinstance(error, ClientError) else "busy"
                status: ResetStatus = "pending" if outcome == "busy" else "failed"
                entries[change.key] = ResetEntry(change, status, error_text(error), now.min_capacity)
            else:
                entries[change.key] = ResetEntry(
                    change,
                    "restored",
                    f"minimum/maximum back to {original.min_capacity:,}/{original.max_capacity:,}",
                    original.min_capacity,
                )


def _reset_provisioned(
    changes: Sequence[Change],
    client: CapacityClient,
    original: Sequence[TableCapacity],
    entries: dict[str, ResetEntry],
) -> None:
    for table, table_changes in by_table(changes).items():
        try:
            current = client.describe(table, with_scaling=False)
        except (ClientError, BotoCoreError) as error:
            outcome = classify_error(error)[0] if isinstance(error, ClientError) else "busy"
            for change in table_changes:
                status: ResetStatus = "pending" if outcome == "busy" else "failed"
                entries[change.key] = ResetEntry(change, status, f"DescribeTable: {error_text(error)}")
            continue
        if not current.ready:
            for change in table_changes:
                entries[change.key] = ResetEntry(change, "pending", "; ".join(current.not_ready()))
            continue
        to_restore: list[Change] = []
        for change in table_changes:
            resource = current.resource(change.index)
            now = None if resource is None else (resource.provisioned or {}).get(change.dimension)
            blocked = _scaling_blocks(change, entries)
            if now is None:
                entries[change.key] = ResetEntry(change, "failed", f"{label(table, change.index)} no longer exists")
            elif now == change.before:
                entries[change.key] = ResetEntry(change, "not_needed", "already at the original value", now)
            elif now != change.after:
                entries[change.key] = ResetEntry(
                    change,
                    "changed_during_run",
                    f"now {now:,}, neither the original {change.before:,} nor the {change.after:,} pre-warm set: "
                    "changed during the run (by auto scaling or by someone else); left as is",
                    now,
                )
            elif blocked is not None:
                entries[change.key] = ResetEntry(change, blocked[0], blocked[1], now)
            else:
                to_restore.append(change)
        if to_restore:
            _record_update(
                client.update(current, update_parts(to_restore, lambda change: change.before)), current, entries
            )


def _scaling_blocks(change: Change, entries: Mapping[str, ResetEntry]) -> tuple[ResetStatus, str] | None:
    """A provisioned value under auto scaling is lowered only once the scalable target's minimum is back."""
    key = f"auto_scaling:{change.dimension}:{resource_id(change.table, change.index)}"
    scaling = entries.get(key)
    if scaling is None or scaling.status in ("restored", "not_needed"):
        return None
    if scaling.status == "pending":
        return "pending", "waiting until the auto scaling minimum is restored"
    if scaling.status == "changed_during_run":
        return "changed_during_run", "left to auto scaling, whose bounds were changed during the run"
    return "not_reset", "not lowered because the auto scaling minimum could not be restored (it would raise it again)"


def _record_update(results: Sequence[UpdatePartResult], current: TableCapacity, entries: dict[str, ResetEntry]) -> None:
    for result in results:
        resource = current.resource(result.part.index)
        for change in result.part.changes:
            now = None if resource is None else (resource.provisioned or {}).get(change.dimension)
            if result.outcome == "applied":
                entries[change.key] = ResetEntry(change, "restored", f"back to {change.before:,}", change.before)
            elif result.outcome == "busy":
                entries[change.key] = ResetEntry(change, "pending", result.message, now)
            elif result.outcome == "decrease_limit":
                entries[change.key] = ResetEntry(
                    change,
                    "refused",
                    f"DynamoDB refused the decrease (about 27 decreases a day per table and per index: 4 at any "
                    f"time, then one per hour): {result.message}",
                    now,
                )
            else:
                entries[change.key] = ResetEntry(change, "failed", result.message, now)
