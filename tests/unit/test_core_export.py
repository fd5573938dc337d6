"""Backfill from a point-in-time export: the manifests, the data files' lines, the line checkpoint, the copy of each
file as a segment, and the execution input's export fields. On moto, with exports written in DynamoDB's S3 layout
(tests.support.exports); the emulator's own export and the state machine around it are tested in tests/emulator
and tests/integration."""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import IncompleteReadError, ResponseStreamingError

from migration_core.attribute_values import item_to_json
from migration_core.errors import ExportFailed, InvalidInput
from migration_core.export import (
    ExportFileReader,
    client_token,
    line_position,
    lines_done,
    parse_line,
    parse_manifest_files,
    parse_manifest_summary,
    require_readable,
)
from migration_core.models import ExportSpec, RunSpec, SegmentRequest
from migration_core.retry import RetryPolicy
from migration_core.state import StateStore
from tests.support.backfill import EXPORT_PREFIX, make_service
from tests.support.exports import EXPORT_TIME, data_file, write_export
from tests.support.lambda_context import FakeLambdaContext
from tests.support.tables import REGION, STATE_TABLE, by_key, numbered_items, scan_all
from tests.unit.test_core_segment import EVERY_TYPE_ITEMS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

BUCKET = "exports-bucket"
EXPORT_ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/source/export/01764583200000-a1b2c3d4"
MIGRATED = [{"op": "set", "attribute": "migrated", "value": {"BOOL": True}}]
NO_SLEEP = RetryPolicy(max_attempts=4, sleep=lambda seconds: None, rng=random.Random(0))


@pytest.fixture
def s3(dynamodb: DynamoDBClient) -> S3Client:
    """moto's S3 with the export bucket (inside the same mock as ``dynamodb``)."""
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


def test_a_line_keeps_every_type_byte_for_byte() -> None:
    for item in EVERY_TYPE_ITEMS:
        line = json.dumps({"Item": item_to_json(item)}).encode()
        assert parse_line(line, "file line 1") == item


@pytest.mark.parametrize(
    "line",
    [b"not json", b'{"Items": {}}', b'{"Item": {}}', b"[1, 2]"],
    ids=["not-json", "no-item", "empty-item", "not-an-object"],
)
def test_a_line_that_is_not_an_exported_item_fails_naming_where(line: bytes) -> None:
    with pytest.raises(ExportFailed, match="s3://b/k line 7"):
        parse_line(line, "s3://b/k line 7")


def test_the_manifests_name_the_files_and_the_export_time() -> None:
    summary = json.dumps(
        {"exportTime": "2026-12-01T10:00:00.123Z", "manifestFilesS3Key": "p/m.json", "itemCount": 3}
    ).encode()
    files = b'{"itemCount":2,"md5Checksum":"x","etag":"y","dataFileS3Key":"p/data/a.json.gz"}\n\n' + (
        b'{"itemCount":1,"md5Checksum":"x","etag":"y","dataFileS3Key":"p/data/b.json.gz"}\n'
    )

    assert parse_manifest_summary(summary, "s") == ("p/m.json", "2026-12-01T10:00:00.123Z", 3)
    assert [(f.key, f.item_count) for f in parse_manifest_files(files, "f")] == [
        ("p/data/a.json.gz", 2),
        ("p/data/b.json.gz", 1),
    ]


@pytest.mark.parametrize(
    "summary",
    [
        b"{",
        b"[]",
        b'{"exportTime": "2026-12-01T10:00:00Z", "itemCount": 3}',
        b'{"exportTime": "yesterday", "manifestFilesS3Key": "k", "itemCount": 3}',
        b'{"exportTime": "2026-12-01T10:00:00Z", "manifestFilesS3Key": "k", "itemCount": 3, "outputFormat": "ION"}',
    ],
    ids=["truncated", "not-an-object", "no-files-key", "bad-time", "ion"],
)
def test_a_damaged_or_foreign_manifest_summary_is_refused(summary: bytes) -> None:
    with pytest.raises(ExportFailed, match="summary-key"):
        parse_manifest_summary(summary, "summary-key")


