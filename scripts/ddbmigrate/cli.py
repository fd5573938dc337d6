"""Operator command line: ``ddb-migrate``.

Every command finds the migration either from its state machine (``--state-machine``, name or ARN) or from a
Terraform root module that uses this project's module (``--terraform-dir``, reads ``terraform output``); the
replication commands and cutover-check need the Terraform outputs. Exit codes follow one convention, see
``cli_support``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from botocore.exceptions import ClientError
from rich.markup import escape

from ddbmigrate import executions, runner
from ddbmigrate.aws import client
from ddbmigrate.cli_export import (
    SCAN_ONLY_FLAGS,
    check_flags,
    choose_source,
    source_options,
    summary_report,
    typed_flags,
)
from ddbmigrate.cli_plan import (
    budget_input,
    budget_options,
    check_cleanup_flags,
    check_run,
    checked_plan,
    guard_options,
    overrides_input,
    plan_json,
    price_options,
)
from ddbmigrate.cli_support import (
    EXIT_VERDICT,
    CannotRunError,
    Interrupted,
    Main,
    State,
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
from ddbmigrate.cutover import CutoverPolicy, evaluate
from ddbmigrate.deployed_transform import TransformUnavailableError, load_deployed_transform
from ddbmigrate.deployment import Deployment, load_deployment, load_state_machine_arn
from ddbmigrate.progress import RunProgress, read_progress
from ddbmigrate.replication_ops import Clients, cutover_snapshot
from ddbmigrate.verify import (
    EXTRA_CHECKS,
    LocalVerify,
    VerifyFailedError,
    VerifySettings,
    record_result,
    render_report,
    run_distributed,
)
from migration_core.budget import RateSetting
from migration_core.errors import InvalidInput, MigrationError
from migration_core.models import MAX_PREWARM_UNITS, MAX_SETTLE_SECONDS
from migration_core.target_access import TargetAccess

RUN_FAILED = "the run ended FAILED, TIMED_OUT or ABORTED"
EXECUTION_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")


def _deployment(state_machine: str | None, terraform_dir: Path | None) -> Deployment:
    return load_deployment(state_machine, terraform_dir)


@click.group(cls=Main, epilog=exit_codes("the command's negative verdict (see each command)"))
@click.version_option(package_name="ddb-migrate")
@option(
    "--debug",
    is_flag=True,
    envvar="DDB_MIGRATE_DEBUG",
    help="Show the traceback of an error (env DDB_MIGRATE_DEBUG), and a failed run's Lambda stack trace.",
)
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Zero-downtime DynamoDB migrations: backfill, live replication, verification and cutover.

    \b
    Example:
      ddb-migrate run --terraform-dir infra/
      ddb-migrate --debug status --terraform-dir infra/
    """
    ctx.obj = State(debug=debug)


# ----------------------------------------------------------------------------------------------------------------
# Runs: run, status, runs, stop, redrive
# ----------------------------------------------------------------------------------------------------------------


