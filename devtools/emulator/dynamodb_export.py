"""DynamoDB's export to S3 (ExportTableToPointInTime, DescribeExport, ListExports) as DynamoDB does it.

moto writes one data file named ``<uuid>.gz`` and no manifest, names the export
``table/<table ARN>/import/<uuid>``, ignores ExportTime, ClientToken and the encryption settings, answers no
StartTime, EndTime, ExportTime or ExportManifest, and finishes on a thread that may complete before the caller
ever sees IN_PROGRESS. A backfill that reads an export the way it reads one on AWS cannot run on that.

What the emulator does instead (developer guide, "DynamoDB table export output format"; API reference,
ExportTableToPointInTime and ExportDescription):

- **Request.** ExportArn ``arn:<partition>:dynamodb:<region>:<account>:table/<Table>/export/<ExportId>`` with
  ExportId ``<epoch milliseconds, 14 digits>-<8 hex digits>``. Refused as DynamoDB refuses: an unknown table
  (TableNotFoundException), point-in-time recovery off (PointInTimeRecoveryUnavailableException), an ExportTime
  before the table's EarliestRestorableDateTime or after now (InvalidExportTimeException). ``ClientToken``: the
  same token with the same parameters within 8 hours of the export's end answers the same export; with other
  parameters, ExportConflictException (the exception the API model lists for this operation; one page of the API
  reference names ImportConflictException instead). ExportFormat ``ION`` and ExportType ``INCREMENTAL_EXPORT`` are
  refused with a ValidationException that says the emulator does not support them.
- **Snapshot.** The items are copied, as DynamoDB JSON, while the table's write lock is held
  (:func:`.dynamodb_speedups.table_lock`), so a write racing the export is either wholly in it or not at all. The
  emulator keeps no history: an ExportTime in the past exports the items as they are at the request (and reports
  the ExportTime asked for). Reading the table for an export consumes none of its capacity, as on DynamoDB.
- **Progress.** The export stays IN_PROGRESS for :attr:`Settings.in_progress_seconds` (default 2 s, environment
  ``DDBMIGRATE_EMULATOR_EXPORT_SECONDS``) after its start, measured when asked, so a caller's wait loop runs at
  least once; then a timer (or the next DescribeExport, whichever comes first) writes the files and the export is
  COMPLETED, or FAILED.
- **Output** under ``<S3Prefix>/AWSDynamoDB/<ExportId>/``: ``_started`` (empty, written at the request),
  ``data/<26 random base32 characters>.json.gz`` (gzip, JSON lines ``{"Item":{...}}`` in DynamoDB JSON),
  ``manifest-files.json`` (JSON lines ``itemCount``, ``md5Checksum`` (base64 MD5 of the object), ``etag`` (the
  object's ETag) and ``dataFileS3Key`` (the full key)), ``manifest-summary.json`` (version ``2020-06-30``,
  exportArn, startTime, endTime, tableArn, tableId, exportTime, s3Bucket, s3Prefix, s3SseAlgorithm, s3SseKmsKeyId,
  manifestFilesS3Key, billedSizeBytes, itemCount, outputFormat, exportType) and their ``.checksum`` files (the base64
  MD5 of each manifest). Data files: DynamoDB writes at least one per partition, each from its partition's hashed
  keyspace; the emulator orders the items by a hash of their partition key and cuts them into
  ``ceil(items / Settings.items_per_file)`` files, at least two when there are two items or more, one empty file
  for an empty table. billedSizeBytes is the sum of the items' sizes by DynamoDB's rules.
- **Failures** (FAILED, with FailureCode and FailureMessage): a bucket that does not exist (``S3NoSuchBucket``);
  a bucket whose owner is not ``S3BucketOwner``, or, when the IAM gate holds the caller to a role's policies
  (:mod:`.iam_gate`), a caller who may not ``s3:PutObject`` the export's objects (``S3AccessDenied``): DynamoDB
  writes an export with the permissions of whoever asked for it.

Not modelled: exports of an earlier state of the table, incremental exports, Ion, the KMS permissions of
``S3SseKmsKeyId``, LimitExceededException, and the 8-hour window's start (counted from the export's end, or from
its start while it runs).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import math
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import (
    ERROR_TYPE_PREFIX,
    MockValidationException,
    PointInTimeRecoveryUnavailable,
    TableNotFoundException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

from . import dynamodb_capacity, dynamodb_speedups, iam_gate

IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
DYNAMODB_JSON = "DYNAMODB_JSON"
FULL_EXPORT = "FULL_EXPORT"
MANIFEST_VERSION = "2020-06-30"
IDEMPOTENCY_SECONDS = 8 * 3600
ENV_IN_PROGRESS_SECONDS = "DDBMIGRATE_EMULATOR_EXPORT_SECONDS"
ENV_ITEMS_PER_FILE = "DDBMIGRATE_EMULATOR_EXPORT_ITEMS_PER_FILE"
_SSE_TO_S3 = {"AES256": "AES256", "KMS": "aws:kms"}
_FILE_NAME_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


class Patches(Protocol):
    """What :class:`.moto_patches.AppliedPatches` offers (kept apart to avoid an import cycle)."""

    def apply(self, owner: Any, name: str, value: Any) -> None: ...


@dataclass
class Settings:
    """How exports behave in the emulator; tests may change these at run time (they are read when used)."""

    in_progress_seconds: float = field(default_factory=lambda: float(os.environ.get(ENV_IN_PROGRESS_SECONDS, "2")))
    items_per_file: int = field(default_factory=lambda: int(os.environ.get(ENV_ITEMS_PER_FILE, "1000")))


settings = Settings()


# --------------------------------------------------------------------------------------------------
# DynamoDB's errors


class InvalidExportTimeError(JsonRESTError):
    def __init__(self) -> None:
        super().__init__(
            ERROR_TYPE_PREFIX + "InvalidExportTimeException",
            "The specified ExportTime is outside of the point in time recovery window.",
        )


class ExportConflictError(JsonRESTError):
    def __init__(self, token: str) -> None:
        super().__init__(
            ERROR_TYPE_PREFIX + "ExportConflictException",
            f"The ClientToken {token} was already used for an export with different parameters.",
        )


class ExportNotFoundError(JsonRESTError):
    def __init__(self, arn: str) -> None:
        super().__init__(ERROR_TYPE_PREFIX + "ExportNotFoundException", f"Export not found: {arn}")


# --------------------------------------------------------------------------------------------------
# One export


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _md5(content: bytes) -> tuple[str, str]:
    """(base64, hex) MD5 of ``content``."""
    digest = hashlib.md5(content, usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii"), digest.hex()


def _partition_hash(item: dict[str, Any], hash_key: str) -> bytes:
    value = json.dumps(item.get(hash_key), sort_keys=True, separators=(",", ":"))
    return hashlib.md5(value.encode(), usedforsecurity=False).digest()


def split_into_files(items: list[dict[str, Any]], hash_key: str, items_per_file: int) -> list[list[dict[str, Any]]]:
    """The items cut into data files: ordered by partition hash, at least two files for two items or more."""
    if not items:
        return [[]]
    ordered = sorted(items, key=lambda item: _partition_hash(item, hash_key))
    count = max(min(2, len(ordered)), math.ceil(len(ordered) / max(1, items_per_file)))
    size, extra = divmod(len(ordered), count)
    files, start = [], 0
    for number in range(count):
        end = start + size + (1 if number < extra else 0)
        files.append(ordered[start:end])
        start = end
    return files


def _data_file(items: list[dict[str, Any]]) -> bytes:
    lines = "".join(json.dumps({"Item": item}, separators=(",", ":"), ensure_ascii=False) + "\n" for item in items)
    # mtime 0: the same items give the same bytes (and MD5).
    return gzip.compress(lines.encode("utf-8"), mtime=0)


@dataclass
class Export:
    """An export and what DescribeExport answers about it."""

    arn: str
    export_id: str
    table: Table
    table_id: str
    account_id: str
    region: str
    partition: str
    bucket: str
    prefix: str
    bucket_owner: str | None
    sse_algorithm: str | None
    sse_kms_key_id: str | None
    export_format: str
    export_type: str
    client_token: str | None
    parameters: tuple[Any, ...]
    start_time: dt.datetime
    export_time: dt.datetime
    snapshot: list[dict[str, Any]] | None
    failure: tuple[str, str] | None = None
    status: str = IN_PROGRESS
    end_time: dt.datetime | None = None
    item_count: int | None = None
    billed_size_bytes: int | None = None
    manifest_key: str | None = None
    started_monotonic: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_key(self) -> str:
        return f"{self.prefix}/AWSDynamoDB/{self.export_id}" if self.prefix else f"AWSDynamoDB/{self.export_id}"

    def seconds_until_due(self) -> float:
        return self.started_monotonic + settings.in_progress_seconds - time.monotonic()

    def finish_if_due(self) -> None:
        """Write the export (or fail it) once its IN_PROGRESS time is over; idempotent, safe from any thread."""
        if self.status != IN_PROGRESS or self.seconds_until_due() > 0:
            return
        with self.lock:
            if self.status != IN_PROGRESS:
                return
            try:
                failure = self.failure or _bucket_failure(self.bucket, self.bucket_owner)
                if failure is None:
                    self._write()
                    self.status = COMPLETED
                else:
                    self.failure = failure
                    self.status = FAILED
            except Exception as exc:
                self.failure = ("UNKNOWN", f"The emulator could not write the export: {exc!r}")
                self.status = FAILED
            self.end_time = dt.datetime.now(dt.UTC)
            self.snapshot = None

    def _put(self, key: str, content: bytes) -> str:
        """Store an object in the export's bucket; its ETag, unquoted."""
        backend = _bucket_backend(self.bucket)
        if backend is None:
            raise RuntimeError(f"bucket {self.bucket} disappeared")
        algorithm = _SSE_TO_S3.get(self.sse_algorithm or "")
        stored = backend.put_object(
            self.bucket,
            key,
            content,
            encryption=algorithm,
            kms_key_id=self.sse_kms_key_id if algorithm == "aws:kms" else None,
        )
        return str(stored.etag).strip('"')

    def write_started(self) -> None:
        self._put(f"{self.base_key}/_started", b"")

    def _write(self) -> None:
        items = self.snapshot or []
        manifest_lines = []
        for chunk in split_into_files(items, str(self.table.hash_key_attr), settings.items_per_file):
            content = _data_file(chunk)
            name = "".join(secrets.choice(_FILE_NAME_ALPHABET) for _ in range(26))
            key = f"{self.base_key}/data/{name}.json.gz"
            etag = self._put(key, content)
            checksum, _ = _md5(content)
            line = {"itemCount": len(chunk), "md5Checksum": checksum, "etag": etag, "dataFileS3Key": key}
            manifest_lines.append(json.dumps(line, separators=(",", ":")) + "\n")
        files_key = f"{self.base_key}/manifest-files.json"
        files_content = "".join(manifest_lines).encode("utf-8")
        self._put(files_key, files_content)
        self._put(f"{self.base_key}/manifest-files.checksum", _md5(files_content)[0].encode("ascii"))
        self.item_count = len(items)
        self.billed_size_bytes = sum(dynamodb_capacity.size_of(item) for item in items)
        end_time = dt.datetime.now(dt.UTC)
        summary = {
            "version": MANIFEST_VERSION,
            "exportArn": self.arn,
            "startTime": _iso(self.start_time),
            "endTime": _iso(end_time),
            "tableArn": self.table.table_arn,
            "tableId": self.table_id,
            "exportTime": _iso(self.export_time),
            "s3Bucket": self.bucket,
            "s3Prefix": self.prefix or None,
            "s3SseAlgorithm": self.sse_algorithm or "AES256",
            "s3SseKmsKeyId": self.sse_kms_key_id,
            "manifestFilesS3Key": files_key,
            "billedSizeBytes": self.billed_size_bytes,
            "itemCount": self.item_count,
            "outputFormat": self.export_format,
            "exportType": self.export_type,
        }
        summary_key = f"{self.base_key}/manifest-summary.json"
        summary_content = json.dumps(summary, separators=(",", ":")).encode("utf-8")
        self._put(summary_key, summary_content)
        self._put(f"{self.base_key}/manifest-summary.checksum", _md5(summary_content)[0].encode("ascii"))
        self.manifest_key = summary_key

    def description(self, *, finish: bool = True) -> dict[str, Any]:
        if finish:
            self.finish_if_due()
        described: dict[str, Any] = {
            "ExportArn": self.arn,
            "ExportStatus": self.status,
            "StartTime": self.start_time,
            "TableArn": self.table.table_arn,
            "TableId": self.table_id,
            "ExportTime": self.export_time,
            "S3Bucket": self.bucket,
            "ExportFormat": self.export_format,
            "ExportType": self.export_type,
        }
        optional = {
            "ClientToken": self.client_token,
            "S3BucketOwner": self.bucket_owner,
            "S3Prefix": self.prefix or None,
            "S3SseAlgorithm": self.sse_algorithm,
            "S3SseKmsKeyId": self.sse_kms_key_id,
            "EndTime": self.end_time,
        }
        described.update({name: value for name, value in optional.items() if value is not None})
        if self.status == COMPLETED:
            described.update(
                {
                    "ExportManifest": self.manifest_key,
                    "ItemCount": self.item_count,
                    "BilledSizeBytes": self.billed_size_bytes,
                }
            )
        elif self.status == FAILED and self.failure is not None:
            described.update({"FailureCode": self.failure[0], "FailureMessage": self.failure[1]})
        return described

    def summary(self) -> dict[str, Any]:
        self.finish_if_due()
        return {"ExportArn": self.arn, "ExportStatus": self.status, "ExportType": self.export_type}

    def reusable_until(self) -> float:
        end = self.end_time or dt.datetime.now(dt.UTC)
        return end.timestamp() + IDEMPOTENCY_SECONDS


