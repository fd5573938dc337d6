"""Test SQS consumer: records each batch it is invoked with (the message groups and bodies, in batch order) as one
item of a DynamoDB table."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3

dynamodb = boto3.client("dynamodb")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    batch = [[record["attributes"].get("MessageGroupId", ""), record["body"]] for record in event["Records"]]
    dynamodb.put_item(
        TableName=os.environ["RESULT_TABLE"],
        Item={"pk": {"S": "batches"}, "sk": {"N": str(time.time_ns())}, "batch": {"S": json.dumps(batch)}},
    )
    return {"batchItemFailures": []}