@main.command(epilog=exit_codes(RUN_FAILED))
@with_deployment
@option("--source-table", envvar="TABLE_NAME", help="Source table (env TABLE_NAME, as the seed's script).")
@option("--target-table", help="Target table; the module's configured target by default.")
@option(
    "--total-segments",
    envvar="TOTAL_SEGMENTS",
    type=click.IntRange(1, 10_000),
    help="Parallel Scan segments (env TOTAL_SEGMENTS); the module's default otherwise.",
)
@option(
    "--prewarm/--no-prewarm",
    envvar="PREWARM",
    default=None,
    help="Raise the tables' capacity for the run and restore it afterwards (env PREWARM); default: the "
    "deployment's prewarm.by_default. Needs prewarm.enabled in the Terraform module.",
)
@option(
    "--prewarm-rcu",
    envvar="PREWARM_RCU",
    type=click.IntRange(1, MAX_PREWARM_UNITS),
    help="Read capacity for the tables the run reads (env PREWARM_RCU); default: prewarm.read_capacity_units.",
)
@option(
    "--prewarm-wcu",
    envvar="PREWARM_WCU",
    type=click.IntRange(1, MAX_PREWARM_UNITS),
    help="Write capacity for the target and each GSI (env PREWARM_WCU); default: prewarm.write_capacity_units.",
)
@option(
    "--prewarm-warm-throughput/--no-prewarm-warm-throughput",
    envvar="PREWARM_WARM_THROUGHPUT",
    default=None,
    help="Also pre-warm on-demand tables with warm throughput (env PREWARM_WARM_THROUGHPUT). It is billed and "
    "can never be lowered again; without it on-demand tables are left alone.",
)
@option(
    "--cleanup-destination-table",
    is_flag=True,
    help="Delete every item of the target before copying. Needs --confirm-cleanup TARGET_TABLE_NAME.",
)
@option("--confirm-cleanup", help="The target table's name, typed again, to confirm the cleanup.")
@option(
    "--time-budget-seconds",
    type=click.FloatRange(0),
    help="Stop each worker invocation after this long and continue in a new one (0: until near timeout). Every "
    "invocation finishes at least one Scan page.",
)
@option(
    "--scan-page-size",
    type=click.IntRange(1, 10_000),
    help="Items per Scan page (Scan Limit). Smaller pages checkpoint more often; default: 1 MB pages.",
)
@option("--name", "run_name", help="Execution name (unique per state machine); generated by default.")
@option(
    "--follow/--no-follow",
    default=True,
    help="Follow the execution with a progress bar (default); --no-follow prints the command that follows it.",
)
@source_options
@guard_options
@budget_options
@option("--dry-run", is_flag=True, help="Check and print the plan (as `ddb-migrate plan`), start nothing.")
@price_options
@json_option(deprecated_alias=True)
def run(
    state_machine: str | None,
    terraform_dir: Path | None,
    source_table: str | None,
    target_table: str | None,
    total_segments: int | None,
    prewarm: bool | None,
    prewarm_rcu: int | None,
    prewarm_wcu: int | None,
    prewarm_warm_throughput: bool | None,
    cleanup_destination_table: bool,
    confirm_cleanup: str | None,
    time_budget_seconds: float | None,
    scan_page_size: int | None,
    run_name: str | None,
    follow: bool,
    source: str | None,
    export_arn: str | None,
    export_time: str | None,
    allow_consumer_running: bool,
    allow_without_pitr: bool,
    max_read_rate: str | None,
    max_write_rate: str | None,
    max_hours: float | None,
    dry_run: bool,
    json_path: Path | None,
    json_output: Path | None,
    **price_flags: Any,
) -> None:
    """Start a backfill (scan → transform → write) and follow it until it ends.

    Before starting it checks everything the worker's plan step would refuse, that no other run is running, that
    the replication consumer is paused and that a table an in-place run or a cleanup mutates has point-in-time
    recovery, and prints the plan (tables, estimated capacity, duration and cost). The execution's name is printed
    before it starts. Ctrl-C stops following, not the run: the CLI prints the commands that follow and stop it.

    With --source export the run first exports the source to the deployment's bucket (point-in-time recovery must
    be on), or reuses --export-arn, and copies from the export's files: nothing is read through the source's
    capacity. The summary gives the export's time, which the replication's cutoff must not pass.

    \b
    Example:
      ddb-migrate run --terraform-dir infra/ --total-segments 64 --prewarm
      ddb-migrate run --terraform-dir infra/ --source export --export-time 2026-01-31T12:00:00Z
      ddb-migrate run --state-machine orders-migration --no-follow --json -
    """
    json_path = json_target(json_path, json_output)
    export_moment = check_flags(source, export_arn, export_time, now=datetime.now(UTC))
    deployment = _deployment(state_machine, terraform_dir)
    choice = choose_source(deployment, source, export_arn, export_moment, scan_flags=typed_flags(*SCAN_ONLY_FLAGS))
    run_input: dict[str, Any] = {
        "source_table": source_table or deployment.source_table,
        "target_table": target_table or deployment.target_table,
        "total_segments": total_segments or deployment.default_total_segments,
    }
    if time_budget_seconds is not None:
        run_input["time_budget_seconds"] = time_budget_seconds
    if scan_page_size is not None:
        run_input["scan_page_size"] = scan_page_size
    check_cleanup_flags(cleanup_destination_table, confirm_cleanup, run_input["target_table"])
    if cleanup_destination_table:
        run_input["cleanup_destination_table"] = True
        run_input["confirm_cleanup"] = confirm_cleanup
    sizes = {
        "--prewarm-rcu": prewarm_rcu,
        "--prewarm-wcu": prewarm_wcu,
        "--prewarm-warm-throughput": prewarm_warm_throughput,
    }
    given = [flag for flag, value in sizes.items() if value is not None]
    # A size from the environment (PREWARM_RCU, ...) may stand beside --no-prewarm; one typed with it is a mistake.
    typed = [flag for flag in given if _from_command_line(flag)]
    if typed and prewarm is False:
        fail(
            f"{', '.join(typed)} only apply when the run pre-warms, and --no-prewarm turns it off: drop one or the other"
        )
    if given and prewarm is None and deployment.worker_environment.get("DEFAULT_PREWARM") != "true":
        fail(
            f"{', '.join(given)} only apply when the run pre-warms, which this deployment's runs do not by default: "
            "add --prewarm, or drop them"
        )
    run_input.update(_prewarm_input(prewarm, prewarm_rcu, prewarm_wcu, prewarm_warm_throughput))
    run_input.update(overrides_input(allow_consumer_running, allow_without_pitr))
    run_input.update(budget_input(max_read_rate, max_write_rate))
    run_input.update(choice.input_fields())
    name = run_name or runner.new_run_name()
    flags = deployment_flags(state_machine, terraform_dir)
    report = checked_plan(deployment, run_input, name, flags, choice, price_flags, max_hours)
    if dry_run:
        state().console.print("dry run: nothing started", markup=False)
        write_json(json_path, {**plan_json(report), "input": run_input, "dry_run": True})
        return
    _start(deployment, run_input, name, follow, json_path, state_machine, terraform_dir)


