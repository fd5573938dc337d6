"""The deployed roles' policies decide what the migration may do: with one action taken out of one policy after
``terraform apply`` (through the IAM API, as a drifted or hand-edited role would be), a real run fails with
AccessDenied naming that action. On AWS this is IAM; on the emulator it is its IAM gate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ddbmigrate.aws import client
from devtools.datagen import generate_items
from devtools.tables import create_table, load_items, scan_all
from tests.support.live import cli, queue_depth
from tests.support.waits import wait_until_settled

SOURCE_KEY = {"pk": "S", "sk": "N"}

# LocalStack Community does not enforce IAM policies at all (ENFORCE_IAM is a LocalStack Pro feature).
pytestmark = pytest.mark.emulator_only(reason="changes the deployed roles' policies; meant for the emulator's IAM gate")


def function_role_name(function_name: str) -> str:
    role_arn = client("lambda").get_function_configuration(FunctionName=function_name)["Role"]
    return str(role_arn).rsplit("/", 1)[1]


def take_action_out(role_name: str, action: str) -> list[str]:
    """Remove ``action`` from every inline policy of the role; returns the policies it was in."""
    iam = client("iam")
    changed = []
    for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
        if isinstance(document, str):
            document = json.loads(document)
        statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        kept = []
        for statement in statements:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else list(actions)
            if action not in actions:
                kept.append(statement)
                continue
            actions.remove(action)
            changed.append(policy_name)
            if actions:
                kept.append({**statement, "Action": actions})
        if policy_name in changed:
            iam.put_role_policy(
                RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps({**document, "Statement": kept})
            )
    assert changed, f"no policy of {role_name} allows {action}"
    return changed


def log_messages(function_name: str) -> str:
    logs = client("logs")
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{function_name}")
        return "\n".join(event["message"] for page in pages for event in page["events"])
    except logs.exceptions.ResourceNotFoundException:
        return ""


def test_a_backfill_without_batch_write_fails_with_access_denied(
    deploy: Callable[..., dict[str, Any]], unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    source, target = unique_name("gsource"), unique_name("gtarget")
    create_table(source, SOURCE_KEY)
    create_table(target, SOURCE_KEY)
    assert load_items(source, generate_items(200)) == 200
    outputs = deploy({"name": unique_name("gate"), "source_table_name": source, "target_table_name": target})
    take_action_out(function_role_name(outputs["worker_function_name"]), "dynamodb:BatchWriteItem")

    json_path = tmp_path / "run.json"
    completed = cli(
        "run",
        "--terraform-dir",
        outputs["_terraform_dir"],
        "--total-segments",
        "2",
        "--json-output",
        str(json_path),
        check=False,
    )

    assert completed.returncode != 0, completed.stdout + completed.stderr
    result = json.loads(json_path.read_text())
    assert result["status"] == "FAILED", result
    assert scan_all(target) == []
    # The segments' own errors say why, as the operator sees them.
    status = cli("status", "--terraform-dir", outputs["_terraform_dir"], result["execution_arn"], check=False)
    shown = " ".join(status.stdout.split())  # however the console wrapped it
    worker_session = f"assumed-role/{function_role_name(outputs['worker_function_name'])}/"
    assert "AccessDenied" in shown, status.stdout
    assert worker_session in shown, status.stdout
    assert "is not authorized to perform: dynamodb:BatchWriteItem" in shown, status.stdout


def test_a_consumer_without_put_item_is_refused_and_logs_why(
    deploy: Callable[..., dict[str, Any]], unique_name: Callable[[str], str]
) -> None:
    source, target = unique_name("gsource"), unique_name("gtarget")
    create_table(source, SOURCE_KEY, stream=True)
    create_table(target, SOURCE_KEY)
    outputs = deploy(
        {
            "name": unique_name("gate"),
            "source_table_name": source,
            "target_table_name": target,
            "replication": {"enabled": True},
        }
    )
    consumer = outputs["consumer_function_name"]
    take_action_out(function_role_name(consumer), "dynamodb:PutItem")

    client("dynamodb").put_item(TableName=source, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})

    def refused() -> str | None:
        messages = log_messages(consumer)
        if "AccessDeniedException" in messages and "dynamodb:PutItem" in messages:
            return None
        return "no AccessDenied for dynamodb:PutItem in the consumer's log yet"

    wait_until_settled(refused, "the consumer refused by IAM")
    assert scan_all(target) == []
    # Not applied, so not deleted: the message waits in the queue (or, after its retries, in the DLQ).
    assert queue_depth(outputs["replication_queue_url"]) + queue_depth(outputs["replication_dlq_url"]) == 1