@pytest.mark.parametrize("line", [b"{", b'{"itemCount": 1}', b'{"itemCount": -1, "dataFileS3Key": "k"}'])
def test_a_damaged_manifest_files_line_is_refused_with_its_number(line: bytes) -> None:
    with pytest.raises(ExportFailed, match="files-key line 2"):
        parse_manifest_files(b'{"itemCount": 1, "dataFileS3Key": "k"}\n' + line, "files-key")


def test_the_client_token_is_the_run_id_or_a_stable_digest_within_dynamodbs_64_characters() -> None:
    assert client_token("run-1") == "run-1"
    long_id = "r" * 80
    assert client_token(long_id) == client_token(long_id)
    assert len(client_token(long_id)) == 64
    assert client_token("a.b") != client_token("a-b")


def test_a_checkpoint_is_a_line_count_and_nothing_else_passes_for_one() -> None:
    assert lines_done(None) == 0
    assert lines_done(line_position(12)) == 12
    for bad in ({"line": {"S": "1"}}, {"pk": {"S": "a"}}, {"line": {"N": "-1"}}, {"line": {"N": "1"}, "x": {"N": "2"}}):
        with pytest.raises(InvalidInput, match="checkpoint"):
            lines_done(bad)


def put_file(s3: S3Client, key: str, items: list[Any], blank_lines: bool = False) -> None:
    body = data_file(items)
    if blank_lines:
        body = gzip.compress(gzip.decompress(body).replace(b"\n", b"\n\n", 1))
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def test_a_data_file_is_read_in_pages_whose_positions_resume_it(s3: S3Client) -> None:
    items = numbered_items(7)
    put_file(s3, "f.json.gz", items)

    with ExportFileReader(s3, BUCKET, "f.json.gz", retry_policy=NO_SLEEP) as reader:
        pages = [reader.read(None, 3)]
        while pages[-1].last_evaluated_key is not None:
            pages.append(reader.read(pages[-1].last_evaluated_key, 3))

    assert [len(page.items) for page in pages] == [3, 3, 1]
    assert [page.last_evaluated_key for page in pages] == [line_position(3), line_position(6), None]
    assert [item for page in pages for item in page.items] == items
    assert all(page.consumed_rcu == 0 for page in pages), "an export is read from S3, not from the table"
    # Another invocation starts from a checkpoint: it skips the lines done.
    with ExportFileReader(s3, BUCKET, "f.json.gz", retry_policy=NO_SLEEP) as reader:
        assert reader.read(line_position(3), 3).items == items[3:6]


def test_blank_lines_count_for_the_position_but_carry_no_item(s3: S3Client) -> None:
    items = numbered_items(3)
    put_file(s3, "f.json.gz", items, blank_lines=True)

    with ExportFileReader(s3, BUCKET, "f.json.gz", retry_policy=NO_SLEEP) as reader:
        first = reader.read(None, 2)
        second = reader.read(first.last_evaluated_key, 2)

    assert first.items == items[:2]
    assert first.last_evaluated_key == line_position(3), "two items on three lines"
    assert second.items == items[2:]
    assert second.last_evaluated_key is None


def test_a_page_ends_at_about_the_page_bytes(s3: S3Client) -> None:
    items = numbered_items(50)
    put_file(s3, "f.json.gz", items)

    with ExportFileReader(s3, BUCKET, "f.json.gz", retry_policy=NO_SLEEP, page_bytes=200) as reader:
        page = reader.read(None, None)

    assert 1 <= len(page.items) < 50
    assert page.last_evaluated_key == line_position(len(page.items))