def _start(
    deployment: Deployment,
    run_input: dict[str, Any],
    name: str,
    follow: bool,
    json_path: Path | None,
    state_machine: str | None,
    terraform_dir: Path | None,
) -> None:
    console = state().console
    flags = deployment_flags(state_machine, terraform_dir)
    # Printed before StartExecution: an interrupt while the call is in flight may still have started the run.
    console.print(f"starting {name} on {deployment.state_machine_arn}", markup=False)
    try:
        execution_arn = runner.start_execution(deployment, run_input, name)
    except KeyboardInterrupt:
        console.print(
            f"interrupted while starting {name}; it may have started. See with: ddb-migrate status {name}{flags} "
            f"- stop with: ddb-migrate stop {name}{flags}",
            markup=False,
        )
        raise Interrupted from None
    console.print(f"started {name}: {execution_arn}", markup=False)
    if not follow:
        console.print(f"follow it with: ddb-migrate status {name} --watch{flags}", markup=False)
        write_json(json_path, {"execution_arn": execution_arn, "name": name, "status": "RUNNING"})
        return
    result = _follow(deployment, execution_arn, flags)
    _finish(deployment, result, None, json_path, flags)


def _from_command_line(flag: str) -> bool:
    source = click.get_current_context().get_parameter_source(flag.lstrip("-").replace("-", "_"))
    return source is click.core.ParameterSource.COMMANDLINE


def _prewarm_input(
    prewarm: bool | None, read_units: int | None, write_units: int | None, warm_throughput: bool | None
) -> dict[str, Any]:
    """The execution input's prewarm fields: only what was given, so the deployment's defaults apply otherwise.

    With --no-prewarm the sizes are left out (PREWARM_RCU in the environment must not fail a run that does not
    pre-warm); without either flag they are sent and the plan refuses them if the run does not pre-warm."""
    if prewarm is False:
        return {"prewarm": False}
    fields: dict[str, Any] = {} if prewarm is None else {"prewarm": True}
    if read_units is not None:
        fields["prewarm_rcu"] = read_units
    if write_units is not None:
        fields["prewarm_wcu"] = write_units
    if warm_throughput is not None:
        fields["prewarm_on_demand_warm_throughput"] = warm_throughput
    return fields


