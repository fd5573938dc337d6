"""``ddb-migrate run|plan --source export`` on moto (issue #17): the flags' rules, each refused before
StartExecution with one line naming the fix (and accepted once fixed), the execution input they build, the plan's
export estimate next to the Scan's, and the summary of an export run with the replication cutoff."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from click.testing import Result
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.stepfunctions.models import stepfunctions_backends

from ddbmigrate.aws import client
from ddbmigrate.cli_export import STREAM_RETENTION, summary_report
from ddbmigrate.deployment import Deployment
from migration_core.estimate import (
    BYTES_PER_GB,
    EXPORT_PRICE_PER_GB,
    Budget,
    Prices,
    TableFacts,
    estimate_export,
    estimate_export_run,
    estimate_run,
)
from tests.support.deployment import SOURCE, TARGET, Deployed, deploy, end_run, fake_terraform, start_run
from tests.support.descriptions import on_demand, provisioned
from tests.support.tables import REGION, enable_pitr

pytestmark = pytest.mark.usefixtures("aws")

BUCKET = "ddb-migrate-exports"
PREFIX = "ddb-migrate/orders"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{DEFAULT_ACCOUNT_ID}:table/{SOURCE}"
EXPORT_ARN = f"{TABLE_ARN}/export/01701234567890-a1b2c3d4"
GB = BYTES_PER_GB


# ----------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------


def with_export(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    by_default: bool = False,
    replication: bool = False,
    outputs: dict[str, Any] | None = None,
) -> Deployed:
    """A deployment with export = { enabled = true }: the worker's EXPORT_* variables and the bucket output."""
    deployed = deploy(tmp_path, monkeypatch, replication=replication)
    set_worker_environment(
        EXPORT_BUCKET=BUCKET, EXPORT_PREFIX=PREFIX, DEFAULT_BACKFILL_SOURCE="export" if by_default else "scan"
    )
    deployed.outputs |= {
        "export_bucket_name": BUCKET,
        "export_bucket_arn": f"arn:aws:s3:::{BUCKET}",
        **(outputs or {}),
    }
    fake_terraform(tmp_path, monkeypatch, deployed.outputs)
    return deployed


def set_worker_environment(**variables: str) -> None:
    lambda_client = boto3.client("lambda", region_name=REGION)
    current = lambda_client.get_function_configuration(FunctionName="worker")["Environment"]["Variables"]
    lambda_client.update_function_configuration(
        FunctionName="worker", Environment={"Variables": {**current, **variables}}
    )


def executions(deployed: Deployed) -> list[str]:
    found = boto3.client("stepfunctions", region_name=REGION).list_executions(
        stateMachineArn=deployed.output("state_machine_arn")
    )["executions"]
    return sorted(execution["name"] for execution in found)


def started_input(deployed: Deployed, name: str) -> dict[str, Any]:
    arn = deployed.output("state_machine_arn").replace(":stateMachine:", ":execution:") + f":{name}"
    document: dict[str, Any] = json.loads(
        boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)["input"]
    )
    return document


def refused(result: Result, *fragments: str) -> str:
    """Exit 2 with a single line holding every fragment, and no traceback."""
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    for fragment in fragments:
        assert fragment in line, line
    return line


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def on_dynamodb(operation: str, event: str, function: Callable[..., Any]) -> None:
    client("dynamodb").meta.events.register(f"{event}.dynamodb.{operation}", function)


