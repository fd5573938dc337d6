"""Backfill worker Lambda: parse the event, dispatch to migration_core, report logs and metrics.

Clients and configuration are built once per container (cold start); every invocation only dispatches.
"""

from __future__ import annotations

import warnings
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from migration_core.backfill import BackfillService
from migration_core.capacity import CapacityActions, CapacityClient
from migration_core.config import WorkerConfig, read_client_config, write_client_config
from migration_core.errors import InvalidInput
from migration_core.guards import stepfunctions_execution_status
from migration_core.models import RunSpec, SegmentRequest, SegmentResult

# Only segment invocations publish metrics; plan and summarize having none is expected.
warnings.filterwarnings("ignore", "No application metrics to publish*")

logger = Logger()
metrics = Metrics()

CONFIG = WorkerConfig.from_environment()
SERVICE = BackfillService(
    config=CONFIG,
    client=boto3.client("dynamodb", config=read_client_config()),
    target_client=CONFIG.target_access.client("dynamodb", config=read_client_config()),
    write_client=CONFIG.target_access.client("dynamodb", config=write_client_config(CONFIG.write_concurrency)),
    retry_policy=CONFIG.retry_policy(),
    # The run lock's stale check (DescribeExecution of the holder); only the plan step calls it.
    execution_status=stepfunctions_execution_status(boto3.client("stepfunctions", config=read_client_config())),
)
# Pre-warm's capacity actions; their Application Auto Scaling client is created on the first capacity action.
CAPACITY = CapacityActions(
    lambda: CapacityClient(
        boto3.client("dynamodb", config=read_client_config()),
        boto3.client("application-autoscaling", config=read_client_config()),
    ),
    (CONFIG.source_table, CONFIG.target_table),
)
CAPACITY_ACTIONS = ("capacity_capture", "capacity_raise", "capacity_status", "capacity_reset")
PASS_ACTIONS = ("hand_off", "handed_off")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = event.get("action")
    run = event.get("run")
    run = run if isinstance(run, dict) else {}
    logger.append_keys(action=action, run_id=run.get("run_id"), phase=event.get("phase"), segment=event.get("segment"))
    try:
        return _dispatch(action, event, context)
    except Exception:
        logger.exception("Worker action failed")
        raise


def _dispatch(action: Any, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if action == "plan":
        planned = SERVICE.plan(event.get("input"), event.get("execution"), event.get("execution_arn"))
        logger.info("Run planned", extra={"run": planned["run"]})
        return planned
    if action == "segment":
        result = SERVICE.run_segment(SegmentRequest.from_event(event), context.get_remaining_time_in_millis)
        _publish_metrics(result)
        response = result.to_event()
        logger.info("Segment invocation finished", extra={"result": response})
        return response
    if action in PASS_ACTIONS:
        return _pass_action(action, event)
    if action == "summarize":
        summary = SERVICE.summarize(RunSpec.from_event(event.get("run")), event.get("capacity"))
        logger.info("Run summarized", extra={"summary": summary})
        return summary
    if action == "report_failure":
        return SERVICE.report_failure(RunSpec.from_event(event.get("run")), event.get("error"), event.get("capacity"))
    if action in CAPACITY_ACTIONS:
        return _capacity(action, event)
    raise InvalidInput(
        f"unknown action {action!r}; expected plan, segment, hand_off, handed_off, summarize or report_failure "
        f"(with pre-warm also {', '.join(CAPACITY_ACTIONS)})"
    )


def _pass_action(action: str, event: dict[str, Any]) -> dict[str, Any]:
    """hand_off and handed_off: a child ending before its segment does, and the next pass of its Map."""
    if action == "hand_off":
        request = SegmentRequest.from_event(event)
        logger.info("Segment handed off to the next pass")
        return SERVICE.hand_off(request)
    handed_off = SERVICE.handed_off(RunSpec.from_event(event.get("run")), event.get("phase"))
    logger.info("Segments for the next pass", extra={"segments": len(handed_off["segments"])})
    return handed_off


def _capacity(action: str, event: dict[str, Any]) -> dict[str, Any]:
    if not CONFIG.prewarm_allowed:
        raise InvalidInput(f"{action}: pre-warm is not enabled for this deployment (PREWARM_ALLOWED)")
    run = RunSpec.from_event(event.get("run"))
    if action == "capacity_capture":
        capacity = CAPACITY.capture(run)
    elif action == "capacity_reset":
        capacity = CAPACITY.reset(run, event.get("capacity"))
    else:
        capacity = CAPACITY.raise_capacity(run, event.get("capacity"))
    logger.info("Capacity step", extra={"capacity": capacity})
    return capacity


def _publish_metrics(result: SegmentResult) -> None:
    counts = result.counts
    metrics.add_metric(name="ItemsScanned", unit=MetricUnit.Count, value=counts.scanned)
    metrics.add_metric(name="ItemsWritten", unit=MetricUnit.Count, value=counts.written)
    metrics.add_metric(name="ItemsSkipped", unit=MetricUnit.Count, value=counts.skipped)
    metrics.add_metric(name="ItemsDeleted", unit=MetricUnit.Count, value=counts.deleted)
    metrics.add_metric(name="WriteRetries", unit=MetricUnit.Count, value=counts.retries)