def test_a_checkpoint_beyond_the_file_fails_loudly(s3: S3Client) -> None:
    put_file(s3, "f.json.gz", numbered_items(2))

    with (
        ExportFileReader(s3, BUCKET, "f.json.gz", retry_policy=NO_SLEEP) as reader,
        pytest.raises(ExportFailed, match="has 2 lines, but the segment's checkpoint says 5"),
    ):
        reader.read(line_position(5), 10)


class BreakingBody:
    """An S3 response stream that breaks off after ``limit`` bytes, as a dropped connection does: botocore raises
    ResponseStreamingError (a BotoCoreError, not an OSError) for a reset in the middle of a body."""

    def __init__(self, data: bytes, limit: int, error: Exception | None = None) -> None:
        self._data = data
        self._offset = 0
        self._limit = limit
        self._error = error or ResponseStreamingError(error="connection reset by peer")

    def read(self, amount: int = -1) -> bytes:
        if self._offset >= self._limit and self._limit < len(self._data):
            raise self._error
        end = len(self._data) if amount < 0 else self._offset + amount
        end = min(end, self._limit)
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk


class FlakyS3:
    """S3 whose first GetObject stream breaks off with ``error``; the later ones are whole. Counts the calls."""

    def __init__(self, s3: S3Client, limit: int, error: Exception | None = None) -> None:
        self._s3 = s3
        self._limit = limit
        self._error = error
        self.calls = 0

    def get_object(self, **arguments: Any) -> dict[str, Any]:
        self.calls += 1
        data = self._s3.get_object(**arguments)["Body"].read()
        return {"Body": BreakingBody(data, self._limit if self.calls == 1 else len(data), self._error)}


