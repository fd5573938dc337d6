"""The emulator's DynamoDB export to S3 answers and writes what DynamoDB does (see
``devtools.emulator.dynamodb_export`` for the rules and their sources), and its per-table CloudWatch metrics show
which table consumed capacity (``devtools.emulator.dynamodb_metrics``).

No test depends on machine speed: how long an export stays IN_PROGRESS is a setting the tests change, and every
wait is for a state, with a generous deadline.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError

from devtools.emulator import dynamodb_export
from tests.support.emulator import Aws, unique

if TYPE_CHECKING:
    from devtools.emulator import Emulator

REGION = "us-east-1"
EXPORT_ARN = re.compile(r"arn:aws:dynamodb:us-east-1:\d{12}:table/(?P<table>[\w.-]+)/export/(?P<id>\d{14}-[0-9a-f]{8})")
DEADLINE_SECONDS = 60.0


@pytest.fixture(autouse=True)
def quick_exports() -> Iterator[None]:
    """Exports finish as soon as they are asked about; tests that need IN_PROGRESS say so."""
    saved = (dynamodb_export.settings.in_progress_seconds, dynamodb_export.settings.items_per_file)
    dynamodb_export.settings.in_progress_seconds = 0.0
    yield
    dynamodb_export.settings.in_progress_seconds, dynamodb_export.settings.items_per_file = saved


@pytest.fixture(scope="module")
def s3(aws: Aws) -> Any:
    return client(aws, "s3")


@pytest.fixture(scope="module")
def bucket(s3: Any) -> str:
    name = unique("exports")
    s3.create_bucket(Bucket=name)
    return name


def client(aws: Aws, service: str, **credentials: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=aws.endpoint,
        region_name=REGION,
        aws_access_key_id=credentials.get("AccessKeyId", "testing"),
        aws_secret_access_key=credentials.get("SecretAccessKey", "testing"),
        aws_session_token=credentials.get("SessionToken"),
    )


def table(aws: Aws, *, pitr: bool = True, range_key: bool = False) -> tuple[str, str]:
    """(name, ARN) of a new on-demand table, with point-in-time recovery unless told otherwise."""
    name = unique("export")
    aws.create_table(name, range_key=range_key)
    if pitr:
        aws.dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return name, aws.dynamodb.describe_table(TableName=name)["Table"]["TableArn"]


def put(aws: Aws, name: str, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        aws.dynamodb.put_item(TableName=name, Item={"pk": {"S": f"k{number:04d}"}, "n": {"N": str(number)}})


def finished(aws: Aws, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        description = cast(dict[str, Any], aws.dynamodb.describe_export(ExportArn=arn)["ExportDescription"])
        if description["ExportStatus"] != "IN_PROGRESS":
            return description
        assert time.monotonic() < deadline, f"export {arn} still IN_PROGRESS"
        time.sleep(0.05)


def export(aws: Aws, arn: str, bucket: str, **parameters: Any) -> dict[str, Any]:
    response = aws.dynamodb.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket, **parameters)
    return cast(dict[str, Any], response["ExportDescription"])


def body(s3: Any, bucket: str, key: str) -> bytes:
    content: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return content


def manifest(s3: Any, bucket: str, description: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(manifest-summary.json, the lines of manifest-files.json)."""
    summary = json.loads(body(s3, bucket, description["ExportManifest"]))
    lines = body(s3, bucket, summary["manifestFilesS3Key"]).decode().splitlines()
    return summary, [json.loads(line) for line in lines]


