"""Point-in-time exports written in DynamoDB's S3 layout, for tests of the code that reads them on moto (whose own
export writes another layout; the embedded emulator writes AWS's, see devtools/emulator)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from migration_core.attribute_values import item_to_json
from migration_core.types import Item

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

EXPORT_TIME = "2026-12-01T10:00:00.000Z"


def data_file(items: Sequence[Item]) -> bytes:
    """A DYNAMODB_JSON data file: one ``{"Item": ...}`` per line, gzip-compressed."""
    lines = "".join(json.dumps({"Item": item_to_json(item)}) + "\n" for item in items)
    return gzip.compress(lines.encode())


def write_export(s3: S3Client, bucket: str, prefix: str, files: Sequence[Sequence[Item]], export_id: str) -> str:
    """Write the manifests and data files of an export of ``files``; returns the key of manifest-summary.json."""
    base = f"{prefix}/AWSDynamoDB/{export_id}"
    entries = []
    for number, items in enumerate(files):
        key = f"{base}/data/file{number:03d}.json.gz"
        s3.put_object(Bucket=bucket, Key=key, Body=data_file(items))
        entries.append({"itemCount": len(items), "md5Checksum": "", "etag": "", "dataFileS3Key": key})
    files_key = f"{base}/manifest-files.json"
    s3.put_object(Bucket=bucket, Key=files_key, Body="".join(json.dumps(entry) + "\n" for entry in entries).encode())
    summary_key = f"{base}/manifest-summary.json"
    summary = {
        "version": "2020-06-30",
        "exportTime": EXPORT_TIME,
        "manifestFilesS3Key": files_key,
        "itemCount": sum(len(items) for items in files),
        "outputFormat": "DYNAMODB_JSON",
    }
    s3.put_object(Bucket=bucket, Key=summary_key, Body=json.dumps(summary).encode())
    return summary_key