def _follow(deployment: Deployment, execution_arn: str, flags: str) -> runner.ExecutionResult:
    console = state().console
    try:
        return runner.follow(deployment, execution_arn, console)
    except KeyboardInterrupt:
        name = runner.execution_name(execution_arn)
        console.print(
            f"\nstopped following; the run {name} continues in Step Functions.\n"
            f"  follow it: ddb-migrate status {name} --watch{flags}\n"
            f"  stop it:   ddb-migrate stop {name}{flags}",
            markup=False,
        )
        raise Interrupted from None


def _finish(
    deployment: Deployment,
    result: runner.ExecutionResult,
    progress: RunProgress | None,
    json_path: Path | None,
    flags: str,
    *,
    dashboard: str | None = None,
) -> None:
    console = state().console
    if progress is None:
        progress = read_progress(deployment.state_table, result.run_id)
    runner.render_summary(result, console, debug=state().debug)
    export = (result.output or {}).get("export") if result.succeeded else None
    export_report = None
    if isinstance(export, dict):
        export_report = summary_report(export, deployment, now=datetime.now(UTC))
        for line in export_report.lines:
            console.print(line, markup=False)
    if result.status in ("FAILED", "TIMED_OUT", "ABORTED"):
        console.print(
            f"continue it where it ended: ddb-migrate redrive {result.name}{flags} (segments resume from their "
            "checkpoints)",
            markup=False,
        )
    document = runner.result_json(result, progress)
    if export_report is not None:
        document["export_check"] = export_report.document
    if dashboard:
        document["dashboard_url"] = dashboard
    write_json(json_path, document)
    if not result.succeeded:
        sys.exit(EXIT_VERDICT)


def _execution_arn(state_machine_arn: str, execution: str) -> str:
    if execution.startswith("arn:"):
        return execution
    return state_machine_arn.replace(":stateMachine:", ":execution:") + f":{execution}"