def exported_items(s3: Any, bucket: str, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items = []
    for entry in files:
        for line in gzip.decompress(body(s3, bucket, entry["dataFileS3Key"])).decode().splitlines():
            document = json.loads(line)
            assert set(document) == {"Item"}
            items.append(document["Item"])
    return items


def error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


# --------------------------------------------------------------------------------------------------
# Layout and fields


def test_an_export_is_in_progress_first_then_completed_in_aws_layout(aws: Aws, s3: Any, bucket: str) -> None:
    name, arn = table(aws)
    put(aws, name, 7)
    dynamodb_export.settings.in_progress_seconds = 3600.0
    started = export(aws, arn, bucket, S3Prefix="runs/one", ClientToken="layout-token")

    match = EXPORT_ARN.fullmatch(started["ExportArn"])
    assert match is not None, started["ExportArn"]
    assert match["table"] == name
    export_id = match["id"]
    assert started["ExportStatus"] == "IN_PROGRESS"
    assert aws.dynamodb.describe_export(ExportArn=started["ExportArn"])["ExportDescription"]["ExportStatus"] == (
        "IN_PROGRESS"
    )
    base = f"runs/one/AWSDynamoDB/{export_id}"
    keys = [entry["Key"] for entry in s3.list_objects_v2(Bucket=bucket, Prefix=base)["Contents"]]
    assert keys == [f"{base}/_started"], "only _started exists while the export runs"
    assert body(s3, bucket, f"{base}/_started") == b""

    dynamodb_export.settings.in_progress_seconds = 0.0
    described = finished(aws, started["ExportArn"])
    assert described["ExportStatus"] == "COMPLETED"
    assert described["ExportManifest"] == f"{base}/manifest-summary.json"
    assert described["ItemCount"] == 7
    assert described["BilledSizeBytes"] > 0
    assert described["StartTime"] <= described["EndTime"]
    assert described["ExportTime"] == described["StartTime"]
    for field, value in {
        "TableArn": arn,
        "S3Bucket": bucket,
        "S3Prefix": "runs/one",
        "ClientToken": "layout-token",
        "ExportFormat": "DYNAMODB_JSON",
        "ExportType": "FULL_EXPORT",
    }.items():
        assert described[field] == value, field
    assert re.fullmatch(r"[0-9a-f-]{36}", described["TableId"])

    keys = sorted(entry["Key"] for entry in s3.list_objects_v2(Bucket=bucket, Prefix=base)["Contents"])
    data = [key for key in keys if key.startswith(f"{base}/data/")]
    assert sorted(set(keys) - set(data)) == [
        f"{base}/_started",
        f"{base}/manifest-files.checksum",
        f"{base}/manifest-files.json",
        f"{base}/manifest-summary.checksum",
        f"{base}/manifest-summary.json",
    ]
    assert len(data) >= 2
    assert all(re.fullmatch(rf"{base}/data/[a-z2-7]{{26}}\.json\.gz", key) for key in data)

    summary, files = manifest(s3, bucket, described)
    assert summary == {
        "version": "2020-06-30",
        "exportArn": started["ExportArn"],
        "startTime": summary["startTime"],
        "endTime": summary["endTime"],
        "tableArn": arn,
        "tableId": described["TableId"],
        "exportTime": summary["exportTime"],
        "s3Bucket": bucket,
        "s3Prefix": "runs/one",
        "s3SseAlgorithm": "AES256",
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": f"{base}/manifest-files.json",
        "billedSizeBytes": described["BilledSizeBytes"],
        "itemCount": 7,
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
    }
    for field in ("startTime", "endTime", "exportTime"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", summary[field]), field
    for name_of_manifest in ("manifest-summary", "manifest-files"):
        content = body(s3, bucket, f"{base}/{name_of_manifest}.json")
        expected = base64.b64encode(hashlib.md5(content, usedforsecurity=False).digest())
        assert body(s3, bucket, f"{base}/{name_of_manifest}.checksum") == expected

    assert sorted(entry["dataFileS3Key"] for entry in files) == data
    assert sum(entry["itemCount"] for entry in files) == 7
    for entry in files:
        assert set(entry) == {"itemCount", "md5Checksum", "etag", "dataFileS3Key"}
        content = body(s3, bucket, entry["dataFileS3Key"])
        assert entry["md5Checksum"] == base64.b64encode(hashlib.md5(content, usedforsecurity=False).digest()).decode()
        head = s3.head_object(Bucket=bucket, Key=entry["dataFileS3Key"])
        assert entry["etag"] == head["ETag"].strip('"')
        assert len(gzip.decompress(content).decode().splitlines()) == entry["itemCount"]

    listed = aws.dynamodb.list_exports(TableArn=arn)["ExportSummaries"]
    assert listed == [{"ExportArn": started["ExportArn"], "ExportStatus": "COMPLETED", "ExportType": "FULL_EXPORT"}]


def test_items_are_split_over_several_files_by_a_deterministic_rule(aws: Aws, s3: Any, bucket: str) -> None:
    dynamodb_export.settings.items_per_file = 3
    for count, expected_files in ((0, 1), (1, 1), (2, 2), (10, 4)):
        name, arn = table(aws)
        put(aws, name, count)
        described = finished(aws, export(aws, arn, bucket, S3Prefix=f"split/{count}")["ExportArn"])
        _, files = manifest(s3, bucket, described)
        assert len(files) == expected_files, count
        sizes = sorted(entry["itemCount"] for entry in files)
        assert sum(sizes) == count
        assert sizes[-1] - sizes[0] <= 1, "files are cut evenly"
        items = exported_items(s3, bucket, files)
        assert sorted(item["pk"]["S"] for item in items) == [f"k{number:04d}" for number in range(count)]
    assert dynamodb_export.split_into_files([{"pk": {"S": "a"}}] * 5, "pk", 2) == [
        [{"pk": {"S": "a"}}] * 2,
        [{"pk": {"S": "a"}}] * 2,
        [{"pk": {"S": "a"}}],
    ]


def _decoded(value: Any) -> Any:
    """A DynamoDB JSON value with binary decoded, as boto3's client returns it."""
    ((kind, content),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(content)}
    if kind == "BS":
        return {"BS": [base64.b64decode(element) for element in content]}
    if kind == "M":
        return {"M": {name: _decoded(member) for name, member in content.items()}}
    if kind == "L":
        return {"L": [_decoded(element) for element in content]}
    return {kind: content}


def test_every_type_is_exported_as_getitem_returns_it(aws: Aws, s3: Any, bucket: str) -> None:
    name, arn = table(aws, range_key=True)
    items: list[dict[str, Any]] = [
        {
            "pk": {"S": "all-types"},
            "sk": {"N": "1"},
            "s": {"S": 'text with ünïcode and "quotes"\n'},
            "n": {"N": "-12345678901234567890123456789012345678"},
            "small": {"N": "0.000000000000000000000000000000000000001"},
            "b": {"B": bytes(range(256))},
            "ss": {"SS": ["b", "a", "c"]},
            "ns": {"NS": ["3", "1.5", "-2"]},
            "bs": {"BS": [b"\x00", b"\xff\xfe", b"ascii"]},
            "m": {"M": {"inner": {"M": {"deep": {"L": [{"NULL": True}, {"BOOL": False}, {"N": "7"}]}}}}},
            "l": {"L": [{"S": "x"}, {"B": b"\x01\x02"}, {"SS": ["z"]}, {"M": {}}, {"L": []}]},
            "null": {"NULL": True},
            "yes": {"BOOL": True},
            "no": {"BOOL": False},
            "empty": {"S": ""},
        },
        {"pk": {"S": "binary-only"}, "sk": {"N": "2"}, "b": {"B": b""}},
    ]
    for item in items:
        aws.dynamodb.put_item(TableName=name, Item=item)
    described = finished(aws, export(aws, arn, bucket, S3Prefix="types")["ExportArn"])
    assert described["ItemCount"] == 2
    _, files = manifest(s3, bucket, described)
    exported = exported_items(s3, bucket, files)
    assert len(exported) == 2
    for item in exported:
        key: dict[str, Any] = {"pk": item["pk"], "sk": item["sk"]}
        stored = aws.dynamodb.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"]
        assert {attribute: _decoded(value) for attribute, value in item.items()} == stored
        assert list(item) == list(stored), "attributes in the stored order"
    numbers = next(item for item in exported if item["pk"]["S"] == "all-types")
    assert numbers["n"] == {"N": "-12345678901234567890123456789012345678"}, "numbers are strings, all digits"


# --------------------------------------------------------------------------------------------------
# Requests DynamoDB refuses, idempotency


def test_the_same_client_token_answers_the_same_export_and_other_parameters_conflict(aws: Aws, bucket: str) -> None:
    name, arn = table(aws)
    put(aws, name, 2)
    first = export(aws, arn, bucket, S3Prefix="idem", ClientToken="run-1")
    again = export(aws, arn, bucket, S3Prefix="idem", ClientToken="run-1")
    assert again["ExportArn"] == first["ExportArn"]
    finished(aws, first["ExportArn"])
    after = export(aws, arn, bucket, S3Prefix="idem", ClientToken="run-1")
    assert after["ExportArn"] == first["ExportArn"]
    assert after["ExportStatus"] == "COMPLETED"

    with pytest.raises(ClientError) as conflict:
        export(aws, arn, bucket, S3Prefix="elsewhere", ClientToken="run-1")
    assert error_code(conflict.value) == "ExportConflictException"

    other = export(aws, arn, bucket, S3Prefix="idem", ClientToken="run-2")
    assert other["ExportArn"] != first["ExportArn"]
    assert len(aws.dynamodb.list_exports(TableArn=arn)["ExportSummaries"]) == 2


def test_an_export_needs_point_in_time_recovery(aws: Aws, bucket: str) -> None:
    _, arn = table(aws, pitr=False)
    with pytest.raises(ClientError) as refused:
        export(aws, arn, bucket)
    assert error_code(refused.value) == "PointInTimeRecoveryUnavailableException"


def test_an_export_time_outside_the_recovery_window_is_refused(aws: Aws, bucket: str) -> None:
    name, arn = table(aws)
    put(aws, name, 1)
    earliest = aws.dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"
    ]["EarliestRestorableDateTime"]
    for outside in (earliest - dt.timedelta(minutes=5), dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)):
        with pytest.raises(ClientError) as refused:
            export(aws, arn, bucket, ExportTime=outside)
        assert error_code(refused.value) == "InvalidExportTimeException"
        assert "point in time recovery window" in str(refused.value)

    # A whole second inside the window: boto3 sends the time in whole seconds.
    inside = earliest.replace(microsecond=0) + dt.timedelta(seconds=1)
    while dt.datetime.now(dt.UTC) <= inside:
        time.sleep(0.1)
    described = finished(aws, export(aws, arn, bucket, ExportTime=inside)["ExportArn"])
    assert described["ExportStatus"] == "COMPLETED"
    assert described["ExportTime"] == inside


