"""Case d's reference: the replication consumer as it was before it applied batches, one event per call.

The handler and the applier of the release before batching, kept here (and only here) so that case d measures
the batched consumer against the real previous code path in the same run, on the same messages: every message
on its own through Powertools' `SqsFifoPartialProcessor`, one PutItem per transformed item and one DeleteItem per
old key, each retried on its own. Logging and metrics are the product handler's, so both pay the same for them;
what this copy leaves out (the logs of dropped and oversize events, the retry count) never runs in case d, which
has no cutoff, no oversize record and no fault.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache, partial
from typing import Any, TypeVar

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from migration_core.attribute_values import format_key
from migration_core.config import ConsumerSettings, read_client_config, write_client_config
from migration_core.errors import ConfigurationError, DeferredForTime, ReplicationRetriesExhausted
from migration_core.items import KeySchema, key_of
from migration_core.replication import ApplyPlan, ReplicationEvent, decode_message, plan_apply
from migration_core.replication_io import read_key_schema
from migration_core.retry import RetryPolicy, is_retryable
from migration_core.target_access import TargetAccess
from migration_core.transform import Transformer
from migration_core.types import Item
from replication_consumer.handler import OBSERVABILITY

_T = TypeVar("_T")
logger = OBSERVABILITY.logger
metrics = OBSERVABILITY.metrics
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


class PerEventApplier:
    """The previous `TargetApplier.apply`: PutItem/DeleteItem per write of one event's plan."""

    def __init__(
        self,
        dynamodb: Any,
        source_dynamodb: Any,
        *,
        target_table: str,
        source_table: str,
        key_schema: KeySchema,
        transformer: Transformer,
        retry_policy: RetryPolicy,
    ) -> None:
        self._dynamodb = dynamodb
        self._source_dynamodb = source_dynamodb
        self._target_table = target_table
        self._source_table = source_table
        self._key_schema = key_schema
        self._transformer = transformer
        self._policy = retry_policy

    def apply(self, event: ReplicationEvent) -> ApplyPlan:
        expected = event.source_table_arn if self._source_table.startswith("arn:") else event.source_table
        if expected and expected != self._source_table:
            raise ConfigurationError(f"message {event.event_id} comes from table {expected!r}")

        def read_source(key: Item) -> Item | None:
            response = self._with_retries(
                partial(self._source_dynamodb.get_item, TableName=self._source_table, Key=key, ConsistentRead=True),
                f"GetItem {format_key(key)} from {self._source_table}",
            )
            item: Item | None = response.get("Item")
            return item

        plan = plan_apply(event, transformer=self._transformer, key_schema=self._key_schema, read_source=read_source)
        for item in plan.puts:
            self._with_retries(
                partial(self._dynamodb.put_item, TableName=self._target_table, Item=item),
                f"PutItem {format_key(key_of(item, self._key_schema))} into {self._target_table}",
            )
        for key in plan.deletes:
            self._with_retries(
                partial(self._dynamodb.delete_item, TableName=self._target_table, Key=key),
                f"DeleteItem {format_key(key)} from {self._target_table}",
            )
        return plan

    def _with_retries(self, operation: Callable[[], _T], what: str) -> _T:
        attempt = 0
        while True:
            try:
                return operation()
            except Exception as exc:
                if not is_retryable(exc):
                    raise
                attempt += 1
                if attempt >= self._policy.max_attempts:
                    raise ReplicationRetriesExhausted(f"{what} failed {attempt} times; last: {exc}") from exc
                self._policy.backoff(attempt - 1)


@cache
def _runtime() -> tuple[ConsumerSettings, PerEventApplier]:
    """What the product handler builds at cold start, from the same environment."""
    settings = ConsumerSettings.from_environment(os.environ)
    target = TargetAccess.from_environment(os.environ)
    applier = PerEventApplier(
        target.client("dynamodb", config=write_client_config(1)),
        boto3.client("dynamodb", config=write_client_config(1)),
        target_table=settings.target_table,
        source_table=settings.source_table,
        key_schema=read_key_schema(target.client("dynamodb", config=read_client_config()), settings.target_table),
        transformer=Transformer.from_environment(os.environ),
        retry_policy=settings.retry_policy,
    )
    return settings, applier


def _apply(record: SQSRecord, context: LambdaContext, settings: ConsumerSettings, applier: PerEventApplier) -> None:
    if context.get_remaining_time_in_millis() < settings.time_safety_margin_ms:
        raise DeferredForTime("the Lambda is about to time out")
    event = decode_message(record.body)
    with logger.append_context_keys(
        event_id=event.event_id,
        event_name=event.event_name,
        source_key=format_key(event.keys),
        sequence_number=event.sequence_number,
    ):
        if settings.cutoff is not None and not settings.cutoff.admits(event):
            metrics.add_metric(name="EventsDroppedBeforeCutoff", unit=MetricUnit.Count, value=1)
            return
        plan = applier.apply(event)
        metrics.add_metric(name="EventsApplied", unit=MetricUnit.Count, value=1)
        logger.debug("event applied", extra={"puts": len(plan.puts), "deletes": len(plan.deletes)})


@OBSERVABILITY.instrument
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    settings, applier = _runtime()

    def record_handler(record: SQSRecord) -> None:
        with logger.append_context_keys(
            message_id=record.message_id,
            message_group_id=record.attributes.message_group_id,
            receive_count=record.attributes.approximate_receive_count,
        ):
            try:
                _apply(record, context, settings, applier)
            except Exception:
                metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1)
                logger.exception("replication event not applied")
                raise

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
