"""A deployed migration in moto for the CLI tests: tables, worker Lambda, state machine, replication resources.

The CLI finds a deployment through ``terraform output -json``; the tests put a stand-in ``terraform`` first on
PATH that prints the outputs a root module would have, so the CLI's own discovery code runs unchanged.
Mappings are created disabled unless a test needs them enabled: moto invokes a mapped function (in Docker) as
soon as a message or stream record arrives, and these functions exist only to be mapped.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.stepfunctions.models import stepfunctions_backends

from ddbmigrate.aws import client
from ddbmigrate.cli import main
from tests.support import tables
from tests.support.backfill import WORKER_ENVIRONMENT
from tests.support.tables import REGION, STATE_TABLE

SOURCE = "source"
TARGET = "target"
STATE = STATE_TABLE


@dataclass
class Deployed:
    outputs: dict[str, Any]
    terraform_dir: Path

    def output(self, name: str) -> Any:
        return self.outputs[name]

    def invoke(self, *args: str) -> Result:
        return CliRunner().invoke(main, [*args, "--terraform-dir", str(self.terraform_dir)], catch_exceptions=False)


def dummy_zip(files: Mapping[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
        for name, text in (files or {}).items():
            archive.writestr(name, text)
    return buffer.getvalue()


def put_items(table: str, items: Sequence[Mapping[str, Any]]) -> None:
    tables.put_items(boto3.client("dynamodb", region_name=REGION), table, items)


def deploy(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    source_keys: Mapping[str, str] | None = None,
    target_keys: Mapping[str, str] | None = None,
    transform_steps: Sequence[Mapping[str, Any]] = (),
    transform_module: str | None = None,
    worker_files: Mapping[str, str] | None = None,
    replication: bool = False,
    mappings_enabled: bool = False,
) -> Deployed:
    """Everything ``ddb-migrate`` discovers, inside the active moto mock."""
    source_schema = source_keys or {"pk": "S", "sk": "N"}
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    tables.create_table(dynamodb, SOURCE, source_schema, stream=replication)
    tables.create_table(dynamodb, TARGET, target_keys or source_schema)
    tables.create_table(dynamodb, STATE, {"pk": "S", "sk": "S"})
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="ddb-migrate", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    environment = {
        **WORKER_ENVIRONMENT,
        "SOURCE_TABLE": SOURCE,
        "TARGET_TABLE": TARGET,
        "STATE_TABLE": STATE,
        "CLEANUP_ALLOWED": "false",
        "TRANSFORM_STEPS": json.dumps(list(transform_steps)),
    }
    if transform_module:
        environment["TRANSFORM_MODULE"] = transform_module
    lambda_client = boto3.client("lambda", region_name=REGION)
    worker = create_function("worker", role, environment, worker_files)
    definition = {
        "StartAt": "Plan",
        "States": {
            "Plan": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": worker, "Payload": {"action": "plan"}},
                "End": True,
            }
        },
    }
    machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="ddb-migrate", definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]
    outputs: dict[str, Any] = {
        "state_machine_arn": machine,
        "state_table_name": STATE,
        "source_table_name": SOURCE,
        "target_table_name": TARGET,
        "worker_function_name": "worker",
    }
    if replication:
        sqs = boto3.client("sqs", region_name=REGION)
        dlq_url = sqs.create_queue(QueueName="replication-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName="replication.fifo",
            Attributes={
                "FifoQueue": "true",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}),
            },
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        failures_url = sqs.create_queue(QueueName="stream-failures")["QueueUrl"]
        consumer = create_function("consumer", role, {})
        forwarder = create_function("forwarder", role, {})
        stream_arn = dynamodb.describe_table(TableName=SOURCE)["Table"]["LatestStreamArn"]
        consumer_mapping = lambda_client.create_event_source_mapping(
            EventSourceArn=queue_arn, FunctionName=consumer, Enabled=mappings_enabled
        )["UUID"]
        forwarder_mapping = lambda_client.create_event_source_mapping(
            EventSourceArn=stream_arn, FunctionName=forwarder, StartingPosition="TRIM_HORIZON", Enabled=mappings_enabled
        )["UUID"]
        outputs |= {
            "replication_queue_url": queue_url,
            "replication_queue_arn": queue_arn,
            "replication_dlq_url": dlq_url,
            "replication_dlq_arn": dlq_arn,
            "stream_failure_queue_url": failures_url,
            "consumer_event_source_mapping_uuid": consumer_mapping,
            "forwarder_event_source_mapping_uuid": forwarder_mapping,
            "forwarder_function_name": "forwarder",
            "consumer_function_name": "consumer",
            "replication_cutoff_timestamp": "2024-05-01T12:00:00Z",
        }
    return Deployed(outputs, fake_terraform(tmp_path, monkeypatch, outputs))


def create_function(
    name: str, role: str, environment: Mapping[str, str], files: Mapping[str, str] | None = None
) -> str:
    arguments: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": role,
        "Handler": "handler.lambda_handler",
        "Code": {"ZipFile": dummy_zip(files)},
    }
    if environment:
        arguments["Environment"] = {"Variables": dict(environment)}
    return str(boto3.client("lambda", region_name=REGION).create_function(**arguments)["FunctionArn"])


def fake_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outputs: Mapping[str, Any]) -> Path:
    """A ``terraform`` on PATH whose ``output -json`` prints these outputs; returns the "root module" dir."""
    root = tmp_path / "root-module"
    root.mkdir(exist_ok=True)
    document = {name: {"value": value, "type": "string", "sensitive": False} for name, value in outputs.items()}
    (tmp_path / "outputs.json").write_text(json.dumps(document), encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "terraform"
    script.write_text(f"#!/bin/sh\ncat '{tmp_path / 'outputs.json'}'\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return root


# ----------------------------------------------------------------------------------------------------------------
# Step Functions executions in moto
# ----------------------------------------------------------------------------------------------------------------


def start_run(deployed: Deployed, name: str) -> str:
    """An execution of the deployment's state machine; moto keeps it RUNNING until a test changes it."""
    return str(
        boto3.client("stepfunctions", region_name=REGION).start_execution(
            stateMachineArn=deployed.output("state_machine_arn"), name=name, input="{}"
        )["executionArn"]
    )


def end_run(execution_arn: str, status: str, *, error: str | None = None, cause: str | None = None) -> None:
    """Give a moto execution the outcome a real run would have had."""
    execution = stepfunctions_backends[DEFAULT_ACCOUNT_ID][REGION].describe_execution(execution_arn)
    execution.status = status
    execution.error = error
    execution.cause = cause
    execution.stop_date = utcnow()


def answer(operation: str, respond: Callable[[dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    """Answer a Step Functions operation of the CLI's client that moto lacks (or answers too simply).

    ``respond`` gets the request's parameters and returns the response; a response with an ``Error`` key is
    returned as an HTTP 400 error. Returns the parameters of every call, for the test to check."""
    calls: list[dict[str, Any]] = []

    def handler(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        arguments = json.loads(params["body"] or b"{}")
        calls.append(arguments)
        response = respond(arguments)
        return SimpleNamespace(status_code=400 if "Error" in response else 200), response

    client("stepfunctions").meta.events.register(f"before-call.sfn.{operation}", handler)
    return calls
