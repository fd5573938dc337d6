"""Backfill from a point-in-time export: start or reuse the export, read its manifests, stream its data files.

DynamoDB exports a table from its point-in-time-recovery backup into S3 without consuming the table's read
capacity. An export in DYNAMODB_JSON writes (AWS documentation, "DynamoDB table export output format"):

    <prefix>/AWSDynamoDB/<export id>/manifest-summary.json   what the export is, and where manifest-files.json is
    <prefix>/AWSDynamoDB/<export id>/manifest-files.json     one JSON line per data file: its key and item count
    <prefix>/AWSDynamoDB/<export id>/data/<name>.json.gz     one JSON line per item: {"Item": {...}}

Each data file is one segment of the copy. A gzip stream cannot be entered in the middle, so a segment's
checkpoint is the number of lines already written, and an invocation that resumes one reads the file again from
its start and skips them: decompressing is far cheaper than writing.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from migration_core.clock import iso_timestamp, parse_iso_timestamp
from migration_core.errors import ExportFailed, InvalidInput
from migration_core.models import ExportSpec, RunSpec
from migration_core.retry import RetryPolicy, is_retryable
from migration_core.segment import ScanPage
from migration_core.types import Item
from migration_core.wire import decode_item

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

# About as much as a Scan page (1 MB): the export's JSON text is larger than the items it holds, so a page of
# lines carries somewhat less than a Scan page does.
PAGE_BYTES = 1024 * 1024
# DynamoDB's ClientToken is at most 64 characters; the run id (an execution name) may be 80.
CLIENT_TOKEN_CHARS = 64
LINE_FIELD = "line"
_T = TypeVar("_T")


@dataclass(frozen=True)
class ExportStatus:
    arn: str
    status: str

    def to_event(self) -> dict[str, Any]:
        return {"export": {"arn": self.arn, "status": self.status}}


@dataclass(frozen=True)
class DataFile:
    key: str
    item_count: int


@dataclass(frozen=True)
class Manifest:
    export_time: str
    item_count: int
    files: tuple[DataFile, ...]


def client_token(run_id: str) -> str:
    """The same token for every attempt of the run's export step, so a retried call does not start a second export."""
    if len(run_id) <= CLIENT_TOKEN_CHARS and all(c.isalnum() or c in "-_" for c in run_id):
        return run_id
    return hashlib.sha256(run_id.encode()).hexdigest()[:CLIENT_TOKEN_CHARS]


def line_position(lines_done: int) -> Item:
    """A data file's checkpoint in the form of a Scan's LastEvaluatedKey, which the checkpoint code stores."""
    return {LINE_FIELD: {"N": str(lines_done)}}


def lines_done(position: Item | None) -> int:
    if position is None:
        return 0
    value = position.get(LINE_FIELD, {})
    text = value.get("N") if isinstance(value, dict) else None
    if not isinstance(text, str) or not text.isdigit() or len(position) != 1:
        raise InvalidInput(f"an export segment's checkpoint is {{'line': {{'N': <lines>}}}}, got {position!r}")
    return int(text)


def parse_line(line: bytes, source: str) -> Item:
    """One item of a DYNAMODB_JSON data file; ``source`` names the file and line for the error."""
    try:
        record = json.loads(line)
    except ValueError as error:
        raise ExportFailed(f"{source}: not a JSON line of a DYNAMODB_JSON export: {error}") from error
    item = record.get("Item") if isinstance(record, dict) else None
    if not isinstance(item, dict) or not item:
        raise ExportFailed(f'{source}: expected {{"Item": {{...}}}} (a DYNAMODB_JSON export), got {line[:200]!r}')
    decode_item(item)
    return item


def parse_manifest_summary(text: bytes, key: str) -> tuple[str, str, int]:
    """manifest-summary.json: (the key of manifest-files.json, the export time, the item count)."""
    try:
        summary = json.loads(text)
    except ValueError as error:
        raise ExportFailed(f"{key}: not an export's manifest-summary.json: {error}") from error
    if not isinstance(summary, dict):
        raise ExportFailed(f"{key}: not an export's manifest-summary.json (not a JSON object)")
    files_key, export_time, item_count = (
        summary.get(name) for name in ("manifestFilesS3Key", "exportTime", "itemCount")
    )
    if not isinstance(files_key, str) or not isinstance(export_time, str) or not isinstance(item_count, int):
        raise ExportFailed(f"{key}: manifestFilesS3Key, exportTime and itemCount must be a key, a time and a count")
    if summary.get("outputFormat", "DYNAMODB_JSON") != "DYNAMODB_JSON":
        raise ExportFailed(
            f"{key}: the export's format is {summary['outputFormat']}; the backfill reads DYNAMODB_JSON exports"
        )
    try:
        moment = parse_iso_timestamp(export_time)
    except ValueError as error:
        raise ExportFailed(f"{key}: exportTime {export_time!r} is not an ISO 8601 time") from error
    return files_key, iso_timestamp(moment), item_count


