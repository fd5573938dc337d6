"""The operator's side of a backfill from a point-in-time export (issue #17).

``run`` and ``plan`` take ``--source scan|export``, ``--export-arn`` (reuse an export) and ``--export-time`` (export
the table as it was then). They become the execution input's ``source``, ``export_arn`` and ``export_time``; what
is wrong with them is refused here, before StartExecution, with the flag that fixes it, because the plan step can
only name input fields. The summary of an export run says how the replication's cutoff relates to the export's
time: the export holds every change before it, so the replication has to deliver every change after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click
from botocore.exceptions import ClientError
from click.core import ParameterSource

from ddbmigrate.aws import client
from ddbmigrate.cli_support import fail, option
from ddbmigrate.deployment import Deployment
from migration_core.clock import iso_timestamp
from migration_core.guards import PITR_ENABLE_COMMAND, point_in_time_recovery_enabled

F = TypeVar("F", bound=Callable[..., Any])
SOURCES = ("scan", "export")
EXPORT_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):dynamodb:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"table/(?P<table>[A-Za-z0-9_.-]{3,255})/export/(?P<id>[A-Za-z0-9_.-]+)$"
)
# DynamoDB Streams keeps a change this long: a change older than that reaches the target only if the forwarder
# moved it into the replication queue in time.
STREAM_RETENTION = timedelta(hours=24)
# Flags that shape a Scan and mean nothing to an export run, whose segments are the export's data files.
SCAN_ONLY_FLAGS = ("--total-segments", "--scan-page-size")


def source_options(command: F) -> F:
    for decorator in reversed(
        [
            option(
                "--source",
                type=click.Choice(SOURCES),
                help="Where the copy reads the source: scan (Scan segments of the live table, through its read "
                "capacity) or export (a point-in-time export to S3, which reads nothing through it; needs export "
                "= { enabled = true } in the module). Default: the deployment's export.by_default.",
            ),
            option(
                "--export-arn",
                help="Reuse this export of the source table instead of exporting again (implies --source "
                "export): arn:<partition>:dynamodb:<region>:<account>:table/<name>/export/<id>, in the "
                "deployment's export bucket.",
            ),
            option(
                "--export-time",
                help="Export the table as it was at this time (ISO 8601 with its zone, e.g. 2026-01-31T12:00:00Z) "
                "inside its point-in-time recovery window; default: when the run starts. Only with --source "
                "export, not with --export-arn.",
            ),
        ]
    ):
        command = decorator(command)
    return command


def typed_flags(*flags: str) -> tuple[str, ...]:
    """Those of ``flags`` typed on the command line: one from the environment (TOTAL_SEGMENTS) may stay beside
    flags it does not apply to, a typed one is a mistake."""
    context = click.get_current_context()
    return tuple(
        flag
        for flag in flags
        if context.get_parameter_source(flag.lstrip("-").replace("-", "_")) is ParameterSource.COMMANDLINE
    )


# ----------------------------------------------------------------------------------------------------------------
# The flags' own rules, before anything is read from AWS
# ----------------------------------------------------------------------------------------------------------------


def check_flags(
    source: str | None, export_arn: str | None, export_time: str | None, *, now: datetime
) -> datetime | None:
    """Refuse what the flags say together, whatever the deployment; returns --export-time parsed."""
    if source == "scan" and export_arn is not None:
        fail(
            "--export-arn reuses an export, and --source scan reads the live table instead: drop --source scan to "
            "copy from the export, or drop --export-arn to Scan"
        )
    if source == "scan" and export_time is not None:
        fail(
            "--export-time is the moment an export is taken, and --source scan reads the live table instead: use "
            "--source export, or drop --export-time"
        )
    if export_arn is not None and export_time is not None:
        fail(
            "--export-time does not apply with --export-arn: a reused export has its own time; drop --export-time, "
            "or drop --export-arn to export the table as of --export-time"
        )
    if export_arn is not None and EXPORT_ARN.match(export_arn) is None:
        fail(
            f"--export-arn {export_arn!r} is not a DynamoDB export ARN: it looks like "
            "arn:aws:dynamodb:<region>:<account>:table/<table>/export/<id> (aws dynamodb list-exports --table-arn "
            "<source table ARN> lists them)"
        )
    if export_time is None:
        return None
    return parse_export_time(export_time, now=now)


def parse_export_time(text: str, *, now: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--export-time {text!r} is not an ISO 8601 time: write it as e.g. 2026-01-31T12:00:00Z")
    if moment.tzinfo is None or moment.utcoffset() is None:
        fail(f"--export-time {text!r} has no time zone: add one, e.g. {moment:%Y-%m-%dT%H:%M:%S}Z for UTC")
    if moment > now:
        fail(
            f"--export-time {text!r} is in the future (now is {iso_timestamp(now)}): an export is of a moment "
            "that has passed; drop --export-time to export the table as of the run's start"
        )
    return moment.astimezone(UTC)


# ----------------------------------------------------------------------------------------------------------------
# The run's source, checked against the deployment
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceChoice:
    """Where a run reads the source, as the flags and the deployment's default decide it."""

    source: str
    # What the operator typed, sent as given so that the deployment's default applies otherwise.
    typed_source: str | None = None
    export_arn: str | None = None
    export_time: datetime | None = None
    bucket: str | None = None
    prefix: str = ""
    # DescribeExport of the reused export, once checked.
    described: Mapping[str, Any] = field(default_factory=dict)

    @property
    def export(self) -> bool:
        return self.source == "export"

    def input_fields(self) -> dict[str, str]:
        fields: dict[str, str] = {}
        if self.typed_source is not None:
            fields["source"] = self.typed_source
        if self.export_arn is not None:
            fields["export_arn"] = self.export_arn
        if self.export_time is not None:
            fields["export_time"] = iso_timestamp(self.export_time)
        return fields

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/" if self.prefix else f"s3://{self.bucket}/"

    def describe_lines(self) -> list[str]:
        """What the run does first, for the plan: the export it makes or the one it reuses."""
        if not self.export:
            return []
        if self.export_arn is not None:
            found = self.described
            items = found.get("ItemCount")
            taken = found.get("ExportTime")
            details = ", ".join(
                part
                for part in (
                    str(found.get("ExportStatus") or "status unknown"),
                    f"as of {_when(taken)}" if isinstance(taken, datetime) else "",
                    f"{items:,} items" if isinstance(items, int) else "",
                )
                if part
            )
            return [f"  export: reuses {self.export_arn} ({details}) from {self.location}; no new export"]
        moment = "the moment the run starts" if self.export_time is None else _when(self.export_time)
        return [
            f"  export: the run first exports the source as of {moment} (ExportTableToPointInTime, DYNAMODB_JSON) "
            f"to {self.location}, and copies when the export is COMPLETED; that takes minutes to hours, whatever "
            "the table's capacity"
        ]

    def to_json(self) -> dict[str, Any]:
        taken = self.described.get("ExportTime")
        return {
            "source": self.source,
            "bucket": self.bucket,
            "prefix": self.prefix,
            "export_arn": self.export_arn,
            "requested_time": None if self.export_time is None else iso_timestamp(self.export_time),
            "reused_export": None
            if self.export_arn is None
            else {
                "status": self.described.get("ExportStatus"),
                "export_time": iso_timestamp(taken) if isinstance(taken, datetime) else None,
                "item_count": self.described.get("ItemCount"),
                "billed_size_bytes": self.described.get("BilledSizeBytes"),
            },
        }


