"""Case d: live replication, through the real Lambda handlers.

**Throughput** (against the DynamoDB model, 5-10 ms per request): the stream forwarder's handler gets Lambda
DynamoDB Streams events of ``batch_size`` records (INSERTs and MODIFYs of ``realistic`` items) and sends them to
a FIFO queue that the model records (an SQS *sink*: moto's SQS slows down with every queued message); the
recorded messages then go, in batches of 10 (what the FIFO event source mapping delivers), through the
consumer's handler, which applies each event to the target. Only the handlers' own time counts (Lambda's
pollers are not ours to measure), one invocation at a time: the figures are per shard (forwarder) and per
concurrently running consumer (FIFO concurrency grows with the number of message groups).

**Lag** (on the embedded emulator, ``devtools.emulator``): both handlers deployed as zips built by
``modules/lambda_function/package.py``, a stream mapping (TRIM_HORIZON, ReportBatchItemFailures) and a FIFO
mapping. Items are written to the source at a steady rate, each carrying its write time; the consumer's
transform stamps ``appliedAtMs`` (a ``timestamp`` step) right before it writes the target, so lag = applied -
written, per item, to the millisecond. The emulator polls streams and queues every 50 ms and runs functions in
local worker processes, so the lag is the emulator's, an upper bound for the code's own share of it.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3

from devtools import REPO_ROOT
from devtools.emulator import start_emulator
from devtools.local import environment
from migration_core.attribute_values import item_to_json
from migration_core.types import Item
from replication_consumer import handler as consumer
from stream_forwarder import handler as forwarder

from .common import KEY_SCHEMA, REGION, SINK_QUEUE_PREFIX, dataset, percentile, ratio
from .harness import BenchAws

ACCOUNT = "123456789012"
PACKAGE_SCRIPT = REPO_ROOT / "modules" / "lambda_function" / "package.py"
SQS_BATCH = 10


@dataclass(frozen=True)
class ReplicationParameters:
    events: int = 2000
    batch_size: int = 100
    payload_bytes: int = 200
    latency_ms: tuple[float, float] = (5.0, 10.0)
    lag_items: int = 200
    lag_writes_per_second: float = 20.0
    lag_on_emulator: bool = True


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that the handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/bench"
    log_stream_name: str = "bench"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


# ----------------------------------------------------------------------------------------------------------------
# Throughput through the handlers
# ----------------------------------------------------------------------------------------------------------------

# The replication Lambdas' settings as Terraform passes them by default (variables.tf: replication.forwarder and
# replication.consumer, max_message_bytes); the handlers read every one of them from their environment.
REPLICATION_SETTINGS = {
    "MAX_MESSAGE_BYTES": "262144",
    "MAX_WRITE_ATTEMPTS": "8",
    "BACKOFF_BASE_MS": "50",
    "BACKOFF_CAP_MS": "5000",
    "TIME_SAFETY_MARGIN_SECONDS": "10",
}


def stream_records(items: Sequence[Item], source_table: str) -> list[dict[str, Any]]:
    """Lambda DynamoDB Streams records: an INSERT per item, and a MODIFY of every third item after it."""
    stream_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{source_table}/stream/2024-01-01T00:00:00.000"
    records: list[dict[str, Any]] = []
    now = int(time.time())

    def record(name: str, new: Item, old: Item | None) -> dict[str, Any]:
        image = item_to_json(new)
        stream: dict[str, Any] = {
            "ApproximateCreationDateTime": now,
            "Keys": {attribute: image[attribute] for attribute in KEY_SCHEMA},
            "NewImage": image,
            "SequenceNumber": f"{len(records) + 1:021d}",
            "SizeBytes": len(json.dumps(image)),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if old is not None:
            stream["OldImage"] = item_to_json(old)
        return {
            "eventID": uuid.uuid4().hex,
            "eventName": name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": REGION,
            "dynamodb": stream,
            "eventSourceARN": stream_arn,
        }

    for index, item in enumerate(items):
        records.append(record("INSERT", item, None))
        if index % 3 == 2:
            changed = {**item, "version": {"N": "2"}}
            records.append(record("MODIFY", changed, item))
    return records


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    # Powertools prints one EMF metrics document per invocation; thousands of them are noise here.
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def _handler_environment(aws: BenchAws, queue_url: str, source: str, target: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": aws.endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "QUEUE_URL": queue_url,
        "SOURCE_TABLE": source,
        "TARGET_TABLE": target,
        "POWERTOOLS_SERVICE_NAME": "ddb-migrate-bench",
        "POWERTOOLS_METRICS_NAMESPACE": "ddb-migrate-bench",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "TRANSFORM_STEPS": "[]",
        # What Terraform passes by default (root variable replication.forwarder / .consumer); the handlers keep
        # no defaults of their own.
        **REPLICATION_SETTINGS,
    }


def _sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message.get("ReceiptHandle", message["MessageId"]),
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": "1", **message.get("Attributes", {})},
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


def handler_throughput(aws: BenchAws, parameters: ReplicationParameters) -> dict[str, Any]:
    # Roughly 4 records per 3 items (every third item is modified once).
    items = dataset("replication", max(1, parameters.events * 3 // 4), parameters.payload_bytes).items
    source = aws.create_table(aws.new_table_name("d-src"))
    target = aws.create_table(aws.new_table_name("d-dst"))
    queue_name = f"{SINK_QUEUE_PREFIX}{uuid.uuid4().hex[:8]}.fifo"
    # The model records what is sent to this queue instead of moto (see devtools.faults: SQS sink).
    queue_url = f"{aws.endpoint}/{ACCOUNT}/{queue_name}"
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}"
    records = stream_records(items, source)
    warmup = stream_records(dataset("warmup", 10, parameters.payload_bytes, start=10_000_000).items, source)
    try:
        with environment(_handler_environment(aws, queue_url, source, target)):
            forwarder._runtime.cache_clear()
            consumer._runtime.cache_clear()
            aws.configure(latency_ms=parameters.latency_ms)
            # A warm container: the first invocation builds clients and reads the key schema.
            _time_forwarder(forwarder, warmup, parameters.batch_size)
            _time_consumer(consumer, aws.control.sink(queue_name, clear=True), queue_arn)
            forward = _time_forwarder(forwarder, records, parameters.batch_size)
            messages = aws.control.sink(queue_name, clear=True)
            consume = _time_consumer(consumer, messages, queue_arn)
            aws.configure()
            forwarder._runtime.cache_clear()
            consumer._runtime.cache_clear()
        target_items = aws.item_count(target) - 10  # the warm-up items
    finally:
        aws.delete_table(source)
        aws.delete_table(target)
    return {
        "records": len(records),
        "distinct_items": len(items),
        "messages_queued": len(messages),
        "target_items": target_items,
        # Every record must reach the queue, and every item the target.
        "lost_events": (len(records) - len(messages)) + (len(items) - target_items),
        "failed_events": forward["failed"] + consume["failed"],
        "forwarder": forward,
        "consumer": consume,
    }


def _time_forwarder(forwarder: Any, records: Sequence[dict[str, Any]], batch_size: int) -> dict[str, Any]:
    context = LambdaContext("bench-forwarder")
    failed = 0
    wall, cpu = time.perf_counter(), time.thread_time()
    with _quiet_stdout():
        for start in range(0, len(records), batch_size):
            response = forwarder.lambda_handler({"Records": list(records[start : start + batch_size])}, context)
            failed += len(response.get("batchItemFailures", []))
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    return _rate(len(records), wall, cpu, failed)


def _time_consumer(consumer: Any, messages: Sequence[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    context = LambdaContext("bench-consumer")
    failed = 0
    wall, cpu = time.perf_counter(), time.thread_time()
    with _quiet_stdout():
        for start in range(0, len(messages), SQS_BATCH):
            event = _sqs_event(messages[start : start + SQS_BATCH], queue_arn)
            failed += len(consumer.lambda_handler(event, context).get("batchItemFailures", []))
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    return _rate(len(messages), wall, cpu, failed)


def _rate(count: int, wall: float, cpu: float, failed: int) -> dict[str, Any]:
    return {
        "events": count,
        "wall_seconds": round(wall, 3),
        "events_per_second": round(count / wall, 1) if wall else 0.0,
        "cpu_us_per_event": round(cpu / count * 1e6, 1) if count else 0.0,
        "failed": failed,
    }


# ----------------------------------------------------------------------------------------------------------------
# Lag on the emulator
# ----------------------------------------------------------------------------------------------------------------


def _build_zip(package: str, work: Path) -> bytes:
    output = work / f"{package}.zip"
    subprocess.run(  # noqa: S603 - our own packaging script, fixed arguments
        [
            sys.executable,
            str(PACKAGE_SCRIPT),
            "--source-dir",
            str(REPO_ROOT / "lambda_src"),
            "--package",
            "migration_core",
            "--package",
            package,
            str(output),
        ],
        check=True,
        capture_output=True,
    )
    return output.read_bytes()


def replication_lag(parameters: ReplicationParameters) -> dict[str, Any]:
    emulator = start_emulator()
    try:
        with environment(emulator.client_environment()), tempfile.TemporaryDirectory() as work:
            return _lag_run(parameters, Path(work))
    finally:
        emulator.stop()


POWERTOOLS_PUBLIC_LAYER = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"


def _lag_run(parameters: ReplicationParameters, work: Path) -> dict[str, Any]:
    session = boto3.session.Session(region_name=REGION)
    dynamodb, sqs = session.client("dynamodb"), session.client("sqs")
    lambda_, iam = session.client("lambda"), session.client("iam")
    source, target = "bench-lag-source", "bench-lag-target"
    for name, stream in ((source, True), (target, False)):
        arguments: dict[str, Any] = {
            "TableName": name,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if stream:
            arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        dynamodb.create_table(**arguments)
    stream_arn = dynamodb.describe_table(TableName=source)["Table"]["LatestStreamArn"]
    queue_url = sqs.create_queue(
        QueueName="bench-lag.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "120"}
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    role = iam.create_role(RoleName="bench-lag", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    # The emulator holds functions to their role's policies; this bench measures lag, not permissions.
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(RoleName="bench-lag", PolicyName="everything", PolicyDocument=json.dumps(everything))
    stamp = [{"op": "timestamp", "attribute": "appliedAtMs", "format": "epoch_millis"}]
    functions = {
        "stream_forwarder": {"QUEUE_URL": queue_url, "TARGET_TABLE": target, **REPLICATION_SETTINGS},
        "replication_consumer": {
            **REPLICATION_SETTINGS,
            "TARGET_TABLE": target,
            "SOURCE_TABLE": source,
            "TRANSFORM_STEPS": json.dumps(stamp),
        },
    }
    for package, variables in functions.items():
        lambda_.create_function(
            FunctionName=f"bench-{package}",
            Runtime="python3.12",
            Role=role,
            Handler=f"{package}.handler.lambda_handler",
            Code={"ZipFile": _build_zip(package, work)},
            # Powertools as the module's layer mode gets it: the emulator stands in for AWS's public layer.
            Layers=[POWERTOOLS_PUBLIC_LAYER],
            Timeout=60,
            MemorySize=512,
            Environment={
                "Variables": {"POWERTOOLS_SERVICE_NAME": "bench", "POWERTOOLS_LOG_LEVEL": "ERROR", **variables}
            },
        )
    lambda_.create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName="bench-stream_forwarder",
        StartingPosition="TRIM_HORIZON",
        BatchSize=100,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    lambda_.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName="bench-replication_consumer",
        BatchSize=SQS_BATCH,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    # Warm up: the first invocations import boto3 and Powertools; that is a cold start, not lag.
    _write_and_wait(dynamodb, source, target, [f"warmup-{i}" for i in range(5)], rate=50.0)
    keys = [f"item-{i:06d}" for i in range(parameters.lag_items)]
    written = _write_and_wait(dynamodb, source, target, keys, rate=parameters.lag_writes_per_second)
    lags = [applied - written[key] for key, applied in _applied_times(dynamodb, target).items() if key in written]
    return {
        "items": len(keys),
        "writes_per_second": parameters.lag_writes_per_second,
        "replicated_items": len(lags),
        "lost_items": len(keys) - len(lags),
        "lag_ms_p50": percentile(lags, 0.50),
        "lag_ms_p90": percentile(lags, 0.90),
        "lag_ms_p99": percentile(lags, 0.99),
        "lag_ms_max": max(lags) if lags else 0.0,
    }


def _write_and_wait(dynamodb: Any, source: str, target: str, keys: Sequence[str], *, rate: float) -> dict[str, float]:
    written: dict[str, float] = {}
    started = time.monotonic()
    for index, key in enumerate(keys):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        now_ms = time.time() * 1000
        dynamodb.put_item(TableName=source, Item={"pk": {"S": key}, "writtenAtMs": {"N": f"{now_ms:.3f}"}})
        written[key] = now_ms
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if set(keys) <= set(_applied_times(dynamodb, target)):
            break
        time.sleep(0.2)
    return written


def _applied_times(dynamodb: Any, table: str) -> dict[str, float]:
    applied: dict[str, float] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            applied[item["pk"]["S"]] = float(item["appliedAtMs"]["N"])
    return applied


def run(aws: BenchAws, parameters: ReplicationParameters) -> dict[str, Any]:
    throughput = handler_throughput(aws, parameters)
    result: dict[str, Any] = {"parameters": asdict(parameters), "throughput": throughput}
    if parameters.lag_on_emulator:
        result["lag"] = replication_lag(parameters)
    forwarder, consumer = throughput["forwarder"], throughput["consumer"]
    result["summary"] = {
        "forwarder_events_per_second": forwarder["events_per_second"],
        "consumer_events_per_second": consumer["events_per_second"],
        "ratio_forwarder_to_consumer": ratio(forwarder["events_per_second"], consumer["events_per_second"]),
        "lost_events": throughput["lost_events"],
        **({k: v for k, v in result["lag"].items() if k.startswith("lag_ms")} if "lag" in result else {}),
    }
    return result
