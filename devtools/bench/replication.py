"""Case d: live replication, through the real Lambda handlers.

**Throughput** (against the DynamoDB model, 5-10 ms per request): the stream forwarder's handler gets Lambda
DynamoDB Streams events of ``batch_size`` records (INSERTs and MODIFYs of ``realistic`` items) and sends them to
a FIFO queue that the model records (an SQS *sink*: moto's SQS slows down with every queued message); every
record must arrive. Only the handlers' own time counts (Lambda's pollers are not ours to measure), one
invocation at a time: the figures are per shard (forwarder) and per concurrently running consumer (FIFO
concurrency grows with the number of message groups).

**Consumer, batched vs one event per call**: the same queue messages, in batches of 10 (what the FIFO event
source mapping delivers), go through the consumer's handler (`replication_consumer.handler`, each batch's writes
together) and through the previous consumer kept as the reference (`consumer_reference`, one PutItem per event),
alternately, each run into a fresh target compared item by item with the expected final state. Two workloads:
*distinct* (every event a different item: INSERTs) and *hot* (MODIFYs spread at random over ``hot_keys`` items,
so a batch holds several events of one item, of which only the last is written).

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
import random
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
from migration_core.replication import encode_stream_record
from migration_core.types import Item
from replication_consumer import handler as consumer
from stream_forwarder import handler as forwarder

from . import consumer_reference
from .common import KEY_SCHEMA, REGION, SINK_QUEUE_PREFIX, dataset, median, percentile, ratio
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
    consumer_events: int = 1000
    runs: int = 3
    hot_keys: int = 5
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


def stream_records(items: Sequence[Item], source_table: str, *, modify_every: int = 3) -> list[dict[str, Any]]:
    """Lambda DynamoDB Streams records: an INSERT per item, and a MODIFY of every ``modify_every``-th item after it
    (none with 0)."""
    changes: list[tuple[Item, Item | None]] = []
    for index, item in enumerate(items):
        changes.append((item, None))
        if modify_every and index % modify_every == modify_every - 1:
            changes.append(({**item, "version": {"N": "2"}}, item))
    return stream_changes(changes, source_table)


def stream_changes(changes: Sequence[tuple[Item, Item | None]], source_table: str) -> list[dict[str, Any]]:
    """A stream record per (new image, old image): an INSERT without an old image, a MODIFY with one."""
    stream_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{source_table}/stream/2024-01-01T00:00:00.000"
    now = int(time.time())
    records: list[dict[str, Any]] = []
    for new, old in changes:
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
        records.append(
            {
                "eventID": uuid.uuid4().hex,
                "eventName": "INSERT" if old is None else "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": stream,
                "eventSourceARN": stream_arn,
            }
        )
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
    source = aws.create_table(aws.new_table_name("d-src"))
    # The model records what is sent to the sink queues instead of moto (see devtools.faults: SQS sink).
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{SINK_QUEUE_PREFIX}consumer.fifo"
    try:
        with environment(_handler_environment(aws, "set per run", source, "unused")):
            forwarding = forwarder_comparison(aws, parameters, source)
            consuming = consumer_comparison(aws, parameters, source, queue_arn)
    finally:
        aws.delete_table(source)
    mixed, distinct = forwarding["workloads"]["mixed"], consuming["workloads"]["distinct"]
    return {
        # Every record must reach the queue, and every event the target.
        "lost_events": forwarding["lost_events"] + consuming["lost_events"],
        "failed_events": forwarding["failed_events"] + consuming["failed_events"],
        "forwarder": {"events": mixed["events"], **mixed["deployed"]},
        "consumer": {"events": distinct["events"], **distinct["batched"]},
        "forwarder_comparison": forwarding,
        "consumer_comparison": consuming,
    }


# ----------------------------------------------------------------------------------------------------------------
# Forwarder: calls in flight at once vs one at a time
# ----------------------------------------------------------------------------------------------------------------

# The forwarder as deployed, and with one call at a time (SEND_CONCURRENCY 1), as it was before.
FORWARDERS = {"one_at_a_time": 1, "deployed": forwarder.SEND_CONCURRENCY}


@contextlib.contextmanager
def _forwarder_concurrency(concurrency: int) -> Iterator[None]:
    deployed = forwarder.SEND_CONCURRENCY
    forwarder.SEND_CONCURRENCY = concurrency
    forwarder._runtime.cache_clear()
    try:
        yield
    finally:
        forwarder.SEND_CONCURRENCY = deployed
        forwarder._runtime.cache_clear()


def forwarder_comparison(aws: BenchAws, parameters: ReplicationParameters, source: str) -> dict[str, Any]:
    """Workloads: *mixed* (INSERTs, and a MODIFY right after every third: a key repeats within a few records) and
    *distinct* (INSERTs only: runs without a repeated key, which calls in flight together can carry)."""
    items = dataset("replication", max(1, parameters.events * 3 // 4), parameters.payload_bytes).items
    workloads = {
        "mixed": stream_records(items, source),
        "distinct": stream_records(
            dataset("d-forward", parameters.events, parameters.payload_bytes, start=50_000_000).items,
            source,
            modify_every=0,
        ),
    }
    warmup = stream_records(dataset("warmup", 10, parameters.payload_bytes, start=10_000_000).items, source)
    runs: list[dict[str, Any]] = []
    aws.configure(latency_ms=parameters.latency_ms)
    for run in range(parameters.runs):
        for name, records in workloads.items():
            # Alternate which goes first: drift on a noisy machine hits both alike.
            for mode in list(FORWARDERS) if run % 2 == 0 else list(reversed(FORWARDERS)):
                # A queue of its own: the sink deduplicates on the eventIDs, which every run sends again.
                queue_name = f"{SINK_QUEUE_PREFIX}{uuid.uuid4().hex[:8]}.fifo"
                with (
                    _forwarder_concurrency(FORWARDERS[mode]),
                    environment({"QUEUE_URL": f"{aws.endpoint}/{ACCOUNT}/{queue_name}"}),
                ):
                    # A warm container: the first invocation builds clients and reads the key schema.
                    _time_forwarder(forwarder, warmup, parameters.batch_size)
                    aws.control.sink(queue_name, clear=True)
                    timing = _time_forwarder(forwarder, records, parameters.batch_size)
                    queued = len(aws.control.sink(queue_name, clear=True))
                runs.append({"mode": mode, "workload": name, **timing, "lost": len(records) - queued})
    aws.configure()
    return {
        "runs": runs,
        "workloads": _summary(runs, {name: len(records) for name, records in workloads.items()}, FORWARDERS),
        "lost_events": sum(r["lost"] for r in runs),
        "failed_events": sum(r["failed"] for r in runs),
    }


def _summary(runs: Sequence[dict[str, Any]], events: Mapping[str, int], modes: Mapping[str, Any]) -> dict[str, Any]:
    """Per workload and mode: medians over the runs (the JSON keeps every run), and the ratio of the last mode to
    the first."""
    summary: dict[str, Any] = {}
    names = list(modes)
    first, last = names[0], names[-1]
    for name, count in events.items():
        by_mode = {mode: [r for r in runs if r["workload"] == name and r["mode"] == mode] for mode in modes}
        summary[name] = {"events": count}
        for mode, mode_runs in by_mode.items():
            summary[name][mode] = {
                "events_per_second": round(median([r["events_per_second"] for r in mode_runs]), 1),
                "cpu_us_per_event": round(median([r["cpu_us_per_event"] for r in mode_runs]), 1),
                "runs_events_per_second": [r["events_per_second"] for r in mode_runs],
                **({"write_requests": mode_runs[-1]["write_requests"]} if "write_requests" in mode_runs[-1] else {}),
            }
        summary[name][f"ratio_{last}_to_{first}"] = ratio(
            summary[name][last]["events_per_second"], summary[name][first]["events_per_second"]
        )
    return summary


# ----------------------------------------------------------------------------------------------------------------
# Consumer: batched vs one event per call
# ----------------------------------------------------------------------------------------------------------------

CONSUMERS: dict[str, Any] = {"per_event": consumer_reference, "batched": consumer}


def distinct_records(parameters: ReplicationParameters, source: str) -> tuple[list[dict[str, Any]], list[Item]]:
    """An INSERT per item, every item different; and the target that results."""
    items = dataset("d-distinct", parameters.consumer_events, parameters.payload_bytes, start=20_000_000).items
    return stream_records(items, source, modify_every=0), items


def hot_records(parameters: ReplicationParameters, source: str) -> tuple[list[dict[str, Any]], list[Item]]:
    """Changes spread at random over a few items (an INSERT each, then MODIFYs); and the target that results."""
    rng = random.Random(11)
    bases = dataset("d-hot", parameters.hot_keys, parameters.payload_bytes, start=30_000_000).items
    current: dict[int, Item] = {}
    changes: list[tuple[Item, Item | None]] = []
    for version in range(parameters.consumer_events):
        index = rng.randrange(len(bases)) if len(current) == len(bases) else len(current)
        new = {**bases[index], "version": {"N": str(version)}}
        changes.append((new, current.get(index)))
        current[index] = new
    return stream_changes(changes, source), list(current.values())


def consumer_comparison(
    aws: BenchAws, parameters: ReplicationParameters, source: str, queue_arn: str
) -> dict[str, Any]:
    workloads = {"distinct": distinct_records(parameters, source), "hot": hot_records(parameters, source)}
    warmup_records = stream_records(dataset("d-warmup", 1, parameters.payload_bytes, start=40_000_000).items, source)
    warmup = _sqs_messages(warmup_records)
    runs: list[dict[str, Any]] = []
    expected_tables = {}
    try:
        for name, (_, final) in workloads.items():
            expected_tables[name] = aws.create_table(aws.new_table_name(f"d-expected-{name}"))
            aws.load(expected_tables[name], final)
        for run in range(parameters.runs):
            for name, (records, _) in workloads.items():
                messages = _sqs_messages(records)
                # Alternate which goes first: drift on a noisy machine hits both alike.
                modes = list(CONSUMERS) if run % 2 == 0 else list(reversed(CONSUMERS))
                for mode in modes:
                    runs.append(
                        _consumer_run(aws, parameters, mode, name, messages, warmup, expected_tables[name], queue_arn)
                    )
    finally:
        for table in expected_tables.values():
            aws.delete_table(table)
    return {
        "runs": runs,
        "workloads": _summary(runs, {name: len(records) for name, (records, _) in workloads.items()}, CONSUMERS),
        "lost_events": sum(r["missing"] + r["different"] for r in runs),
        "failed_events": sum(r["failed"] for r in runs),
    }


def _consumer_run(
    aws: BenchAws,
    parameters: ReplicationParameters,
    mode: str,
    workload: str,
    messages: Sequence[dict[str, Any]],
    warmup: Sequence[dict[str, Any]],
    expected: str,
    queue_arn: str,
) -> dict[str, Any]:
    handler = CONSUMERS[mode]
    target = aws.create_table(aws.new_table_name("d-dst"))
    try:
        with environment({"TARGET_TABLE": target}):
            handler._runtime.cache_clear()
            aws.configure(latency_ms=parameters.latency_ms)
            # A warm container: the first invocation builds clients and reads the key schema.
            _time_consumer(handler, warmup, queue_arn)
            before = aws.snapshot().requests
            timing = _time_consumer(handler, messages, queue_arn)
            after = aws.snapshot().requests
            aws.configure()
            handler._runtime.cache_clear()
        check = aws.compare(expected, target)
    finally:
        aws.delete_table(target)
    return {
        "mode": mode,
        "workload": workload,
        **timing,
        "write_requests": {
            op: after.get(op, 0) - before.get(op, 0) for op in ("BatchWriteItem", "PutItem", "DeleteItem")
        },
        "missing": check["missing"],
        "different": check["different"],
    }


def _sqs_messages(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The queue messages the forwarder sends for ``records`` (its encoding), as the sink records them."""
    messages = []
    for index, record in enumerate(records):
        message = encode_stream_record(record)
        messages.append(
            {
                "MessageId": f"m{index}",
                "Body": message.body,
                "Attributes": {"MessageGroupId": message.group_id, "SequenceNumber": str(index)},
            }
        )
    return messages


