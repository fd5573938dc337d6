"""``ddb-migrate plan`` and what ``run`` checks and prints before StartExecution.

Everything the plan step would refuse is refused here first, with the same rules
(``migration_core.plan.parse_execution_input`` on a WorkerConfig built from the worker's own environment), so a
refused run never starts and leaves no FAILED execution behind. The guards the plan step cannot see (the
replication consumer's mapping lives in the Terraform outputs) are checked here only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from ddbmigrate.aws import client
from ddbmigrate.cli_export import (
    SCAN_ONLY_FLAGS,
    SourceChoice,
    check_export,
    check_flags,
    choose_source,
    export_bucket,
    source_options,
    typed_flags,
)
from ddbmigrate.cli_support import (
    deployment_flags,
    exit_codes,
    fail,
    json_option,
    json_target,
    option,
    state,
    with_deployment,
    write_json,
)
from ddbmigrate.deployment import Deployment, load_deployment
from ddbmigrate.replication_ops import mapping_state
from migration_core.budget import has_share, prewarmed, resolve_budget
from migration_core.config import WorkerConfig
from migration_core.errors import ConfigurationError, InvalidInput
from migration_core.estimate import (
    EXPORT_PRICE_PER_GB,
    Budget,
    ExportEstimate,
    Prices,
    RunEstimate,
    TableFacts,
    estimate_export,
    estimate_export_run,
    estimate_run,
)
from migration_core.guards import (
    GuardOverrides,
    RunLock,
    lock_refusal,
    mutated_table,
    pitr_refusal,
    point_in_time_recovery_enabled,
    stepfunctions_execution_status,
)
from migration_core.models import RunSpec
from migration_core.plan import parse_execution_input
from migration_core.tables import with_auto_scaling
from migration_core.target_access import TargetAccess

F = TypeVar("F", bound=Callable[..., Any])
# The consumer applies changes only in these states; anything else may still apply one while the backfill scans.
CONSUMER_PAUSED_STATES = frozenset({"Disabled", "NotFound"})
DEFAULT_PRICES = Prices()


def guard_options(command: F) -> F:
    for decorator in reversed(
        [
            option(
                "--allow-consumer-running",
                is_flag=True,
                help="Start a backfill although the replication consumer is enabled (refused otherwise: changes it "
                "applies during the scan can be overwritten by older scanned images).",
            ),
            option(
                "--allow-without-pitr",
                is_flag=True,
                help="Start an in-place run or a cleanup although point-in-time recovery is off on the table it "
                "rewrites or deletes (refused otherwise).",
            ),
        ]
    ):
        command = decorator(command)
    return command


def budget_options(command: F) -> F:
    for decorator in reversed(
        [
            option(
                "--max-read-rate",
                help="Read units per second on each table the run reads (e.g. 500), or a share of the table's "
                "capacity (e.g. 25%), for the whole run; '' for none. Default: the module's capacity_budget.",
            ),
            option(
                "--max-write-rate",
                help="Write units per second on the target, GSI writes included (e.g. 500 or 25%), for the whole "
                "run; '' for none. Default: the module's capacity_budget.",
            ),
            option(
                "--max-hours",
                type=click.FloatRange(0, min_open=True),
                help="Warn when the plan says the run takes longer than this many hours (at the budget or at the "
                "tables' capacity).",
            ),
        ]
    ):
        command = decorator(command)
    return command


def budget_input(max_read_rate: str | None, max_write_rate: str | None) -> dict[str, str]:
    """Only the rates given, so that the deployment's capacity_budget applies otherwise ('' turns it off)."""
    given = {"max_read_rate": max_read_rate, "max_write_rate": max_write_rate}
    return {name: value for name, value in given.items() if value is not None}