@pytest.mark.parametrize(
    "error",
    [ResponseStreamingError(error="reset"), IncompleteReadError(actual_bytes=1, expected_bytes=2), OSError("reset")],
    ids=["response-streaming-error", "incomplete-read", "socket-error"],
)
def test_a_broken_stream_is_opened_again_and_no_line_is_lost_or_repeated(s3: S3Client, error: Exception) -> None:
    # Large enough that the first stream breaks in the middle of the file, after some lines were read.
    items = [{**item, "pad": {"S": f"{index:06d}" * 200}} for index, item in enumerate(numbered_items(300))]
    put_file(s3, "f.json.gz", items)
    flaky = FlakyS3(s3, limit=len(data_file(items)) // 2, error=error)
    slept: list[float] = []
    policy = dataclasses.replace(NO_SLEEP, sleep=slept.append)

    with ExportFileReader(flaky, BUCKET, "f.json.gz", retry_policy=policy) as reader:  # type: ignore[arg-type]
        pages = [reader.read(None, 40)]
        while pages[-1].last_evaluated_key is not None:
            pages.append(reader.read(pages[-1].last_evaluated_key, 40))

    assert [item for page in pages for item in page.items] == items
    assert flaky.calls == 2
    assert len(slept) == 1, "one backoff before opening the stream again"


def test_a_stream_that_keeps_breaking_fails_after_the_retry_budget(s3: S3Client) -> None:
    noise = random.Random(1)
    items = [{**item, "pad": {"S": noise.randbytes(1000).hex()}} for item in numbered_items(100)]
    put_file(s3, "f.json.gz", items)

    class AlwaysBreaking(FlakyS3):
        def get_object(self, **arguments: Any) -> dict[str, Any]:
            self.calls += 1
            return {"Body": BreakingBody(self._s3.get_object(**arguments)["Body"].read(), self._limit)}

    broken = AlwaysBreaking(s3, limit=2000)
    with (
        ExportFileReader(broken, BUCKET, "f.json.gz", retry_policy=NO_SLEEP) as reader,  # type: ignore[arg-type]
        pytest.raises(ExportFailed, match="kept failing after 4 attempts"),
    ):
        reader.read(None, None)


# --- the copy of an export's files, one segment each, through the worker's service on moto ---


def export_run(dynamodb: DynamoDBClient, s3: S3Client, files: list[list[Any]], **execution_input: Any) -> Any:
    """Plan a run with source export, and record its export as the export steps do once it completed."""
    service = make_service(
        dynamodb, export_bucket=BUCKET, scan_page_limit=execution_input.pop("page", None), transform_steps=MIGRATED
    )
    planned = service.plan({"source": "export", **execution_input}, "run-1")
    run = RunSpec.from_event(json.loads(json.dumps(planned["run"])))
    summary_key = write_export(s3, BUCKET, EXPORT_PREFIX, files, "01764583200000-a1b2c3d4")
    assert summary_key.startswith(f"{EXPORT_PREFIX}/AWSDynamoDB/")
    assert run.export is not None
    export = dataclasses.replace(
        run.export, arn=EXPORT_ARN, export_time=EXPORT_TIME, item_count=sum(map(len, files)), files=len(files)
    )
    run = dataclasses.replace(run, total_segments=max(1, len(files)), export=export)
    data_files = [
        (f"{EXPORT_PREFIX}/AWSDynamoDB/01764583200000-a1b2c3d4/data/file{n:03d}.json.gz", len(f))
        for n, f in enumerate(files)
    ]
    StateStore(dynamodb, STATE_TABLE).record_export(run, data_files, NO_SLEEP)
    return service, RunSpec.from_event(json.loads(json.dumps(run.to_event())))


def copy_segment(service: Any, run: RunSpec, segment: int, context: Any = None) -> Iterator[dict[str, Any]]:
    """The child state machine's loop over one segment: invoke, hand the position back, until done."""
    start_key = None
    while True:
        event = json.loads(
            json.dumps({"run": run.to_event(), "phase": "copy", "segment": segment, "start_key": start_key})
        )
        lambda_context = context() if context is not None else FakeLambdaContext()
        result = service.run_segment(SegmentRequest.from_event(event), lambda_context.get_remaining_time_in_millis)
        answer = json.loads(json.dumps(result.to_event()))
        yield answer
        if answer["done"]:
            return
        start_key = answer["last_evaluated_key"]


def test_each_data_file_is_a_segment_copied_through_the_transform(
    dynamodb: DynamoDBClient, s3: S3Client, backfill_tables: tuple[str, str, str]
) -> None:
    items = numbered_items(25)
    files = [items[:10], EVERY_TYPE_ITEMS, items[10:]]
    service, run = export_run(dynamodb, s3, files)

    results = [result for segment in range(3) for result in copy_segment(service, run, segment)]

    assert sum(r["scanned"] for r in results) == 28
    assert sum(r["written"] for r in results) == 28
    assert sum(r["consumed_rcu"] for r in results) == 0, "nothing is read from the source table"
    expected = [{**item, "migrated": {"BOOL": True}} for item in items + EVERY_TYPE_ITEMS]
    assert by_key(scan_all(dynamodb, "target")) == by_key(expected)
    summary = service.summarize(run)
    assert summary["source"] == "export"
    assert summary["export"] == {"arn": EXPORT_ARN, "export_time": EXPORT_TIME, "item_count": 28, "files": 3}
    assert summary["written"] == 28


def test_an_export_segment_stops_between_pages_and_resumes_from_its_line(
    dynamodb: DynamoDBClient, s3: S3Client, backfill_tables: tuple[str, str, str]
) -> None:
    items = numbered_items(45)
    service, run = export_run(dynamodb, s3, [items], page=10)

    # 70 s left and 3 s less at every check, against a 60 s margin: a few pages per invocation.
    results = list(
        copy_segment(service, run, 0, context=lambda: FakeLambdaContext(remaining_ms=70_000, ms_per_call=3_000))
    )

    assert len(results) >= 2
    for result in results[:-1]:
        assert result["last_evaluated_key"]["line"]["N"] == str(
            sum(r["scanned"] for r in results[: results.index(result) + 1])
        )
    assert sum(r["written"] for r in results) == 45, "no line written twice, none skipped"
    assert by_key(scan_all(dynamodb, "target")) == by_key([{**i, "migrated": {"BOOL": True}} for i in items])


def test_an_export_without_data_files_is_one_empty_segment(
    dynamodb: DynamoDBClient, s3: S3Client, backfill_tables: tuple[str, str, str]
) -> None:
    service, run = export_run(dynamodb, s3, [])

    (result,) = copy_segment(service, run, 0)

    assert result["done"] is True
    assert result["scanned"] == 0
    assert run.total_segments == 1


def test_a_segment_without_its_file_record_fails_instead_of_copying_nothing(
    dynamodb: DynamoDBClient, s3: S3Client, backfill_tables: tuple[str, str, str]
) -> None:
    service, run = export_run(dynamodb, s3, [numbered_items(2)])
    dynamodb.delete_item(TableName=STATE_TABLE, Key={"pk": {"S": "run-1"}, "sk": {"S": "file#0000000"}})

    with pytest.raises(ExportFailed, match="no data file is recorded for segment 0"):
        list(copy_segment(service, run, 0))


# --- the execution input's export fields ---


def test_a_run_with_source_export_carries_the_deployments_bucket_and_survives_json(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    service = make_service(dynamodb, export_bucket=BUCKET)

    event = service.plan({"source": "export", "export_time": "2026-12-01T11:00:00+01:00"}, "run-1")["run"]

    assert event["source"] == "export"
    assert event["export"]["bucket"] == BUCKET
    assert event["export"]["prefix"] == EXPORT_PREFIX
    assert event["export"]["requested_time"] == "2026-12-01T10:00:00.000Z"
    assert RunSpec.from_event(json.loads(json.dumps(event))).to_event() == event
    scan = service.plan({}, "run-2")["run"]
    assert "source" not in scan, "a Scan run keeps the shape it had before exports"
    assert "export" not in scan
    reused = service.plan({"export_arn": EXPORT_ARN}, "run-3")["run"]
    assert reused["source"] == "export"
    assert reused["export"]["arn"] == EXPORT_ARN


@pytest.mark.parametrize(
    ("execution_input", "message"),
    [
        ({"source": "s3"}, "source must be one of scan, export"),
        ({"source": "scan", "export_arn": EXPORT_ARN}, "export_arn only applies to a copy with source export"),
        ({"export_time": "2026-12-01T10:00:00Z"}, "export_time only applies"),
        ({"source": "export", "mode": "verify"}, "a verify reads the live tables"),
        ({"export_arn": EXPORT_ARN, "export_time": "2026-12-01T10:00:00Z"}, "a reused export has its own time"),
        ({"export_arn": "arn:aws:dynamodb:us-east-1:1:table/source"}, "export_arn must be a DynamoDB export ARN"),
        ({"source": "export", "export_time": "2026-12-01T10:00:00"}, "with its zone"),
        ({"source": "export", "export_time": "soon"}, "ISO 8601"),
    ],
)
def test_export_fields_are_refused_where_they_do_not_apply(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str], execution_input: dict[str, Any], message: str
) -> None:
    service = make_service(dynamodb, export_bucket=BUCKET)

    with pytest.raises(InvalidInput, match=message):
        service.plan(execution_input, "run-1")


def test_source_export_is_refused_by_a_deployment_without_an_export_bucket(
    dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]
) -> None:
    service = make_service(dynamodb)

    with pytest.raises(InvalidInput, match=r"set export = \{ enabled = true \}"):
        service.plan({"source": "export"}, "run-1")