def parse_manifest_files(text: bytes, key: str) -> list[DataFile]:
    """manifest-files.json: one JSON object per line, each naming a data file."""
    files: list[DataFile] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as error:
            raise ExportFailed(f"{key} line {number}: not a manifest-files.json entry: {error}") from error
        data_key = entry.get("dataFileS3Key") if isinstance(entry, dict) else None
        count = entry.get("itemCount") if isinstance(entry, dict) else None
        if not isinstance(data_key, str) or not data_key or not isinstance(count, int) or count < 0:
            raise ExportFailed(f"{key} line {number}: expected dataFileS3Key and itemCount, got {line[:200]!r}")
        files.append(DataFile(data_key, count))
    return files


class ExportSteps:
    """The state machine's export steps: start (or reuse) the export, follow it, and list its data files."""

    def __init__(self, client: DynamoDBClient, s3: Callable[[], S3Client], source_table_arn: Callable[[], str]) -> None:
        self._client = client
        self._s3 = s3
        self._source_table_arn = source_table_arn

    def start(self, run: RunSpec) -> ExportStatus:
        export = _export_of(run)
        if export.arn is not None:
            return self._describe(export.arn, export)
        arguments: dict[str, Any] = {
            "TableArn": self._source_table_arn(),
            "S3Bucket": export.bucket,
            "S3Prefix": export.prefix,
            "ExportFormat": "DYNAMODB_JSON",
            "ExportType": "FULL_EXPORT",
            "ClientToken": client_token(run.run_id),
        }
        # Always named: DynamoDB then refuses to write the table into a bucket of that name owned by someone else.
        arguments["S3BucketOwner"] = self.bucket_owner(export)
        if export.requested_time is not None:
            arguments["ExportTime"] = parse_iso_timestamp(export.requested_time)
        try:
            response = self._client.export_table_to_point_in_time(**arguments)
        except ClientError as error:
            raise _refusal(error, run) from error
        description = response["ExportDescription"]
        return _status(description)

    def status(self, run: RunSpec, export: Any) -> ExportStatus:
        return self._describe(_arn_of(export), _export_of(run))

    def files(self, run: RunSpec, export: Any) -> tuple[RunSpec, Manifest]:
        """The run as the copy needs it (one segment per data file), and the export's manifest."""
        spec = _export_of(run)
        arn = _arn_of(export)
        description = self._client.describe_export(ExportArn=arn)["ExportDescription"]
        if description.get("ExportStatus") != "COMPLETED":
            raise ExportFailed(f"export {arn} is {description.get('ExportStatus')}, not COMPLETED")
        bucket = description.get("S3Bucket", spec.bucket)
        summary_key = description.get("ExportManifest")
        if not summary_key:
            raise ExportFailed(f"export {arn} is COMPLETED but names no manifest (ExportManifest)")
        files_key, export_time, item_count = parse_manifest_summary(self._get(bucket, summary_key, spec), summary_key)
        files = parse_manifest_files(self._get(bucket, files_key, spec), files_key)
        listed = sum(data_file.item_count for data_file in files)
        if listed != item_count:
            raise ExportFailed(
                f"export {arn}: manifest-files.json lists {listed} items in {len(files)} files, but "
                f"manifest-summary.json counts {item_count}; the export is incomplete or damaged"
            )
        manifest = Manifest(export_time=export_time, item_count=item_count, files=tuple(files))
        done = replace(
            spec,
            bucket=bucket,
            arn=arn,
            export_time=export_time,
            item_count=item_count,
            files=len(files),
        )
        # An export of an empty table may have no data file; its one segment then reads nothing.
        return replace(run, total_segments=max(1, len(files)), export=done), manifest

    def bucket_owner(self, export: ExportSpec) -> str:
        """The account the export bucket must belong to: the deployment's setting, else the source table's account."""
        return export.bucket_owner or self._source_table_arn().split(":")[4]

    def _describe(self, arn: str, spec: ExportSpec) -> ExportStatus:
        try:
            description = self._client.describe_export(ExportArn=arn)["ExportDescription"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ExportNotFoundException":
                raise InvalidInput(f"export {arn} does not exist (or not in this account and region)") from error
            raise
        table_arn = self._source_table_arn()
        if description.get("TableArn") not in (None, table_arn):
            raise InvalidInput(
                f"export {arn} is of table {description.get('TableArn')}, not of the source table {table_arn}"
            )
        require_readable(arn, description, spec)
        return _status(description)

    def _get(self, bucket: str, key: str, spec: ExportSpec) -> bytes:
        return _object_body(self._s3(), bucket, key, self.bucket_owner(spec)).read()


def _object_body(s3: S3Client, bucket: str, key: str, bucket_owner: str) -> StreamingBody:
    # ExpectedBucketOwner makes S3 refuse a bucket that changed hands (a deleted bucket's name taken by another
    # account) instead of handing the worker someone else's objects.
    if bucket_owner:
        return s3.get_object(Bucket=bucket, Key=key, ExpectedBucketOwner=bucket_owner)["Body"]
    return s3.get_object(Bucket=bucket, Key=key)["Body"]


def require_readable(arn: str, description: Any, spec: ExportSpec) -> None:
    """A reused export must be one the worker can read: a full DYNAMODB_JSON export under the deployment's prefix."""
    problems = []
    if description.get("ExportFormat", "DYNAMODB_JSON") != "DYNAMODB_JSON":
        problems.append(f"its format is {description['ExportFormat']}, not DYNAMODB_JSON")
    if description.get("ExportType", "FULL_EXPORT") != "FULL_EXPORT":
        problems.append(f"it is an {description['ExportType']}, not a FULL_EXPORT")
    bucket, prefix = description.get("S3Bucket"), description.get("S3Prefix") or ""
    if bucket != spec.bucket or (prefix != spec.prefix and not prefix.startswith(f"{spec.prefix}/")):
        problems.append(
            f"it is in s3://{bucket}/{prefix}, outside the deployment's s3://{spec.bucket}/{spec.prefix}/, which is "
            "all the worker may read"
        )
    if problems:
        raise InvalidInput(f"export {arn} cannot be copied: {'; '.join(problems)}")


def _arn_of(export: Any) -> str:
    arn = export.get("arn") if isinstance(export, dict) else None
    if not isinstance(arn, str):
        raise InvalidInput(f"'export' must be the object the export step returned, got {export!r}")
    return arn


def _export_of(run: RunSpec) -> ExportSpec:
    if run.export is None:
        raise InvalidInput(f"run {run.run_id} does not read from an export (its source is {run.source})")
    return run.export


def _status(description: Any) -> ExportStatus:
    arn, status = description["ExportArn"], description.get("ExportStatus", "")
    if status == "FAILED":
        raise ExportFailed(
            f"export {arn} failed: {description.get('FailureCode', 'no failure code')}: "
            f"{description.get('FailureMessage', 'no message')}"
        )
    return ExportStatus(arn=arn, status=status)


def _refusal(error: ClientError, run: RunSpec) -> Exception:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    if code == "PointInTimeRecoveryUnavailableException":
        return InvalidInput(
            f"table {run.source_table!r} cannot be exported: point-in-time recovery is off. Turn it on "
            f"(aws dynamodb update-continuous-backups --table-name {run.source_table} "
            "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true), or run with source scan"
        )
    if code == "InvalidExportTimeException":
        return InvalidInput(f"export_time is outside the table's point-in-time-recovery window: {message}")
    if code in ("ExportConflictException", "IdempotentParameterMismatchException"):
        return InvalidInput(
            f"DynamoDB refused the export ({code}: {message}): an export with this run's client token and other "
            "settings exists; start a new run"
        )
    return error


class ExportFileReader:
    """One data file, page by page; a page's position is the number of the file's lines done after it.

    Reads go through S3's response stream; a stream that breaks off is opened again and the lines already read
    are skipped, with capped exponential backoff and full jitter between attempts.
    """

    def __init__(
        self,
        s3: S3Client,
        bucket: str,
        key: str | None,
        *,
        retry_policy: RetryPolicy,
        bucket_owner: str = "",
        item_count: int | None = None,
        page_bytes: int = PAGE_BYTES,
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._key = key
        self._retry_policy = retry_policy
        self._bucket_owner = bucket_owner
        self._page_bytes = page_bytes
        self._lines: Iterator[bytes] | None = None
        self._stream: IO[bytes] | None = None
        self._line = 0
        self._pending: bytes | None = None
        # The manifest's count of the file's items, checked at its end; items seen so far, skipped ones included.
        self._item_count = item_count
        self._items = 0

    def __enter__(self) -> ExportFileReader:
        return self

    def __exit__(self, *_: object) -> None:
        self._close()

    def read(self, position: Item | None, limit: int | None) -> ScanPage:
        start = lines_done(position)
        if self._key is None:
            return ScanPage(items=[], last_evaluated_key=None, consumed_rcu=0.0)
        if self._lines is None or self._line != start:
            self._open_at(start)
        items: list[Item] = []
        size = 0
        while limit is None or len(items) < limit:
            line = self._next_line()
            if line is None:
                break
            self._line += 1
            if line.strip():
                items.append(parse_line(line, f"s3://{self._bucket}/{self._key} line {self._line}"))
                self._items += 1
                size += len(line)
            if size >= self._page_bytes:
                break
        more = self._peek() is not None
        if not more and self._item_count is not None and self._items != self._item_count:
            raise ExportFailed(
                f"s3://{self._bucket}/{self._key} holds {self._items} items, but manifest-files.json counts "
                f"{self._item_count}: the data file is not the one the export wrote"
            )
        return ScanPage(items=items, last_evaluated_key=line_position(self._line) if more else None, consumed_rcu=0.0)

    def _next_line(self) -> bytes | None:
        line = self._peek()
        self._pending = None
        return line

    def _peek(self) -> bytes | None:
        if self._pending is None:
            self._pending = self._read_line()
        return self._pending or None

    def _read_line(self) -> bytes:
        return self._retrying(self._next_raw, "reading the next line")

    def _next_raw(self) -> bytes:
        if self._lines is None:
            # The stream broke off: open the file again where it was.
            self._open_once(self._line)
        assert self._lines is not None  # noqa: S101 - _open_once set it
        return next(self._lines, b"")

    def _open_at(self, start: int) -> None:
        self._retrying(lambda: self._open_once(start), f"opening it at line {start}")

    def _retrying(self, action: Callable[[], _T], what: str) -> _T:
        """Run a read of the stream; when the stream breaks off, open it again where it was and retry."""
        attempt = 0
        while True:
            try:
                return action()
            except (OSError, EOFError, BotoCoreError, ClientError) as error:
                # A stream that breaks off mid-body is a botocore ResponseStreamingError or IncompleteReadError
                # (BotoCoreError), or an OSError from the socket; a refused GetObject is a ClientError.
                if isinstance(error, ClientError) and not is_retryable(error):
                    raise
                if attempt + 1 >= self._retry_policy.max_attempts:
                    raise ExportFailed(
                        f"s3://{self._bucket}/{self._key}: {what} at line {self._line + 1} kept failing after "
                        f"{attempt + 1} attempts: {error!r}"
                    ) from error
                self._close()
                self._retry_policy.backoff(attempt)
                attempt += 1

    def _open_once(self, start: int) -> None:
        """Open the file and skip ``start`` lines; the position moves only once they are all skipped."""
        self._close()
        assert self._key is not None  # noqa: S101 - read() returns before opening a file that does not exist
        body = _object_body(self._s3, self._bucket, self._key, self._bucket_owner)
        stream = io.BufferedReader(gzip.GzipFile(fileobj=body, mode="rb"))
        self._stream = stream
        lines = iter(stream)
        skipped = items = 0
        while skipped < start:
            line = next(lines, None)
            if line is None:
                raise ExportFailed(
                    f"s3://{self._bucket}/{self._key} has {skipped} lines, but the segment's checkpoint says "
                    f"{start} were written: the data file changed under the run"
                )
            skipped += 1
            items += 1 if line.strip() else 0
        self._lines, self._line, self._items = lines, start, items

    def _close(self) -> None:
        if self._stream is not None:
            # Closing a stream that broke off may fail the same way; it is being dropped either way.
            with contextlib.suppress(OSError, BotoCoreError):
                self._stream.close()
        self._stream = None
        self._lines = None
        self._pending = None