def price_options(command: F) -> F:
    prices = DEFAULT_PRICES
    for decorator in reversed(
        [
            option(
                "--price-read-per-million",
                type=click.FloatRange(0),
                default=prices.on_demand_read_per_million,
                show_default=True,
                help=f"USD per million on-demand read request units ({prices.region}, {prices.as_of}).",
            ),
            option(
                "--price-write-per-million",
                type=click.FloatRange(0),
                default=prices.on_demand_write_per_million,
                show_default=True,
                help=f"USD per million on-demand write request units ({prices.region}, {prices.as_of}).",
            ),
            option(
                "--price-rcu-hour",
                type=click.FloatRange(0),
                default=prices.provisioned_read_unit_hour,
                show_default=True,
                help=f"USD per provisioned RCU-hour ({prices.region}, {prices.as_of}).",
            ),
            option(
                "--price-wcu-hour",
                type=click.FloatRange(0),
                default=prices.provisioned_write_unit_hour,
                show_default=True,
                help=f"USD per provisioned WCU-hour ({prices.region}, {prices.as_of}).",
            ),
            option(
                "--price-export-per-gb",
                type=click.FloatRange(0),
                default=EXPORT_PRICE_PER_GB,
                show_default=True,
                help=f"USD per GB of table size for a full export to S3 ({prices.region}).",
            ),
        ]
    ):
        command = decorator(command)
    return command


def prices_from(options: dict[str, Any]) -> Prices:
    values = {
        "on_demand_read_per_million": options.pop("price_read_per_million"),
        "on_demand_write_per_million": options.pop("price_write_per_million"),
        "provisioned_read_unit_hour": options.pop("price_rcu_hour"),
        "provisioned_write_unit_hour": options.pop("price_wcu_hour"),
    }
    given = values != {
        "on_demand_read_per_million": DEFAULT_PRICES.on_demand_read_per_million,
        "on_demand_write_per_million": DEFAULT_PRICES.on_demand_write_per_million,
        "provisioned_read_unit_hour": DEFAULT_PRICES.provisioned_read_unit_hour,
        "provisioned_write_unit_hour": DEFAULT_PRICES.provisioned_write_unit_hour,
    }
    if given:
        return Prices(**values, region="given by flags", as_of="given by flags")
    return DEFAULT_PRICES


def export_price_from(options: dict[str, Any]) -> float:
    return float(options.get("price_export_per_gb", EXPORT_PRICE_PER_GB))


def overrides_input(allow_consumer_running: bool, allow_without_pitr: bool) -> dict[str, bool]:
    """Only the overrides given, so an execution input without them reads as it always did."""
    fields = {"allow_consumer_running": allow_consumer_running, "allow_without_pitr": allow_without_pitr}
    return {name: True for name, value in fields.items() if value}


def check_cleanup_flags(cleanup: bool, confirm_cleanup: str | None, target_table: str) -> None:
    """The flags' own rules, refused with the flag that fixes them (the plan step would name input fields)."""
    if confirm_cleanup is not None and not cleanup:
        fail(
            "--confirm-cleanup only confirms --cleanup-destination-table, which was not given: add "
            "--cleanup-destination-table to delete the target's items before copying, or drop --confirm-cleanup"
        )
    if cleanup and confirm_cleanup is None:
        fail(
            f"--cleanup-destination-table deletes every item of {target_table!r} before copying: confirm with "
            f"--confirm-cleanup {target_table}"
        )
    if cleanup and confirm_cleanup != target_table:
        fail(
            f"--confirm-cleanup {confirm_cleanup!r} is not the target table {target_table!r}: confirm with "
            f"--confirm-cleanup {target_table}"
        )


def check_run(deployment: Deployment, run_input: dict[str, Any], name: str, flags: str) -> RunSpec:
    """Refuse (exit 2, one line naming the fix) what the plan step or the guards would refuse; else the run."""
    try:
        config = WorkerConfig.from_environment(deployment.worker_environment)
        run = parse_execution_input(run_input, run_id=name, config=config)
        overrides = GuardOverrides.from_input(run_input)
    except (ConfigurationError, InvalidInput) as error:
        fail(str(error))
    if run.mode != "copy":
        return run
    holder = RunLock(client("dynamodb"), deployment.state_table).running_holder(
        stepfunctions_execution_status(client("stepfunctions"))
    )
    if holder is not None:
        fail(
            lock_refusal(
                holder,
                hint=f": ddb-migrate status {holder.execution_name} --watch{flags} / "
                f"ddb-migrate stop {holder.execution_name}{flags}",
            )
        )
    mutated = mutated_table(mode=run.mode, in_place=run.in_place, cleanup=run.cleanup, target_table=run.target_table)
    if (
        mutated is not None
        and not overrides.allow_without_pitr
        and not point_in_time_recovery_enabled(_target_client(deployment), mutated)
    ):
        fail(pitr_refusal(mutated, in_place=run.in_place, override="--allow-without-pitr"))
    if not overrides.allow_consumer_running:
        _check_consumer_paused(deployment, flags)
    return run