def export_bucket(deployment: Deployment) -> str | None:
    """The deployment's export bucket: Terraform's output, else the worker's EXPORT_BUCKET; None when disabled."""
    for value in (deployment.outputs.get("export_bucket_name"), deployment.worker_environment.get("EXPORT_BUCKET")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def default_source(deployment: Deployment) -> str:
    value = deployment.worker_environment.get("DEFAULT_BACKFILL_SOURCE", "").strip()
    return value if value in SOURCES else "scan"


def choose_source(
    deployment: Deployment,
    source: str | None,
    export_arn: str | None,
    export_time: datetime | None,
    *,
    scan_flags: tuple[str, ...] = (),
) -> SourceChoice:
    """The run's source from the (already checked) flags and the deployment; refuses what cannot work there.

    ``scan_flags``: the Scan-only flags typed on the command line."""
    deployment_default = default_source(deployment)
    effective = source or ("export" if export_arn is not None else deployment_default)
    if effective == "scan":
        if export_time is not None:
            fail(
                "--export-time only applies to a run with --source export, and this deployment's runs Scan by "
                "default: add --source export, or drop --export-time"
            )
        return SourceChoice("scan", typed_source=source)
    why = "--source export" if source == "export" else "--export-arn" if export_arn else "this deployment's default"
    bucket = export_bucket(deployment)
    if bucket is None:
        fail(
            f"{why} reads the source from a point-in-time export, and this deployment has no export bucket: set "
            "export = { enabled = true } in the ddb-migrate module and terraform apply, or use --source scan"
        )
    if scan_flags:
        fail(
            f"{', '.join(scan_flags)} shape the Scan of the live table, and {why} copies from an export instead, "
            "one segment per data file of it: drop them, or use --source scan"
        )
    if export_arn is not None:
        match = EXPORT_ARN.match(export_arn)
        table = match.group("table") if match else None
        if table != deployment.source_table:
            fail(
                f"--export-arn is an export of table {table!r}, not of this deployment's source table "
                f"{deployment.source_table!r}: pass an export of {deployment.source_table}, or drop --export-arn to "
                "export it now"
            )
    return SourceChoice(
        "export",
        typed_source=source,
        export_arn=export_arn,
        export_time=export_time,
        bucket=bucket,
        prefix=deployment.worker_environment.get("EXPORT_PREFIX", "").strip().strip("/"),
    )


def check_export(choice: SourceChoice, deployment: Deployment) -> SourceChoice:
    """What AWS says about the export before the run starts: a reused export is of this very table (partition,
    region and account too), complete or running, a full DYNAMODB_JSON export in the deployment's bucket; a new
    one needs point-in-time recovery on the source, back to --export-time."""
    if not choice.export:
        return choice
    dynamodb = client("dynamodb")
    table = deployment.source_table
    if choice.export_arn is None:
        if not point_in_time_recovery_enabled(dynamodb, table):
            fail(
                f"point-in-time recovery is not enabled on {table!r}, and an export is made from it: enable it "
                f"({PITR_ENABLE_COMMAND.format(table=table)}; the export can then be of a moment after that), or "
                "use --source scan"
            )
        if choice.export_time is not None:
            recovery = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"].get(
                "PointInTimeRecoveryDescription", {}
            )
            earliest = recovery.get("EarliestRestorableDateTime")
            if isinstance(earliest, datetime) and choice.export_time < earliest:
                fail(
                    f"--export-time {iso_timestamp(choice.export_time)} is before the earliest time {table!r} can "
                    f"be exported as of ({iso_timestamp(earliest)}, the start of its point-in-time recovery "
                    "window): pick a later time, or drop --export-time"
                )
        return choice
    table_arn = str(dynamodb.describe_table(TableName=table)["Table"]["TableArn"])
    if not choice.export_arn.startswith(f"{table_arn}/export/"):
        fail(
            f"--export-arn {choice.export_arn} is not an export of this deployment's source table {table_arn} "
            "(another partition, region or account): pass an export of that table, or drop --export-arn"
        )
    try:
        described = dynamodb.describe_export(ExportArn=choice.export_arn)["ExportDescription"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExportNotFoundException":
            fail(
                f"there is no export {choice.export_arn}: list the table's exports with aws dynamodb list-exports "
                f"--table-arn {table_arn}, or drop --export-arn to export now"
            )
        raise
    _check_described(choice, described)
    return SourceChoice(
        choice.source,
        typed_source=choice.typed_source,
        export_arn=choice.export_arn,
        bucket=choice.bucket,
        prefix=choice.prefix,
        described=dict(described),
    )


def _check_described(choice: SourceChoice, described: Mapping[str, Any]) -> None:
    arn = choice.export_arn
    status = described.get("ExportStatus")
    if status == "FAILED":
        reason = ": ".join(
            str(part) for part in (described.get("FailureCode"), described.get("FailureMessage")) if part
        )
        fail(f"the export {arn} FAILED ({reason or 'no reason given'}): drop --export-arn to export again")
    if described.get("ExportType", "FULL_EXPORT") != "FULL_EXPORT":
        fail(
            f"the export {arn} is an incremental export, which holds only the changes of a period: pass a full "
            "export, or drop --export-arn to make one"
        )
    if described.get("ExportFormat", "DYNAMODB_JSON") != "DYNAMODB_JSON":
        fail(
            f"the export {arn} is in {described.get('ExportFormat')} and the worker reads DYNAMODB_JSON: drop "
            "--export-arn to export again in DynamoDB JSON"
        )
    bucket, prefix = described.get("S3Bucket"), str(described.get("S3Prefix") or "").strip("/")
    inside = bucket == choice.bucket and (not choice.prefix or f"{prefix}/".startswith(f"{choice.prefix}/"))
    if not inside:
        where = f"s3://{bucket}/{prefix}/" if prefix else f"s3://{bucket}/"
        fail(
            f"the export {arn} is in {where}, and the worker reads exports only under {choice.location}: drop "
            "--export-arn to export again there"
        )


# ----------------------------------------------------------------------------------------------------------------
# The summary of an export run: the export's time and the replication's cutoff
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportReport:
    lines: tuple[str, ...]
    document: dict[str, Any]


def summary_report(export: Mapping[str, Any], deployment: Deployment, *, now: datetime) -> ExportReport:
    """How the target relates to the export's time, and whether the replication covers every change since."""
    taken = _parse_time(export.get("export_time"))
    shown = str(export.get("export_time") or "unknown")
    lines = [
        f"export: the target holds {deployment.source_table} as of {shown} (the export's time), from "
        f"{export.get('arn') or 'an export'}"
    ]
    warnings: list[str] = []
    outputs = deployment.outputs
    replication_known = bool(outputs) or deployment.terraform_dir is not None
    replication = bool(outputs.get("replication_queue_url"))
    cutoff_text = outputs.get("replication_cutoff_timestamp")
    cutoff = _parse_time(cutoff_text)
    document: dict[str, Any] = {
        "export_time": export.get("export_time"),
        "replication": replication if replication_known else None,
        "cutoff": cutoff_text,
        "cutoff_ok": None,
        "export_age_hours": None if taken is None else round((now - taken).total_seconds() / 3600, 2),
    }
    if replication or not replication_known:
        lines.append(
            f"replication: changes before {shown} are in the export already; the consumer may replay some of them, "
            "which is harmless (each item's later changes follow, in order); every change since must come from the "
            "replication queue"
        )
    if not replication_known:
        lines.append(
            "replication: the cutoff is in the Terraform outputs; pass --terraform-dir to check it against the "
            "export's time (it must be at or before it)"
        )
    elif replication and taken is not None:
        if cutoff is None:
            lines.append(
                f"replication: no cutoff: the consumer applies every queued change, those before {shown} too "
                f'(harmless, only more work); replication.cutoff_timestamp = "{shown}" would skip them'
            )
        elif cutoff <= taken:
            document["cutoff_ok"] = True
            lines.append(
                f"replication: the cutoff {cutoff_text} is at or before the export's time {shown}: every change "
                "since the export is applied"
            )
        else:
            document["cutoff_ok"] = False
            warnings.append(
                f"warning: the replication cutoff {cutoff_text} is after the export's time {shown}: the changes "
                f"between them are in neither the export nor what the consumer applies; set replication."
                f'cutoff_timestamp = "{shown}" (or earlier) and terraform apply before resuming the consumer'
            )
    if taken is not None and (replication or not replication_known) and now - taken > STREAM_RETENTION:
        hours = (now - taken).total_seconds() / 3600
        condition = "" if replication_known else "if replication is in use, "
        warnings.append(
            f"warning: {condition}the export is {hours:,.0f} h old, and DynamoDB Streams keeps changes "
            f"{STREAM_RETENTION.total_seconds() / 3600:.0f} h: the changes since {shown} reach the target only if "
            "the forwarder has moved them into the replication queue since before then (check the queue with "
            "ddb-migrate replication status); otherwise export again and rerun"
        )
    document["warnings"] = warnings
    return ExportReport(lines=(*lines, *warnings), document=document)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _when(moment: datetime) -> str:
    return iso_timestamp(moment).replace(".000Z", "Z")