def answer_describe_export(respond: Callable[[str], dict[str, Any]]) -> None:
    """DescribeExport as DynamoDB answers it (moto's export ARNs are not AWS's); ``Error`` in the answer -> 400."""

    def handler(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        response = respond(json.loads(params["body"])["ExportArn"])
        return SimpleNamespace(status_code=400 if "Error" in response else 200), response

    on_dynamodb("DescribeExport", "before-call", handler)


def export_description(**fields: Any) -> dict[str, Any]:
    return {
        "ExportDescription": {
            "ExportArn": EXPORT_ARN,
            "ExportStatus": "COMPLETED",
            # Parsed, as botocore hands it over.
            "ExportTime": datetime(2026, 1, 31, 12, tzinfo=UTC),
            "TableArn": TABLE_ARN,
            "S3Bucket": BUCKET,
            "S3Prefix": PREFIX,
            "ExportFormat": "DYNAMODB_JSON",
            "ExportType": "FULL_EXPORT",
            "ItemCount": 40,
            "BilledSizeBytes": 3 * GB,
            **fields,
        }
    }


def pitr_since(start: datetime) -> None:
    """Point-in-time recovery on the source since ``start`` (moto's window starts when it was enabled)."""
    enable_pitr(boto3.client("dynamodb", region_name=REGION), SOURCE)

    def adjust(parsed: dict[str, Any], **_: Any) -> None:
        recovery = parsed.get("ContinuousBackupsDescription", {}).get("PointInTimeRecoveryDescription", {})
        if recovery.get("PointInTimeRecoveryStatus") == "ENABLED":
            recovery["EarliestRestorableDateTime"] = start

    on_dynamodb("DescribeContinuousBackups", "after-call", adjust)


def reported_size(table: str, items: int, size_bytes: int) -> None:
    """What DescribeTable reports for the table (DynamoDB's six-hourly figures; moto keeps no sizes)."""

    def adjust(parsed: dict[str, Any], **_: Any) -> None:
        description = parsed.get("Table", {})
        if description.get("TableName") == table:
            description["ItemCount"] = items
            description["TableSizeBytes"] = size_bytes

    on_dynamodb("DescribeTable", "after-call", adjust)


# ----------------------------------------------------------------------------------------------------------------
# The flags' rules: refused before StartExecution, accepted once fixed
# ----------------------------------------------------------------------------------------------------------------

NOW = datetime.now(UTC)
FLAG_REFUSALS: list[tuple[list[str], list[str]]] = [
    (["--source", "scan", "--export-arn", EXPORT_ARN], ["--export-arn reuses an export", "drop --source scan"]),
    (["--source", "scan", "--export-time", iso(NOW)], ["--source scan reads the live table", "use --source export"]),
    (
        ["--export-arn", EXPORT_ARN, "--export-time", iso(NOW)],
        ["--export-time does not apply with --export-arn", "drop --export-time"],
    ),
    (["--export-arn", "arn:aws:dynamodb:us-east-1:123:table/source"], ["is not a DynamoDB export ARN", "/export/<id>"]),
    (["--export-arn", f"{TABLE_ARN}/stream/2026"], ["is not a DynamoDB export ARN"]),
    (["--source", "export", "--export-time", "yesterday"], ["is not an ISO 8601 time", "2026-01-31T12:00:00Z"]),
    (["--source", "export", "--export-time", "2026-01-31T12:00:00"], ["has no time zone", "2026-01-31T12:00:00Z"]),
    (
        ["--source", "export", "--export-time", iso(NOW + timedelta(hours=1))],
        ["is in the future", "drop --export-time"],
    ),
    (["--source", "export", "--total-segments", "8"], ["--total-segments shape the Scan", "drop them"]),
    (["--source", "export", "--scan-page-size", "100"], ["--scan-page-size shape the Scan"]),
    (
        ["--export-arn", EXPORT_ARN.replace(":table/source/", ":table/orders/")],
        ["is an export of table 'orders', not of this deployment's source table 'source'"],
    ),
]


@pytest.mark.parametrize(("arguments", "fragments"), FLAG_REFUSALS)
def test_bad_source_flags_never_start_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], fragments: list[str]
) -> None:
    deployed = with_export(tmp_path, monkeypatch)

    refused(deployed.invoke("run", "--no-follow", *arguments), *fragments)

    assert executions(deployed) == []