def _check_consumer_paused(deployment: Deployment, flags: str) -> None:
    mapping = deployment.outputs.get("consumer_event_source_mapping_uuid")
    if not mapping:
        if deployment.terraform_dir is None:
            state().console.print(
                "note: the replication consumer was not checked (its mapping is in the Terraform outputs: pass "
                "--terraform-dir); it must be paused during a backfill",
                markup=False,
            )
        return
    current = mapping_state(client("lambda"), str(mapping))
    if current not in CONSUMER_PAUSED_STATES:
        fail(
            f"the replication consumer is {current}: a backfill must run with it paused, so that the changes queued "
            f"during the scan are applied after the backfill's writes; pause it with `ddb-migrate replication pause"
            f"{flags}`, or pass --allow-consumer-running"
        )


def _target_client(deployment: Deployment, service: str = "dynamodb") -> Any:
    return TargetAccess.from_environment(deployment.worker_environment).client(service)


# ----------------------------------------------------------------------------------------------------------------
# The plan: tables, estimated consumption, duration and cost
# ----------------------------------------------------------------------------------------------------------------


def plan_report(
    deployment: Deployment,
    run: RunSpec,
    prices: Prices,
    *,
    max_hours: float | None = None,
    choice: SourceChoice | None = None,
    export_price_per_gb: float = EXPORT_PRICE_PER_GB,
) -> dict[str, Any]:
    source = TableFacts.from_description(client("dynamodb").describe_table(TableName=run.source_table)["Table"])
    target = (
        source
        if run.in_place
        else TableFacts.from_description(_target_client(deployment).describe_table(TableName=run.target_table)["Table"])
    )
    scaling_notes: list[str] = []
    if has_share(run):
        # As the plan step does: a share of a table under auto-scaling is of its maximum.
        source, source_note = with_auto_scaling(source, client("application-autoscaling"))
        target, target_note = (
            (source, None)
            if run.in_place
            else with_auto_scaling(target, _target_client(deployment, "application-autoscaling"))
        )
        scaling_notes = [note for note in (source_note, target_note) if note is not None]
    # Keyed as the run names them: a target in another account is named by its ARN there, by its name here. The
    # estimate is of the tables as the run's pre-warm leaves them.
    tables = prewarmed(run, {run.source_table: source, run.target_table: target})
    source, target = tables[run.source_table], tables[run.target_table]
    try:
        run = resolve_budget(run, tables)
    except InvalidInput as error:
        fail(str(error))
    budget = Budget(
        read={tables[name].name: units for name, units in run.read_budget.items()},
        write={tables[name].name: units for name, units in run.write_budget.items()},
    )
    scan_estimate = estimate_run(source, target, cleanup=run.cleanup, prices=prices, budget=budget)
    estimate = scan_estimate
    export_estimate: ExportEstimate | None = None
    exporting = run.source == "export"
    if exporting or export_bucket(deployment) is not None:
        reused = (choice.described.get("BilledSizeBytes") if choice is not None else None) if exporting else None
        export_estimate = estimate_export(
            source,
            price_per_gb=export_price_per_gb,
            reused_size_bytes=reused if isinstance(reused, int) else None,
        )
    if exporting:
        estimate = estimate_export_run(source, target, cleanup=run.cleanup, prices=prices, budget=budget)
    if scaling_notes:
        estimate = replace(estimate, notes=(*estimate.notes, *scaling_notes))
    if max_hours is not None and estimate.duration_seconds > max_hours * 3600:
        estimate = replace(
            estimate,
            notes=(
                *estimate.notes,
                f"warning: the run takes about {_duration(estimate.duration_seconds)}, longer than --max-hours "
                f"{max_hours:g}: raise the budget or the tables' capacity, or plan for the longer run",
            ),
        )
    report: dict[str, Any] = {
        "run": run.to_event(),
        "tables": {"source": source.to_json(), "target": target.to_json()},
        "estimate": estimate.to_json(),
    }
    if export_estimate is None:
        return {**report, "_text": render_lines(run, source, target, estimate)}
    export_run = estimate_export_run(source, target, cleanup=run.cleanup, prices=prices, budget=budget)
    report["source"] = run.source
    report["export"] = {**export_estimate.to_json(), **(choice.to_json() if choice is not None else {})}
    report["comparison"] = _comparison(source, scan_estimate, export_run, export_estimate)
    if exporting:
        text = render_export_lines(run, source, target, estimate, export_estimate, scan_estimate, choice)
    else:
        text = render_lines(
            run, source, target, estimate, before_notes=(_export_instead(source, export_run, export_estimate),)
        )
    return {**report, "_text": text}