def test_a_resumed_export_run_reads_the_same_export_and_a_scan_run_cannot_resume_it(
    dynamodb: DynamoDBClient, s3: S3Client, backfill_tables: tuple[str, str, str]
) -> None:
    service, _ = export_run(dynamodb, s3, [numbered_items(3)])

    resumed = service.plan({"source": "export", "resume_run_id": "run-1"}, "run-1-resume")["run"]

    assert resumed["run_id"] == "run-1"
    assert resumed["export"]["arn"] == EXPORT_ARN
    with pytest.raises(InvalidInput, match="a resumed run must read it the same way"):
        service.plan({"resume_run_id": "run-1"}, "run-1-resume-2")


def test_an_export_spec_refuses_malformed_fields() -> None:
    good = ExportSpec(bucket="b", prefix="p").to_event()
    assert ExportSpec.from_event(good) == ExportSpec(bucket="b", prefix="p")
    for field, value in (("bucket", ""), ("arn", 5), ("files", -1), ("item_count", True), ("bucket_owner", None)):
        with pytest.raises(InvalidInput, match=f"run.export.{field}"):
            ExportSpec.from_event({**good, field: value})
    with pytest.raises(InvalidInput, match="needs its export settings"):
        RunSpec(run_id="r", source_table="s", target_table="t", total_segments=1, source="export")