@pytest.mark.parametrize("arguments", [["--source", "export"], ["--export-arn", EXPORT_ARN]])
def test_export_is_refused_on_a_deployment_without_an_export_bucket(deployed: Deployed, arguments: list[str]) -> None:
    for command in ("run", "plan"):
        refused(
            deployed.invoke(command, *arguments),
            "this deployment has no export bucket",
            "set export = { enabled = true } in the ddb-migrate module",
        )
    assert executions(deployed) == []


def test_an_export_time_on_a_deployment_that_scans_by_default_needs_source_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = with_export(tmp_path, monkeypatch)
    pitr_since(NOW - timedelta(days=2))
    moment = iso(NOW - timedelta(hours=1))

    without = deployed.invoke("run", "--no-follow", "--name", "r1", "--export-time", moment)
    fixed = deployed.invoke("run", "--no-follow", "--name", "r2", "--export-time", moment, "--source", "export")

    refused(without, "this deployment's runs Scan by default: add --source export")
    assert fixed.exit_code == 0, fixed.output
    assert executions(deployed) == ["r2"]


def test_a_new_export_needs_pitr_on_the_source_back_to_the_export_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = with_export(tmp_path, monkeypatch)
    a_day_ago = iso(NOW - timedelta(days=1))

    without_pitr = deployed.invoke("run", "--no-follow", "--name", "r1", "--source", "export")
    pitr_since(NOW - timedelta(hours=2))
    too_early = deployed.invoke("run", "--no-follow", "--name", "r2", "--source", "export", "--export-time", a_day_ago)
    inside = deployed.invoke(
        "run", "--no-follow", "--name", "r3", "--source", "export", "--export-time", iso(NOW - timedelta(hours=1))
    )

    refused(
        without_pitr,
        f"point-in-time recovery is not enabled on '{SOURCE}', and an export is made from it",
        f"aws dynamodb update-continuous-backups --table-name {SOURCE}",
        "--source scan",
    )
    refused(too_early, f"--export-time {a_day_ago[:-1]}.000Z is before the earliest time", "pick a later time")
    assert inside.exit_code == 0, inside.output
    assert executions(deployed) == ["r3"]


REUSE_REFUSALS: list[tuple[dict[str, Any], list[str]]] = [
    (
        {"Error": {"Code": "ExportNotFoundException", "Message": "Export not found"}},
        [f"there is no export {EXPORT_ARN}", f"aws dynamodb list-exports --table-arn {TABLE_ARN}"],
    ),
    (
        export_description(ExportStatus="FAILED", FailureCode="S3NoSuchBucket", FailureMessage="gone"),
        ["FAILED (S3NoSuchBucket: gone)", "drop --export-arn to export again"],
    ),
    (export_description(ExportType="INCREMENTAL_EXPORT"), ["is an incremental export", "pass a full export"]),
    (export_description(ExportFormat="ION"), ["is in ION and the worker reads DYNAMODB_JSON"]),
    (
        export_description(S3Bucket="someone-elses"),
        [f"is in s3://someone-elses/{PREFIX}/", f"the worker reads exports only under s3://{BUCKET}/{PREFIX}/"],
    ),
    (export_description(S3Prefix="elsewhere"), [f"the worker reads exports only under s3://{BUCKET}/{PREFIX}/"]),
]


@pytest.mark.parametrize(("answer", "fragments"), REUSE_REFUSALS)
def test_a_reused_export_must_be_complete_full_dynamodb_json_and_in_the_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: dict[str, Any], fragments: list[str]
) -> None:
    deployed = with_export(tmp_path, monkeypatch)
    answer_describe_export(lambda _: answer)

    refused(deployed.invoke("run", "--no-follow", "--export-arn", EXPORT_ARN), *fragments)

    assert executions(deployed) == []


def test_a_reused_export_of_the_same_name_in_another_account_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = with_export(tmp_path, monkeypatch)
    answer_describe_export(lambda _: export_description())
    elsewhere = EXPORT_ARN.replace(DEFAULT_ACCOUNT_ID, "210987654321")

    refused(
        deployed.invoke("run", "--no-follow", "--export-arn", elsewhere),
        f"is not an export of this deployment's source table {TABLE_ARN}",
    )
    assert executions(deployed) == []