def _bucket_backend(bucket: str) -> Any | None:
    from moto.s3.models import s3_backends  # noqa: PLC0415 - S3 is loaded only when an export needs it

    location = s3_backends.bucket_accounts.get(bucket)
    if location is None:
        return None
    partition, account = location
    return s3_backends[account][partition]


def _bucket_owner(bucket: str) -> str | None:
    from moto.s3.models import s3_backends  # noqa: PLC0415

    location = s3_backends.bucket_accounts.get(bucket)
    return None if location is None else str(location[1])


def _bucket_failure(bucket: str, expected_owner: str | None) -> tuple[str, str] | None:
    owner = _bucket_owner(bucket)
    if owner is None:
        return ("S3NoSuchBucket", "The specified bucket does not exist")
    if expected_owner and expected_owner != owner:
        return ("S3AccessDenied", "Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied)")
    return None


def _schedule(export: Export) -> None:
    """Finish ``export`` on a timer once it is due; re-armed at least every second while it runs, because the
    due time moves when :data:`settings` change."""

    def fire() -> None:
        export.finish_if_due()
        if export.status == IN_PROGRESS:
            _schedule(export)

    timer = threading.Timer(min(1.0, max(0.05, export.seconds_until_due())), fire)
    timer.daemon = True
    timer.name = f"ddb-export-{export.export_id}"
    timer.start()