def test_an_export_of_an_unknown_table_or_in_ion_is_refused(aws: Aws, bucket: str) -> None:
    _, arn = table(aws)
    with pytest.raises(ClientError) as unknown:
        export(aws, arn + "-missing", bucket)
    assert error_code(unknown.value) == "TableNotFoundException"
    with pytest.raises(ClientError) as ion:
        export(aws, arn, bucket, ExportFormat="ION")
    assert error_code(ion.value) == "ValidationException"
    with pytest.raises(ClientError) as missing:
        aws.dynamodb.describe_export(ExportArn=f"{arn}/export/01700000000000-deadbeef")
    assert error_code(missing.value) == "ExportNotFoundException"


# --------------------------------------------------------------------------------------------------
# Failures


def test_an_export_to_a_missing_bucket_fails(aws: Aws) -> None:
    name, arn = table(aws)
    put(aws, name, 1)
    started = export(aws, arn, unique("no-such-bucket"))
    assert started["ExportStatus"] == "IN_PROGRESS"
    described = finished(aws, started["ExportArn"])
    assert described["ExportStatus"] == "FAILED"
    assert described["FailureCode"] == "S3NoSuchBucket"
    assert described["FailureMessage"] == "The specified bucket does not exist"
    assert "ExportManifest" not in described