# ----------------------------------------------------------------------------------------------------------------
# The execution input, and what run prints before it starts
# ----------------------------------------------------------------------------------------------------------------


def test_run_source_export_sends_source_and_time_and_says_it_exports_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = with_export(tmp_path, monkeypatch)
    pitr_since(NOW - timedelta(days=2))
    moment = (NOW - timedelta(hours=3)).replace(microsecond=0)

    result = deployed.invoke(
        "run", "--no-follow", "--name", "r1", "--source", "export", "--export-time", moment.isoformat()
    )

    assert result.exit_code == 0, result.output
    sent = started_input(deployed, "r1")
    assert sent["source"] == "export"
    assert sent["export_time"] == moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert "export_arn" not in sent
    announced = f"export: the run first exports the source as of {iso(moment)}"
    assert announced in result.output
    assert f"to s3://{BUCKET}/{PREFIX}/, and copies when the export is COMPLETED" in result.output
    assert "takes minutes to hours, whatever the table's capacity" in result.output
    assert result.output.index(announced) < result.output.index("starting r1")
    assert f"plan: {SOURCE} -> {TARGET}, from a point-in-time export of {SOURCE}" in result.output


def test_run_export_arn_sends_only_the_arn_and_says_it_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = with_export(tmp_path, monkeypatch)
    answer_describe_export(lambda _: export_description())

    result = deployed.invoke("run", "--no-follow", "--name", "r1", "--export-arn", EXPORT_ARN, "--json", "-")

    assert result.exit_code == 0, result.output
    assert {
        key: value for key, value in started_input(deployed, "r1").items() if "export" in key or key == "source"
    } == {"export_arn": EXPORT_ARN}, "the plan step infers source export from the ARN"
    assert f"export: reuses {EXPORT_ARN} (COMPLETED, as of 2026-01-31T12:00:00Z, 40 items)" in result.stderr
    assert "export cost: none (the reused export, 3,221,225,472 bytes (3.000 GB), was billed" in result.stderr


def test_the_deployments_default_source_applies_when_no_flag_names_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = with_export(tmp_path, monkeypatch, by_default=True)
    pitr_since(NOW - timedelta(days=2))

    default = deployed.invoke("run", "--no-follow", "--name", "r1")
    end_run(start_arn(deployed, "r1"), "SUCCEEDED")
    scan = deployed.invoke("run", "--no-follow", "--name", "r2", "--source", "scan")

    assert default.exit_code == 0, default.output
    assert scan.exit_code == 0, scan.output
    assert "source" not in started_input(deployed, "r1"), "the worker's DEFAULT_BACKFILL_SOURCE decides"
    assert "from a point-in-time export" in default.output
    assert started_input(deployed, "r2")["source"] == "scan"
    assert "from a point-in-time export" not in scan.output


def start_arn(deployed: Deployed, name: str) -> str:
    return str(deployed.output("state_machine_arn").replace(":stateMachine:", ":execution:") + f":{name}")


def test_a_scan_run_of_a_deployment_without_export_sends_no_source_fields(deployed: Deployed) -> None:
    result = deployed.invoke("run", "--no-follow", "--name", "r1")

    assert result.exit_code == 0, result.output
    assert not {"source", "export_arn", "export_time"} & set(started_input(deployed, "r1"))
    assert "export" not in result.output


# ----------------------------------------------------------------------------------------------------------------
# The plan: the export's cost next to the Scan's
# ----------------------------------------------------------------------------------------------------------------

# 50 GiB of 1 KB items on an on-demand source and target (us-east-1 list prices):
#   export: 50 GB x $0.10 = $5.0000; Scan: 50 GiB / 4 KB / 2 = 6,553,600 RCU = $0.8192
#   writes: 52,428,800 items x 1 WCU = $32.7680 either way
ITEMS = 50 * 1024 * 1024
SIZE = 50 * GB