# --------------------------------------------------------------------------------------------------
# The exports of one account and region (kept on moto's backend, so a reset forgets them)


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.exports: dict[str, Export] = {}
        self.tokens: dict[str, Export] = {}


_registries_lock = threading.Lock()
_REGISTRY_ATTRIBUTE = "_ddbmigrate_exports"


def _registry(backend: DynamoDBBackend) -> _Registry:
    with _registries_lock:
        registry = backend.__dict__.get(_REGISTRY_ATTRIBUTE)
        if not isinstance(registry, _Registry):
            registry = _Registry()
            setattr(backend, _REGISTRY_ATTRIBUTE, registry)
        return registry


def _table_id(table: Table) -> str:
    """A stable identifier for the table (moto has none): a new table of the same name gets another."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{table.table_arn}@{table.created_at.isoformat()}"))


def _export_id(now: dt.datetime) -> str:
    return f"{int(now.timestamp() * 1000):014d}-{secrets.token_hex(4)}"


def _epoch(value: Any) -> float:
    """ExportTime as moto parsed it (a datetime, naive meaning UTC) or as sent (epoch seconds)."""
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MockValidationException(f"Invalid ExportTime: {value!r}") from None


def _snapshot(table: Table) -> list[dict[str, Any]]:
    with dynamodb_speedups.table_lock(table):
        return [dynamodb_capacity.wire_item(item) for item in table.all_items()]


def _caller_denial(handler: Any, partition: str, bucket: str, key: str, region: str) -> str | None:
    """Why the IAM gate would refuse the caller's ``s3:PutObject`` of ``key``, if it holds the caller to a role."""
    gate = iam_gate.active()
    if gate is None or not gate.enabled:
        return None
    principal = gate.principal(str(getattr(handler, "access_key", "") or ""))
    if principal is None:
        return None
    denial = gate.authorize(principal, "s3:PutObject", f"arn:{partition}:s3:::{bucket}/{key}", region)
    return None if denial is None else denial.message()


