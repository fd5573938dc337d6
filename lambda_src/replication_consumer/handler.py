"""Replication consumer Lambda: FIFO SQS -> target table, one item's events in order.

The batch is applied as a whole first (`TargetApplier.apply_batch`: each target key's last write, in
BatchWriteItem calls; `migration_core.replication_batch` says why that equals applying the events one by one),
then `SqsFifoPartialProcessor(skip_group_on_error=True)` reports each message's result: a failing message stops
its own message group (the item's later events stay in the queue behind it, in order) while the other groups of
the batch go on. A message that keeps failing reaches the queue's maxReceiveCount and moves to the FIFO
dead-letter queue; every failure is logged with its reason, message id, group, receive count and key, so the
last log line before the move says why. Settings are read on the first invocation: TARGET_TABLE, SOURCE_TABLE,
CUTOFF_TIMESTAMP, TRANSFORM_*, MAX_WRITE_ATTEMPTS, BACKOFF_BASE_MS, BACKOFF_CAP_MS, TIME_SAFETY_MARGIN_SECONDS.
The target key schema comes from DescribeTable(TARGET_TABLE) once per container: the table itself is the only
source that cannot drift.
"""

from __future__ import annotations

import os
from collections import defaultdict, deque
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from migration_core import observability
from migration_core.attribute_values import format_key
from migration_core.config import ConsumerSettings, read_client_config, write_client_config
from migration_core.errors import DeferredForTime
from migration_core.replication import ReplicationEvent
from migration_core.replication_io import MessageResult, QueueMessage, TargetApplier, read_key_schema
from migration_core.target_access import TargetAccess
from migration_core.transform import Transformer

OBSERVABILITY = observability.setup()
logger = OBSERVABILITY.logger
metrics = OBSERVABILITY.metrics
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


@observability.cold_start
def _runtime() -> tuple[ConsumerSettings, TargetApplier]:
    """Built once per container, on the first invocation (not at import, so tests can set the environment)."""
    settings = ConsumerSettings.from_environment(os.environ)
    target = TargetAccess.from_environment(os.environ)
    applier = TargetApplier(
        # Botocore retries off for the calls that apply events: our RetryPolicy is the one budget, and counted.
        target.client("dynamodb", config=write_client_config(1)),
        source_dynamodb=boto3.client("dynamodb", config=write_client_config(1)),
        target_table=settings.target_table,
        source_table=settings.source_table,
        key_schema=read_key_schema(target.client("dynamodb", config=read_client_config()), settings.target_table),
        transformer=Transformer.from_environment(os.environ),
        retry_policy=settings.retry_policy,
    )
    return settings, applier


def _report(result: MessageResult, settings: ConsumerSettings) -> None:
    """Log and count what the batch did with this message; raise its error so that Powertools reports it."""
    event = result.event
    if result.status == "failed":
        assert result.error is not None  # noqa: S101 - a failed result carries its error
        raise result.error
    if event is None or result.status == "held_back":
        # Powertools fails a held-back message without calling the handler; this is never reached.
        raise RuntimeError("an earlier message of this group failed")
    with logger.append_context_keys(
        event_id=event.event_id,
        event_name=event.event_name,
        source_key=format_key(event.keys),
        sequence_number=event.sequence_number,
    ):
        if result.status == "dropped":
            metrics.add_metric(name="EventsDroppedBeforeCutoff", unit=MetricUnit.Count, value=1)
            logger.info(
                "event before the cutoff dropped: the target already holds its effect",
                extra={
                    "approximate_creation_time": str(event.approximate_creation_time),
                    "cutoff": settings.cutoff.instant.isoformat() if settings.cutoff else None,
                },
            )
            return
        plan = result.plan
        assert plan is not None  # noqa: S101 - an applied result carries its plan
        if event.oversize:
            metrics.add_metric(name="OversizeMessages", unit=MetricUnit.Count, value=1)
        for warning in plan.warnings:
            logger.warning(warning)
        metrics.add_metric(name="EventsApplied", unit=MetricUnit.Count, value=1)
        logger.debug(
            "event applied",
            extra={
                "puts": len(plan.puts),
                "deletes": [format_key(key) for key in plan.deletes],
                "source_read": plan.source_read,
                "source_found": plan.source_found,
            },
        )


def _describe(event: ReplicationEvent | None) -> dict[str, Any]:
    if event is None:  # the body itself is what is broken
        return {}
    return {"event_id": event.event_id, "event_name": event.event_name, "source_key": format_key(event.keys)}


def _records(event: dict[str, Any]) -> list[dict[str, Any]]:
    records = event.get("Records")
    return records if isinstance(records, list) else []  # Powertools refuses a malformed event itself


@OBSERVABILITY.instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Before any record: a bad environment fails the invocation once, not every message on its own.
    settings, applier = _runtime()
    # The whole batch is applied first (its writes together); the processor then reports each message's result,
    # so the partial-batch response and the group skipping stay Powertools' own.
    records = _records(event)
    outcome = applier.apply_batch(
        [QueueMessage(group_id=r.get("attributes", {}).get("MessageGroupId"), body=r["body"]) for r in records],
        cutoff=settings.cutoff,
        should_stop=lambda: context.get_remaining_time_in_millis() < settings.time_safety_margin_ms,
    )
    if outcome.retries:
        metrics.add_metric(name="Retries", unit=MetricUnit.Count, value=outcome.retries)
    logger.debug("batch applied", extra={"writes": outcome.writes, "superseded_writes": outcome.superseded})
    results: dict[str, deque[MessageResult]] = defaultdict(deque)
    for record, result in zip(records, outcome.results, strict=True):
        if result.status != "held_back":
            results[record["messageId"]].append(result)

    def record_handler(record: SQSRecord) -> None:
        with logger.append_context_keys(
            message_id=record.message_id,
            message_group_id=record.attributes.message_group_id,
            receive_count=record.attributes.approximate_receive_count,
        ):
            # Powertools calls this, in order, for exactly the messages that are not held back.
            result = results[record.message_id].popleft()
            try:
                _report(result, settings)
            except DeferredForTime:
                logger.info("message deferred to the next delivery: the Lambda is about to time out")
                raise
            except Exception as exc:
                metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1)
                logger.exception(
                    "replication event not applied; it is retried, then moved to the dead-letter queue",
                    extra={"reason": f"{type(exc).__name__}: {exc}", **_describe(result.event)},
                )
                raise

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