def _describe(execution_arn: str) -> runner.ExecutionResult:
    try:
        return runner.describe(execution_arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            fail(
                f"no execution {runner.execution_name(execution_arn)} ({execution_arn}); list the runs with "
                "`ddb-migrate runs`"
            )
        raise


def _run_arn(run_ref: str, state_machine: str | None, terraform_dir: Path | None) -> str:
    """RUN as given: an execution ARN needs no deployment, a name is looked up in the deployment's machine."""
    if run_ref.startswith("arn:"):
        return run_ref
    return _execution_arn(load_state_machine_arn(state_machine, terraform_dir), run_ref)


@main.command(epilog=exit_codes(RUN_FAILED))
@with_deployment
@click.argument("execution", metavar="[RUN]", required=False)
@option("--watch", is_flag=True, help="Keep following the execution until it ends.")
@json_option(deprecated_alias=True)
def status(
    state_machine: str | None,
    terraform_dir: Path | None,
    execution: str | None,
    watch: bool,
    json_path: Path | None,
    json_output: Path | None,
) -> None:
    """Show a running or finished backfill: RUN is an execution name or ARN, the latest run without it.

    Per phase: segments done and counts; failed segments with their errors; a failed run's error type, message
    and failing key.

    \b
    Example:
      ddb-migrate status --terraform-dir infra/
      ddb-migrate status run-20250101T120000Z-a1b2c3 --watch --terraform-dir infra/
    """
    json_path = json_target(json_path, json_output)
    console = state().console
    deployment = _deployment(state_machine, terraform_dir)
    flags = deployment_flags(state_machine, terraform_dir)
    if execution is None:
        latest = executions.latest_execution(deployment.state_machine_arn)
        if latest is None:
            fail(f"no runs of {deployment.state_machine_arn} yet; start one with `ddb-migrate run{flags}`")
        execution_arn = latest.execution_arn
        console.print(f"latest run: {latest.name}", markup=False)
    else:
        execution_arn = _execution_arn(deployment.state_machine_arn, execution)
    result = _describe(execution_arn)
    if watch and result.status not in runner.TERMINAL_STATUSES:
        result = _follow(deployment, execution_arn, flags)
    progress = read_progress(deployment.state_table, result.run_id)
    when = ""
    if result.start_date is not None:
        when = f" (started {_when(result.start_date)}" + (
            f", ended {_when(result.stop_date)})" if result.stop_date else ")"
        )
    console.print(f"{result.name}: {result.status}{when}", markup=False)
    # The module's optional CloudWatch dashboard (output dashboard_url, null when there is none).
    dashboard = deployment.outputs.get("dashboard_url")
    if dashboard:
        console.print(f"dashboard: {dashboard}", markup=False)
    failure = result.failure
    if progress is not None:
        for phase_name, phase in progress.phases.items():
            counts = ", ".join(f"{key} {value:,}" for key, value in phase.counts.items())
            console.print(f"  {phase_name}: segments {phase.segments_done}/{phase.segments_total}, {counts}")
            if failure is not None and failure.segments:
                continue  # the failure below lists them
            for segment, error in sorted(phase.errors.items()):
                console.print(f"    segment {segment} failed: {error}", markup=False)
    if result.status in runner.TERMINAL_STATUSES:
        _finish(deployment, result, progress, json_path, flags, dashboard=dashboard)
    else:
        console.print(f"follow it with: ddb-migrate status {result.name} --watch{flags}", markup=False)
        write_json(json_path, {**runner.result_json(result, progress), "dashboard_url": dashboard})


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@main.command(epilog=exit_codes(None))
@with_deployment
@option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Most runs to list, newest first.")
@option("--status", "status_filter", type=click.Choice(EXECUTION_STATUSES), help="Only runs in this status.")
@json_option()
def runs(
    state_machine: str | None,
    terraform_dir: Path | None,
    limit: int,
    status_filter: str | None,
    json_path: Path | None,
) -> None:
    """Recent runs of the state machine (backfills and distributed verifies), newest first.

    \b
    Example:
      ddb-migrate runs --terraform-dir infra/ --status FAILED
    """
    json_path = json_target(json_path)
    console = state().console
    machine = load_state_machine_arn(state_machine, terraform_dir)
    found = executions.list_executions(machine, limit=limit, status=status_filter)
    if not found:
        console.print(f"no runs of {machine}" + (f" in status {status_filter}" if status_filter else ""), markup=False)
    width = max((len(execution.name) for execution in found), default=0)
    for execution in found:
        redriven = f"  redriven {execution.redrive_count}x" if execution.redrive_count else ""
        console.print(
            f"{execution.name:<{width}}  {execution.status:<15}  started {_when(execution.start_date)}  "
            f"ended {_when(execution.stop_date)}{redriven}",
            markup=False,
        )
    write_json(json_path, {"state_machine_arn": machine, "runs": [execution.to_json() for execution in found]})


@main.command(epilog=exit_codes(None))
@with_deployment
@click.argument("run_ref", metavar="RUN")
@option(
    "--cause",
    default="stopped by an operator with ddb-migrate stop",
    show_default=True,
    help="Why it was stopped; recorded as the execution's cause.",
)
@option(
    "--reset/--no-reset",
    default=True,
    show_default=True,
    help="Reset the capacity a pre-warmed run raised, with the worker's own capacity_reset (--no-reset: only print "
    "what pre-warm changed and the commands that restore it).",
)
@json_option()
def stop(
    state_machine: str | None,
    terraform_dir: Path | None,
    run_ref: str,
    cause: str,
    reset: bool,
    json_path: Path | None,
) -> None:
    """Stop a running backfill (StopExecution). RUN is an execution name or ARN.

    A stopped execution runs no Catch, so the state machine does NOT reset the capacity a pre-warmed run raised.
    stop does it instead: it reads the run's last $.capacity from the execution history and invokes the worker's
    capacity_reset with it, again every 10 s while a table is UPDATING, as the state machine would have. With
    --no-reset, or when the raise was still in flight, it prints what pre-warm changed and the commands that
    restore the original values. Worker invocations already running finish (up to the worker's timeout) and may
    still write; the checkpoints stay, so the redrive command continues the run later.

    \b
    Example:
      ddb-migrate stop run-20250101T120000Z-a1b2c3 --terraform-dir infra/
    """
    json_path = json_target(json_path)
    console = state().console
    execution_arn = _run_arn(run_ref, state_machine, terraform_dir)
    before = _describe(execution_arn)
    stopped = before.status == "RUNNING"
    if stopped:
        executions.stop_execution(execution_arn, cause)
        after = _describe(execution_arn)
        console.print(f"stopped {after.name}: {after.status} at {_when(after.stop_date)}", markup=False)
    else:
        after = before
        console.print(f"{after.name} is not running ({after.status}); nothing stopped", markup=False)
    needed = False
    advice: list[str] = []
    if after.status == "ABORTED":
        capacity = executions.last_capacity(execution_arn)
        if reset and executions.needs_reset(capacity):
            worker = _deployment(state_machine, terraform_dir).worker_function
            console.print("capacity: the run pre-warmed the tables; resetting them with the worker", markup=False)
            try:
                restored = executions.reset_capacity(
                    worker,
                    capacity,
                    on_wait=lambda attempt: console.print(
                        f"capacity: a table is UPDATING; trying again in 10 s (attempt {attempt})", markup=False
                    ),
                )
                capacity = executions.CapacityState(recorded=True, capacity=restored, run=capacity.run)
            except executions.CapacityResetError as error:
                console.print(f"capacity: {error}", markup=False)
        needed, advice = executions.capacity_advice(capacity)
        for line in advice:
            console.print(line, markup=False)
        flags = deployment_flags(state_machine, terraform_dir)
        console.print(f"continue it later with: ddb-migrate redrive {after.name}{flags}", markup=False)
    write_json(
        json_path,
        {
            "execution_arn": execution_arn,
            "name": after.name,
            "status": after.status,
            "stopped": stopped,
            "capacity_restore_needed": needed,
            "capacity": advice,
        },
    )


@main.command(epilog=exit_codes("with --follow: " + RUN_FAILED))
@with_deployment
@click.argument("run_ref", metavar="RUN")
@option(
    "--follow/--no-follow",
    default=False,
    help="Follow the resumed run with a progress bar until it ends (default: print the command that does).",
)
@json_option()
def redrive(
    state_machine: str | None, terraform_dir: Path | None, run_ref: str, follow: bool, json_path: Path | None
) -> None:
    """Continue a failed, timed-out or stopped run where it ended. RUN: name or ARN.

    A new execution resumes the run with its input: it plans the same run again, and every segment continues from
    its checkpoint in the state table, so finished segments and pages are not copied again; the summary counts
    both. (Step Functions' RedriveExecution would rerun only the state that failed last, and this state machine
    catches a failed Map to reset capacity and report it, so that state is the final Fail.) The run's records are
    kept 30 days.

    \b
    Example:
      ddb-migrate redrive run-20250101T120000Z-a1b2c3 --terraform-dir infra/ --follow
    """
    json_path = json_target(json_path)
    deployment = _deployment(state_machine, terraform_dir)
    execution_arn = _run_arn(run_ref, state_machine, terraform_dir)
    before = _describe(execution_arn)
    if before.status in ("RUNNING", "SUCCEEDED"):
        fail(f"{before.name} is {before.status}; only a FAILED, TIMED_OUT or ABORTED run can be continued")
    run_input = {**before.run_input, "resume_run_id": before.run_id}
    name = runner.new_run_name("resume")
    # The same guards as a new run: the original input carries the overrides it was started with.
    check_run(deployment, run_input, name, deployment_flags(state_machine, terraform_dir))
    state().console.print(
        f"resuming run {before.run_id} ({before.name} is {before.status}): its segments continue from their "
        "checkpoints",
        markup=False,
    )
    _start(deployment, run_input, name, follow, json_path, state_machine, terraform_dir)


# ----------------------------------------------------------------------------------------------------------------
# Verification and cutover
# ----------------------------------------------------------------------------------------------------------------


@main.command(epilog=exit_codes("differences found"))
@with_deployment
@option(
    "--segments",
    type=click.IntRange(1, 10_000),
    help="Parallel Scan segments (default 8; with --distributed the module's default segment count).",
)
@option("--show", type=click.IntRange(0), default=10, show_default=True, help="Differing keys to print.")
@json_option()
@option(
    "--sample",
    "sample_fraction",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    help="Check a random share F (0 < F <= 1) of the source's scan segments: a quick look, not a verification "
    "cutover-check accepts (it is not recorded).",
)
@option(
    "--settle-seconds",
    type=click.FloatRange(0),
    default=5.0,
    show_default=True,
    help="Re-check differing items after this long (consistent reads) and report only what still differs, so "
    "changes in flight through replication are not errors; 0 disables.",
)
@option(
    "--extra-check",
    type=click.Choice(EXTRA_CHECKS),
    default="auto",
    show_default=True,
    help="How to find target items no source item produces: lookup (target key looked up in the source; needs "
    "key-preserving transforms), key-set (target keys held in memory), off. auto: lookup when sound, else key-set.",
)
@option(
    "--max-key-set",
    type=click.IntRange(1),
    default=2_000_000,
    show_default=True,
    help="Most target keys key-set holds in memory (each about 90 bytes plus the key's JSON, ~150 bytes typically).",
)
@option(
    "--transform-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The custom transform module (TRANSFORM_MODULE) when the worker's code cannot be downloaded.",
)
@option(
    "--distributed",
    is_flag=True,
    help="Run the comparison in the backfill state machine (verify mode) instead of here; no extra-item search.",
)
@option(
    "--max-read-rate",
    help="With --distributed: read units per second on each table (e.g. 500), or a share of its capacity (e.g. "
    "25%), for the whole verify; default: the module's capacity_budget.max_read_rate.",
)
def verify(
    state_machine: str | None,
    terraform_dir: Path | None,
    segments: int | None,
    show: int,
    json_path: Path | None,
    sample_fraction: float,
    settle_seconds: float,
    extra_check: Any,
    max_key_set: int,
    transform_file: Path | None,
    distributed: bool,
    max_read_rate: str | None,
) -> None:
    """Compare transform(source) with the target: matching, missing, different and extra items.

    \b
    Example:
      ddb-migrate verify --terraform-dir infra/ --json verify.json
      ddb-migrate verify --state-machine orders-migration --distributed --segments 256
    """
    json_path = json_target(json_path)
    console = state().console
    deployment = _deployment(state_machine, terraform_dir)
    settings = VerifySettings(
        segments=segments or 8,
        sample_fraction=sample_fraction,
        settle_seconds=settle_seconds,
        extra_check=extra_check,
        max_key_set=max_key_set,
        max_read_rate=max_read_rate,
    )
    if max_read_rate is not None and not distributed:
        raise click.UsageError("--max-read-rate applies to --distributed only: add --distributed, or drop it")
    try:
        RateSetting.parse(max_read_rate, "--max-read-rate")
    except InvalidInput as error:
        raise click.UsageError(str(error)) from None
    if distributed:
        if transform_file is not None or extra_check not in ("auto", "off"):
            raise click.UsageError(
                "--distributed runs the deployment's transform in the worker and does not search for extra "
                "items; drop --transform-file and --extra-check"
            )
        if settle_seconds > MAX_SETTLE_SECONDS:
            raise click.UsageError(f"--settle-seconds is at most {MAX_SETTLE_SECONDS} with --distributed")
    try:
        if distributed:
            summary = run_distributed(deployment, settings, segments or deployment.default_total_segments, console)
            recorded = not summary["sampled"]
        else:
            transform = load_deployed_transform(
                deployment.worker_function, deployment.worker_environment, transform_file
            )
            summary = LocalVerify(
                source_table=deployment.source_table,
                target_table=deployment.target_table,
                transform=transform,
                settings=settings,
                console=console,
                target_access=TargetAccess.from_environment(deployment.worker_environment),
            ).run()
            recorded = record_result(deployment.state_table, summary, client("dynamodb"))
    except (TransformUnavailableError, VerifyFailedError, MigrationError) as error:
        raise CannotRunError(" ".join(str(error).split())) from error
    render_report(summary, console, show)
    if recorded:
        console.print(f"recorded as the last verify in {deployment.state_table} (cutover-check reads it)")
    else:
        console.print("a sampled verify is not recorded as the last verify")
    write_json(json_path, {**summary, "recorded": recorded})
    sys.exit(0 if summary["clean"] else EXIT_VERDICT)


@main.command("cutover-check", epilog=exit_codes("NOT READY"))
@with_deployment
@option(
    "--max-queue-depth",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Replication queue messages (visible, in flight and delayed) allowed at cutover.",
)
@option(
    "--max-message-age-seconds",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="Oldest replication message age allowed (CloudWatch ApproximateAgeOfOldestMessage).",
)
@option(
    "--max-iterator-age-seconds",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="Stream forwarder lag allowed (CloudWatch IteratorAge, maximum over 5 minutes).",
)
@option(
    "--max-verify-age-minutes",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="How old the last recorded verify may be.",
)
@option("--require-metrics", is_flag=True, help="Treat a CloudWatch metric without data as a blocker.")
@json_option()
def cutover_check(
    state_machine: str | None,
    terraform_dir: Path | None,
    max_queue_depth: int,
    max_message_age_seconds: float,
    max_iterator_age_seconds: float,
    max_verify_age_minutes: float,
    require_metrics: bool,
    json_path: Path | None,
) -> None:
    """READY or NOT READY to switch the application to the target, with every reason.

    Needs the Terraform outputs (--terraform-dir). With a non-empty DLQ it looks at up to 10 of its messages
    (they stay in the queue) to tell which command can empty it.

    \b
    Example:
      ddb-migrate cutover-check --terraform-dir infra/ --require-metrics --json -
    """
    json_path = json_target(json_path)
    console = state().console
    deployment = _deployment(state_machine, terraform_dir)
    policy = CutoverPolicy(
        max_queue_depth=max_queue_depth,
        max_message_age_seconds=max_message_age_seconds,
        max_iterator_age_seconds=max_iterator_age_seconds,
        max_verify_age_minutes=max_verify_age_minutes,
        require_metrics=require_metrics,
    )
    now = datetime.now(UTC)
    snapshot = cutover_snapshot(deployment, _clients(), now)
    verdict = evaluate(snapshot, policy)
    console.print("[bold green]READY[/]" if verdict.ready else "[bold red]NOT READY[/]")
    markers = {"ok": "[green]ok[/]     ", "warning": "[yellow]warning[/]", "blocker": "[red]blocker[/]"}
    for finding in verdict.findings:
        console.print(f"  {markers[finding.severity]} {finding.check}: {escape(finding.message)}")
    write_json(json_path, {"checked_at": now.isoformat(), **verdict.to_json()})
    sys.exit(0 if verdict.ready else EXIT_VERDICT)


def _clients() -> Clients:
    return Clients(
        sqs=client("sqs"), lambda_=client("lambda"), cloudwatch=client("cloudwatch"), dynamodb=client("dynamodb")
    )


from ddbmigrate.cli_plan import plan  # noqa: E402 - attaches to main, defined above
from ddbmigrate.cli_replication import replication  # noqa: E402 - the group attaches to main, defined above

main.add_command(plan)
main.add_command(replication)