def start_export(handler: Any, body: dict[str, Any]) -> Export:
    backend: DynamoDBBackend = handler.dynamodb_backend
    table_arn = str(body.get("TableArn", ""))
    table = next((t for t in list(backend.tables.values()) if t.table_arn == table_arn), None)
    if table is None:
        raise TableNotFoundException(name=table_arn)
    export_format = str(body.get("ExportFormat") or DYNAMODB_JSON)
    export_type = str(body.get("ExportType") or FULL_EXPORT)
    if export_format != DYNAMODB_JSON:
        raise MockValidationException(f"The emulator does not support ExportFormat {export_format}")
    if export_type != FULL_EXPORT:
        raise MockValidationException(f"The emulator does not support ExportType {export_type}")
    recovery = table.continuous_backups["PointInTimeRecoveryDescription"]
    if recovery.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise PointInTimeRecoveryUnavailable(name=table.name)
    now = dt.datetime.now(dt.UTC)
    export_time = now
    if body.get("ExportTime") is not None:
        requested = _epoch(body["ExportTime"])
        earliest = float(recovery.get("EarliestRestorableDateTime") or 0)
        if requested < earliest or requested > now.timestamp():
            raise InvalidExportTimeError()
        export_time = dt.datetime.fromtimestamp(requested, dt.UTC)
    parameters = tuple(
        json.dumps(body.get(name), sort_keys=True, default=str)
        for name in (
            "TableArn",
            "ExportTime",
            "S3Bucket",
            "S3BucketOwner",
            "S3Prefix",
            "S3SseAlgorithm",
            "S3SseKmsKeyId",
            "ExportFormat",
            "ExportType",
            "IncrementalExportSpecification",
        )
    )
    token = body.get("ClientToken")
    registry = _registry(backend)
    with registry.lock:
        if token:
            previous = registry.tokens.get(str(token))
            if previous is not None and time.time() < previous.reusable_until():
                if previous.parameters != parameters:
                    raise ExportConflictError(str(token))
                return previous
        export = _new_export(handler, backend, table, body, now, export_time, parameters)
        registry.exports[export.arn] = export
        if token:
            registry.tokens[str(token)] = export
    if export.failure is None:
        try:
            export.write_started()
        except Exception as exc:
            export.failure = ("UNKNOWN", f"The emulator could not write the export: {exc!r}")
    _schedule(export)
    return export