def test_plan_source_export_shows_the_export_cost_no_source_reads_and_the_scan_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = with_export(tmp_path, monkeypatch)
    pitr_since(NOW - timedelta(days=2))
    reported_size(SOURCE, ITEMS, SIZE)

    result = deployed.invoke("plan", "--source", "export", "--json", "-")

    assert result.exit_code == 0, result.output
    text = result.stderr
    assert f"export cost: 53,687,091,200 bytes (50.000 GB) of {SOURCE} at $0.1/GB = $5.0000" in text
    assert (
        f"copy: 52,428,800 items from the export's data files; reads 0 RCU on {SOURCE}, writes 52,428,800 WCU" in text
    )
    assert f"total: 0 RCU (none on {SOURCE}), 52,428,800 WCU" in text
    assert "about $37.7680 (export $5.0000 + capacity $32.7680; prices us-east-1" in text
    assert f"scan instead (--source scan): reads 6,553,600 RCU on {SOURCE} (53,687,091,200 bytes / 4 KB / 2)" in text
    assert "about $33.5872" in text
    assert "AWS gives no figure for it (minutes to hours" in text
    assert "S3 adds a little" in text
    document = json.loads(result.stdout)
    assert document["source"] == "export"
    assert document["input"]["source"] == "export"
    assert document["run"]["source"] == "export"
    assert document["export"]["cost_usd"] == 5.0
    assert document["export"]["source_read_units"] == 0
    assert document["export"]["duration_seconds"] is None
    assert document["estimate"]["read_units"] == 0
    assert document["estimate"]["phases"][0]["read_units"] == 0
    assert document["comparison"] == {
        "scan": {
            "source_read_units": 6_553_600.0,
            "duration_seconds": 13107.2,
            "cost_usd": 33.5872,
        },
        "export": {
            "source_read_units": 0.0,
            "duration_seconds": 13107.2,
            "export_duration_seconds": None,
            "export_cost_usd": 5.0,
            "cost_usd": 37.768,
        },
    }
    assert executions(deployed) == []


def test_plan_of_a_scan_run_keeps_its_lines_and_adds_the_export_when_the_deployment_has_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = with_export(tmp_path, monkeypatch)
    reported_size(SOURCE, ITEMS, SIZE)

    result = deployed.invoke("plan", "--json", "-")

    assert result.exit_code == 0, result.output
    text = result.stderr
    assert f"plan: {SOURCE} -> {TARGET}, 4 segments" in text
    assert f"copy: 52,428,800 items; reads 6,553,600 RCU on {SOURCE}, writes 52,428,800 WCU on {TARGET}" in text
    assert f"export instead (--source export): reads 0 RCU on {SOURCE}; export 53,687,091,200 bytes" in text
    assert "= $5.0000, copy about 3.6 h after it, about $37.7680 in all" in text
    assert text.index("total: ") < text.index("export instead") < text.index("note: ")
    document = json.loads(result.stdout)
    assert document["source"] == "scan"
    assert document["comparison"]["export"]["cost_usd"] == 37.768


