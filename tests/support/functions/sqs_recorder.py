"""Test SQS consumer: records every body it processes, in processing order, in a DynamoDB table.

Bodies starting with ``poison`` fail: the handler reports the failed message and every later message of the
same group in the batch (a FIFO consumer must not skip ahead within a group), or raises when
``RAISE_ON_POISON=1``.
"""

from __future__ import annotations

import os
import time
from typing import Any

import boto3

dynamodb = boto3.client("dynamodb")


class PoisonMessageError(Exception):
    pass


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failed_groups: set[str] = set()
    failures = []
    if os.environ.get("RAISE_ON_POISON") == "1" and any(r["body"].startswith("poison") for r in event["Records"]):
        raise PoisonMessageError("poison message in the batch")
    for record in event["Records"]:
        attributes = record["attributes"]
        group = attributes.get("MessageGroupId", "standard")
        if group in failed_groups or record["body"].startswith("poison"):
            failed_groups.add(group)
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        dynamodb.put_item(
            TableName=os.environ["RESULT_TABLE"],
            Item={
                "pk": {"S": group},
                "sk": {"N": str(time.time_ns())},
                "body": {"S": record["body"]},
                "receive_count": {"N": attributes["ApproximateReceiveCount"]},
                "source": {"S": record["eventSourceARN"]},
            },
        )
    return {"batchItemFailures": failures}