def test_an_export_to_a_bucket_of_another_owner_fails(aws: Aws, bucket: str) -> None:
    name, arn = table(aws)
    put(aws, name, 1)
    described = finished(aws, export(aws, arn, bucket, S3BucketOwner="210987654321")["ExportArn"])
    assert described["ExportStatus"] == "FAILED"
    assert described["FailureCode"] == "S3AccessDenied"
    assert described["S3BucketOwner"] == "210987654321"


def test_an_export_is_written_with_the_callers_permissions(aws: Aws, emulator: Emulator, s3: Any, bucket: str) -> None:
    """DynamoDB writes the objects as the caller: a role that may not put them gets a FAILED export."""
    name, arn = table(aws)
    put(aws, name, 2)

    def role(*statements: dict[str, Any]) -> dict[str, str]:
        role_name = unique("exporter")
        role_arn = aws.iam.create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        aws.iam.put_role_policy(RoleName=role_name, PolicyName="p", PolicyDocument=json.dumps(document))
        credentials = emulator.gate.sessions.credentials(role_arn, "exporter", REGION)
        assert credentials is not None
        return {
            "AccessKeyId": credentials.access_key_id,
            "SecretAccessKey": credentials.secret_access_key,
            "SessionToken": credentials.session_token,
        }

    export_statement = {
        "Effect": "Allow",
        "Action": ["dynamodb:ExportTableToPointInTime", "dynamodb:DescribeExport"],
        "Resource": [arn, f"{arn}/export/*"],
    }
    put_statement = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/allowed/*"}
    dynamodb = client(aws, "dynamodb", **role(export_statement, put_statement))

    denied = dynamodb.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket, S3Prefix="denied")
    allowed = dynamodb.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket, S3Prefix="allowed")
    refused = finished(aws, denied["ExportDescription"]["ExportArn"])
    assert refused["ExportStatus"] == "FAILED"
    assert refused["FailureCode"] == "S3AccessDenied"
    assert "s3:PutObject" in refused["FailureMessage"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="denied/")
    assert finished(aws, allowed["ExportDescription"]["ExportArn"])["ExportStatus"] == "COMPLETED"

    without_describe = client(aws, "dynamodb", **role({**export_statement, "Resource": [arn]}, put_statement))
    with pytest.raises(ClientError) as describe_refused:
        without_describe.describe_export(ExportArn=allowed["ExportDescription"]["ExportArn"])
    assert error_code(describe_refused.value) == "AccessDeniedException"


# --------------------------------------------------------------------------------------------------
# Consistency


def test_writes_racing_an_export_do_not_tear_its_snapshot(aws: Aws, s3: Any, bucket: str) -> None:
    """A writer puts k0000, k0001, ... one after the other and keeps two attributes of one item equal; whatever
    moment the export is taken at, it holds k0000..kN for some N, and never an item half updated."""
    name, arn = table(aws)
    put(aws, name, 50)
    aws.dynamodb.put_item(TableName=name, Item={"pk": {"S": "pair"}, "a": {"N": "0"}, "b": {"N": "0"}})
    writer_client = client(aws, "dynamodb")
    stop = threading.Event()
    written = [50]

    def write() -> None:
        number = 50
        while not stop.is_set():
            writer_client.put_item(TableName=name, Item={"pk": {"S": f"k{number:04d}"}, "n": {"N": str(number)}})
            writer_client.update_item(
                TableName=name,
                Key={"pk": {"S": "pair"}},
                UpdateExpression="SET a = :v, b = :v",
                ExpressionAttributeValues={":v": {"N": str(number)}},
            )
            number += 1
            written[0] = number

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while written[0] < 60:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        started = [export(aws, arn, bucket, S3Prefix=f"race/{attempt}")["ExportArn"] for attempt in range(3)]
    finally:
        stop.set()
        writer.join(timeout=DEADLINE_SECONDS)
    for export_arn in started:
        described = finished(aws, export_arn)
        _, files = manifest(s3, bucket, described)
        items = {item["pk"]["S"]: item for item in exported_items(s3, bucket, files)}
        pair = items.pop("pair")
        assert pair["a"] == pair["b"]
        numbers = sorted(int(key[1:]) for key in items)
        assert numbers == list(range(len(numbers))), "the items written before the export, and only those"
        assert len(numbers) >= 60
        assert described["ItemCount"] == len(items) + 1


# --------------------------------------------------------------------------------------------------
# Per-table consumed capacity in CloudWatch


def consumed(aws: Aws, metric: str, table_name: str) -> float:
    """The table's Sum of ``metric`` over the last 15 minutes, as a test reads it from CloudWatch."""
    now = dt.datetime.now(dt.UTC)
    datapoints = client(aws, "cloudwatch").get_metric_statistics(
        Namespace="AWS/DynamoDB",
        MetricName=metric,
        Dimensions=[{"Name": "TableName", "Value": table_name}],
        StartTime=now - dt.timedelta(minutes=15),
        EndTime=now + dt.timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    return float(sum(point["Sum"] for point in datapoints))


def test_cloudwatch_shows_the_capacity_each_table_consumed(aws: Aws, bucket: str) -> None:
    written, _ = table(aws)
    scanned, _ = table(aws)
    exported, exported_arn = table(aws)
    for name in (written, scanned, exported):
        put(aws, name, 4)
    pages = aws.dynamodb.get_paginator("scan").paginate(TableName=scanned, ConsistentRead=True)
    scanned_items = sum(len(page["Items"]) for page in pages)
    assert scanned_items == 4
    aws.dynamodb.get_item(TableName=scanned, Key={"pk": {"S": "k0000"}})  # eventually consistent: 0.5
    finished(aws, export(aws, exported_arn, bucket, S3Prefix="capacity")["ExportArn"])

    assert consumed(aws, "ConsumedWriteCapacityUnits", written) == 4.0
    assert consumed(aws, "ConsumedReadCapacityUnits", written) == 0.0
    assert consumed(aws, "ConsumedReadCapacityUnits", scanned) == 1.5  # 4 small items: one 4 KB unit, + 0.5
    assert consumed(aws, "ConsumedReadCapacityUnits", exported) == 0.0, "an export reads no capacity"
    aws.dynamodb.scan(TableName=written)
    assert consumed(aws, "ConsumedReadCapacityUnits", written) == 0.5
