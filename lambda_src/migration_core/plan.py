"""Validation of the execution input: everything that can be refused before any item is touched."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from migration_core.budget import RateSetting
from migration_core.clock import iso_timestamp, parse_iso_timestamp
from migration_core.config import WorkerConfig
from migration_core.errors import InvalidInput
from migration_core.guards import OVERRIDE_FIELDS, GuardOverrides
from migration_core.models import (
    MAX_PREWARM_UNITS,
    MAX_SETTLE_SECONDS,
    MODES,
    SOURCES,
    ExportSpec,
    PrewarmSpec,
    RunSpec,
)

EXECUTION_INPUT_FIELDS = frozenset(
    {
        "source_table",
        "target_table",
        "total_segments",
        "time_budget_seconds",
        "scan_page_size",
        "cleanup_destination_table",
        "confirm_cleanup",
        "mode",
        "settle_seconds",
        "sample_fraction",
        "prewarm",
        "prewarm_rcu",
        "prewarm_wcu",
        "prewarm_on_demand_warm_throughput",
        "resume_run_id",
        "max_read_rate",
        "max_write_rate",
        "source",
        "export_arn",
        "export_time",
        *OVERRIDE_FIELDS,
    }
)
PREWARM_DETAIL_FIELDS = ("prewarm_rcu", "prewarm_wcu", "prewarm_on_demand_warm_throughput")
MAX_TOTAL_SEGMENTS = 10_000
MAX_SCAN_PAGE_SIZE = 10_000
# Step Functions execution names are 1..80 characters; the run id is the execution name.
MAX_RUN_ID_LENGTH = 80


def parse_execution_input(raw: Any, *, run_id: Any, config: WorkerConfig) -> RunSpec:
    """Check the execution input against the deployment and normalise it into a run; raises InvalidInput."""
    if not isinstance(run_id, str) or not 0 < len(run_id) <= MAX_RUN_ID_LENGTH:
        raise InvalidInput(f"the execution name (run id) must be 1..{MAX_RUN_ID_LENGTH} characters, got {run_id!r}")
    execution_input: Mapping[str, Any] = {} if raw is None else raw
    if not isinstance(execution_input, Mapping):
        raise InvalidInput(f"the execution input must be a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(execution_input) - EXECUTION_INPUT_FIELDS)
    if unknown:
        raise InvalidInput(
            f"unknown field(s) in the execution input: {', '.join(unknown)}; "
            f"accepted fields: {', '.join(sorted(EXECUTION_INPUT_FIELDS))}"
        )

    resume = execution_input.get("resume_run_id")
    if resume is not None:
        if not isinstance(resume, str) or not 0 < len(resume) <= MAX_RUN_ID_LENGTH:
            raise InvalidInput(f"resume_run_id must be the run id (execution name) of an earlier run, got {resume!r}")
        # The earlier run's id keys its checkpoints: this execution continues them.
        run_id = resume

    source_table = _configured_table(execution_input, "source_table", config.source_table)
    target_table = _configured_table(execution_input, "target_table", config.target_table)
    total_segments = execution_input.get("total_segments", config.default_total_segments)
    if isinstance(total_segments, bool) or not isinstance(total_segments, int):
        raise InvalidInput(f"total_segments must be an integer, got {total_segments!r}")
    if not 1 <= total_segments <= MAX_TOTAL_SEGMENTS:
        raise InvalidInput(
            f"total_segments must be between 1 and {MAX_TOTAL_SEGMENTS:,}, got {total_segments:,}: each segment "
            f"is one child workflow of the Distributed Map, which runs at most {MAX_TOTAL_SEGMENTS:,} children, "
            "and the segment list has to fit in Step Functions' 256 KiB state payload"
        )
    time_budget = execution_input.get("time_budget_seconds", 0)
    if isinstance(time_budget, bool) or not isinstance(time_budget, int | float) or not math.isfinite(time_budget):
        raise InvalidInput(f"time_budget_seconds must be a number, got {time_budget!r}")
    if time_budget < 0:
        raise InvalidInput(
            f"time_budget_seconds must be >= 0 (0 = until the Lambda nears its timeout), got {time_budget}"
        )
    scan_page_size = execution_input.get("scan_page_size")
    if scan_page_size is not None and (
        isinstance(scan_page_size, bool)
        or not isinstance(scan_page_size, int)
        or not 1 <= scan_page_size <= MAX_SCAN_PAGE_SIZE
    ):
        raise InvalidInput(
            f"scan_page_size must be an integer from 1 to {MAX_SCAN_PAGE_SIZE:,} items (omit it for 1 MB pages), "
            f"got {scan_page_size!r}"
        )
    mode = execution_input.get("mode", "copy")
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    settle_seconds, sample_fraction = _verify_options(execution_input, mode)

    # Validated here so a bad override fails like every other field; the plan step and the CLI act on them.
    GuardOverrides.from_input(execution_input)
    in_place = source_table == target_table
    cleanup = _cleanup(execution_input, config, target_table, in_place=in_place)
    prewarm = _prewarm(execution_input, config)
    max_read_rate, max_write_rate = _budget(execution_input, config, mode)
    export = _export(execution_input, config, mode, in_place=in_place)
    return RunSpec(
        run_id=run_id,
        source_table=source_table,
        target_table=target_table,
        total_segments=total_segments,
        mode=mode,
        cleanup=cleanup,
        in_place=in_place,
        time_budget_seconds=time_budget,
        scan_page_size=scan_page_size,
        settle_seconds=settle_seconds,
        sample_fraction=sample_fraction,
        prewarm=prewarm,
        max_read_rate=max_read_rate,
        max_write_rate=max_write_rate,
        source="scan" if export is None else "export",
        export=export,
    )


def _export(
    execution_input: Mapping[str, Any], config: WorkerConfig, mode: str, *, in_place: bool
) -> ExportSpec | None:
    """source, export_arn and export_time: the run's export, or None for a Scan backfill."""
    export_arn = execution_input.get("export_arn")
    export_time = execution_input.get("export_time")
    default = "export" if export_arn is not None else config.default_source
    source = execution_input.get("source", default)
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    if source == "scan" or mode == "verify":
        given = [name for name in ("export_arn", "export_time") if execution_input.get(name) is not None]
        if source == "export" or given:
            raise InvalidInput(
                f"{', '.join(given) or 'source export'} only applies to a copy with source export"
                + ("; a verify reads the live tables" if mode == "verify" else "")
            )
        return None
    if in_place:
        raise InvalidInput(
            "source export is refused for an in-place run: copying the export's snapshot over the live table would "
            "undo every change made since the export, and an in-place run has no replication to redo them; use a "
            "Scan (source scan)"
        )
    if config.export_bucket is None:
        raise InvalidInput(
            "source export is not enabled for this deployment: set export = { enabled = true } in the Terraform "
            "module (it creates or names the bucket the export goes to and grants the worker the export and the "
            "bucket's objects)"
        )
    if export_arn is not None and export_time is not None:
        raise InvalidInput("export_time does not apply with export_arn: a reused export has its own time")
    if export_arn is not None and not _is_export_arn(export_arn):
        raise InvalidInput(
            f"export_arn must be a DynamoDB export ARN (arn:<partition>:dynamodb:<region>:<account>:table/<table>"
            f"/export/<id>), got {export_arn!r}"
        )
    if export_time is not None:
        try:
            parsed = parse_iso_timestamp(export_time) if isinstance(export_time, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise InvalidInput(
                f"export_time must be an ISO 8601 time with its zone, e.g. 2026-01-02T03:04:05Z, got {export_time!r}"
            )
        export_time = iso_timestamp(parsed)
    return ExportSpec(
        bucket=config.export_bucket,
        prefix=config.export_prefix,
        bucket_owner=config.export_bucket_owner,
        requested_time=export_time,
        arn=export_arn,
    )


def _is_export_arn(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = value.split(":", 5)
    resource = parts[5].split("/") if len(parts) == 6 else []
    return (
        parts[0] == "arn"
        and parts[2] == "dynamodb"
        and len(resource) == 4
        and resource[0] == "table"
        and resource[2] == "export"
        and all(resource)
    )


def _budget(execution_input: Mapping[str, Any], config: WorkerConfig, mode: str) -> tuple[str | None, str | None]:
    """max_read_rate and max_write_rate, the deployment's where the input has none; a verify has no write budget."""
    max_read_rate = _rate(execution_input, "max_read_rate", config.default_max_read_rate)
    if mode != "verify":
        return max_read_rate, _rate(execution_input, "max_write_rate", config.default_max_write_rate)
    if _rate(execution_input, "max_write_rate", None) is not None:
        raise InvalidInput("max_write_rate does not apply to mode verify, which only reads; use max_read_rate")
    return max_read_rate, None


def _rate(execution_input: Mapping[str, Any], field: str, default: str | None) -> str | None:
    """A budget field in its normal form ("500", "25%"); null or "" in the input turns the deployment's off."""
    setting = RateSetting.parse(execution_input.get(field, default), field)
    return None if setting is None else str(setting)


def _cleanup(execution_input: Mapping[str, Any], config: WorkerConfig, target_table: str, *, in_place: bool) -> bool:
    """cleanup_destination_table, refused unless confirmed, allowed by the deployment and not in place."""
    cleanup = execution_input.get("cleanup_destination_table", False)
    if not isinstance(cleanup, bool):
        raise InvalidInput(f"cleanup_destination_table must be true or false, got {cleanup!r}")
    if cleanup and in_place:
        raise InvalidInput(
            f"cleanup_destination_table is refused when source and target are the same table ({target_table!r}): "
            "it would delete every item of the source"
        )
    if cleanup and not config.cleanup_allowed:
        raise InvalidInput(
            f"cleanup_destination_table is not enabled for this deployment: set allow_target_cleanup = true in "
            f"the Terraform module (it grants the worker the Scan on {target_table!r} that a cleanup needs)"
        )
    if cleanup and execution_input.get("confirm_cleanup") != target_table:
        raise InvalidInput(
            f"cleanup_destination_table deletes every item of {target_table!r} before copying; "
            f'confirm by also passing "confirm_cleanup": "{target_table}"'
        )
    return cleanup


def _prewarm(execution_input: Mapping[str, Any], config: WorkerConfig) -> PrewarmSpec | None:
    """The run's pre-warm request with the deployment's defaults filled in; None when the run does not pre-warm."""
    wanted = execution_input.get("prewarm", config.default_prewarm)
    if not isinstance(wanted, bool):
        raise InvalidInput(f"prewarm must be true or false, got {wanted!r}")
    details = [name for name in PREWARM_DETAIL_FIELDS if name in execution_input]
    if not wanted:
        if details:
            raise InvalidInput(f'{", ".join(details)} only apply when the run pre-warms; pass "prewarm": true as well')
        return None
    if not config.prewarm_allowed:
        raise InvalidInput(
            "prewarm is not enabled for this deployment: set prewarm = { enabled = true } in the Terraform module "
            "(it adds the capacity states to the state machine and grants the worker UpdateTable on the two "
            "tables and the Application Auto Scaling calls that pre-warm needs)"
        )
    units: dict[str, int] = {}
    for field, default in (
        ("prewarm_rcu", config.default_prewarm_read_units),
        ("prewarm_wcu", config.default_prewarm_write_units),
    ):
        value = execution_input.get(field, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PREWARM_UNITS:
            raise InvalidInput(
                f"{field} must be an integer from 1 to {MAX_PREWARM_UNITS:,} capacity units (DynamoDB's default "
                f"per-table quota), got {value!r}"
            )
        units[field] = value
    warm = execution_input.get("prewarm_on_demand_warm_throughput", config.default_warm_throughput_on_demand)
    if not isinstance(warm, bool):
        raise InvalidInput(f"prewarm_on_demand_warm_throughput must be true or false, got {warm!r}")
    return PrewarmSpec(
        read_units=units["prewarm_rcu"], write_units=units["prewarm_wcu"], warm_throughput_on_demand=warm
    )


def _verify_options(execution_input: Mapping[str, Any], mode: str) -> tuple[float, float]:
    """settle_seconds and sample_fraction, which only a verify run accepts; a verify run refuses cleanup."""
    if mode == "verify" and execution_input.get("cleanup_destination_table", False) is not False:
        raise InvalidInput(
            "cleanup_destination_table is refused with mode verify: a verify run only reads, and deleting the "
            "target's items would make it compare against an empty table"
        )
    if mode != "verify":
        given = sorted({"settle_seconds", "sample_fraction"} & execution_input.keys())
        if given:
            raise InvalidInput(f"{', '.join(given)} only apply to mode verify, not {mode}")
        return 0, 1.0
    settle_seconds = execution_input.get("settle_seconds", 0)
    if not _is_finite_number(settle_seconds) or not 0 <= settle_seconds <= MAX_SETTLE_SECONDS:
        raise InvalidInput(
            f"settle_seconds must be a number from 0 to {MAX_SETTLE_SECONDS} (the worker sleeps that long before "
            f"re-checking the differing items of a page), got {settle_seconds!r}"
        )
    sample_fraction = execution_input.get("sample_fraction", 1.0)
    if not _is_finite_number(sample_fraction) or not 0 < sample_fraction <= 1:
        raise InvalidInput(f"sample_fraction must be a number above 0 and at most 1, got {sample_fraction!r}")
    return settle_seconds, sample_fraction


def _is_finite_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _configured_table(execution_input: Mapping[str, Any], field: str, configured: str) -> str:
    value = execution_input.get(field, configured)
    if value != configured:
        raise InvalidInput(
            f"{field} {value!r} is not the table this deployment migrates ({configured!r}); the worker's IAM "
            "role is scoped to the configured tables, so deploy the module for another table instead"
        )
    return configured
