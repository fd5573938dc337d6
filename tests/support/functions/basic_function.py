"""Test function: reports its environment and context, counts warm invocations, calls DynamoDB, raises."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import boto3

INIT_ID = uuid.uuid4().hex
INVOCATIONS = 0


class InvalidInput(Exception):  # noqa: N818 - the name the backfill worker raises
    """Raised on purpose: Step Functions must see this class name as the error."""


def handler(event: dict[str, Any], context: Any) -> Any:
    global INVOCATIONS  # noqa: PLW0603 - counting warm invocations is the point
    INVOCATIONS += 1
    action = event.get("action", "describe")
    print(f"action={action}")
    if action == "fail":
        raise InvalidInput(str(event.get("message", "bad input")))
    if action == "sleep":
        time.sleep(float(event["seconds"]))
        return {"pid": os.getpid()}
    if action == "wait_for_file":
        # Held until the test creates the file: an invocation that is running for as long as a test needs. A
        # marker in started_dir tells the test that this invocation is inside the handler.
        if "started_dir" in event:
            (Path(event["started_dir"]) / uuid.uuid4().hex).touch()
        deadline = time.monotonic() + float(event.get("timeout", 60))
        while not Path(event["path"]).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return {"released": Path(event["path"]).exists(), "pid": os.getpid()}
    if action == "dynamodb":
        client = boto3.client("dynamodb")
        item = {"pk": {"S": str(event["key"])}, "n": {"N": "12345678901234567890123456789012345678"}}
        client.put_item(TableName=str(event["table"]), Item=item)
        return client.get_item(TableName=str(event["table"]), Key={"pk": item["pk"]}, ConsistentRead=True)["Item"]
    if action == "plan":
        count = int(event["input"]["segments"])
        if count < 1:
            raise InvalidInput(f"segments must be at least 1, got {count}")
        return {"segments": list(range(count)), "execution": event["execution"]}
    if action == "segment":
        time.sleep(0.05)
        return {"segment": event["segment"], "phase": event["phase"]}
    return {
        "init_id": INIT_ID,
        "invocations": INVOCATIONS,
        "pid": os.getpid(),
        "event": event,
        "environment": {
            name: os.environ.get(name)
            for name in (
                "GREETING",
                "AWS_ENDPOINT_URL",
                "AWS_REGION",
                "AWS_DEFAULT_REGION",
                "AWS_LAMBDA_FUNCTION_NAME",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                "AWS_LAMBDA_FUNCTION_VERSION",
                "_HANDLER",
                "AWS_ACCESS_KEY_ID",
            )
        },
        "context": {
            "function_name": context.function_name,
            "aws_request_id": context.aws_request_id,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "cwd": str(Path.cwd()),
    }