def test_a_data_file_whose_items_differ_from_the_manifests_count_fails_at_its_end(s3: S3Client) -> None:
    put_file(s3, "f.json.gz", numbered_items(3))

    with ExportFileReader(s3, BUCKET, "f.json.gz", retry_policy=NO_SLEEP, item_count=4) as reader:
        first = reader.read(None, 2)
        with pytest.raises(ExportFailed, match=r"holds 3 items, but manifest-files\.json counts 4"):
            reader.read(first.last_evaluated_key, 2)
    # The count covers the lines skipped to resume, too.
    with ExportFileReader(s3, BUCKET, "f.json.gz", retry_policy=NO_SLEEP, item_count=3) as reader:
        assert len(reader.read(line_position(2), 5).items) == 1


def test_an_export_run_in_place_is_refused(dynamodb: DynamoDBClient, backfill_tables: tuple[str, str, str]) -> None:
    service = make_service(dynamodb, target="source", export_bucket=BUCKET)

    with pytest.raises(InvalidInput, match="refused for an in-place run"):
        service.plan({"source": "export"}, "run-1")


def test_a_resumed_export_run_takes_no_other_export(
    dynamodb: DynamoDBClient, s3: S3Client, backfill_tables: tuple[str, str, str]
) -> None:
    service, _ = export_run(dynamodb, s3, [numbered_items(3)])
    other = EXPORT_ARN.replace("a1b2c3d4", "ffffffff")

    for extra in ({"export_arn": other}, {"export_time": "2026-12-01T09:00:00Z"}):
        with pytest.raises(InvalidInput, match="takes neither another export_arn nor an export_time"):
            service.plan({"source": "export", "resume_run_id": "run-1", **extra}, "run-1-resume")


@pytest.mark.parametrize(
    ("description", "problem"),
    [
        ({"ExportFormat": "ION"}, "its format is ION"),
        ({"ExportType": "INCREMENTAL_EXPORT"}, "not a FULL_EXPORT"),
        ({"S3Bucket": "elsewhere"}, "outside the deployment's"),
        ({"S3Prefix": "exports/ddb-migrate-other"}, "outside the deployment's"),
    ],
)
def test_a_reused_export_the_worker_cannot_read_is_refused(description: dict[str, Any], problem: str) -> None:
    spec = ExportSpec(bucket=BUCKET, prefix=EXPORT_PREFIX)
    readable = {
        "ExportFormat": "DYNAMODB_JSON",
        "ExportType": "FULL_EXPORT",
        "S3Bucket": BUCKET,
        "S3Prefix": EXPORT_PREFIX,
    }
    require_readable(EXPORT_ARN, {**readable, "S3Prefix": f"{EXPORT_PREFIX}/older"}, spec)

    with pytest.raises(InvalidInput, match=problem):
        require_readable(EXPORT_ARN, {**readable, **description}, spec)
