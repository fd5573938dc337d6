"""Smoke check of a running LocalStack with the project's plugins (issue #13). Run by hand:

    devtools/localstack/run.sh -- .venv/bin/python devtools/localstack/smoke.py

or, with LocalStack already up, ``AWS_ENDPOINT_URL=http://127.0.0.1:4566 .venv/bin/python devtools/localstack/smoke.py``.
Each check prints PASS or FAIL with the reason; the exit status is the number of failures.
Checks: DynamoDB table with a stream, put/get, a stream record; a python3.12 Lambda from a zip, invoked
(result, error, logs); a Step Functions state machine that invokes it; a DynamoDB-stream event source mapping.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import sys
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable

import boto3

ENDPOINT = os.environ.setdefault("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
SUFFIX = uuid.uuid4().hex[:8]
TABLE = f"smoke-{SUFFIX}"
FUNCTION = f"smoke-echo-{SUFFIX}"
SINK_TABLE = f"smoke-sink-{SUFFIX}"
ROLE_ARN = "arn:aws:iam::000000000000:role/lambda-role"

HANDLER_CODE = """
import json, logging, os
import boto3

logging.getLogger().setLevel(logging.INFO)

def handler(event, context):
    print("echo", json.dumps(event))
    logging.info("remaining %s", context.get_remaining_time_in_millis())
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail")
    if isinstance(event, dict) and "Records" in event:
        table = boto3.resource("dynamodb").Table(os.environ["SINK_TABLE"])
        for record in event["Records"]:
            table.put_item(Item={"pk": record["dynamodb"]["Keys"]["pk"]["S"], "event": record["eventName"]})
        return {"records": len(event["Records"])}
    return event
"""

RESULTS: list[tuple[str, bool, str]] = []


class CheckFailedError(Exception):
    pass


def expect(condition: object, detail: object) -> None:
    if not condition:
        raise CheckFailedError(repr(detail))


def check(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    def wrap(fn: Callable[[], str]) -> Callable[[], str]:
        def run() -> str:
            started = time.monotonic()
            try:
                detail = fn()
                RESULTS.append((name, True, detail))
                print(f"PASS {name} ({time.monotonic() - started:.1f}s): {detail}", flush=True)
            except Exception as exc:
                RESULTS.append((name, False, repr(exc)))
                print(f"FAIL {name} ({time.monotonic() - started:.1f}s): {exc!r}", flush=True)
                traceback.print_exc()
            return ""

        return run

    return wrap


ddb = boto3.client("dynamodb")
streams = boto3.client("dynamodbstreams")
lam = boto3.client("lambda")
sfn = boto3.client("stepfunctions")
iam = boto3.client("iam")
STATE: dict[str, str] = {}


@check("dynamodb: create table with stream, put, get")
def ddb_table() -> str:
    description = ddb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    ddb.get_waiter("table_exists").wait(TableName=TABLE)
    STATE["stream_arn"] = description["LatestStreamArn"]
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]
    expect(item == {"pk": {"S": "a"}, "n": {"N": "1"}}, item)
    return f"stream {STATE['stream_arn']}"


@check("dynamodbstreams: describe, shard iterator, a record")
def ddb_stream() -> str:
    stream = streams.describe_stream(StreamArn=STATE["stream_arn"])["StreamDescription"]
    shard = stream["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=STATE["stream_arn"], ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    expect(records and records[0]["eventName"] == "INSERT", records)
    expect(records[0]["dynamodb"]["NewImage"]["n"] == {"N": "1"}, records[0])
    return f"{len(records)} record(s), first {records[0]['eventName']} {records[0]['dynamodb']['Keys']}"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER_CODE)
    return buffer.getvalue()


@check("lambda: create python3.12 function from a zip")
def lambda_create() -> str:
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(
            RoleName="lambda-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
    ddb.create_table(
        TableName=SINK_TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    lam.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=ROLE_ARN,
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        Timeout=10,
        Environment={"Variables": {"SINK_TABLE": SINK_TABLE}},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=FUNCTION)
    STATE["function_arn"] = lam.get_function(FunctionName=FUNCTION)["Configuration"]["FunctionArn"]
    return STATE["function_arn"]


@check("lambda: invoke returns the event, with logs")
def lambda_invoke() -> str:
    response = lam.invoke(FunctionName=FUNCTION, Payload=json.dumps({"hello": "world"}), LogType="Tail")
    payload = json.loads(response["Payload"].read())
    expect("FunctionError" not in response, (response.get("FunctionError"), payload))
    expect(payload == {"hello": "world"}, payload)
    logs = base64.b64decode(response.get("LogResult", "")).decode()
    expect("echo" in logs and "REPORT RequestId" in logs, logs)
    return f"payload {payload}; log tail {len(logs)} chars"


@check("lambda: an error in the handler is an Unhandled function error")
def lambda_error() -> str:
    response = lam.invoke(FunctionName=FUNCTION, Payload=json.dumps({"fail": True}))
    payload = json.loads(response["Payload"].read())
    expect(response.get("FunctionError") == "Unhandled", response)
    expect(payload.get("errorType") == "ValueError", payload)
    return f"{payload['errorType']}: {payload['errorMessage']}"


@check("stepfunctions: state machine invokes the function")
def sfn_invoke() -> str:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": STATE["function_arn"], "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name=f"smoke-{SUFFIX}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::000000000000:role/sfn-role",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"from": "sfn"}))["executionArn"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.5)
    expect(described["status"] == "SUCCEEDED", described)
    output = json.loads(described["output"])
    expect(output == {"from": "sfn"}, output)
    return f"output {output}"


@check("lambda: DynamoDB stream event source mapping delivers records")
def esm() -> str:
    mapping = lam.create_event_source_mapping(
        EventSourceArn=STATE["stream_arn"], FunctionName=FUNCTION, StartingPosition="TRIM_HORIZON", BatchSize=10
    )["UUID"]
    deadline = time.monotonic() + 60
    while lam.get_event_source_mapping(UUID=mapping)["State"] != "Enabled" and time.monotonic() < deadline:
        time.sleep(0.5)
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "b"}})
    while time.monotonic() < deadline:
        items = ddb.scan(TableName=SINK_TABLE)["Items"]
        if {item["pk"]["S"] for item in items} >= {"a", "b"}:
            return f"sink has {sorted(item['pk']['S'] for item in items)}"
        time.sleep(1)
    raise AssertionError(f"sink table after 60 s: {ddb.scan(TableName=SINK_TABLE)['Items']}")


def main() -> int:
    print(f"LocalStack at {ENDPOINT}", flush=True)
    for step in (ddb_table, ddb_stream, lambda_create, lambda_invoke, lambda_error, sfn_invoke, esm):
        step()
    failures = sum(1 for _, ok, _ in RESULTS if not ok)
    print(f"{len(RESULTS) - failures} passed, {failures} failed")
    return failures


if __name__ == "__main__":
    sys.exit(main())