def _comparison(
    source: TableFacts, scan: RunEstimate, export_run: RunEstimate, export: ExportEstimate
) -> dict[str, Any]:
    """A Scan and an export run side by side: what each reads through the source's capacity, takes and costs."""
    scan_reads = sum(phase.read_units for phase in scan.phases if phase.read_table == source.name)
    return {
        "scan": {
            "source_read_units": round(scan_reads, 1),
            "duration_seconds": round(scan.duration_seconds, 1),
            "cost_usd": round(scan.cost_usd, 4),
        },
        "export": {
            "source_read_units": export.source_read_units,
            # The copy after the export; the export's own time cannot be predicted.
            "duration_seconds": round(export_run.duration_seconds, 1),
            "export_duration_seconds": None,
            "export_cost_usd": round(export.cost_usd, 4),
            "cost_usd": round(export.cost_usd + export_run.cost_usd, 4),
        },
    }


def _export_instead(source: TableFacts, export_run: RunEstimate, export: ExportEstimate) -> str:
    return (
        f"  export instead (--source export): reads 0 RCU on {source.name}; export {_gb(export)} at "
        f"${export.price_per_gb:g}/GB = ${export.cost_usd:,.4f}, copy about {_duration(export_run.duration_seconds)} "
        f"after it, about ${export.cost_usd + export_run.cost_usd:,.4f} in all, plus a little S3; the export itself "
        "takes minutes to hours"
    )


def _gb(export: ExportEstimate) -> str:
    return f"{export.size_bytes:,} bytes ({export.size_gb:,.3f} GB)"


def render_export_lines(
    run: RunSpec,
    source: TableFacts,
    target: TableFacts,
    estimate: RunEstimate,
    export: ExportEstimate,
    scan: RunEstimate,
    choice: SourceChoice | None,
) -> list[str]:
    """The plan of a run that copies from an export: its tables as a Scan run's plan shows them, then the export,
    the phases without reads on the source, the total with the export's cost, and what a Scan would take."""
    kind = "in place" if run.in_place else f"{run.source_table} -> {run.target_table}"
    cleanup = ", cleanup first" if run.cleanup else ""
    lines = [
        f"plan: {kind}, from a point-in-time export of {run.source_table} (one segment per data file){cleanup}",
        *_setup_lines(run, source, target),
    ]
    if choice is not None:
        lines.extend(choice.describe_lines())
    if export.reused:
        lines.append(f"  export cost: none (the reused export, {_gb(export)}, was billed when it was made)")
    else:
        lines.append(
            f"  export cost: {_gb(export)} of {source.name} at ${export.price_per_gb:g}/GB = ${export.cost_usd:,.4f}; "
            f"it reads nothing through {source.name}'s capacity"
        )
    for phase in estimate.phases:
        gsi = f" + {phase.index_write_units:,.0f} in GSIs" if phase.index_write_units else ""
        if phase.phase == "cleanup":
            lines.append(
                f"  cleanup: {phase.items:,} items; reads {phase.read_units:,.0f} RCU on {phase.read_table}, deletes "
                f"{phase.write_units:,.0f} WCU{gsi} on {phase.write_table}; about {_duration(phase.duration_seconds)} "
                f"(limited by {phase.bottleneck})"
            )
            continue
        lines.append(
            f"  copy: {phase.items:,} items from the export's data files; reads 0 RCU on {source.name}, writes "
            f"{phase.write_units:,.0f} WCU{gsi} on {phase.write_table}; about {_duration(phase.duration_seconds)} once "
            f"the export is complete (limited by {phase.bottleneck})"
        )
    prices = estimate.prices
    lines.append(
        f"  total: {estimate.read_units:,.0f} RCU (none on {source.name}), {estimate.write_units:,.0f} WCU, about "
        f"{_duration(estimate.duration_seconds)} plus the export's time, about "
        f"${export.cost_usd + estimate.cost_usd:,.4f} (export ${export.cost_usd:,.4f} + capacity "
        f"${estimate.cost_usd:,.4f}; prices {prices.region}, {prices.as_of}; --price-* flags override them)"
    )
    scan_reads = sum(phase.read_units for phase in scan.phases if phase.read_table == source.name)
    lines.append(
        f"  scan instead (--source scan): reads {scan_reads:,.0f} RCU on {source.name} ({source.size_bytes:,} bytes "
        f"/ 4 KB / 2), about {_duration(scan.duration_seconds)}, about ${scan.cost_usd:,.4f}"
    )
    lines.extend(f"  note: {note}" for note in estimate.notes)
    return lines