def _new_export(
    handler: Any,
    backend: DynamoDBBackend,
    table: Table,
    body: dict[str, Any],
    now: dt.datetime,
    export_time: dt.datetime,
    parameters: tuple[Any, ...],
) -> Export:
    partition = table.table_arn.split(":", 2)[1]
    export_id = _export_id(now)
    bucket = str(body.get("S3Bucket", ""))
    prefix = str(body.get("S3Prefix") or "").rstrip("/")
    export = Export(
        arn=f"{table.table_arn}/export/{export_id}",
        export_id=export_id,
        table=table,
        table_id=_table_id(table),
        account_id=str(backend.account_id),
        region=str(backend.region_name),
        partition=partition,
        bucket=bucket,
        prefix=prefix,
        bucket_owner=body.get("S3BucketOwner") or None,
        sse_algorithm=body.get("S3SseAlgorithm") or None,
        sse_kms_key_id=body.get("S3SseKmsKeyId") or None,
        export_format=str(body.get("ExportFormat") or DYNAMODB_JSON),
        export_type=str(body.get("ExportType") or FULL_EXPORT),
        client_token=body.get("ClientToken") or None,
        parameters=parameters,
        start_time=now,
        export_time=export_time,
        snapshot=_snapshot(table),
    )
    export.failure = _bucket_failure(bucket, export.bucket_owner)
    if export.failure is None:
        denial = _caller_denial(handler, partition, bucket, f"{export.base_key}/_started", export.region)
        if denial is not None:
            export.failure = (
                "S3AccessDenied",
                f"{denial} (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied)",
            )
    return export