def _time_forwarder(forwarder: Any, records: Sequence[dict[str, Any]], batch_size: int) -> dict[str, Any]:
    context = LambdaContext("bench-forwarder")
    failed = 0
    # Process time: the forwarder's calls in flight are threads of its own.
    wall, cpu = time.perf_counter(), time.process_time()
    with _quiet_stdout():
        for start in range(0, len(records), batch_size):
            response = forwarder.lambda_handler({"Records": list(records[start : start + batch_size])}, context)
            failed += len(response.get("batchItemFailures", []))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
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
    workloads = throughput["consumer_comparison"]["workloads"]
    result["summary"] = {
        "forwarder_events_per_second": forwarder["events_per_second"],
        "consumer_events_per_second": consumer["events_per_second"],
        "ratio_forwarder_to_consumer": ratio(forwarder["events_per_second"], consumer["events_per_second"]),
        **{
            f"consumer_{workload}_{mode}_events_per_second": workloads[workload][mode]["events_per_second"]
            for workload in workloads
            for mode in CONSUMERS
        },
        **{
            f"consumer_{workload}_ratio_batched_to_per_event": workloads[workload]["ratio_batched_to_per_event"]
            for workload in workloads
        },
        **{
            f"forwarder_{workload}_ratio_deployed_to_one_at_a_time": data["ratio_deployed_to_one_at_a_time"]
            for workload, data in throughput["forwarder_comparison"]["workloads"].items()
        },
        "lost_events": throughput["lost_events"],
        **({k: v for k, v in result["lag"].items() if k.startswith("lag_ms")} if "lag" in result else {}),
    }
    return result