def render_lines(
    run: RunSpec, source: TableFacts, target: TableFacts, estimate: RunEstimate, *, before_notes: tuple[str, ...] = ()
) -> list[str]:
    kind = "in place" if run.in_place else f"{run.source_table} -> {run.target_table}"
    cleanup = ", cleanup first" if run.cleanup else ""
    lines = [f"plan: {kind}, {run.total_segments} segments{cleanup}", *_setup_lines(run, source, target)]
    for phase in estimate.phases:
        gsi = f" + {phase.index_write_units:,.0f} in GSIs" if phase.index_write_units else ""
        verb = "deletes" if phase.phase == "cleanup" else "writes"
        lines.append(
            f"  {phase.phase}: {phase.items:,} items; reads {phase.read_units:,.0f} RCU on {phase.read_table}, "
            f"{verb} {phase.write_units:,.0f} WCU{gsi} on {phase.write_table}; about {_duration(phase.duration_seconds)} "
            f"(limited by {phase.bottleneck})"
        )
    prices = estimate.prices
    lines.append(
        f"  total: {estimate.read_units:,.0f} RCU, {estimate.write_units:,.0f} WCU, about "
        f"{_duration(estimate.duration_seconds)}, about ${estimate.cost_usd:,.4f} (prices {prices.region}, "
        f"{prices.as_of}; --price-* flags override them)"
    )
    lines.extend(before_notes)
    lines.extend(f"  note: {note}" for note in estimate.notes)
    return lines


def _setup_lines(run: RunSpec, source: TableFacts, target: TableFacts) -> list[str]:
    """The budget, the pre-warm and the tables, as every plan shows them."""
    lines: list[str] = []
    budget = [
        *(f"reads {units:,.0f} RCU/s on {name}" for name, units in run.read_budget.items()),
        *(f"writes {units:,.0f} WCU/s on {name} (GSIs included)" for name, units in run.write_budget.items()),
    ]
    given = ", ".join(
        f"{name} {value}"
        for name, value in (("max_read_rate", run.max_read_rate), ("max_write_rate", run.max_write_rate))
        if value
    )
    lines.append(
        f"  budget ({given}): at most {', '.join(budget)}, shared by the segments running at once"
        if budget
        else "  budget: none (the run takes what the tables give; --max-read-rate / --max-write-rate set one)"
    )
    if run.prewarm is not None:
        lines.append(
            f"  pre-warm: provisioned tables raised to at least {run.prewarm.read_units:,} RCU where the run reads "
            f"and {run.prewarm.write_units:,} WCU where it writes; the figures below are with it"
        )
    for role, table in (("source", source), ("target", target)):
        if role == "target" and run.in_place:
            break
        lines.append(f"  {role} {table.name}: {_table_line(table)}")
        for index in table.indexes:
            lines.append(f"    GSI {index.name}: {_units(index.read_units, index.write_units, table.on_demand)}")
    return lines


def _table_line(table: TableFacts) -> str:
    mode = "on demand" if table.on_demand else "provisioned"
    return (
        f"{table.item_count:,} items, {table.size_bytes:,} bytes (average {table.average_item_bytes:,.0f}); {mode}, "
        f"{_units(table.read_units, table.write_units, table.on_demand)}"
        + (
            f" (auto-scaling up to {_maybe(table.scaling_max_read_units)} RCU / "
            f"{_maybe(table.scaling_max_write_units)} WCU)"
            if table.scaling_max_read_units or table.scaling_max_write_units
            else ""
        )
        + (
            f", warm throughput {table.warm_read_units or 0:,.0f} RCU/s / {table.warm_write_units or 0:,.0f} WCU/s"
            if table.warm_read_units or table.warm_write_units
            else ""
        )
        + f", {len(table.indexes)} GSI(s)"
    )


def _units(read: float | None, write: float | None, on_demand: bool) -> str:
    if on_demand:
        if read is None and write is None:
            return "no maximum throughput set"
        return f"at most {_maybe(read)} read / {_maybe(write)} write request units/s"
    return f"{_maybe(read)} RCU / {_maybe(write)} WCU"