def test_the_export_price_flag_overrides_the_documented_price(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = with_export(tmp_path, monkeypatch)
    pitr_since(NOW - timedelta(days=2))
    reported_size(SOURCE, ITEMS, SIZE)

    document = json.loads(
        deployed.invoke("plan", "--source", "export", "--price-export-per-gb", "0.114", "--json", "-").stdout
    )

    assert document["export"]["price_per_gb"] == 0.114
    assert document["export"]["cost_usd"] == pytest.approx(5.7)


def test_the_scan_plan_of_a_deployment_without_export_is_unchanged(deployed: Deployed) -> None:
    reported_size(SOURCE, 40, 40 * 1500)

    result = deployed.invoke("plan", "--json", "-")

    assert result.exit_code == 0, result.output
    assert "export" not in result.stderr
    assert not {"source", "export", "comparison"} & set(json.loads(result.stdout))


def test_export_estimate_is_per_gb_of_table_size_and_reads_nothing() -> None:
    source = TableFacts.from_description(provisioned("src", 1000, 2 * GB, rcu=100, wcu=100))

    new = estimate_export(source)
    reused = estimate_export(source, reused_size_bytes=GB)

    assert EXPORT_PRICE_PER_GB == 0.10
    assert (new.size_gb, new.source_read_units) == (2.0, 0.0)
    assert new.cost_usd == pytest.approx(0.2)
    assert (reused.size_bytes, reused.cost_usd, reused.reused) == (GB, 0.0, True)


def test_export_run_writes_as_the_scan_run_but_reads_only_for_the_cleanup() -> None:
    source = TableFacts.from_description(provisioned("src", 10_000, 10_000 * 1500, rcu=10, wcu=10))
    target = TableFacts.from_description(provisioned("dst", 500, 500 * 1000, rcu=100, wcu=200, gsis=1))
    prices = Prices()
    budget = Budget(read={"src": 2.0, "dst": 50.0}, write={"dst": 100.0})

    scan = estimate_run(source, target, cleanup=True, prices=prices, budget=budget)
    export = estimate_export_run(source, target, cleanup=True, prices=prices, budget=budget)

    scan_copy, export_copy = scan.phases[-1], export.phases[-1]
    assert export.phases[0] == scan.phases[0], "the cleanup scans the target either way"
    assert export_copy.read_units == 0
    assert (export_copy.write_units, export_copy.index_write_units) == (
        scan_copy.write_units,
        scan_copy.index_write_units,
    )
    # 20,000 WCU + 20,000 in the GSI at the 100 WCU/s budget; the Scan is held to 2 RCU/s on the source instead.
    assert export_copy.duration_seconds == pytest.approx(400)
    assert "the write budget on dst" in export_copy.bottleneck
    assert "the read budget on src" in scan_copy.bottleneck
    assert export_copy.cost_usd == pytest.approx(scan_copy.cost_usd - 10_000 * 1500 / 4096 / 2 / 3600 * 0.00013)
    assert not any("src" in note and "budget" in note for note in export.notes), "the source's budget does not apply"


def test_an_export_run_of_an_on_demand_target_without_maximum_says_it_assumes_the_quota() -> None:
    source = TableFacts.from_description(on_demand("src", 10, 10_000))
    target = TableFacts.from_description(on_demand("dst", 0, 0))

    notes = estimate_export_run(source, target, cleanup=False).notes

    assert [note for note in notes if "on demand without a maximum" in note] == [
        next(note for note in notes if note.startswith("dst is on demand"))
    ]


# ----------------------------------------------------------------------------------------------------------------
# The summary of an export run: its time and the replication cutoff
# ----------------------------------------------------------------------------------------------------------------


def finished_export_run(deployed: Deployed, name: str, export_time: str) -> None:
    arn = start_run(deployed, name)
    end_run(arn, "SUCCEEDED")
    execution = stepfunctions_backends[DEFAULT_ACCOUNT_ID][REGION].describe_execution(arn)
    execution.output = json.dumps(
        {
            "run_id": name,
            "segments": 3,
            "written": 40,
            "source": "export",
            "export": {"arn": EXPORT_ARN, "export_time": export_time, "item_count": 40, "files": 3},
        }
    )


def test_the_summary_gives_the_export_time_and_a_cutoff_at_or_before_it_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = with_export(tmp_path, monkeypatch, replication=True)
    taken = iso(NOW - timedelta(hours=1))
    finished_export_run(deployed, "r1", taken)

    result = deployed.invoke("status", "r1", "--json", "-")

    assert result.exit_code == 0, result.output
    text = result.stderr
    assert re.search(rf"│ export arn +│ {EXPORT_ARN} +│", text), "a row per field of the export"
    assert re.search(r"│ export files +│ 3 +│", text)
    assert f"export: the target holds {SOURCE} as of {taken} (the export's time), from {EXPORT_ARN}" in text
    assert (
        f"changes before {taken} are in the export already; the consumer may replay some of them, which is harmless"
        in text
    )
    assert f"the cutoff 2024-05-01T12:00:00Z is at or before the export's time {taken}" in text
    assert "warning" not in text
    check = json.loads(result.stdout)["export_check"]
    assert (check["cutoff_ok"], check["warnings"], check["replication"]) == (True, [], True)


def test_a_cutoff_after_the_export_time_and_an_export_older_than_the_stream_are_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = with_export(tmp_path, monkeypatch, replication=True)
    taken = "2024-04-30T12:00:00Z"
    finished_export_run(deployed, "r1", taken)

    result = deployed.invoke("status", "r1", "--json", "-")

    assert result.exit_code == 0, result.output
    assert (
        f"warning: the replication cutoff 2024-05-01T12:00:00Z is after the export's time {taken}: the changes "
        "between them are in neither the export nor what the consumer applies" in result.stderr
    )
    assert f'replication.cutoff_timestamp = "{taken}" (or earlier)' in result.stderr
    assert "and DynamoDB Streams keeps changes 24 h: the changes since 2024-04-30T12:00:00Z reach the target" in (
        result.stderr
    )
    check = json.loads(result.stdout)["export_check"]
    assert check["cutoff_ok"] is False
    assert len(check["warnings"]) == 2


def test_without_a_cutoff_the_summary_says_older_changes_are_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = with_export(tmp_path, monkeypatch, replication=True, outputs={"replication_cutoff_timestamp": None})
    taken = iso(NOW - timedelta(hours=2))
    finished_export_run(deployed, "r1", taken)

    result = deployed.invoke("status", "r1")

    assert result.exit_code == 0, result.output
    assert f"no cutoff: the consumer applies every queued change, those before {taken} too" in result.output
    assert f'replication.cutoff_timestamp = "{taken}" would skip them' in result.output
    assert "warning" not in result.output


def test_without_replication_the_summary_only_gives_the_export_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed = with_export(tmp_path, monkeypatch)
    finished_export_run(deployed, "r1", "2024-04-30T12:00:00Z")

    result = deployed.invoke("status", "r1")

    assert result.exit_code == 0, result.output
    assert f"export: the target holds {SOURCE} as of 2024-04-30T12:00:00Z" in result.output
    assert "replication" not in result.output
    assert "warning" not in result.output


@pytest.mark.parametrize(
    ("age", "warned"),
    [(STREAM_RETENTION - timedelta(minutes=5), False), (STREAM_RETENTION + timedelta(minutes=5), True)],
)
def test_the_stream_retention_warning_starts_after_24_hours(age: timedelta, warned: bool) -> None:
    deployment = Deployment(
        state_machine_arn="arn",
        worker_function="worker",
        source_table=SOURCE,
        target_table=TARGET,
        state_table="state",
        default_total_segments=4,
        outputs={"replication_queue_url": "https://queue", "replication_cutoff_timestamp": None},
        terraform_dir=Path(),
    )

    report = summary_report({"arn": EXPORT_ARN, "export_time": iso(NOW - age)}, deployment, now=NOW)

    assert any("DynamoDB Streams keeps changes 24 h" in line for line in report.lines) is warned


def test_a_deployment_found_by_state_machine_says_the_cutoff_needs_the_terraform_outputs() -> None:
    deployment = Deployment(
        state_machine_arn="arn",
        worker_function="worker",
        source_table=SOURCE,
        target_table=TARGET,
        state_table="state",
        default_total_segments=4,
        outputs={},
    )

    report = summary_report({"arn": EXPORT_ARN, "export_time": iso(NOW - timedelta(hours=30))}, deployment, now=NOW)

    assert any("pass --terraform-dir to check it against the export's time" in line for line in report.lines)
    assert any(line.startswith("warning: if replication is in use, the export is 30 h old") for line in report.lines)
    assert report.document["replication"] is None