# --------------------------------------------------------------------------------------------------
# The actions


def _export_table_to_point_in_time(self: Any) -> ActionResult:
    body = self.body if isinstance(self.body, dict) else {}
    export = start_export(self, body)
    # Never finished here: the request that starts an export always sees it IN_PROGRESS, as on DynamoDB.
    return ActionResult({"ExportDescription": export.description(finish=False)})


def _describe_export(self: Any) -> ActionResult:
    arn = str((self.body or {}).get("ExportArn", ""))
    export = _registry(self.dynamodb_backend).exports.get(arn)
    if export is None:
        raise ExportNotFoundError(arn)
    return ActionResult({"ExportDescription": export.description()})


def _list_exports(self: Any) -> ActionResult:
    body = self.body if isinstance(self.body, dict) else {}
    table_arn = body.get("TableArn")
    registry = _registry(self.dynamodb_backend)
    with registry.lock:
        exports = [e for e in registry.exports.values() if not table_arn or e.table.table_arn == table_arn]
    limit = int(body.get("MaxResults") or 25)
    start = int(body.get("NextToken") or 0)
    page = exports[start : start + limit]
    result: dict[str, Any] = {"ExportSummaries": [export.summary() for export in page]}
    if start + limit < len(exports):
        result["NextToken"] = str(start + limit)
    return ActionResult(result)


_ACTIONS: dict[str, Callable[[Any], ActionResult]] = {
    "export_table_to_point_in_time": _export_table_to_point_in_time,
    "describe_export": _describe_export,
    "list_exports": _list_exports,
}


def replacements() -> Iterator[tuple[Any, str, Any]]:
    for name, action in _ACTIONS.items():
        yield DynamoHandler, name, action


def compatibility_problems() -> list[str]:
    problems = [f"DynamoHandler.{name} is missing" for name in _ACTIONS if name not in DynamoHandler.__dict__]
    if "created_at" not in Table.__init__.__code__.co_names:
        problems.append("Table.__init__ no longer sets created_at")
    return problems


def apply(patches: Patches) -> None:
    """Apply every patch of this module; the caller has checked :func:`compatibility_problems`."""
    for owner, name, value in replacements():
        patches.apply(owner, name, value)