def _maybe(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:,.0f}"


def _duration(seconds: float) -> str:
    if math.isinf(seconds):
        return "forever (no capacity)"
    if seconds < 90:
        return f"{seconds:,.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds / 3600:,.1f} h"


def checked_plan(
    deployment: Deployment,
    run_input: dict[str, Any],
    name: str,
    flags: str,
    choice: SourceChoice,
    price_flags: dict[str, Any],
    max_hours: float | None,
) -> dict[str, Any]:
    """What `plan` and `run` print before anything starts: the run checked as the plan step would check it, then
    its plan (with the export it reuses looked up), printed; returns the plan."""
    run = check_run(deployment, run_input, name, flags)
    report = plan_report(
        deployment,
        run,
        prices_from(price_flags),
        max_hours=max_hours,
        choice=check_export(choice, deployment),
        export_price_per_gb=export_price_from(price_flags),
    )
    print_plan(report, state().console)
    return report


def print_plan(report: dict[str, Any], console: Console) -> None:
    for line in report["_text"]:
        console.print(line, markup=False)


def plan_json(report: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in report.items() if not name.startswith("_")}


@click.command("plan", epilog=exit_codes(None))
@with_deployment
@option("--source-table", envvar="TABLE_NAME", help="Source table (env TABLE_NAME); the module's by default.")
@option("--target-table", help="Target table; the module's configured target by default.")
@option(
    "--total-segments",
    envvar="TOTAL_SEGMENTS",
    type=click.IntRange(1, 10_000),
    help="Parallel Scan segments (env TOTAL_SEGMENTS); the module's default otherwise.",
)
@option("--cleanup-destination-table", is_flag=True, help="Plan a run that deletes the target's items first.")
@option("--confirm-cleanup", help="The target table's name, typed again, to confirm the cleanup.")
@source_options
@guard_options
@budget_options
@price_options
@json_option()
def plan(
    state_machine: str | None,
    terraform_dir: Path | None,
    source_table: str | None,
    target_table: str | None,
    total_segments: int | None,
    cleanup_destination_table: bool,
    confirm_cleanup: str | None,
    source: str | None,
    export_arn: str | None,
    export_time: str | None,
    allow_consumer_running: bool,
    allow_without_pitr: bool,
    max_read_rate: str | None,
    max_write_rate: str | None,
    max_hours: float | None,
    json_path: Path | None,
    **price_flags: Any,
) -> None:
    """What a run would do, checked as `run` checks it, without starting it: per table the item count and size,
    capacity mode and limits; the budget; the RCU and WCU the run consumes (GSIs included), how long it takes at the
    budget or the tables' capacity, and what it costs. Same as `ddb-migrate run --dry-run`.

    With --source export (or a deployment that exports by default) the copy reads the export's files and nothing
    through the source's capacity: the plan shows the export's cost (per GB of the table) next to what a Scan
    would read, take and cost. A deployment with export enabled shows the export's figures beside a Scan run's.

    \b
    Example:
      ddb-migrate plan --terraform-dir infra/
      ddb-migrate plan --terraform-dir infra/ --source export --json -
      ddb-migrate plan --terraform-dir infra/ --cleanup-destination-table --confirm-cleanup orders-v2 --json -
    """
    json_path = json_target(json_path)
    export_moment = check_flags(source, export_arn, export_time, now=datetime.now(UTC))
    deployment = load_deployment(state_machine, terraform_dir)
    choice = choose_source(deployment, source, export_arn, export_moment, scan_flags=typed_flags(*SCAN_ONLY_FLAGS))
    target = target_table or deployment.target_table
    check_cleanup_flags(cleanup_destination_table, confirm_cleanup, target)
    run_input: dict[str, Any] = {
        "source_table": source_table or deployment.source_table,
        "target_table": target,
        "total_segments": total_segments or deployment.default_total_segments,
        **overrides_input(allow_consumer_running, allow_without_pitr),
        **budget_input(max_read_rate, max_write_rate),
    }
    if cleanup_destination_table:
        run_input |= {"cleanup_destination_table": True, "confirm_cleanup": confirm_cleanup}
    run_input |= choice.input_fields()
    flags = deployment_flags(state_machine, terraform_dir)
    report = checked_plan(deployment, run_input, "plan", flags, choice, price_flags, max_hours)
    write_json(json_path, {**plan_json(report), "input": run_input})
