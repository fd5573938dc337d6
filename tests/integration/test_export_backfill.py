"""A backfill from a point-in-time export while the application writes, then the drain: target == transform(source).

The deployed state machine exports the source (ExportTableToPointInTime, the Wait/DescribeExport loop), reads the
export's manifests and copies each data file as a segment with the demo's key-changing transform; the consumer then
drains every change queued since before the export. On the embedded emulator, CloudWatch's
ConsumedReadCapacityUnits of the source (which the emulator publishes from the capacity each request consumed,
as DynamoDB does) shows that the backfill read nothing through the source table's capacity.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from ddbmigrate.aws import client
from devtools.demo import Demo, DemoReport
from devtools.tables import scan_all
from devtools.workload import LiveWorkload
from tests.integration.test_live_migration import expected_target
from tests.support.live import USE_EMULATOR
from tests.support.tables import by_key, normalize


def read_units(table: str, since: datetime) -> float:
    """The table's ConsumedReadCapacityUnits since ``since``, from CloudWatch."""
    now = datetime.now(UTC)
    datapoints = client("cloudwatch").get_metric_statistics(
        Namespace="AWS/DynamoDB",
        MetricName="ConsumedReadCapacityUnits",
        Dimensions=[{"Name": "TableName", "Value": table}],
        StartTime=since - timedelta(minutes=1),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    return float(sum(point["Sum"] for point in datapoints))


@pytest.mark.not_on_localstack(
    reason="LocalStack's DynamoDB stand-in is moto, whose export writes one data file and no manifests"
)
def test_an_export_backfill_racing_live_writes_converges_and_reads_nothing_from_the_source(
    aws_endpoint: str | None, tmp_path: Path
) -> None:
    demo = Demo(
        items=2_000,
        segments=4,
        workload_rate=30,
        workdir=tmp_path,
        console=Console(width=160),
        use_emulator=False,
        source="export",
    )
    report = DemoReport(items=demo.items, segments=demo.segments)
    started = datetime.now(UTC)
    stack = demo.prepare_tables(report)
    demo.apply(stack, report)

    with LiveWorkload(demo.source_table, demo.items, rate=demo.workload_rate) as workload:
        demo.backfill(stack, report)
        backfill_reads = read_units(demo.source_table, started)
        demo.drain(stack, report)
        stats = workload.stop()
    status = demo.wait_for_empty_queue(stack)
    verify = demo.verify(stack)

    assert stats.errors == []
    assert stats.inserts > 0
    assert stats.updates > 0
    assert stats.deletes > 0
    assert report.backfill_written > 0
    assert status["dlq"]["visible"] + status["dlq"]["in_flight"] == 0
    source = scan_all(demo.source_table)
    expected = {(item["target_pk"]["S"],): normalize(item) for item in map(expected_target, source)}
    assert by_key(scan_all(demo.target_table), "target_pk") == expected
    assert verify.get("clean") is True, verify
    if USE_EMULATOR:
        # On AWS CloudWatch publishes DynamoDB's metrics a minute or more late, so only the emulator's are read.
        assert backfill_reads == 0, "the export backfill read through the source table's capacity"
        assert read_units(demo.source_table, started) > 0, "verify's reads of the source show in the same metric"
