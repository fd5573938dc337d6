"""Stream forwarder Lambda: DynamoDB Streams -> FIFO SQS, in per-item order.

The event source mapping must use ReportBatchItemFailures (the response names the records to retry), start at
TRIM_HORIZON, and neither discard records nor send them elsewhere on its own (MaximumRetryAttempts and
MaximumRecordAgeInSeconds at -1): a record that never reaches the queue is a write the target never sees.
Sending, ordering and oversize handling live in `migration_core.replication_io.FifoForwarder`.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from migration_core import observability
from migration_core.config import ForwarderSettings, read_client_config, write_client_config
from migration_core.errors import RecordNotForwarded
from migration_core.replication_io import FifoForwarder, OldTargetKeyDeriver
from migration_core.target_access import TargetAccess

OBSERVABILITY = observability.setup()
logger = OBSERVABILITY.logger
metrics = OBSERVABILITY.metrics
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
# SendMessageBatch calls in flight at once, for runs of records without a key twice (FifoForwarder). A call waits on
# the network far longer than it costs CPU: a batch of 100 records of different items is 10 calls, which 4 at a time
# send in about a third of the time, while SQS's limits (3,000 messages/s per FIFO queue without high throughput)
# stay far off.
SEND_CONCURRENCY = 4


@observability.cold_start
def _runtime() -> tuple[ForwarderSettings, FifoForwarder, OldTargetKeyDeriver]:
    """Built once per container, on the first invocation (not at import, so tests can set the environment)."""
    settings = ForwarderSettings.from_environment(os.environ)
    target = TargetAccess.from_environment(os.environ)
    deriver = OldTargetKeyDeriver(
        target.client("dynamodb", config=read_client_config()), settings.target_table, dict(os.environ)
    )
    forwarder = FifoForwarder(
        # Botocore retries off: our RetryPolicy is the one budget, and it retries only the entries that failed.
        boto3.client("sqs", config=write_client_config(1)),
        settings.queue_url,
        retry_policy=settings.retry_policy,
        max_message_bytes=settings.max_message_bytes,
        old_target_keys=deriver,
        concurrency=SEND_CONCURRENCY,
    )
    return settings, forwarder, deriver


@OBSERVABILITY.instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    settings, forwarder, deriver = _runtime()
    margin_ms = settings.time_safety_margin_ms
    records = event.get("Records", [])
    result = forwarder.forward(records, should_stop=lambda: context.get_remaining_time_in_millis() < margin_ms)

    metrics.add_metric(name="MessagesForwarded", unit=MetricUnit.Count, value=result.sent)
    metrics.add_metric(name="OversizeMessages", unit=MetricUnit.Count, value=result.oversize)
    metrics.add_metric(name="Retries", unit=MetricUnit.Count, value=result.retries)
    metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=len(result.failures))
    for warning in deriver.warnings:
        logger.warning("oversize record: %s", warning)
    deriver.warnings.clear()
    if result.failures:
        logger.error(
            "records not forwarded; Lambda retries the shard from the first of them",
            extra={
                "failed_records": len(result.failures),
                "forwarded_records": result.sent,
                "first_failure": result.first_failure,
            },
        )

    def record_handler(record: DynamoDBRecord) -> None:
        sequence_number = record.dynamodb.sequence_number if record.dynamodb else None
        reason = result.failures.get(sequence_number or "")
        if reason is not None:
            raise RecordNotForwarded(f"record {record.event_id} ({sequence_number}): {reason}")

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
