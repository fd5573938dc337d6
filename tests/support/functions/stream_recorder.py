"""Test DynamoDB stream consumer: records every stream record it processes, in processing order.

A record whose NewImage has a ``poison`` attribute fails the batch before anything is written, or, with
``REPORT_FAILURES=1``, is reported through ReportBatchItemFailures (the rest of the batch is written).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3

dynamodb = boto3.client("dynamodb")


class PoisonRecordError(Exception):
    pass


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event["Records"]
    report = os.environ.get("REPORT_FAILURES") == "1"
    poisoned = [r for r in records if "poison" in r["dynamodb"].get("NewImage", {})]
    if poisoned and not report:
        raise PoisonRecordError(f"{len(poisoned)} poison record(s) in a batch of {len(records)}")
    for record in records:
        if record in poisoned:
            continue
        dynamodb.put_item(
            TableName=os.environ["RESULT_TABLE"],
            Item={
                "pk": {"S": os.environ["TAG"]},
                "sk": {"N": str(time.time_ns())},
                "record": {"S": json.dumps(record)},
                "batch_size": {"N": str(len(records))},
            },
        )
    return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in poisoned]}
